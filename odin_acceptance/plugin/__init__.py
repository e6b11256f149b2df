"""The suite's pytest plugin, loaded through the `pytest11` entry point `odin_acceptance`
(`-p no:odin_acceptance` turns it off). One module per job: `options` (command line,
preconditions, skips), `selection` (which scenarios a run includes), `stack` (the target and the
scenarios' shared fixtures), `report_hooks` (outcomes, HTML report, evidence), `junit` (the
JUnit XML's shape); `state` holds what they share. The step modules are plugins too:
pytest-bdd's step decorators register fixtures in the module that calls them, so every feature
sees them only if their modules are plugins."""

pytest_plugins = [
    "odin_acceptance.plugin.options",
    "odin_acceptance.plugin.selection",
    "odin_acceptance.plugin.stack",
    "odin_acceptance.plugin.report_hooks",
    "odin_acceptance.plugin.junit",
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
