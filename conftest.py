"""Root conftest: load the suite's plugin and step modules (step decorators register
fixtures in the module that calls them, so step modules must be plugins to be seen by
every feature)."""

pytest_plugins = [
    "fixtures.plugin.options",
    "fixtures.plugin.stack",
    "fixtures.plugin.reporting",
    "steps.stack_steps",
    "steps.gpu_steps",
    "steps.alert_steps",
    "steps.routing_steps",
    "steps.rule_steps",
    "steps.log_steps",
    "steps.log_alert_steps",
    "steps.cluster_steps",
    "steps.loss_steps",
    "steps.stress_steps",
]
