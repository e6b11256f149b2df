"""Reporting: the HTML a reviewer signs, the CI job summary, figures and the artifacts a failed
run leaves."""
