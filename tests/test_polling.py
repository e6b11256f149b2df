import time

import pytest

from odin_acceptance.core.polling import Poll, WaitTimeout, eventually, holds_for


def test_eventually_returns_first_success():
    calls = []

    def check():
        calls.append(1)
        assert len(calls) >= 3, f"only {len(calls)} calls"
        return "done"

    assert eventually(check, timeout=5, what="three calls", poll=Poll(interval=0.01)) == "done"
    assert len(calls) == 3


def test_eventually_checks_immediately():
    started = time.monotonic()
    eventually(lambda: None, timeout=5, what="nothing")
    assert time.monotonic() - started < 0.05


def test_timeout_reports_what_last_seen_and_how_long():
    def check():
        raise AssertionError("temperature is 45")

    with pytest.raises(WaitTimeout) as info:
        eventually(check, timeout=0.3, what="the alert to fire", hint="check the rule", poll=Poll(interval=0.05))
    message = str(info.value)
    assert "the alert to fire" in message
    assert "temperature is 45" in message
    assert "deadline 0.3 s" in message
    assert "hint: check the rule" in message


def test_non_transient_errors_are_not_retried():
    calls = []

    def check():
        calls.append(1)
        raise KeyError("wrong answer")

    with pytest.raises(KeyError):
        eventually(check, timeout=5, what="x")
    assert len(calls) == 1


def test_holds_for_fails_at_first_break():
    state = {"n": 0}

    def check():
        state["n"] += 1
        assert state["n"] < 3, "broke"

    started = time.monotonic()
    with pytest.raises(AssertionError, match="stopped holding"):
        holds_for(check, duration=5, what="quiet", poll=Poll(interval=0.01))
    assert time.monotonic() - started < 1


def test_holds_for_lasts_the_window():
    started = time.monotonic()
    holds_for(lambda: None, duration=0.3, what="quiet", poll=Poll(interval=0.05, max_interval=0.05))
    assert time.monotonic() - started >= 0.3


def test_a_broken_link_the_wait_needs_ends_it_at_once_with_the_cause():
    from odin_acceptance.clients.links import ALERTS, LOGS
    from odin_acceptance.core.polling import StackBroken, unwatch_links, watch_links

    def check() -> dict[str, str]:
        return {ALERTS: "3 alert batches Prometheus failed to send since the stack started"}

    def never() -> None:
        raise AssertionError("no notification yet")

    watch_links(check)
    try:
        started = time.monotonic()
        with pytest.raises(StackBroken, match="Prometheus → Alertmanager: 3 alert batches") as caught:
            eventually(never, timeout=30, what="the GPU notification", needs=(ALERTS,))
        assert time.monotonic() - started < 1, "a broken link must not wait for the deadline"
        assert "stopped waiting for the GPU notification" in str(caught.value)
        with pytest.raises(WaitTimeout):  # a wait that does not need the link runs to its deadline
            eventually(never, timeout=0.3, what="a log line", needs=(LOGS,))
    finally:
        unwatch_links(check)


def test_link_watch_counts_failures_since_the_baseline_and_spares_what_was_stopped_on_purpose():
    from odin_acceptance.clients.links import ALERTS, NOTIFICATIONS, LinkWatch, scrapes

    errors = {"n": 2}
    exited: dict[str, str] = {}
    targets = [{"labels": {"job": "dcgm-exporter"}, "health": "up"}]
    watch = LinkWatch(
        {
            "prometheus": lambda: f'prometheus_notifications_errors_total{{alertmanager="x"}} {errors["n"]}\n',
            "alertmanager": lambda: 'alertmanager_notifications_failed_total{integration="webhook"} 0\n',
        },
        lambda: targets,
        lambda: exited,
    )
    watch.baseline()
    assert watch.broken() == {}, "failures before the baseline (start-up) are not a broken link"
    errors["n"] = 5
    watch.baseline()  # after a deliberate restart
    errors["n"] = 6
    watch._looked_at = 0.0
    assert watch.broken() == {ALERTS: "1 alert batches Prometheus failed to send since the stack started"}
    watch.stopped_on_purpose.add("alertmanager")
    watch._looked_at = 0.0
    assert ALERTS not in watch.broken() and NOTIFICATIONS not in watch.broken()
    exited["dcgm-exporter"] = "dcgm-exporter exited with code 1"
    targets[0].update(health="down", scrapeUrl="http://127.0.0.1:1/metrics", lastError="connection refused")
    watch._looked_at = 0.0
    broken = watch.broken()
    assert broken[scrapes("dcgm-exporter")] == "dcgm-exporter exited with code 1"
    assert scrapes("node-exporter") not in broken, "another job's exporter is not this wait's link"


def test_a_scrape_from_before_a_restart_does_not_break_the_link():
    from odin_acceptance.clients.links import LinkWatch, scrapes

    target = {"labels": {"job": "node-exporter"}, "health": "down", "scrapeUrl": "http://127.0.0.1:1/metrics"}
    watch = LinkWatch({}, lambda: [target], dict)
    watch.stopped_on_purpose.add("node-exporter")
    target["lastScrape"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 5))  # while it was down
    watch.back("node-exporter")
    assert watch.broken() == {}, "the last scrape failed before the exporter came back: not yet a verdict"
    target["lastScrape"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5))
    watch._looked_at = 0.0
    assert scrapes("node-exporter") in watch.broken(), "a scrape after the restart that fails is one"
