"""The stack's configuration as one model, each config parsed once: Prometheus's intervals
per job and per rule, the rules by name, Alertmanager's routes and timers, Promtail's
clients, Loki's limits.

Built from the manifests (what is written: `StackConfig.written`) or from the running
components (what they read: `Target.stack_config`). The expectations come from the
features, never from here: a live bound's intervals are the plan's (plan_durations), and the
running model is only checked against them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import yaml

from odin_acceptance.core.timing_profiles import parse_duration
from odin_acceptance.stack_config.manifests import CONFIGS, Manifests

# Prometheus's and Alertmanager's own defaults, for settings a config leaves out.
PROMETHEUS_DEFAULTS = {"scrape_interval": "1m", "evaluation_interval": "1m"}
ROUTE_DEFAULTS = {"group_wait": "30s", "group_interval": "5m", "repeat_interval": "4h"}


class StackConfig:
    """The configs of CONFIGS by name, each read and parsed on first use only."""

    def __init__(self, read: Callable[[str], str], source: str) -> None:
        self._read = read
        self.source = source  # "the manifests" or "the running stack", for messages
        self._texts: dict[str, str] = {}
        self._docs: dict[str, Any] = {}

    @classmethod
    def written(cls, objs: Manifests) -> StackConfig:
        return cls(lambda name: objs.config_file(*CONFIGS[name]), "the manifests")

    def text(self, name: str) -> str:
        if name not in self._texts:
            self._texts[name] = self._read(name)
        return self._texts[name]

    def doc(self, name: str) -> dict[str, Any]:
        if name not in self._docs:
            self._docs[name] = yaml.safe_load(self.text(name)) or {}
        return self._docs[name]

    # -- Prometheus ----------------------------------------------------------------------

    def global_interval(self, key: str) -> float:
        glob = self.doc("prometheus.yml").get("global", {})
        return parse_duration(glob.get(key, PROMETHEUS_DEFAULTS[key]))

    def rule_group(self, alertname: str, rules: str = "alert-rules.yml") -> dict[str, Any]:
        """The group holding the alerting rule `alertname` in a rules file (Prometheus's or Loki's)."""
        for group in self.doc(rules).get("groups", []):
            if any(r.get("alert") == alertname for r in group.get("rules", [])):
                return group
        raise LookupError(f"no alert rule {alertname!r} in {self.source}' {rules}: was it renamed or removed?")

    def alert_rule(self, alertname: str, rules: str = "alert-rules.yml") -> dict[str, Any]:
        return next(r for r in self.rule_group(alertname, rules)["rules"] if r.get("alert") == alertname)

    # -- Alertmanager --------------------------------------------------------------------

    def route(self) -> dict[str, Any]:
        return self.doc("alertmanager.yml").get("route", {})

    def group_by(self) -> list[str]:
        return list(self.route().get("group_by", []))

    # -- Promtail and Loki -----------------------------------------------------------------

    def promtail_client(self) -> dict[str, Any]:
        """Promtail's first client: where it pushes, and its retry budget's backoff."""
        return self.doc("promtail.yaml")["clients"][0]

    def loki_limits(self) -> dict[str, Any]:
        return self.doc("loki.yaml").get("limits_config", {})
