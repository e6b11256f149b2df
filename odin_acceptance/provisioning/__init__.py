"""Provisioning: the pinned component versions, fetched or built once into the user's cache,
and the components the user supplies (Loki, Promtail, Grafana: never fetched)."""
