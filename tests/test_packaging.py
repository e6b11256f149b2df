"""The suite installed the way pytest users expect: a locked, hashed set of dependencies kept in
step with pyproject.toml, a wheel that carries everything a run needs, `-p odin_acceptance` that
loads it in another repository (no entry point), and the opt-in scenarios chosen by `--include`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
LOCK = REPO / "requirements.lock"  # what a user installs
DEV_LOCK = REPO / "requirements-dev.lock"  # that and the development tools


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def _locked(lock: Path = LOCK) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of every requirement in a lock."""
    text = lock.read_text()
    entries = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        head = re.match(r"([A-Za-z0-9_.-]+)==([^\s\\]+)", block)
        if head:
            entries[_norm(head.group(1))] = (head.group(2), re.findall(r"--hash=sha256:([0-9a-f]{64})", block))
    return entries


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared(*, dev: bool = False) -> list[Requirement]:
    project = _pyproject()
    reqs = project["project"]["dependencies"] + project["build-system"]["requires"]
    if dev:
        reqs += [r for extra in project["project"]["optional-dependencies"].values() for r in extra]
    return [Requirement(r) for r in reqs]


@pytest.mark.parametrize(("lock", "dev"), [(LOCK, False), (DEV_LOCK, True)], ids=["runtime", "dev"])
def test_each_lock_pins_every_declared_requirement_within_its_range(lock, dev):
    locked = _locked(lock)
    wrong = []
    for req in _declared(dev=dev):
        have = locked.get(_norm(req.name))
        if have is None:
            wrong.append(f"{req}: not in {lock.name}")
        elif not req.specifier.contains(have[0], prereleases=True):
            wrong.append(f"{req}: {lock.name} has {have[0]}")
    assert not wrong, f"{lock.name} is out of step with pyproject.toml (run `make lock`):\n  " + "\n  ".join(wrong)


def test_a_user_gets_none_of_the_development_tools_and_the_shared_pins_agree():
    runtime, dev = _locked(LOCK), _locked(DEV_LOCK)
    tools = {_norm(r.name) for r in _declared(dev=True)} - {_norm(r.name) for r in _declared()}
    assert tools and not tools & runtime.keys(), f"development tools in requirements.lock: {tools & runtime.keys()}"
    differ = {name: (v, dev[name][0]) for name, (v, _) in runtime.items() if name in dev and dev[name][0] != v}
    assert not differ, f"the two locks pin these differently: {differ}"
    assert runtime.keys() <= dev.keys()


@pytest.mark.parametrize("lock", [LOCK, DEV_LOCK], ids=["runtime", "dev"])
def test_every_locked_requirement_has_a_hash(lock):
    unhashed = [name for name, (_, hashes) in _locked(lock).items() if not hashes]
    assert len(_locked(lock)) > len(_declared()), "the lock holds the transitive requirements too"
    assert not unhashed, f"requirements without a hash (pip --require-hashes refuses them): {unhashed}"


def test_the_locks_are_the_only_requirements_files_and_make_installs_from_them():
    assert not (REPO / "requirements.txt").exists(), "one pin list: pyproject.toml, locked by make lock"
    makefile = (REPO / "Makefile").read_text()
    assert "--require-hashes -r requirements-dev.lock" in makefile
    assert "pip-compile" in makefile and "--generate-hashes" in makefile and "pyproject.toml" in makefile


