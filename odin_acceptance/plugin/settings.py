"""The settings people choose once, on the command line or in their ini file.

Every value is read from the parsed config (`config.getoption`, `config.getini`), never from
the literal command line, so `addopts` and `PYTEST_ADDOPTS` count as if typed. For the
settings with an ini equivalent the command line wins, then the ini file, then the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from odin_acceptance.target_api.tags import OPT_IN

# Setting -> (ini help, default). The command-line option of the same name (`--target`,
# `--timing`, `--manifests`, `--reports`) overrides the ini value `odin_<name>`.
INI: dict[str, tuple[str, str | None]] = {
    "target": ("where the stack runs (--target): local, kwok, kind or cluster", "local"),
    "timing": ("timing profile (--timing): rapid, fast or real; default: the target's own", None),
    "manifests": ("the kustomize directory under test (--manifests), relative to the ini file", None),
    "reports": ("the directory every report of a run goes to (--reports), relative to the ini file", "reports"),
}
REPORT_FILES = {"htmlpath": "acceptance.html", "xmlpath": "junit.xml", "cucumber_json_path": "cucumber.json"}


def add_options(parser: pytest.Parser) -> None:
    """--include, --reports and the ini values."""
    group = parser.getgroup("odin", "ODIN acceptance suite")
    group.addoption(
        "--include",
        default="",
        metavar="slow,soak,fault,scale",
        help="also run these opt-in scenarios: " + "; ".join(f"{tag}: {opt.cost}" for tag, opt in OPT_IN.items()),
    )
    group.addoption(
        "--reports",
        default=None,
        metavar="DIR",
        help="where every report of the run goes: acceptance.html, junit.xml, cucumber.json, evidence.json, "
        "verdicts.json and artifacts/ (default: reports/ of the directory pytest runs from; ini: odin_reports)",
    )
    for name, (text, default) in INI.items():
        parser.addini(f"odin_{name}", f"ODIN acceptance suite: {text}", default=default)


def setting(config: pytest.Config, name: str) -> str | None:
    """A setting's value: the command line's, else the ini file's, else its default."""
    given = config.getoption(name)
    return given if given is not None else config.getini(f"odin_{name}")


def setting_path(config: pytest.Config, name: str) -> Path | None:
    """A path setting, absolute: a command-line value is relative to where pytest runs, an
    ini value to the ini file's directory, the default to where pytest runs."""
    given = config.getoption(name)
    if given is not None:
        return (config.invocation_params.dir / given).resolve()
    value = config.getini(f"odin_{name}")
    if not value:
        return None
    base = config.rootpath if value != INI[name][1] else config.invocation_params.dir
    return (base / value).resolve()


def report_dir(config: pytest.Config) -> Path:
    """Where every output of the run goes (--reports, odin_reports)."""
    found = setting_path(config, "reports")
    assert found is not None  # it has a default
    return found


def place_reports(config: pytest.Config) -> None:
    """Every report in the report directory (a file named on its own, e.g. --html, still goes
    where it says), the directories made: writers fail at the end of a run if theirs is missing.
    A run that only lists scenarios (--collect-only) writes none: it judged nothing, and its
    empty verdicts would replace the last real run's, which a sign-off reads."""
    if config.option.collectonly:
        return
    directory = report_dir(config)
    for option, name in REPORT_FILES.items():
        if getattr(config.option, option, None) is None and hasattr(config.option, option):
            setattr(config.option, option, str(directory / name))
    if hasattr(config.option, "self_contained_html"):
        config.option.self_contained_html = True  # one file a CI job can attach
    if config.getoption("evidence") is None:
        config.option.evidence = str(directory / "evidence.json")
    for path in (*(getattr(config.option, o, None) for o in REPORT_FILES), config.option.evidence):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
    directory.mkdir(parents=True, exist_ok=True)
