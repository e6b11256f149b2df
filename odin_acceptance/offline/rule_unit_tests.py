"""promtool rule unit tests generated from the plan's numbers.

The expectation (threshold, hold, severity) comes from the feature file; the rules come
from the manifests. Each check is one promtool run, so a failure names exactly which
property of the rule broke. promtool runs on simulated time, so the real durations are
tested in well under a second.

Alert state is read from the ALERTS series rather than with `alert_rule_test`, which
demands every label and annotation to match exactly: we judge what the plan specifies
(state, timing, severity), not wording.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from odin_acceptance.core import timeouts
from odin_acceptance.core.timing_profiles import format_duration
from odin_acceptance.instruments import gpu_signals

SCRAPE = 15  # seconds between the synthetic samples

Series = list[dict[str, str]]


def _flat(series: str, value: float, samples: int) -> dict[str, str]:
    return {"series": series, "values": f"{value:g}x{samples}"}


def _gpu(field: str) -> str:
    """The series of a GPU field, named as the exporter names it (the GPU signal table)."""
    labels = f'gpu="0",UUID="GPU-unit-test",Hostname="unit-node",modelName="{gpu_signals.MODEL}"'
    return f"{gpu_signals.metric(field)}{{{labels}}}"


def _gpu_temperature(v: float, n: int) -> Series:
    return [_flat(_gpu("temperature_c"), v, n)]


def _gpu_memory_pct(v: float, n: int) -> Series:
    total = 81920.0
    used = total * v / 100
    return [_flat(_gpu("fb_used_mib"), used, n), _flat(_gpu("fb_free_mib"), total - used, n)]


def _gpu_power_pct(v: float, n: int) -> Series:
    limit = gpu_signals.signal("power_limit_w").idle
    return [
        _flat(_gpu("power_w"), limit * v / 100, n),
        _flat(_gpu("power_limit_w"), limit, n),
    ]


# Byte counts are whole percent steps times a power of two, so that a ratio computed by
# the rule equals the percentage's own double exactly: "at the threshold" then means at it,
# not a rounding error away from it.
_GIB = 2.0**30


def _memory_pct(v: float, n: int) -> Series:
    labels = '{instance="unit-node:9100",job="node-exporter"}'
    return [
        _flat(f"node_memory_MemTotal_bytes{labels}", 100 * _GIB, n),
        _flat(f"node_memory_MemAvailable_bytes{labels}", (100 - v) * _GIB, n),
    ]


def _disk_free_pct(v: float, n: int) -> Series:
    labels = '{instance="unit-node:9100",job="node-exporter",mountpoint="/",fstype="ext4",device="/dev/vda1"}'
    return [
        _flat(f"node_filesystem_size_bytes{labels}", 100 * _GIB, n),
        _flat(f"node_filesystem_avail_bytes{labels}", v * _GIB, n),
    ]


def _up(v: float, n: int) -> Series:
    return [_flat('up{instance="unit-node:9400",job="dcgm-exporter"}', v, n)]


# Signal name in the feature -> synthetic input series at a value. This is instrument
# knowledge (which metrics express a signal), never a number from the rules under test.
SIGNALS: dict[str, Callable[[float, int], Series]] = {
    "GPU temperature in °C": _gpu_temperature,
    "GPU memory used in %": _gpu_memory_pct,
    "GPU power in % of its limit": _gpu_power_pct,
    "memory used in %": _memory_pct,
    "root disk space free in %": _disk_free_pct,
    "a scrape target's up value": _up,
}


_NODE = 'instance="unit-node:9100",job="node-exporter"'


def cpu_idle_then_full_load(idle_for: int, loaded_for: int, cores: int = 2) -> Series:
    """Idle CPUs (idle counter +1 per second) that go to 100 % busy (idle counter flat)."""
    idle_samples = idle_for // SCRAPE
    loaded_samples = loaded_for // SCRAPE
    return [
        {
            "series": f'node_cpu_seconds_total{{cpu="{cpu}",mode="idle",{_NODE}}}',
            "values": f"0+{SCRAPE}x{idle_samples} {idle_samples * SCRAPE}+0x{loaded_samples}",
        }
        for cpu in range(cores)
    ]


@dataclass(frozen=True)
class Check:
    """One property, one promtool run: `expr` at `at_seconds` must return `expect`."""

    name: str
    expr: str
    at_seconds: float
    expect: list[dict[str, object]]


def state_expr(alert: str, state: str) -> str:
    """Count of the alert's instances in `state`, by severity."""
    return f'count by (severity) (ALERTS{{alertname="{alert}",alertstate="{state}"}})'


def count_expr(alert: str, state: str) -> str:
    """Count of the alert's instances in `state` (no data when there are none)."""
    return f'count(ALERTS{{alertname="{alert}",alertstate="{state}"}})'


ONE = [{"labels": "{}", "value": 1}]


