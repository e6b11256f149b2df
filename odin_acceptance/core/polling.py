"""The one polling primitive: check now, then again until a deadline.

Every wait in the suite goes through `eventually` (a condition must become true) or
`holds_for` (a condition must stay true for a window). Both report, on failure, what was
awaited, the last value or error seen, and how long they waited.

`eventually` runs on tenacity (stop at the deadline, exponential wait capped by it, retry on
the "not yet" errors, a look at the stack's links before each pause); `holds_for` is ours,
since tenacity has no "must stay true".
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import requests
import tenacity
import urllib3

from odin_acceptance.core.errors import ApiError, StackBroken, WaitTimeout

T = TypeVar("T")

# Errors that mean "not yet" rather than "wrong": a component still starting or restarting.
TRANSIENT = (AssertionError, requests.ConnectionError, requests.Timeout, ConnectionError)

# Called on every attempt with (what, elapsed, timeout, last seen); the live progress line.
Observer = Callable[[str, float, float, str], None]
_observers: list[Observer] = []


# Which links of the running stack are broken (odin_acceptance.clients.links): link -> cause.
LinkCheck = Callable[[], dict[str, str]]
_link_checks: list[LinkCheck] = []


def watch_links(check: LinkCheck) -> None:
    _link_checks.append(check)


def unwatch_links(check: LinkCheck) -> None:
    if check in _link_checks:
        _link_checks.remove(check)


def add_observer(observer: Observer) -> None:
    _observers.append(observer)


def remove_observer(observer: Observer) -> None:
    if observer in _observers:
        _observers.remove(observer)


def _broken(needs: tuple[str, ...]) -> dict[str, str]:
    found: dict[str, str] = {}
    for check in _link_checks:
        found.update(check())
    return {link: found[link] for link in needs if link in found}


@dataclass(frozen=True)
class Poll:
    """How often to look; default suits loopback APIs answering in milliseconds."""

    interval: float = 0.1
    max_interval: float = 1.0
    backoff: float = 1.5


def _is_kube_api_error(value: object) -> bool:
    """Whether `value` is the Kubernetes client's ApiException; looked up only where the client
    is loaded (no instance exists otherwise), so polling never loads it."""
    module = sys.modules.get("kubernetes.client.exceptions")
    api_exception = getattr(module, "ApiException", None)
    return api_exception is not None and isinstance(value, api_exception)


def describe(value: object) -> str:
    """A value or an error in one short line (an API error by status and message, not its headers)."""
    if _is_kube_api_error(value):  # its str() carries every response header
        text = f"{type(value).__name__}: HTTP {value.status} {value.reason}: {(value.body or '').strip()}"
    elif isinstance(value, BaseException):
        text = f"{type(value).__name__}: {value}"
    else:
        text = repr(value)
    return text if len(text) <= 600 else text[:600] + " …"


def is_transient(exc: BaseException, types: tuple[type[BaseException], ...] = TRANSIENT) -> bool:
    """Whether `exc` means "not yet": one of `types`, an API (the Kubernetes API server or a
    component of the stack) that is busy (429) or failing (5xx), or a connection to it
    refused or reset. Any other answer (400, 403, 404, 422) ends the wait at once."""
    if isinstance(exc, types):
        return True
    if isinstance(exc, ApiError):
        return exc.transient
    if _is_kube_api_error(exc):
        return exc.status == 429 or (exc.status or 0) >= 500
    return isinstance(exc, urllib3.exceptions.HTTPError)  # refused, reset, timed out


def eventually(
    check: Callable[[], T],
    *,
    timeout: float,
    what: str,
    hint: str = "",
    poll: Poll = Poll(),
    transient: tuple[type[BaseException], ...] = TRANSIENT,
    needs: tuple[str, ...] = (),
) -> T:
    """Call `check` until it returns without raising a transient error; return its value.

    `check` signals "not yet" by raising (usually AssertionError with the value it saw);
    `is_transient` says which errors are "not yet". Other exceptions propagate at once: a
    wrong answer must not be retried into a timeout. `needs` names the links of the stack
    the awaited result travels (odin_acceptance.clients.links): if one is broken the wait ends at once
    with its cause (StackBroken).
    """
    started = time.monotonic()
    deadline = started + timeout

    def look_around(miss: BaseException | None) -> None:
        # After every miss: feed the progress line, and stop if waiting cannot help.
        elapsed = time.monotonic() - started
        for observer in _observers:
            observer(what, elapsed, timeout, describe(miss))
        broken = _broken(needs) if needs else {}
        if broken:
            raise StackBroken(what, elapsed, broken)

    def until_deadline(state: tenacity.RetryCallState) -> float:
        backoff = poll.interval * poll.backoff ** (state.attempt_number - 1)
        return max(0.0, min(backoff, poll.max_interval, deadline - time.monotonic()))

    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(lambda exc: is_transient(exc, transient)),
        stop=lambda state: time.monotonic() >= deadline,
        wait=until_deadline,
        before_sleep=lambda state: look_around(state.outcome.exception() if state.outcome else None),
        sleep=_pause,
    )
    try:
        return retrying(check)
    except tenacity.RetryError as exc:
        # The last miss was at or past the deadline: it gets the same look as the others.
        miss = exc.last_attempt.exception()
        look_around(miss)
        raise WaitTimeout(what, timeout, time.monotonic() - started, describe(miss), hint) from None


def holds_for(
    check: Callable[[], T],
    *,
    duration: float,
    what: str,
    poll: Poll = Poll(interval=0.2, max_interval=0.5),
) -> T:
    """Check repeatedly for `duration` seconds; the first failure fails at once.

    For "never" criteria (an alert that must not fire): the window is the latest moment the
    condition could break, and we keep looking until then instead of looking once.
    """
    started = time.monotonic()
    end = started + duration
    value = check()
    while time.monotonic() < end:
        _pause(min(poll.interval, max(0.0, end - time.monotonic())))
        try:
            value = check()
        except AssertionError as exc:
            elapsed = time.monotonic() - started
            raise AssertionError(f"{what} stopped holding after {elapsed:.1f} s of {duration:.1f} s: {exc}") from exc
    return value


def _pause(seconds: float) -> None:
    # The only sleep in the suite: the gap between two looks of a poll with a deadline.
    time.sleep(seconds)
