"""The steps stay thin: a step parses its sentence, calls one fixture method and asserts
with the criterion's words. Judging logic, types and fixtures live in the layers below (odin_acceptance/)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

STEPS = sorted((Path(__file__).resolve().parent.parent / "steps").glob("*_steps.py"))
MAX_BODY_LINES = 12
# A longer step says why in a comment that starts with this.
EXCUSE = "# Longer than 12 lines:"


def _steps(path: Path) -> list[ast.FunctionDef]:
    tree = ast.parse(path.read_text())
    return [
        node
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and any(isinstance(d, ast.Call) for d in node.decorator_list)
    ]


@pytest.mark.parametrize("path", STEPS, ids=lambda p: p.name)
def test_no_step_body_is_longer_than_twelve_lines_without_saying_why(path: Path) -> None:
    lines = path.read_text().splitlines()
    too_long = []
    for step in _steps(path):
        body = lines[step.body[0].lineno - 1 : step.end_lineno]
        if len(body) > MAX_BODY_LINES and not any(line.strip().startswith(EXCUSE) for line in body):
            too_long.append(f"{step.name} ({len(body)} lines)")
    assert not too_long, f"steps to thin out (move the judging into the layers below): {too_long}"


@pytest.mark.parametrize("path", STEPS, ids=lambda p: p.name)
def test_step_modules_hold_no_types_no_fixtures_and_import_no_other_step_module(path: Path) -> None:
    tree = ast.parse(path.read_text())
    classes = [n.name for n in tree.body if isinstance(n, ast.ClassDef)]
    fixtures = [
        n.name
        for n in tree.body
        if isinstance(n, ast.FunctionDef)
        and any(ast.unparse(d).startswith(("pytest.fixture", "fixture")) for d in n.decorator_list)
    ]
    imports = [
        n.module
        for n in ast.walk(tree)
        if isinstance(n, ast.ImportFrom) and n.module and n.module.split(".")[0] == "steps"
    ]
    assert not (classes or fixtures or imports), (
        f"classes {classes}, fixtures {fixtures}, step imports {imports}: these belong in the layers below"
    )
