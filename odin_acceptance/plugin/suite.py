"""The acceptance suite as one pytest plugin: its options, hooks, fixtures and step modules.
Loaded by `-p odin_acceptance` (or `-p odin_acceptance.plugin.suite`) and by this repository's
root conftest.py (see `odin_acceptance.plugin`)."""

pytest_plugins = [
    "odin_acceptance.plugin.options",
    "odin_acceptance.plugin.session",
    "odin_acceptance.plugin.selection",
    "odin_acceptance.fixtures.stack_config",
    "odin_acceptance.fixtures.target",
    "odin_acceptance.fixtures.evidence",
    "odin_acceptance.plugin.ledger",
    "odin_acceptance.plugin.outputs",
    "odin_acceptance.plugin.html_report",
    "odin_acceptance.plugin.junit",
    "odin_acceptance.plugin.terminal",
    "odin_acceptance.steps.stack_steps",
    "odin_acceptance.steps.gpu_steps",
    "odin_acceptance.steps.alert_steps",
    "odin_acceptance.steps.routing_steps",
    "odin_acceptance.steps.rule_steps",
    "odin_acceptance.steps.log_steps",
    "odin_acceptance.steps.log_alert_steps",
    "odin_acceptance.steps.cluster_steps",
    "odin_acceptance.steps.loss_steps",
    "odin_acceptance.steps.stress_steps",
    "odin_acceptance.steps.fleet_steps",
]