@pytest.mark.slow
def test_tox_runs_the_suite(tmp_path):
    """tox's own way (a fresh environment from the hashed lock, then the suite) works: here it
    collects the acceptance suite. Minutes: it builds a virtualenv."""
    tox = Path(sys.executable).with_name("tox")
    suite = ("--collect-only", "-q", "--reports", str(tmp_path / "r"))
    proc = subprocess.run(
        [str(tox), "--workdir", str(tmp_path / "tox"), "-e", "acceptance", "--", *suite],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "GPUHighTemperature" in proc.stdout and "acceptance: OK" in proc.stdout, proc.stdout[-3000:]


def test_every_package_of_the_tree_is_listed_for_the_wheel():
    """pyproject lists the packages (a package-dir mapping is not discovered): a new subpackage
    left out of the list would be missing from the wheel, and only there."""
    setuptools = _pyproject()["tool"]["setuptools"]
    mapped = {folder: name for name, folder in setuptools["package-dir"].items()}
    found = {"odin_acceptance"}
    for init in [*(REPO / "odin_acceptance").rglob("__init__.py"), *(REPO / f / "__init__.py" for f in mapped)]:
        folder = init.parent.relative_to(REPO)
        top = str(folder.parts[0])
        prefix = mapped.get(top, top)
        found.add(".".join([prefix, *folder.parts[1:]]) if top in mapped else ".".join(folder.parts))
    assert found == set(setuptools["packages"]), (
        f"not listed: {sorted(found - set(setuptools['packages']))}; no such package: "
        f"{sorted(set(setuptools['packages']) - found)}"
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    # Built from a copy: setuptools leaves build/ behind in the tree it builds.
    source = tmp_path_factory.mktemp("source")
    shutil.copy(REPO / "pyproject.toml", source)
    for folder in ("odin_acceptance", "features", "steps", "fixtures"):  # the last three map into the package
        shutil.copytree(REPO / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    subprocess.run([*pip, "-w", str(out), str(source)], check=True, capture_output=True, timeout=300)
    (built,) = out.glob("odin_acceptance-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_carries_the_features_overlays_instruments_and_no_entry_point(wheel):
    names = set(wheel.namelist())
    features = {Path(n).name for n in names if n.startswith("odin_acceptance/features/") and n.endswith(".feature")}
    assert features == {p.name for p in (REPO / "features").glob("*.feature")}
    for needed in (
        "odin_acceptance/features/test_features.py",
        "odin_acceptance/steps/gpu_steps.py",
        "odin_acceptance/fixtures/target.py",
        "odin_acceptance/overlays/kind/kustomization.yaml",
        "odin_acceptance/overlays/kwok/volumes.yaml",
        "odin_acceptance/overlays/kind-cluster.yaml",
        "odin_acceptance/instruments/fake_dcgm_exporter.py",
        "odin_acceptance/plugin/__init__.py",
        "odin_acceptance/verdicts/verdicts.schema.json",  # what the sign-off's inputs follow
        "odin_acceptance/signoff/__main__.py",
    ):
        assert needed in names, f"the wheel lacks {needed}"
    entry_points = [wheel.read(n).decode() for n in names if n.endswith(".dist-info/entry_points.txt")]
    assert not any("[pytest11]" in text for text in entry_points), (
        "an entry point would load the plugin into every pytest run"
    )
    assert not any(n.startswith(("tests/", "manifests/", "benchmarks/")) for n in names), "only the package ships"


def _collect(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_installed_wheel_runs_the_suite_from_its_own_files(wheel, tmp_path):
    """The wheel, unpacked beside the dependencies (`-S`: without this checkout's editable
    install), collects its own features with its own steps: nothing of it reaches into a checkout."""
    site = tmp_path / "site"
    wheel.extractall(site)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": f"{site}{os.pathsep}{sysconfig.get_paths()['purelib']}"}
    python = [sys.executable, "-S"]
    suite = ("-p", "odin_acceptance", "--target", "local", "--manifests", str(REPO / "manifests" / "base"))
    proc = subprocess.run(
        [*python, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *suite],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "GPUHighTemperature" in proc.stdout, proc.stdout[-2000:]
    where = "from odin_acceptance.plugin import selection; "
    where += "import odin_acceptance.steps as s, odin_acceptance.fixtures as f; "
    where += "print(selection.features(), s.__file__, f.__file__, sep='\\n')"
    found = subprocess.run([*python, "-c", where], cwd=work, env=env, capture_output=True, text=True, check=True)
    assert found.stdout.split() == [
        f"{site}/odin_acceptance/features",
        f"{site}/odin_acceptance/steps/__init__.py",
        f"{site}/odin_acceptance/fixtures/__init__.py",
    ], found.stdout


def test_another_repository_runs_the_installed_suite_by_naming_its_options(tmp_path):
    """From a directory with no tests and no pytest config of its own, `-p odin_acceptance`
    loads the suite and `--target … --manifests DIR` collects the packaged features."""
    proc = _collect(
        tmp_path, "-p", "odin_acceptance", "--target", "local", "--manifests", str(REPO / "manifests" / "base")
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert re.search(r"\d+ tests? collected", proc.stdout) and "GPUHighTemperature" in proc.stdout, proc.stdout[-2000:]
    plain = _collect(tmp_path)
    assert "GPUHighTemperature" not in plain.stdout, "without -p odin_acceptance a user's own run stays their own"


def test_slow_soak_and_fault_scenarios_run_only_when_included():
    default = _collect(REPO, "-m", "cpu_stress or soak or fault")
    assert "deselected" in default.stdout, default.stdout[-2000:]
    chosen = [line for line in default.stdout.splitlines() if "::" in line]
    assert chosen == [], f"a user's -m selected opt-in scenarios without --include: {chosen}"
    included = _collect(REPO, "-m", "cpu_stress", "--include", "slow")
    assert any("::" in line for line in included.stdout.splitlines()), included.stdout[-2000:]
    wrong = _collect(REPO, "--include", "slowest")
    assert wrong.returncode != 0 and "--include: unknown ['slowest']; choose from slow, soak, fault" in wrong.stderr
