"""The stack's HTTP clients (Prometheus, Alertmanager, Loki, Grafana) inside the suite's one
wait, against a scripted server on 127.0.0.1: a component that is busy (429) or failing (5xx),
as Loki is for a moment after a restart, is "not yet"; any other 4xx is an answer that ends
the wait at once; Loki's ruler answering 404 before it has loaded a group is "none yet"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from odin_acceptance.clients.alertmanager_api import AlertmanagerApi
from odin_acceptance.clients.json_http import ApiError, JsonApi
from odin_acceptance.clients.loki_api import LokiApi
from odin_acceptance.clients.prometheus_api import PrometheusApi
from odin_acceptance.core.polling import Poll, WaitTimeout, eventually
from odin_acceptance.stack_config.model import StackConfig
from odin_acceptance.verdicts.log_loss import retry_budget
from tests.scripted_server import serving

FAST = Poll(interval=0.01, max_interval=0.05)
BUSY = (429, "too many outstanding requests")
UNAVAILABLE = (503, "Ingester not ready: waiting for 15s after being ready")

# Client -> (path it reads, a good answer, the call, what the call returns from it).
CLIENTS: dict[str, tuple[str, Any, Callable[[str], Callable[[], Any]], Any]] = {
    "Prometheus": (
        "/api/v1/targets",
        {"status": "success", "data": {"activeTargets": [{"health": "up"}], "droppedTargets": []}},
        lambda url: PrometheusApi(url).targets,
        [{"health": "up"}],
    ),
    "Alertmanager": ("/api/v2/alerts", [{"labels": {"alertname": "X"}}], lambda url: AlertmanagerApi(url).alerts, None),
    "Loki": (
        "/loki/api/v1/series",
        {"status": "success", "data": [{"namespace": "odin"}]},
        lambda url: lambda: LokiApi(url).series('{namespace="odin"}'),
        [{"namespace": "odin"}],
    ),
    "Grafana": (
        "/api/datasources",
        [{"name": "Loki"}],
        lambda url: lambda: JsonApi(url, "Grafana").get_json("/api/datasources"),
        [{"name": "Loki"}],
    ),
}


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_busy_or_restarting_component_is_waited_for(client: str) -> None:
    path, good, call, expected = CLIENTS[client]
    with serving({path: [BUSY, UNAVAILABLE, (502, "bad gateway"), (200, good)]}) as server:
        got = eventually(call(server.url), timeout=10, what=f"{client}'s answer", poll=FAST)
        assert [p for _, p, _ in server.seen] == [path] * 4, "429, 503 and 502 are retried, 200 ends it"
    assert got == (expected if expected is not None else good)


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_a_client_error_ends_the_wait_at_once(client: str) -> None:
    path, _, call, _ = CLIENTS[client]
    with serving({path: [(400, "parse error at line 1")]}) as server:
        with pytest.raises(ApiError) as raised:
            eventually(call(server.url), timeout=10, what=f"{client}'s answer", poll=FAST)
        assert len(server.seen) == 1, "a 400 is an answer: retrying it only turns it into a timeout"
    assert raised.value.status == 400 and "parse error" in str(raised.value)


def test_a_component_that_stays_unavailable_times_out_naming_its_last_answer() -> None:
    path, _, call, _ = CLIENTS["Loki"]
    with serving({path: [UNAVAILABLE]}) as server, pytest.raises(WaitTimeout) as raised:
        eventually(call(server.url), timeout=0.3, what="Loki's series", poll=FAST)
    assert "HTTP 503" in raised.value.last and "Ingester not ready" in raised.value.last


RULES = "odin-logs:\n  - name: log-alerts\n    rules: []\n"


def test_loki_ruler_404_before_its_first_load_is_none_yet() -> None:
    script = {"/loki/api/v1/rules": [(404, "no rule groups found\n"), (200, RULES)]}
    with serving(script) as server:
        loki = LokiApi(server.url)
        assert loki.rule_groups() == {}, "the ruler has loaded nothing yet"

        def loaded() -> dict:
            groups = loki.rule_groups()
            assert groups, "no rule group loaded yet"
            return groups

        assert list(eventually(loaded, timeout=5, what="the ruler's groups", poll=FAST)) == ["odin-logs"]


def test_loki_ruler_404_of_another_kind_is_an_answer() -> None:
    with serving({"/loki/api/v1/rules": [(404, "404 page not found\n")]}) as server, pytest.raises(ApiError):
        LokiApi(server.url).rule_groups()  # no ruler at all: a config error, not a wait


def _promtail(text: str) -> StackConfig:
    return StackConfig({"promtail.yaml": text}.__getitem__, "a test")


def test_promtail_retry_budget_follows_dskit_backoff_with_its_jitter() -> None:
    # Defaults: 10 sends, 9 waits in [0.5,1) [1,2) … [128,256) s.
    default = retry_budget(_promtail("clients:\n  - url: http://loki:3100/loki/api/v1/push\n"))
    assert (default.shortest, default.longest, default.retries) == (255.5, 511.0, 10)
    capped = retry_budget(
        _promtail("clients:\n  - url: x\n    backoff_config: {min_period: 1s, max_period: 10s, max_retries: 5}\n")
    )
    # Waits in [1,2) [2,4) [4,8) [8,10): the cap bounds both ends.
    assert (capped.shortest, capped.longest) == (15.0, 24.0)
