"""Licences and supplied components: the suite fetches only permissively licensed code, and
finds Loki, Promtail and Grafana where the user supplies them (stand-in executables that
answer only `--version` play them here: no AGPL binary is built or used on these machines)."""

import os
import subprocess
from pathlib import Path

import pytest

from odin_acceptance.provisioning import supplied
from odin_acceptance.provisioning.versions import (
    ACTIONLINT,
    COMPONENTS,
    CONTROL_PLANE,
    GRAFANA,
    LOKI,
    PERMISSIVE_LICENCES,
    PROMTAIL,
    SUPPLIED,
)
from tests.suite_runs import run_suite

REPO = Path(__file__).resolve().parent.parent
FORBIDDEN_MODULES = ("github.com/grafana/loki", "github.com/grafana/grafana", "github.com/grafana/tempo", "go.k6.io/k6")


def _module_paths(component) -> list[str]:
    paths = []
    for source in component.sources:
        paths += [getattr(source, "module", ""), *getattr(source, "packages", {}).values()]
    return [p for p in paths if p]


@pytest.mark.parametrize("component", (*COMPONENTS, *CONTROL_PLANE, ACTIONLINT), ids=lambda c: c.name)
def test_every_fetched_component_is_permissively_licensed(component):
    assert component.licence in PERMISSIVE_LICENCES, f"{component.name} is {component.licence}"
    for module in _module_paths(component):
        assert not module.startswith(FORBIDDEN_MODULES), f"{component.name} would fetch {module}"


def test_agpl_components_are_supplied_never_fetched():
    assert {c.name for c in SUPPLIED} == {"loki", "promtail", "grafana"}
    assert all(c.licence == "AGPL-3.0" and not hasattr(c, "sources") for c in SUPPLIED)
    fetched = {exe for c in COMPONENTS + CONTROL_PLANE for exe in c.executables}
    assert not fetched & {"loki", "promtail", "grafana"}


def test_no_code_of_the_suite_names_an_agpl_module():
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for name in tracked.split():
        path = REPO / name
        if path.suffix not in {".py", ".cfg", ".toml", ".ini", ".txt"} and name not in {"Makefile", ".ci/run"}:
            continue
        if name == "tests/test_supplied.py" or not path.is_file():
            continue
        text = path.read_text(errors="replace")
        assert not any(m in text for m in FORBIDDEN_MODULES), f"{name} names an AGPL module"


def stand_in(directory: Path, name: str, says: str) -> Path:
    """An executable that answers only `--version`, as the real one does."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(f'#!/bin/sh\n[ "$1" = --version ] && echo "{says}" && exit 0\nexit 2\n')
    path.chmod(0o755)
    return path


def test_found_on_path_when_it_reports_the_pinned_version(tmp_path):
    bindir = tmp_path / "bin"
    stand_in(bindir, "loki", f"loki, version {LOKI.version} (branch: release-3.6.x, revision: 1a2b3c)")
    stand_in(bindir, "promtail", f"promtail, version {PROMTAIL.version} (branch: release-3.6.x, revision: 1a2b3c)")
    found = supplied.discover({}, search_path=str(bindir))
    assert set(found.paths) == {"loki", "promtail"}
    assert [c.name for c in found.missing] == ["grafana"]
    assert found.reason_missing({"loki", "sc1"}) is None
    assert found.reason_missing({"grafana"}).startswith("Grafana 11.6.1 not supplied.")


def test_named_explicitly_wins_over_path(tmp_path):
    on_path = stand_in(tmp_path / "bin", "grafana", "grafana version 10.0.0")  # would be an error if used
    mine = stand_in(tmp_path / "opt", "grafana-server", f"grafana version {GRAFANA.version}")
    found = supplied.discover(supplied.parse_options([f"grafana={mine}"]), search_path=str(on_path.parent))
    assert found.paths["grafana"] == mine.resolve()


@pytest.mark.parametrize(
    "says",
    ["loki, version 3.5.0 (branch: x)", f"loki, version {LOKI.version}+ds (Debian)", "loki, version 3.6.30"],
)
def test_another_version_is_one_error_naming_binary_version_and_pin(tmp_path, says):
    loki = stand_in(tmp_path, "loki", says)
    with pytest.raises(supplied.SupplyError) as caught:
        supplied.discover({"loki": loki}, search_path=str(tmp_path / "none"))
    message = str(caught.value)
    assert str(loki) in message and says in message and f"pins Loki {LOKI.version}" in message
    assert "--component loki=" in message


def test_a_path_that_is_not_an_executable_is_named(tmp_path):
    with pytest.raises(supplied.SupplyError, match=r"/no/such/loki is not an executable file"):
        supplied.discover({"loki": Path("/no/such/loki")}, search_path=str(tmp_path))


@pytest.mark.parametrize(("value", "words"), [("loki", "NAME=PATH"), ("tempo=/x", "unknown component 'tempo'")])
def test_malformed_component_option_is_refused(value, words):
    with pytest.raises(supplied.SupplyError, match=words):
        supplied.parse_options([value])


def test_nothing_supplied_says_exactly_how_to_supply_each(tmp_path):
    found = supplied.discover({}, search_path=str(tmp_path))
    reason = found.reason_missing({"loki"})
    assert reason.startswith("Loki 3.6.3, Promtail 3.6.3 not supplied.")
    for words in (
        "--component loki=PATH",
        "--component promtail=PATH",
        "loki-linux-amd64.zip",
        "promtail-linux-amd64.zip",
    ):
        assert words in reason
    assert found.reason_missing({"gpu", "routing"}) is None


def test_a_wrong_supplied_binary_stops_the_run_before_anything_starts(tmp_path):
    loki = stand_in(tmp_path / "bin", "loki", "loki, version 2.9.4 (branch: HEAD)")
    proc = run_suite(tmp_path / "r", "-m", "gpu", "--component", f"loki={loki}", timeout=120)
    assert proc.returncode == 12, proc.stdout[-2000:]
    assert f"{loki} reports 'loki, version 2.9.4 (branch: HEAD)'; the suite pins Loki 3.6.3" in proc.stdout
    assert "starting the stack" not in proc.stdout


def test_without_loki_its_scenarios_skip_before_anything_starts(tmp_path):
    env = dict(os.environ, PATH=f"{tmp_path}:/usr/bin:/bin")  # no loki or promtail on it
    proc = run_suite(tmp_path / "r", "-m", "loki", "-rs", timeout=120, env=env)
    assert proc.returncode == 0, proc.stdout[-2000:]
    assert " passed" not in proc.stdout and "skipped" in proc.stdout
    assert "Loki 3.6.3, Promtail 3.6.3 not supplied." in proc.stdout
    assert "starting the stack" not in proc.stdout, "no component may start for scenarios that all skip"
