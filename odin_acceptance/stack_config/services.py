"""The stack's services and their ports, as the manifests declare them: one table for the
renderer, the local and kwok targets and the port-forwards of the cluster targets.

A Service's port names a component; the per-node DaemonSets Prometheus scrapes pod by pod
(node-exporter, Promtail) have no Service, so their first container port stands for them.
The suite's instruments (fake DCGM exporter, webhook receiver) are declared by its own
overlay, beside the manifests under test.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from odin_acceptance.stack_config.manifests import OVERLAYS, ManifestError, Manifests

INSTRUMENTS = OVERLAYS / "kind" / "instruments.yaml"


def service_table(objects: Iterable[dict[str, Any]]) -> dict[str, tuple[int, str]]:
    """Service name -> (its first port, the name of the container port behind it); a
    DaemonSet without a Service of its name -> its first container port and that port's name.
    Headless Services are left out: they name the pods of a Service already in the table (a
    StatefulSet's peers), not a component of their own."""
    objects = list(objects)
    table: dict[str, tuple[int, str]] = {}
    for obj in objects:
        headless = obj.get("spec", {}).get("clusterIP") == "None"
        if obj.get("kind") == "Service" and obj["spec"].get("ports") and not headless:
            port = obj["spec"]["ports"][0]
            target = port.get("targetPort")
            table[obj["metadata"]["name"]] = (
                int(port["port"]),
                target if isinstance(target, str) else port.get("name", ""),
            )
    for obj in objects:
        name = obj.get("metadata", {}).get("name")
        if obj.get("kind") == "DaemonSet" and name not in table:
            container_ports = [p for c in obj["spec"]["template"]["spec"]["containers"] for p in c.get("ports", [])]
            if container_ports:
                table[name] = (int(container_ports[0]["containerPort"]), container_ports[0].get("name", ""))
    return table


def service_ports(objects: Iterable[dict[str, Any]]) -> dict[str, int]:
    """Service name -> its port (see service_table)."""
    return {name: port for name, (port, _) in service_table(objects).items()}


def instrument_objects() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(INSTRUMENTS.read_text()) if doc]


def stack_table(objs: Manifests) -> dict[str, tuple[int, str]]:
    """Every service of the stack under test and of the suite's instruments: (port, port name)."""
    table = service_table([*objs.objects, *instrument_objects()])
    missing = {"prometheus", "alertmanager"} - table.keys()
    if missing:
        raise ManifestError(f"no Service for {sorted(missing)} in the manifests: nothing could reach them")
    return table


def stack_services(objs: Manifests) -> dict[str, int]:
    """Every service of the stack under test and of the suite's instruments, with its port."""
    return {name: port for name, (port, _) in stack_table(objs).items()}


@dataclass(frozen=True)
class StandIns:
    """The local processes standing in for the cluster's services: where each service is
    addressed in the cluster (its port) and where its stand-in listens on loopback."""

    ports: Mapping[str, int]
    addresses: Mapping[str, str]

    def __getitem__(self, service: str) -> str:
        return self.addresses[service]

    def __contains__(self, service: object) -> bool:
        return service in self.addresses

    def for_cluster_port(self, name: str, port: int) -> str | None:
        """The stand-in for `name:port` as the manifests write it, or None."""
        return self.addresses.get(name) if self.ports.get(name) == port else None