def test_file(rules: Path, series: Series, check: Check, evaluation: float) -> str:
    """promtool's unit-test file for one check. `evaluation`: the plan's rule-group interval
    (promtool applies one to every group). "A moment before" the hold still shows a shorter
    `for`: its firing sample is already there, while the plan's firing happens exactly at
    the hold, on the evaluation grid."""
    doc = {
        "rule_files": [str(rules)],
        "evaluation_interval": format_duration(evaluation),
        "tests": [
            {
                "name": check.name,
                "interval": f"{SCRAPE}s",
                "input_series": series,
                "promql_expr_test": [
                    {
                        "expr": check.expr,
                        "eval_time": format_duration(check.at_seconds) if check.at_seconds else "0s",
                        "exp_samples": check.expect,
                    }
                ],
            }
        ],
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


def run_check(promtool: Path, test: str) -> tuple[bool, str]:
    """Run one unit-test file with promtool: (passed, what it said)."""
    with tempfile.TemporaryDirectory(prefix="odin-promtool-") as tmp:
        path = Path(tmp) / "test.yml"
        path.write_text(test)
        proc = subprocess.run(
            [str(promtool), "test", "rules", str(path)],
            capture_output=True,
            text=True,
            timeout=timeouts.RULE_UNIT_TEST,
            check=False,
        )
    return proc.returncode == 0, (proc.stdout + proc.stderr).strip()


def firing(severity: str) -> list[dict[str, object]]:
    return [{"labels": f'{{severity="{severity}"}}', "value": 1}]


@dataclass(frozen=True)
class RuleSpec:
    """A rule as the plan states it (the features' words), never read from the rules."""

    alert: str
    signal: str
    comparison: str  # above | below | always
    threshold: float
    hold: float  # seconds, real (unit tests run on simulated time)
    severity: str

    def explain(self) -> str:
        if self.comparison == "always":
            return f"plan: {self.alert} always firing, severity {self.severity}"
        return (
            f"plan: {self.alert} when {self.signal} {self.comparison} {self.threshold:g} for "
            f"{self.hold:g} s, severity {self.severity}"
        )


@dataclass(frozen=True)
class UnitTestContext:
    """What the promtool checks of one rule share: the rule as planned, the rules file under
    test, the synthetic input, and the simulated moments the checks are judged at."""

    spec: RuleSpec
    promtool: Path
    rules: Path
    series_at: Callable[[float, int], Series]  # (value, samples) -> input series
    alerting: float
    start: float  # simulated second at which the alerting condition becomes visible
    tolerance: float  # simulated seconds the first firing may lag the ideal moment
    evaluation: float  # the plan's rule-group interval, seconds
    generated: list[tuple[str, str]] = field(default_factory=list)  # (check, test file) run so far

    @classmethod
    def with_signal_at(
        cls, spec: RuleSpec, promtool: Path, rules: Path, evaluation: float, alerting: float
    ) -> UnitTestContext:
        """The rule's signal held at `alerting`, which the plan says is past its threshold."""
        assert spec.signal in SIGNALS, f"no synthetic series for signal {spec.signal!r}: add it to SIGNALS"
        past = alerting > spec.threshold if spec.comparison == "above" else alerting < spec.threshold
        assert past, f"the example's alerting value {alerting:g} is not {spec.comparison} {spec.threshold:g}"
        return cls(spec, promtool, rules, SIGNALS[spec.signal], alerting, 0.0, 0.0, evaluation)

    @classmethod
    def with_cpu_load(cls, spec: RuleSpec, promtool: Path, rules: Path, evaluation: float) -> UnitTestContext:
        """An idle machine going to full load on every core."""
        idle = 600  # ten idle minutes fill the rate window with "idle" before the load starts

        def series(_: float, samples: int) -> Series:
            return cpu_idle_then_full_load(idle, samples * SCRAPE)

        # The crossing of the 5-minute rate lands between samples and evaluations.
        return cls(spec, promtool, rules, series, 100.0, float(idle), float(SCRAPE) + evaluation, evaluation)

    @classmethod
    def always(cls, spec: RuleSpec, promtool: Path, rules: Path, evaluation: float) -> UnitTestContext:
        """Any input: the rule needs none (a watchdog)."""
        return cls(
            spec,
            promtool,
            rules,
            lambda _v, n: SIGNALS["a scrape target's up value"](1, n),
            1.0,
            0.0,
            0.0,
            evaluation,
        )

    def check(self, check: Check, value: float | None = None) -> tuple[bool, str]:
        samples = int((self.start + self.spec.hold) // SCRAPE) + 40
        series = self.series_at(self.alerting if value is None else value, samples)
        test = test_file(self.rules, series, check, self.evaluation)
        self.generated.append((check.name, test))
        return run_check(self.promtool, test)

    def artifacts(self) -> dict[str, str]:
        """The promtool test files this scenario generated, for a failed run's artifacts."""
        return {f"promtool-test-{i + 1}.yml": f"# {name}\n{text}" for i, (name, text) in enumerate(self.generated)}
