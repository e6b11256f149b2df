"""Judging an alert's journey against the plan's timing: when it turned pending, how long
it held, when its receiver heard of it, and that it stayed quiet when it should.

Each function waits for what it judges, records every measurement with its bound (a
measurement outside its bound fails the scenario with the criterion's words: see
`ScenarioEvidence.record`), and returns what later steps need.
"""

from __future__ import annotations

import time

from odin_acceptance.clients import links
from odin_acceptance.core import timeouts
from odin_acceptance.core.evidence import ScenarioEvidence
from odin_acceptance.core.polling import Poll, eventually
from odin_acceptance.core.timing_profiles import DeliveryWindow, delivery_window
from odin_acceptance.core.workloads import StressedNode
from odin_acceptance.pipelines.alert_journey import AlertPipeline, Delivery, FiredAlert, Stimulus
from odin_acceptance.verdicts.cpu_window import CpuBaseline, baseline, crossing_after, crossing_uncertainty, drain_after


def fires(
    pipeline: AlertPipeline,
    stimulus: Stimulus,
    evidence: ScenarioEvidence,
    alert: str,
    window: DeliveryWindow,
    job: str,
) -> FiredAlert:
    """Waits for `alert` to fire after `stimulus` (a series of scrape `job`), judging when it
    turned pending (≤ S+E)."""
    fired = pipeline.wait_firing(alert, stimulus, window, job)
    pending = fired.pending_at - stimulus.changed_at
    evidence.record(
        "crossing → pending",
        pending,
        "s",
        low=0.0,
        high=window.scrape + window.evaluation + timeouts.DELIVERY_SLACK,
        note="first evaluation after the first scrape of the new value (≤ S+E)",
        fails=f"{alert} turned pending {pending:.2f} s after {stimulus.description}: later than one scrape and "
        "one evaluation (S+E), so the scrape or evaluation interval is longer than the plan's",
    )
    return fired


def notified(
    pipeline: AlertPipeline, evidence: ScenarioEvidence, fired_alert: FiredAlert, receiver: str, group_wait: float
) -> Delivery:
    """Waits for `receiver` to hear of `fired_alert` and judges the hold (pending → firing)
    and the whole journey (crossing → notified) against S+E+H+W; draws the timeline."""
    stim = fired_alert.stimulus
    w = fired_alert.window
    window = delivery_window(scrape=w.scrape, evaluation=w.evaluation, for_=w.hold, group_wait=group_wait)
    latest = window.latest + timeouts.DELIVERY_SLACK
    delivery = pipeline.wait_delivery(
        receiver,
        {"alertname": fired_alert.alertname, **stim.labels},
        since=stim.changed_at,
        # An evaluation past the bound, so that a `for` an evaluation longer is named as
        # such by the hold below, which is exact, rather than as a time-out.
        deadline=latest + window.evaluation,
        what=f"receiver {receiver!r} to be notified of {fired_alert.alertname} ({window.formula()})",
    )
    # A group that already notified sends on its group_interval tick, which may come
    # sooner than group_wait: then only the hold bounds the earliest delivery.
    reused = pipeline.group_seen_before(delivery.alert["labels"], delivery.notification.received_at - window.group_wait)
    earliest = window.hold if reused else window.earliest
    firing_at = delivery.notification.starts_at(delivery.alert)
    # The timeline first: on a failure below it shows what happened.
    series, threshold = pipeline.signal(
        fired_alert.alertname,
        stim.labels,
        stim.changed_at - 4 * window.scrape,
        delivery.notification.received_at + window.scrape,
        window.scrape / 2,
    )
    evidence.timeline(
        f"{fired_alert.alertname}: {stim.description}",
        "rule expression value",
        threshold,
        series,
        [
            (stim.changed_at, "crossing"),
            (fired_alert.pending_at, "pending"),
            (firing_at, "firing"),
            (delivery.notification.received_at, f"notified {receiver}"),
        ],
    )
    held_bound(evidence, fired_alert.alertname, firing_at - fired_alert.pending_at, window)
    evidence.record(
        "firing → notified", delivery.notification.received_at - firing_at, "s", note="group wait and delivery"
    )
    evidence.record(
        "crossing → notified",
        delivery.latency,
        "s",
        low=earliest - 0.01,
        high=latest,
        bound=f"{earliest:.3g}–{latest:.3g} s ({window.formula()}; +{timeouts.DELIVERY_SLACK:g} s slack)",
        note=("group existed: earliest is H" if reused else "new group: earliest is H+W"),
        fails=f"{fired_alert.alertname} reached {receiver!r} {delivery.latency:.2f} s after {stim.description}; "
        f"the plan allows {earliest:.3g}–{latest:.3g} s ({window.formula()}). Too early means a shorter "
        "`for` or group_wait than the plan; too late a longer one.",
    )
    return delivery


