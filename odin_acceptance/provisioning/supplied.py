"""Components the suite judges but never fetches or builds: Loki, Promtail and Grafana.

They are licensed under the AGPL, so this project does not download or compile their code.
On the targets where the suite runs the stack as processes (local, kwok's APIs) the user
supplies the executables: on PATH under their own name, or named with
`--component NAME=PATH` (repeatable). Either way the version the executable reports must be
the pinned one. A scenario that needs a component nobody supplied is skipped before
anything starts, with the reason and the way to supply it; on kind and on a real cluster the
cluster pulls the pinned images and nothing needs supplying.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from odin_acceptance.core.errors import OdinError
from odin_acceptance.provisioning.components import is_version, reported_version
from odin_acceptance.provisioning.versions import SUPPLIED, SuppliedComponent

BY_NAME: dict[str, SuppliedComponent] = {c.name: c for c in SUPPLIED}
# Scenario tag -> the supplied components its scenarios need (the tags are in the features).
NEEDED_BY_TAG: dict[str, tuple[str, ...]] = {
    "loki": ("loki", "promtail"),
    "loki_programs": ("loki", "promtail"),
    "grafana": ("grafana",),
}


class SupplyError(OdinError, ValueError):
    """A supplied executable is unusable; the message names it, what it said and the fix."""


def how_to_supply(components: Sequence[SuppliedComponent]) -> str:
    """One sentence: what is missing, and exactly how to supply it."""
    names = ", ".join(f"{c.title} {c.version}" for c in components)
    flags = " ".join(f"--component {c.name}=PATH" for c in components)
    archives = "; ".join(c.archive for c in components)
    # The first sentence is the short reason the report's criteria table shows.
    return (
        f"{names} not supplied. The suite never fetches AGPL code: pass {flags} "
        f"or put them on PATH; they are in {archives}"
    )


@dataclass(frozen=True)
class Supplied:
    """What the user supplied: executables by name, and the components nobody supplied."""

    paths: dict[str, Path] = field(default_factory=dict)
    missing: tuple[SuppliedComponent, ...] = ()

    def reason_missing(self, tags: Iterable[str]) -> str | None:
        """Why scenarios with `tags` cannot run here, or None if everything they need is supplied."""
        needed = {name for tag in tags for name in NEEDED_BY_TAG.get(tag, ())}
        lacking = [c for c in self.missing if c.name in needed]
        return how_to_supply(lacking) if lacking else None

    def describe(self) -> dict[str, str]:
        """Facts for the report header."""
        facts = {}
        for name, component in BY_NAME.items():
            where = self.paths.get(name)
            facts[f"{name} version"] = (
                f"{component.version} (supplied: {where})" if where else f"{component.version}: not supplied"
            )
        return facts


def parse_options(values: Iterable[str]) -> dict[str, Path]:
    """`--component NAME=PATH` values -> {name: path}; an unknown name or form is an error."""
    out: dict[str, Path] = {}
    for value in values:
        name, sep, path = value.partition("=")
        if not sep or not path:
            raise SupplyError(f"--component {value!r}: write it as NAME=PATH, e.g. --component loki=/opt/loki/loki")
        if name not in BY_NAME:
            raise SupplyError(
                f"--component {value!r}: unknown component {name!r}; supplied components: {sorted(BY_NAME)}"
            )
        out[name] = Path(path).expanduser()
    return out


def _check(component: SuppliedComponent, path: Path, how: str) -> Path:
    if not path.is_file() or not os.access(path, os.X_OK):
        raise SupplyError(f"{component.title} ({how}): {path} is not an executable file. Fix the path, or drop it")
    said = reported_version(path)
    if not is_version(said, component.version):
        raise SupplyError(
            f"{component.title} ({how}): {path} reports {said.splitlines()[0]!r}; the suite pins "
            f"{component.title} {component.version}. Supply that release ({component.archive}) "
            f"with --component {component.name}=/path/to/it"
        )
    return path.resolve()


def discover(explicit: Mapping[str, Path], search_path: str | None = None) -> Supplied:
    """Each supplied component: named explicitly, else found on PATH, else missing (with how
    to supply it). Raises SupplyError for an executable that exists but is unusable."""
    paths: dict[str, Path] = {}
    missing: list[SuppliedComponent] = []
    for name, component in BY_NAME.items():
        if name in explicit:
            paths[name] = _check(component, explicit[name], f"--component {name}=")
            continue
        found = shutil.which(name, path=search_path)
        if found is None:
            missing.append(component)
        else:
            paths[name] = _check(component, Path(found), "found on PATH")
    return Supplied(paths, tuple(missing))
