"""Judging GPU alerts across a fleet: that one hot GPU among thousands is the only alert and
reaches its receiver once, and that many GPUs crossing together are grouped as the
Alertmanager route says (one aggregation group, its last notification naming them all)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from odin_acceptance.clients import links
from odin_acceptance.clients.instrument_clients import Notification
from odin_acceptance.core import timeouts
from odin_acceptance.core.errors import WaitTimeout
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.polling import eventually, holds_for
from odin_acceptance.core.timing_profiles import DeliveryWindow
from odin_acceptance.pipelines.alert_journey import AlertPipeline, Delivery, Stimulus

GPU_ALERTS = 'ALERTS{alertname=~"GPU.+",alertstate="firing"}'


def _gpu(labels: dict[str, str]) -> tuple[str, str]:
    return labels.get("Hostname", "?"), labels.get("gpu", "?")


def _firing(notification: Notification, alertname: str) -> list[dict[str, Any]]:
    return [a for a in notification.alerts if a.get("status") == "firing" and a["labels"].get("alertname") == alertname]


def _told(pipeline: AlertPipeline, receiver: str, since: float) -> list[Notification]:
    """What `receiver` was told from `since` on."""
    return [n for n in pipeline.api.webhook.notifications() if n.receiver == receiver and n.received_at >= since]


def late_gpus(pipeline: AlertPipeline, missing: list[tuple[str, str]], alert: str, since: float) -> str:
    """Why GPUs are missing from the notifications: each one's alert state and its exporter's
    scrapes since `since` (failed, and the longest gap between two), the first causes to rule
    out when a fleet's alerts come late: a scrape that fails or lags restarts the hold."""
    if not missing:
        return "  every GPU was named in some notification: the grouping, not lateness, is what failed"
    prometheus = pipeline.api.prometheus
    window = f"{max(1, round(time.time() - since))}s"
    lines = [f"  {len(missing)} GPUs not named yet; the first of them:"]
    for host, gpu in missing[:5]:
        state = prometheus.query(f'ALERTS{{alertname="{alert}",Hostname="{host}",gpu="{gpu}"}}')
        # Over the window: a series whose scrapes fail is stale now, and its exporter is the question.
        series = prometheus.query(f'last_over_time(DCGM_FI_DEV_GPU_TEMP{{Hostname="{host}",gpu="{gpu}"}}[{window}])')
        instance = series[0]["metric"].get("instance", "?") if series else "?"
        scrapes = prometheus.query(f'up{{instance="{instance}"}}[{window}]')
        points = [(float(t), float(v)) for t, v in scrapes[0]["values"]] if scrapes else []
        gaps = [b[0] - a[0] for a, b in itertools.pairwise(points)]
        lines.append(
            f"    GPU {gpu} of {host}: alert {state[0]['metric']['alertstate'] if state else 'not pending'}; "
            f"exporter {instance}: {len(points)} scrapes in {window}, "
            f"{sum(1 for _, v in points if v == 0)} failed, longest gap {max(gaps, default=0):.2f} s"
        )
    return "\n".join(lines)


def only_one(
    pipeline: AlertPipeline, delivery: Delivery, receiver: str, quiet: float, evidence: ScenarioEvidence, gpus: int
) -> None:
    """For `quiet` seconds after `delivery`: the fleet's only firing GPU alert is the
    delivered one, and `receiver` heard of it in exactly one notification."""
    wanted = _gpu(delivery.alert["labels"])
    since = delivery.notification.received_at - delivery.latency

    def alone() -> None:
        firing = {_gpu(s["metric"]) for s in pipeline.api.prometheus.query(GPU_ALERTS)}
        assert firing == {wanted}, (
            f"firing GPU alerts among {gpus} GPUs: {sorted(firing)[:5]} ({len(firing)}), not only {wanted}"
        )
        told = _told(pipeline, receiver, since)
        named = [{_gpu(a["labels"]) for a in n.alerts if a.get("status") == "firing"} for n in told]
        assert len(told) == 1, f"{receiver!r} was notified {len(told)} times since the crossing: {named}"
        assert named[0] == {wanted}, f"{receiver!r}'s notification names {sorted(named[0])}, not only {wanted}"

    holds_for(alone, duration=quiet, what=f"GPU {wanted} to stay the only GPU alert, told to {receiver!r} once")
    evidence.record("GPU alerts firing in the fleet", 1, "alerts", low=1, high=1, note=f"among {gpus} GPUs")