def held_bound(evidence: ScenarioEvidence, alertname: str, held: float, window: DeliveryWindow) -> None:
    """Judges how long `alertname` was pending before it fired: exactly H, the plan's `for`
    rounded up to evaluations. Prometheus stamps both moments with its evaluations' times
    (activeAt, and the notification's startsAt), which lie a whole number of E apart, so
    half an evaluation either side tells H from H ± E: a `for` of 2m29s (H 150 s at E 30 s)
    from the plan's 2m (H 120 s), which one delivery time cannot, as their windows overlap."""
    tolerance = window.evaluation / 2
    low, high = window.hold - tolerance, window.hold + tolerance
    evidence.record(
        "pending → firing (held)",
        held,
        "s",
        low=low,
        high=high,
        bound=f"{window.hold:.4g} s ± {tolerance:.3g} s (H, ± E/2)",
        note="the rule's `for`, rounded up to evaluations (H)",
        fails=f"{alertname} was pending {held:.2f} s before firing; the plan's `for` rounded up to evaluations "
        f"is {window.hold:.4g} s (E {window.evaluation:g} s): the rule's `for` differs from the plan"
        + (", or Prometheus missed an evaluation" if held > high else ""),
    )


def told_resolved(
    pipeline: AlertPipeline,
    evidence: ScenarioEvidence,
    fired_alert: FiredAlert,
    stimulus: Stimulus,
    receiver: str,
    group_interval: float,
) -> Delivery:
    """Waits for `receiver` to be told `fired_alert` resolved, within S+E+I of the recovery."""
    w = fired_alert.window
    latest = w.scrape + w.evaluation + group_interval + timeouts.DELIVERY_SLACK
    delivery = pipeline.wait_delivery(
        receiver,
        {"alertname": fired_alert.alertname, **stimulus.labels},
        since=stimulus.changed_at,
        deadline=latest,
        status="resolved",
        what=f"receiver {receiver!r} to be told {fired_alert.alertname} is resolved (≤ S+E+I = {latest:.3g} s)",
    )
    evidence.record(
        "recovery → resolved notification",
        delivery.latency,
        "s",
        low=0.0,
        high=latest,
        note="≤ S+E, then the next group_interval tick (I)",
    )
    return delivery


def stays_quiet(
    pipeline: AlertPipeline, evidence: ScenarioEvidence, stimulus: Stimulus, alert: str, window: DeliveryWindow
) -> None:
    """`alert` never fires after `stimulus`, watched until the latest moment it could if the
    rule were wrong (S+E+H, plus slack); draws the timeline."""
    end = stimulus.changed_at + window.scrape + window.evaluation + window.hold + timeouts.DELIVERY_SLACK
    pipeline.wait_scraped(stimulus)
    observed = max(0.0, end - time.time())
    pipeline.never_fires(alert, stimulus.labels, observed, what=f"{alert} staying quiet after {stimulus.description}")
    series, threshold = pipeline.signal(
        alert, stimulus.labels, stimulus.changed_at - 4 * window.scrape, end, window.scrape / 2
    )
    evidence.timeline(
        f"{alert}: {stimulus.description}",
        "rule expression value",
        threshold,
        series,
        [(stimulus.changed_at, "crossing"), (end, "watched until (S+E+H)")],
    )
    evidence.record(
        "watched without firing",
        end - stimulus.changed_at,
        "s",
        low=window.scrape + window.evaluation + window.hold,
        note="from the change until the latest moment a firing could occur (S+E+H)",
    )


def fires_under_load(
    pipeline: AlertPipeline,
    evidence: ScenarioEvidence,
    alert: str,
    stressed: StressedNode,
    before: CpuBaseline,
    window: float,
    busy: float,
    hold: float,
) -> FiredAlert:
    """Waits for a CPU alert to fire on a node under full load, judging when it turned
    pending: once its `window`-second rate, starting from the `before` baseline, passes
    `busy` (a fraction), then the next evaluation."""
    held = pipeline.window(hold, 0.0)
    scrape, evaluation = held.scrape, held.evaluation
    # The load "crosses" the threshold once the window's average passes it: the stimulus's
    # moment is the latest the crossing can be (b0 is known to a point), so the firing wait
    # ends where the pending bound below does, plus the hold.
    fill = crossing_after(window, busy, before)
    uncertainty = crossing_uncertainty(window, busy, before)
    labels = {"instance": stressed.instance}
    description = f"{stressed.node} under full load for {fill:.0f} ± {uncertainty:.1f} s"
    stimulus = Stimulus(description, labels, stressed.started_at + fill + uncertainty)
    fired = pipeline.wait_firing(alert, stimulus, held, "node-exporter")
    # Prometheus's own pending time (activeAt): the first evaluation after the crossing. The
    # hold after it is Prometheus's to keep, and `wait_firing` saw it kept.
    took = fired.pending_at - stressed.started_at
    evidence.record(
        "busy before the load", before.busy * 100, "%", note=f"the rule saw {before.as_the_rule_sees_it:.0%}"
    )
    evidence.record(
        "load start → pending (window crossed)",
        took,
        "s",
        low=fill - scrape - uncertainty,
        high=fill + scrape + evaluation + uncertainty + timeouts.DELIVERY_SLACK,
        note=f"the window passes {busy:.0%} after {fill:.0f} s of load, then the next evaluation; ± a scrape "
        "(the rate's extrapolation at the window's edge) and one point of the measured busy fraction",
        fails=f"{alert} turned pending {took:.0f} s after the load started; a {window / 60:g}-minute window at "
        f"{busy:.0%} (from {before.busy * 100:.0f} % busy) is crossed after {fill:.0f} s"
        + (": it was pending before the load, on the node's quiet baseline" if took < 0 else ""),
    )
    return fired


