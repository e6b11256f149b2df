"""Clients of the stack's APIs and of the suite's own instruments: HTTP, Kubernetes, kubectl.
They know how to ask, never where the stack runs (no targets)."""
