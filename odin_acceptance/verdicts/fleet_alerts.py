"""Judging GPU alerts across a fleet: that one hot GPU among thousands is the only alert and
reaches its receiver once, and that many GPUs crossing together are grouped as the
Alertmanager route says (one aggregation group, its last notification naming them all)."""

from __future__ import annotations

import time

from odin_acceptance.clients import links
from odin_acceptance.core import timeouts
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.polling import eventually, holds_for
from odin_acceptance.pipelines.alert_journey import AlertPipeline, Delivery, Stimulus

GPU_ALERTS = 'ALERTS{alertname=~"GPU.+",alertstate="firing"}'


def _gpu(labels: dict[str, str]) -> tuple[str, str]:
    return labels.get("Hostname", "?"), labels.get("gpu", "?")


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
        told = [n for n in pipeline.api.webhook.notifications() if n.receiver == receiver and n.received_at >= since]
        named = [{_gpu(a["labels"]) for a in n.alerts if a.get("status") == "firing"} for n in told]
        assert len(told) == 1, f"{receiver!r} was notified {len(told)} times since the crossing: {named}"
        assert named[0] == {wanted}, f"{receiver!r}'s notification names {sorted(named[0])}, not only {wanted}"

    holds_for(alone, duration=quiet, what=f"GPU {wanted} to stay the only GPU alert, told to {receiver!r} once")
    evidence.record("GPU alerts firing in the fleet", 1, "alerts", low=1, high=1, note=f"among {gpus} GPUs")


def grouped(
    pipeline: AlertPipeline, stimuli: list[Stimulus], receiver: str, deadline: float, evidence: ScenarioEvidence
) -> None:
    """Every notification `receiver` gets of the stimuli's alerts is of one aggregation group,
    and one of them, within `deadline` of the last crossing, names every stimulus firing."""
    wanted = {(s.labels["Hostname"], s.labels["gpu"]) for s in stimuli}
    since = min(s.changed_at for s in stimuli)
    # Measured from the first crossing; the last came this much later.
    deadline += max(s.changed_at for s in stimuli) - since

    def all_in_one() -> float:
        told = [n for n in pipeline.api.webhook.notifications() if n.receiver == receiver and n.received_at >= since]
        ours = [(n, {_gpu(a["labels"]) for a in n.alerts if a.get("status") == "firing"} & wanted) for n in told]
        ours = [(n, gpus) for n, gpus in ours if gpus]
        groups = {n.group_key for n, _ in ours}
        assert len(groups) <= 1, f"the {len(wanted)} GPUs' alerts arrived in {len(groups)} groups: {sorted(groups)[:3]}"
        complete = [n for n, gpus in ours if gpus == wanted]
        assert complete, (
            f"no notification to {receiver!r} names all {len(wanted)} GPUs yet: "
            f"{[len(gpus) for _, gpus in ours] or 'none'} in each so far"
        )
        return complete[0].received_at - since

    latency = eventually(
        all_in_one,
        timeout=max(0.5, since + deadline + timeouts.DELIVERY_SLACK - time.time()),
        what=f"one notification to {receiver!r} naming all {len(wanted)} GPUs",
        hint="group_by of the GPU route decides how alerts are grouped; check the Alertmanager config",
        needs=(links.ALERTS, links.NOTIFICATIONS),
    )
    evidence.record(
        f"crossing → one notification of {len(wanted)} GPUs",
        latency,
        "s",
        low=0.0,
        high=deadline + timeouts.DELIVERY_SLACK,
        fails=f"all {len(wanted)} alerts reached {receiver!r} together only after {latency:.2f} s",
    )