def grouped(
    pipeline: AlertPipeline,
    stimuli: list[Stimulus],
    receiver: str,
    alert: str,
    window: DeliveryWindow,
    deadline: float,
    evidence: ScenarioEvidence,
) -> None:
    """Every notification `receiver` gets of the stimuli's `alert`s is of one aggregation group,
    and one of them, within `deadline` of the last crossing, names every stimulus firing; none
    fired before its hold (`window`'s H) had passed."""
    wanted = {(s.labels["Hostname"], s.labels["gpu"]) for s in stimuli}
    crossed = {(s.labels["Hostname"], s.labels["gpu"]): s.changed_at for s in stimuli}
    since = min(crossed.values())
    spread = max(crossed.values()) - since
    # Measured from the first crossing; the last came this much later.
    deadline += spread

    def all_in_one() -> Notification:
        told = _told(pipeline, receiver, since)
        ours = [(n, {_gpu(a["labels"]) for a in _firing(n, alert)} & wanted) for n in told]
        ours = [(n, gpus) for n, gpus in ours if gpus]
        groups = {n.group_key for n, _ in ours}
        assert len(groups) <= 1, f"the {len(wanted)} GPUs' alerts arrived in {len(groups)} groups: {sorted(groups)[:3]}"
        complete = [n for n, gpus in ours if gpus == wanted]
        assert complete, (
            f"no notification to {receiver!r} names all {len(wanted)} GPUs yet: "
            f"{[len(gpus) for _, gpus in ours] or 'none'} in each so far"
        )
        return complete[0]

    try:
        complete = eventually(
            all_in_one,
            timeout=max(0.5, since + deadline + timeouts.DELIVERY_SLACK - time.time()),
            what=f"one notification to {receiver!r} naming all {len(wanted)} GPUs",
            hint="group_by of the GPU route decides how alerts are grouped; check the Alertmanager config",
            needs=(links.ALERTS, links.NOTIFICATIONS),
        )
    except WaitTimeout as exc:
        named = {_gpu(a["labels"]) for n in _told(pipeline, receiver, since) for a in _firing(n, alert)}
        try:
            diagnosis = late_gpus(pipeline, sorted(wanted - named), alert, since)
        except Exception as failed:  # the timeout is the verdict; a diagnosis that fails must not replace it
            diagnosis = f"  (no diagnosis of the late GPUs: {type(failed).__name__}: {failed})"
        raise WaitTimeout(exc.what, exc.timeout, exc.elapsed, f"{exc.last}\n{diagnosis}", exc.hint) from None
    # No GPU may fire before its hold: each alert's startsAt (when Prometheus fired it) is at
    # least H after its GPU crossed, whatever the route does with it afterwards.
    fired = {
        _gpu(a["labels"]): complete.starts_at(a) - crossed[_gpu(a["labels"])]
        for a in _firing(complete, alert)
        if _gpu(a["labels"]) in wanted
    }
    soonest = min(fired, key=fired.__getitem__)
    evidence.record(
        f"crossing → firing, soonest of {len(wanted)} GPUs",
        fired[soonest],
        "s",
        low=window.hold - timeouts.DELIVERY_SLACK,
        note="at least the plan's `for`, rounded up to evaluations (H)",
        fails=f"GPU {soonest} fired {fired[soonest]:.2f} s after it crossed, before the plan's hold of "
        f"{window.hold:.4g} s (H): the rule's `for` is shorter than the plan's",
    )
    # The complete notification names the last GPU to cross, so it comes H after that one at
    # the soonest; and a new group's first notification waits W after the first alert fired.
    reused = pipeline.group_seen_before(_firing(complete, alert)[0]["labels"], since)
    earliest = spread + window.hold if reused else max(spread + window.hold, window.earliest)
    latency = complete.received_at - since
    evidence.record(
        f"crossing → one notification of {len(wanted)} GPUs",
        latency,
        "s",
        low=earliest - timeouts.DELIVERY_SLACK,
        high=deadline + timeouts.DELIVERY_SLACK,
        note="group existed: earliest is H after the last crossing" if reused else "new group: earliest is H+W",
        fails=f"all {len(wanted)} alerts reached {receiver!r} together {latency:.2f} s after the first crossing; "
        f"the plan allows {earliest:.3g}–{deadline:.3g} s ({window.formula()}): too early means a shorter `for` "
        "or group_wait than the plan's",
    )
