"""Verdicts: judging what the pipelines observed against the plan's numbers, and the criteria
those verdicts credit."""
