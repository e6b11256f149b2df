"""The package's layers, kept apart: each subpackage imports only the layers below it.

The rules say what each layer is for. Clients know how to ask a component, never where the
stack runs; offline checks judge files and never start or reach a target; pipelines and
verdicts see a target only through its interface (`target_api`, below them), so every target
serves them alike; steps parse a sentence and call a fixture, and never poll themselves; the
instruments run on a stock Python image in a cluster, so they import nothing of the suite.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "odin_acceptance"
# The suite's top-level folders, installed as subpackages of odin_acceptance (pyproject.toml).
MAPPED = ("features", "steps", "fixtures")

# The layers, lowest first: each may import only the layers before it, with no exception.
ORDER = (
    "instruments",  # standard library only (they run as files in a stock python pod); their tables are shared
    "core",
    "clients",
    "provisioning",
    "stack_config",  # finds the kubectl provisioning caches, to render a kustomization
    "offline",
    "target_api",  # the target interface: what pipelines and verdicts see of a target
    "pipelines",
    "verdicts",
    "reporting",
    "signoff",  # reads runs' verdicts.json; runs nothing
    "targets",  # the targets themselves, built on the pipelines and verdicts
    "plugin",
    "fixtures",
    "steps",
)
# Layer -> the layers it may import.
ALLOWED: dict[str, set[str]] = {layer: set(ORDER[:i]) for i, layer in enumerate(ORDER)}
ALLOWED["features"] = set()
# Modules a layer may not import although their layer is allowed.
FORBIDDEN = {"steps": {"core.polling"}}


def _layer(path: Path) -> str:
    if path.is_relative_to(PACKAGE):
        parts = path.relative_to(PACKAGE).parts
        return parts[0] if len(parts) > 1 else ""
    return path.relative_to(REPO).parts[0]


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every odin_acceptance module this file imports, names included
    (`from odin_acceptance.core import polling` imports core.polling)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "odin_acceptance":
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "odin_acceptance"]
    return found


def _permitted(layer: str, module: str) -> bool:
    inner = module.split(".")[1:]  # without odin_acceptance
    if not inner or inner[0] == layer:
        return True
    if any(".".join(inner).startswith(f) for f in FORBIDDEN.get(layer, ())):
        return False
    return any(inner[: len(a.split("."))] == a.split(".") for a in ALLOWED[layer])


def _violations(files: list[Path]) -> list[str]:
    wrong = []
    for path in files:
        layer = _layer(path)
        if not layer:
            continue
        for line, module in _imports(path):
            if not _permitted(layer, module):
                wrong.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {layer} imports {module}")
    return wrong


def _files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py")) + sorted(p for folder in MAPPED for p in (REPO / folder).rglob("*.py"))


def test_every_subpackage_has_a_layer_rule():
    layers = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()} | set(MAPPED)
    assert layers == set(ALLOWED), f"without a rule: {layers - set(ALLOWED)}; rules of none: {set(ALLOWED) - layers}"


def test_no_layer_imports_a_layer_above_it():
    wrong = _violations(_files())
    assert not wrong, "imports across layers:\n  " + "\n  ".join(wrong)


@pytest.mark.parametrize(
    ("layer", "source", "module"),
    [
        ("offline", "from odin_acceptance.target_api.base import CONFIGS", "odin_acceptance.target_api.base.CONFIGS"),
        ("clients", "from odin_acceptance.targets import Target", "odin_acceptance.targets.Target"),
        ("steps", "from odin_acceptance.core.polling import eventually", "odin_acceptance.core.polling.eventually"),
        ("steps", "from odin_acceptance.core import polling", "odin_acceptance.core.polling"),
        ("pipelines", "from odin_acceptance.targets.local import LocalTarget", "odin_acceptance.targets.local.X"),
        ("instruments", "import odin_acceptance.core.phrases", "odin_acceptance.core.phrases"),
        ("pipelines", "from odin_acceptance.targets import Target", "odin_acceptance.targets.Target"),
        ("target_api", "from odin_acceptance.pipelines.gpu_node import GpuNode", "odin_acceptance.pipelines.x"),
        ("target_api", "from odin_acceptance.targets.gpu_fleet import GpuFleet", "odin_acceptance.targets.x"),
    ],
)
def test_the_rule_catches_an_upward_import(tmp_path, monkeypatch, layer, source, module):
    """The check itself can fail: each import the issue named is refused where it was."""
    fake = tmp_path / "odin_acceptance"
    (fake / layer).mkdir(parents=True)
    (fake / layer / "bad.py").write_text(source + "\n")
    monkeypatch.setattr(f"{__name__}.PACKAGE", fake)
    (found,) = _violations([fake / layer / "bad.py"])
    assert f"{layer} imports odin_acceptance." in found and ":1:" in found


def test_the_target_interface_loads_no_kubernetes_code():
    """The interface (and the pipelines and verdicts above it) can be imported without the
    Kubernetes client: a local run, and `pytest --help`, never load it."""
    probe = (
        "import sys, odin_acceptance.target_api.base, odin_acceptance.pipelines.alert_journey, "
        "odin_acceptance.verdicts.alert_verdicts; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'kubernetes'))"
    )
    found = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "[]", found.stdout
