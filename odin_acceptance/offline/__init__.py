"""Checks that judge the manifests and configs without running the stack: each config through
its own tool, deployment defects, promtool rule unit tests, amtool route tests."""
