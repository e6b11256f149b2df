"""Steps about the stack as a whole."""

from __future__ import annotations

from pytest_bdd import given

from fixtures.alerting import AlertPipeline
from fixtures.targets import Target


@given("the alerting stack is running", target_fixture="pipeline")
def alerting_stack(stack: Target) -> AlertPipeline:
    return AlertPipeline(stack)
