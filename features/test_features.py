"""Binds every feature file at once, so no scenario can exist without running."""

from pytest_bdd import scenarios

scenarios(".")