def active_span_under_load(
    pipeline: AlertPipeline,
    evidence: ScenarioEvidence,
    alert: str,
    stressed: StressedNode,
    window: float,
    busy: float,
) -> float:
    """How long `alert`'s condition holds (the alert pending or firing) on a node fully loaded
    for the instrument's whole run, waited for until the alert is gone again; when it goes is
    judged against the window's arithmetic."""
    scrape, evaluation = pipeline.scrape_interval(), pipeline.evaluation_interval()
    load = stressed.seconds
    labels = {"instance": stressed.instance}
    seen: list[float] = []

    def gone_again() -> float:
        active = pipeline.rule_alerts(alert, labels)
        seen.extend(a.active_at for a in active[:1] if not seen)
        assert seen, f"{alert} not active yet on {stressed.instance}"
        assert not active, f"{alert} {active[0].state} on {stressed.instance} since {time.time() - seen[0]:.0f} s"
        return time.time() - seen[0]

    # Either edge is seen at the next scrape and evaluation; the end also a poll later.
    slack = scrape + evaluation + Poll.max_interval + timeouts.DELIVERY_SLACK
    # The deadline allows the node to be up to half busy after the load; the bound below
    # uses what it really was.
    latest = load + drain_after(window, busy, 0.5)
    span = eventually(
        gone_again,
        timeout=max(1.0, stressed.started_at + latest + slack - time.time()),
        what=f"{alert} on {stressed.instance} to turn active under the load and go again once it ends",
        hint="the load did not reach every core, or the rule's threshold or window differs from the plan",
        needs=(links.scrapes("node-exporter"),),
    )
    # The rise depends on how idle time was spread in the window before the load (a previous
    # load may still be in it), so the judged edge is the fall: once the load has filled the
    # window, it drains below `busy` after W·(1−p)/(1−b1), b1 the busy fraction since. b1 comes
    # from the drain's second half, which is after the load however late the instrument stopped.
    load_end = stressed.started_at + load
    gone_after = time.time() - load_end
    drained = min(gone_after, window * (1 - busy)) / 2
    after = baseline(pipeline.api.prometheus, stressed.instance, max(drained, 4 * scrape))
    drain = drain_after(window, busy, after.busy)
    uncertainty = crossing_uncertainty(window, busy, after)
    evidence.record(
        f"load end → {alert} gone",
        gone_after,
        "s",
        low=drain - uncertainty,
        high=drain + slack + uncertainty,
        note=f"the {window / 60:g}-minute window falls below {busy:.0%} {drain:.0f} s after the load "
        f"(the node {after.busy:.0%} busy since), seen at the next scrape and evaluation",
        fails=f"{alert} was gone {gone_after:.0f} s after the load ended; the window's arithmetic gives {drain:.0f} s: "
        "the rule's threshold or window differs from the plan",
    )
    return span


def heard_after_restart(
    pipeline: AlertPipeline,
    evidence: ScenarioEvidence,
    stimulus: Stimulus,
    am_back: float,
    receiver: str,
    alert: str,
    limit: float,
) -> None:
    """`receiver` hears of `alert` within `limit` seconds of Alertmanager being back."""
    delivery = pipeline.wait_delivery(
        receiver,
        {"alertname": alert, **stimulus.labels},
        since=am_back,
        deadline=limit,
        what=f"{receiver!r} to hear of {alert} after Alertmanager restarted",
    )
    evidence.record(
        "Alertmanager back → notified",
        delivery.latency,
        "s",
        high=limit,
        fails=f"{alert} reached {receiver!r} {delivery.latency:.2f} s after Alertmanager was back "
        f"(limit {limit:.3g} s)",
    )
