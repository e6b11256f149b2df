import time

import pytest

from fixtures.polling import Poll, WaitTimeout, eventually, holds_for


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
