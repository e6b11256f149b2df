"""The durations the stack's configs set, by the names the features give them.

Each reader takes a StackConfig (the manifests', or the running stack's) and returns {where
in the config: duration as written}, with the defaults and the inheritance the component
itself applies (a route inherits its parent's waits, a rule group
without `interval` uses the global evaluation interval), so a feature can say "every route"
and mean what Alertmanager will do. The expected values are the features'; nothing here
decides what is right.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from odin_acceptance.core.timing_profiles import parse_duration
from odin_acceptance.stack_config.manifests import Manifests
from odin_acceptance.stack_config.model import PROMETHEUS_DEFAULTS, ROUTE_DEFAULTS, StackConfig


def _config(config: StackConfig, name: str) -> dict[str, Any]:
    return config.doc(name)


def _routes(route: dict[str, Any], inherited: dict[str, str], path: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(where, receiver, effective waits) of a route and every route below it."""
    waits = {key: str(route.get(key, inherited[key])) for key in ROUTE_DEFAULTS}
    receiver = route.get("receiver", inherited.get("receiver", ""))
    yield path, receiver, waits
    for i, child in enumerate(route.get("routes", [])):
        yield from _routes(child, {**waits, "receiver": receiver}, f"{path} > route {i + 1} ({child.get('receiver')})")


def _route_waits(key: str, receivers: Callable[[str], bool]) -> Callable[[StackConfig], dict[str, str]]:
    def read(config: StackConfig) -> dict[str, str]:
        root = _config(config, "alertmanager.yml")["route"]
        return {
            where: waits[key]
            for where, receiver, waits in _routes(root, ROUTE_DEFAULTS, "root route")
            if receivers(receiver)
        }

    return read


def _prometheus_groups(config: StackConfig) -> dict[str, str]:
    default = _config(config, "prometheus.yml").get("global", {}).get("evaluation_interval", "1m")
    return {f"group {g['name']}": str(g.get("interval", default)) for g in _config(config, "alert-rules.yml")["groups"]}


def _scrape_intervals(config: StackConfig) -> dict[str, str]:
    prometheus = _config(config, "prometheus.yml")
    default = prometheus.get("global", {}).get("scrape_interval", PROMETHEUS_DEFAULTS["scrape_interval"])
    return {f"job {job['job_name']}": str(job.get("scrape_interval", default)) for job in prometheus["scrape_configs"]}


def _loki_groups(config: StackConfig) -> dict[str, str]:
    default = _config(config, "loki.yaml").get("ruler", {}).get("evaluation_interval", "1m")
    return {f"group {g['name']}": str(g.get("interval", default)) for g in _config(config, "log-alerts.yaml")["groups"]}


def _loki_holds(config: StackConfig) -> dict[str, str]:
    rules = (r for g in _config(config, "log-alerts.yaml")["groups"] for r in g["rules"] if "alert" in r)
    return {f"alert {r['alert']}": str(r.get("for", "0s")) for r in rules}


def _resolve_timeout(config: StackConfig) -> dict[str, str]:
    return {"global": str(_config(config, "alertmanager.yml").get("global", {}).get("resolve_timeout", "5m"))}


READERS: dict[str, Callable[[StackConfig], dict[str, str]]] = {
    "every Prometheus rule group's interval": _prometheus_groups,
    "Prometheus's scrape interval, every job": _scrape_intervals,
    "Alertmanager's group wait, every route": _route_waits("group_wait", lambda r: True),
    "Alertmanager's group interval, every route": _route_waits("group_interval", lambda r: True),
    "Alertmanager's repeat interval": _route_waits("repeat_interval", lambda r: r != "watchdog"),
    "Alertmanager's repeat interval, watchdog": _route_waits("repeat_interval", lambda r: r == "watchdog"),
    "Alertmanager's resolve timeout": _resolve_timeout,
    "every Loki rule group's interval": _loki_groups,
    "every Loki alert's hold": _loki_holds,
}


def differences(objs: Manifests, rows: list[tuple[str, str, str]]) -> list[str]:
    """For each (setting, expected duration, where the plan says so), every place in the
    manifests that sets it otherwise."""
    config = StackConfig.written(objs)
    wrong = []
    for setting, expected, source in rows:
        assert setting in READERS, (
            f"no reader for {setting!r}: add it to odin_acceptance/stack_config/config_durations.py"
        )
        found = READERS[setting](config)
        assert found, f"{setting}: nothing in the manifests sets it"
        wrong += [
            f"{setting} ({where}) is {value}; {source} says {expected}"
            for where, value in found.items()
            if parse_duration(value) != parse_duration(expected)
        ]
    return wrong
