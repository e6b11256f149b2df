"""What a failure report shows of a cluster: events, pods, why pods are not ready, the
last log lines of a few pods per component, and why a rollout stalled.

A fixed number of API calls whatever the number of nodes (benchmarks/kwok_scale.py
measures it): lists, and logs of at most a few pods per component, never a call per node.
"""

from __future__ import annotations

from collections.abc import Callable

import urllib3
from kubernetes.client.exceptions import ApiException

from odin_acceptance.clients.kube_api import KubeApi, is_ready
from odin_acceptance.core import timeouts
from odin_acceptance.core.polling import describe


def _event_time(event: dict) -> str:
    return event.get("lastTimestamp") or event.get("eventTime") or ""


def _event_line(event: dict) -> str:
    obj = event["involvedObject"]
    where = f"{obj['kind']}/{obj['name']}"
    return f"{_event_time(event)} {event.get('type', '')} {where} {event['reason']}: {event['message']}"


def _pod_state(pod: dict) -> str:
    """Why a pod is not ready: its false conditions and its containers' waiting or terminated states."""
    lines = [
        f"  condition {c['type']}={c['status']}: {c.get('reason', '')} {c.get('message', '')}".rstrip()
        for c in pod["status"].get("conditions", [])
        if c["status"] != "True"
    ]
    for container in pod["status"].get("containerStatuses", []):
        for state, detail in container.get("state", {}).items():
            if state != "running":
                lines.append(
                    f"  container {container['name']} {state}: {detail.get('reason', '')} {detail.get('message', '')}"
                )
    return "\n".join([pod["metadata"]["name"], *lines])


def cluster_diagnostics(k: KubeApi, apps: list[str], sample: int = 3) -> dict[str, str]:
    """Events, pods, and the last log lines of a few pods of each app (not-ready ones
    first), for a failure report. A fixed number of API calls whatever the number of
    nodes: a log call per pod of a DaemonSet would be one per node
    (benchmarks/kwok_scale.py measures this)."""
    out: dict[str, str] = {}

    def attempt(title: str, read: Callable[[], str]) -> None:
        try:
            out[title] = read()[-8000:]
        except (ApiException, urllib3.exceptions.HTTPError) as exc:
            out[title] = f"unavailable: {describe(exc)}"

    attempt("events", lambda: "\n".join(map(_event_line, sorted(k.events(), key=_event_time))))
    try:
        pods = k.pods()
    except (ApiException, urllib3.exceptions.HTTPError) as exc:
        out["pods"] = f"unavailable: {describe(exc)}"
        return out
    out["pods"] = "\n".join(
        f"{p['metadata']['name']:<48} {p['spec'].get('nodeName', '-'):<32} {p['status'].get('phase', '?'):<10} "
        f"{'ready' if is_ready(p) else 'NOT READY'}"
        for p in pods
    )[-8000:]
    unready = [p for p in pods if not is_ready(p)][:sample]
    if unready:
        out["pods not ready"] = "\n".join(map(_pod_state, unready))
    for app in apps:
        mine = sorted((p for p in pods if p["metadata"].get("labels", {}).get("app") == app), key=is_ready)
        for pod in mine[:sample]:
            name = pod["metadata"]["name"]
            for container in pod["spec"]["containers"]:
                attempt(
                    f"{app} log (last lines of {name}/{container['name']})",
                    lambda name=name, container=container["name"]: k.pod_log(name, container, tail=40),
                )
    return out


def rollout_stalled(k: KubeApi, kind: str, name: str, error: Exception) -> str:
    """Why a rollout did not finish: the object's status and conditions, and the events of
    the object and of its pods (FailedScheduling, FailedMount, …), newest last."""
    lines = [f"{kind}/{name} did not roll out within {timeouts.ROLLOUT:.0f} s ({str(error).splitlines()[0]})"]
    try:
        status = k.workload(kind, name).get("status", {})
        counts = {key: value for key, value in status.items() if isinstance(value, int)}
        lines.append(f"status: {counts}")
        lines += [
            f"condition {c.get('type')}={c.get('status')}: {c.get('reason', '')} {c.get('message', '')}".rstrip()
            for c in status.get("conditions", [])
        ]
        events = [
            e
            for e in k.events()
            if e["involvedObject"]["name"] == name or e["involvedObject"]["name"].startswith(f"{name}-")
        ]
        events.sort(key=_event_time)
        lines += [f"event {_event_line(e)}" for e in events[-12:]] or ["no events for it or its pods"]
    except (ApiException, urllib3.exceptions.HTTPError) as exc:  # the API itself is the problem: say so
        lines.append(f"its status is unavailable too: {describe(exc)}")
    return "\n".join(lines)
