"""What the kind tier of the project's tests needs from this machine: a Docker that runs
privileged containers (kind's nodes are), kind and kubectl at their pins on PATH, and the
images built before any timed run."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from odin_acceptance.provisioning import stack_images
from odin_acceptance.provisioning.components import ensure
from odin_acceptance.provisioning.versions import KIND_TOOLS
from odin_acceptance.targets.kubernetes import KIND_NETWORK, KindCluster, inotify_problems

CLUSTER = KindCluster.cluster_name
# Docker labels every container of a kind cluster with its cluster's name.
CLUSTER_LABEL = f"label=io.x-k8s.kind.cluster={CLUSTER}"


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False, timeout=120)


def kind_unavailable() -> str | None:
    """Why kind cannot run here (one sentence with the fix), or None."""
    if shutil.which("docker") is None:
        return "Docker is not installed: kind needs it (as root, .ci/prepare-docker installs and starts it)"
    info = docker("info")
    if info.returncode != 0:
        return "no Docker engine answers: kind needs one (as root, .ci/prepare-docker starts it)"
    low = inotify_problems()
    if low:
        return f"inotify limits below kind's minimums: {'; '.join(low)} (as root, .ci/prepare-docker raises them)"
    # Any image of this machine does: the smallest the suite builds.
    probe = next(r for r in stack_images.STACK_RECIPES if "node-exporter" in r.reference)
    stack_images.ensure_image(probe, lambda _m: None)
    tried = docker("run", "--rm", "--privileged", "--entrypoint", "/bin/true", probe.reference)
    if tried.returncode != 0:
        said = (tried.stderr.strip().splitlines() or ["(no message)"])[-1]
        return (
            f"this machine's Docker cannot run privileged containers, and kind's nodes are: {said} "
            "(as root, .ci/prepare-docker starts a dockerd that can where the capability set is the cause)"
        )
    return None


def kind_env() -> dict[str, str]:
    """The environment of a kind run: kind and kubectl at their pins first on PATH."""
    dirs = [str(path.parent) for component in KIND_TOOLS for path in ensure(component, lambda _m: None).values()]
    return dict(os.environ, PATH=os.pathsep.join([*dict.fromkeys(dirs), os.environ.get("PATH", "")]))


def image_ids(references: list[str]) -> dict[str, str]:
    return {ref: docker("image", "inspect", "--format", "{{.Id}}", ref).stdout.strip() for ref in references}


def clusters(env: dict[str, str]) -> list[str]:
    # check=True: a kind that failed would list none, and "nothing left" would pass unseen.
    out = subprocess.run(["kind", "get", "clusters"], capture_output=True, text=True, env=env, check=True, timeout=60)
    return out.stdout.split()


def containers_of_the_cluster() -> list[str]:
    listed = docker("ps", "-a", "--filter", CLUSTER_LABEL, "--format", "{{.Names}}")
    assert listed.returncode == 0, f"docker ps failed: {listed.stderr}"  # else "none left" would pass unseen
    return listed.stdout.split()


def network_exists() -> bool:
    return docker("network", "inspect", KIND_NETWORK).returncode == 0


def delete_cluster(env: dict[str, str]) -> None:
    subprocess.run(
        ["kind", "delete", "cluster", "--name", CLUSTER], capture_output=True, env=env, check=False, timeout=300
    )


def evidence(out: Path) -> dict:
    return json.loads((out / "evidence.json").read_text())
