"""Our decisions: the numbers the suite chose where the plan gives none or a wrong one
(D11's power limit, D15's watchdog, ...), read from the one table that lists them
(manifests/DIFFERENCES.md), each with the criteria it affects, so a report names them
next to those criteria instead of a reader taking them for the plan's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

HEADING = "## Numbers the plan does not give: our decisions"


@dataclass(frozen=True)
class Decision:
    """One row of the table, as plain text (the Markdown marks removed)."""

    decision: str
    value: str
    feature: str
    criteria: tuple[str, ...]
    why: str

    def text(self) -> str:
        """One line for a report: "GPUPowerHigh threshold: > 100 % … (the plan's 350 W …)"."""
        return f"{self.decision}: {self.value} ({self.why})"


def _plain(cell: str) -> str:
    """A Markdown cell as text: no backticks or bold marks."""
    return re.sub(r"\*\*|`", "", cell).strip()


def read(differences: Path) -> tuple[Decision, ...]:
    """The decisions table of `differences` (DIFFERENCES.md); none if the file is absent
    (manifests of another repository that keep no such record)."""
    if not differences.is_file():
        return ()
    text = differences.read_text()
    if HEADING not in text:
        return ()
    section = text.split(HEADING, 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and not line.startswith("| decision |")]
    out = []
    for row in rows:
        cells = [c.strip() for c in row.strip().strip("|").split(" | ")]
        if len(cells) != 5:
            wanted = "decision, value, feature, criteria, why"
            raise ValueError(f"{differences}: a decision row needs 5 cells ({wanted}): {row}")
        decision, value, feature, criteria, why = (_plain(c) for c in cells)
        out.append(Decision(decision, value, feature, tuple(c.strip() for c in criteria.split(",")), why))
    return tuple(out)


def of(criterion: str, decisions: tuple[Decision, ...]) -> list[Decision]:
    return [d for d in decisions if criterion in d.criteria]
