"""The runc wrapper that makes privileged containers run where the machine's capability
bounding set lacks CAP_SYS_RESOURCE (odin_acceptance/provisioning/runc-drop-sys-resource):
it removes that capability, and only it, from what runc is given, in every layout runc's
callers write, then runs runc with the arguments unchanged."""

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest

from odin_acceptance.provisioning import stack_images

WRAPPER = Path(stack_images.__file__).with_name("runc-drop-sys-resource")
CAPS = ["CAP_CHOWN", "CAP_SYS_RESOURCE", "CAP_NET_ADMIN"]


def fake_runc(tmp_path: Path) -> Path:
    """A runc that records its arguments and the files it would read."""
    runc = tmp_path / "runc"
    runc.write_text(
        '#!/bin/sh\nprintf "%s\\n" "$@" > "$RECORD/args"\n'
        'for f in "$RECORD"/bundle/config.json "$RECORD"/process.json; do [ -f "$f" ] && cp "$f" "$f.seen"; done\n'
        "exit 0\n"
    )
    runc.chmod(runc.stat().st_mode | stat.S_IXUSR)
    return runc


def run_wrapper(tmp_path: Path, *args: str, cwd: Path | None = None) -> list[str]:
    env = dict(os.environ, ODIN_RUNC=str(fake_runc(tmp_path)), RECORD=str(tmp_path))
    subprocess.run([str(WRAPPER), *args], env=env, check=True, timeout=10, cwd=cwd)
    return (tmp_path / "args").read_text().splitlines()


def capabilities(process: dict) -> dict[str, list[str]]:
    return process["capabilities"]


def config(caps: list[str]) -> dict:
    return {
        "ociVersion": "1.0.2",
        "process": {"args": ["sh"], "capabilities": {k: list(caps) for k in ("bounding", "effective", "permitted")}},
    }


@pytest.mark.parametrize("indent", [None, 2], ids=["compact", "pretty"])
@pytest.mark.parametrize(
    "caps",
    [CAPS, ["CAP_SYS_RESOURCE"], ["CAP_CHOWN", "CAP_SYS_RESOURCE"], ["CAP_SYS_RESOURCE", "CAP_CHOWN"]],
    ids=["middle", "only", "last", "first"],
)
def test_create_drops_the_capability_from_the_bundle_and_keeps_the_rest(tmp_path, caps, indent):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps(config(caps), indent=indent))
    # runc's global options with values come first, as containerd's shim passes them.
    args = ["--root", "/run/x", "--log", "/tmp/log", "--log-format", "json", "create", "--bundle", str(bundle), "c1"]
    assert run_wrapper(tmp_path, *args) == args
    seen = json.loads((bundle / "config.json.seen").read_text())
    expected = [cap for cap in caps if cap != "CAP_SYS_RESOURCE"]
    assert capabilities(seen["process"]) == {k: expected for k in ("bounding", "effective", "permitted")}


def test_run_with_the_bundle_in_the_working_directory_form(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    (bundle / "config.json").write_text(json.dumps(config(CAPS)))
    run_wrapper(tmp_path, "run", f"--bundle={bundle}", "c1")
    assert "CAP_SYS_RESOURCE" not in (bundle / "config.json.seen").read_text()


def test_exec_drops_the_capability_from_the_process_file(tmp_path):
    process = tmp_path / "process.json"
    process.write_text(json.dumps(config(CAPS)["process"]))
    run_wrapper(tmp_path, "--root", "/run/x", "exec", "--process", str(process), "--detach", "c1")
    seen = json.loads((tmp_path / "process.json.seen").read_text())
    assert capabilities(seen)["bounding"] == ["CAP_CHOWN", "CAP_NET_ADMIN"]


def test_other_commands_pass_through_and_touch_nothing(tmp_path):
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    text = json.dumps(config(CAPS))
    (bundle / "config.json").write_text(text)
    # "create" as a value of a global option is not the command (runc's bundle defaults to
    # the working directory, so a misread would edit this one).
    args = ["--root", "create", "delete", "--force", "c1"]
    assert run_wrapper(tmp_path, *args, cwd=bundle) == args
    assert (bundle / "config.json").read_text() == text
