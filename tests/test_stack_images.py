"""The stack's images built here (provisioning/stack_images.py) against upstream's Dockerfiles:
the same image configuration (user, ports, volume, working directory, entrypoint, command) and
the files at the paths the Dockerfile copies them to. Prometheus's and Alertmanager's
Dockerfiles are read from the pinned module trees (the specification, not a copy of it);
node-exporter's is quoted, since its pinned binary is Debian's build."""

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from odin_acceptance.provisioning import stack_images
from odin_acceptance.provisioning.components import _go_mod_download
from odin_acceptance.provisioning.versions import ALERTMANAGER, PROMETHEUS, PYTHON_IMAGE

# prometheus/node_exporter v1.5.0's Dockerfile, as released.
NODE_EXPORTER_DOCKERFILE = """\
ARG ARCH="amd64"
ARG OS="linux"
FROM quay.io/prometheus/busybox-${OS}-${ARCH}:glibc
LABEL maintainer="The Prometheus Authors <prometheus-developers@googlegroups.com>"

ARG ARCH="amd64"
ARG OS="linux"
COPY .build/${OS}-${ARCH}/node_exporter /bin/node_exporter

EXPOSE      9100
USER        nobody
ENTRYPOINT  [ "/bin/node_exporter" ]
"""
PRINT_VERSION = ("python", "-c", "import sys; print(sys.version)")
CONFIG_INSTRUCTIONS = ("USER", "EXPOSE", "VOLUME", "WORKDIR", "ENTRYPOINT", "CMD")


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, argument) pairs of a Dockerfile, continuation lines joined."""
    joined = text.replace("\\\n", " ")
    out = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def image_config(pairs: list[tuple[str, str]]) -> dict[str, object]:
    """What the Dockerfile's configuring instructions set, normalised (exec-form lists parsed)."""
    config: dict[str, object] = {}
    for word, arg in pairs:
        if word in CONFIG_INSTRUCTIONS:
            config[word] = json.loads(arg) if arg.startswith("[") else arg
    return config


def copied_to(pairs: list[tuple[str, str]]) -> set[str]:
    return {arg.split()[-1].rstrip("/") for word, arg in pairs if word == "COPY"}


def upstream_dockerfile(reference: str, work: Path) -> str:
    for component in (PROMETHEUS, ALERTMANAGER):
        if reference in component.images:
            source = component.sources[0]
            return (Path(_go_mod_download(source.module, source.version, work)["Dir"]) / "Dockerfile").read_text()
    return NODE_EXPORTER_DOCKERFILE


@pytest.mark.parametrize("recipe", stack_images.STACK_RECIPES, ids=lambda r: r.reference)
def test_recipe_configures_the_image_as_upstream_does(recipe, tmp_path):
    upstream = image_config(instructions(upstream_dockerfile(recipe.reference, tmp_path)))
    ours = image_config(instructions("\n".join(recipe.changes)))
    assert ours == upstream


def docker_works() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


needs_docker = pytest.mark.skipif(not docker_works(), reason="no Docker engine answers here (.ci/prepare-docker)")


def image_files(reference: str) -> dict[str, tarfile.TarInfo]:
    container = subprocess.run(
        ["docker", "create", reference], capture_output=True, text=True, check=True
    ).stdout.strip()
    try:
        export = subprocess.run(["docker", "export", container], capture_output=True, check=True).stdout
    finally:
        subprocess.run(["docker", "rm", container], capture_output=True, check=False)
    with tarfile.open(fileobj=io.BytesIO(export)) as tar:
        return {member.name.rstrip("/"): member for member in tar.getmembers()}


@pytest.mark.slow
@pytest.mark.kind  # needs Docker: the kind tier (make test-kind)
@needs_docker
@pytest.mark.parametrize("recipe", stack_images.STACK_RECIPES, ids=lambda r: r.reference)
def test_built_image_holds_upstreams_layout_and_a_second_run_builds_nothing(recipe, tmp_path):
    first = stack_images.ensure_image(recipe, lambda _m: None)
    image_id = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{.Id}}", recipe.reference], capture_output=True, text=True
    ).stdout
    again = stack_images.ensure_image(recipe, lambda _m: None)
    assert again.how.startswith("built here by an earlier run"), (first.how, again.how)
    assert (
        subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", recipe.reference], capture_output=True, text=True
        ).stdout
        == image_id
    )

    pairs = instructions(upstream_dockerfile(recipe.reference, tmp_path))
    config = json.loads(
        subprocess.run(
            ["docker", "image", "inspect", "--format", "{{json .Config}}", recipe.reference],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    upstream = image_config(pairs)
    assert config["User"] == upstream["USER"]
    assert list(config["ExposedPorts"]) == [f"{upstream['EXPOSE']}/tcp"]
    assert config["Entrypoint"] == upstream["ENTRYPOINT"]
    assert config.get("Cmd") == upstream.get("CMD")
    assert config.get("WorkingDir", "") == upstream.get("WORKDIR", "")
    files = image_files(recipe.reference)
    # npm_licenses.tar.bz2 is made by upstream's release build, not held by the module tree.
    wanted = {path.lstrip("/") for path in copied_to(pairs)} - {"npm_licenses.tar.bz2"}
    assert wanted <= set(files), wanted - set(files)
    for path in ("bin/sh", "etc/passwd"):
        assert path in files
    if "WORKDIR" in upstream:  # the data directory belongs to nobody, as upstream's chown leaves it
        assert files[str(upstream["WORKDIR"]).lstrip("/")].uid == 65534
    version = subprocess.run(
        ["docker", "run", "--rm", recipe.reference, "--version"], capture_output=True, text=True, timeout=60
    )
    assert version.returncode == 0, version.stderr


@pytest.mark.slow
@pytest.mark.kind  # needs Docker: the kind tier (make test-kind)
@needs_docker
def test_instruments_image_runs_the_instruments_python_as_nobody():
    outcome = stack_images.ensure_python_image(lambda _m: None)
    assert not outcome.how.startswith("supplied"), outcome.how
    out = subprocess.run(
        ["docker", "run", "--rm", "--user", "65534:65534", PYTHON_IMAGE, *PRINT_VERSION],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.stdout.startswith("3.11."), out
