"""Stands in for pytest-xdist's `-n` and pytest-rerunfailures' `--reruns` (neither is a
dependency of the suite): the same option names and destinations, nothing else."""

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("probe")
    group._addoption("-n", "--numprocesses", dest="numprocesses", default=None)  # as xdist spells it
    group.addoption("--reruns", dest="reruns", type=int, default=0)
