"""The suite's one error base, and the errors that every layer shares.

Everything the suite raises on purpose is an `OdinError`, so a caller can tell the suite's
own verdicts and refusals from a bug. Two kinds matter to a run: a criterion that does not
hold (`WaitTimeout` is also an AssertionError: pytest reports it as a failed expectation) and
a stack that cannot be judged (`StackBroken`, and every error about inputs, tools or a
target): not an assertion, so no `except AssertionError` meant for "not yet" swallows it.
"""

from __future__ import annotations


class OdinError(Exception):
    """Base of every error the suite raises; the message names the artefact and the fix."""


class ApiError(OdinError):
    """The component answered, but not with success. Whether that is final or "not yet" is
    the status's to say (`transient`): a 429 or a 5xx is a component busy or restarting."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status

    @property
    def transient(self) -> bool:
        return self.status == 429 or self.status >= 500


class WaitTimeout(OdinError, AssertionError):
    """A condition did not hold by its deadline: a failed criterion, so also an AssertionError."""

    def __init__(self, what: str, timeout: float, elapsed: float, last: str, hint: str = "") -> None:
        self.what, self.timeout, self.elapsed, self.last, self.hint = what, timeout, elapsed, last, hint
        message = f"timed out after {elapsed:.1f} s (deadline {timeout:.1f} s) waiting for {what}\n  last seen: {last}"
        if hint:
            message += f"\n  hint: {hint}"
        super().__init__(message)


class StackBroken(OdinError):
    """A link a wait needs is broken: waiting longer cannot help, and the criterion was not
    judged. Not an AssertionError, so nothing that retries on "not yet" can swallow it."""

    def __init__(self, what: str, elapsed: float, causes: dict[str, str]) -> None:
        self.causes = causes
        lines = "".join(f"\n  {link}: {cause}" for link, cause in causes.items())
        super().__init__(f"stopped waiting for {what} after {elapsed:.1f} s: a link it needs is broken{lines}")
