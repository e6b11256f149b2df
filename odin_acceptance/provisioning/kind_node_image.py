"""A kind node image built on this machine from the pinned sources, for machines no
container registry answers (`--kind-node-image`; the nightly and users keep the official
versions.KIND_NODE_IMAGE).

Laid out as kind v0.33.0's node: Debian with systemd, containerd, runc and the CNI plugins
(Debian packages, by mmdebstrap); kubelet, kubeadm, kubectl and crictl built from the Go
module proxy; /kind/version and /kind/manifests; and every image kubeadm and those manifests
name, built here as image archives and imported into the node's containerd (namespace
k8s.io) in a build container that is then committed, as kind's own node image builder does.

    ensure_node_image() -> "odin.local/kind-node:v1.34.11-<inputs>"

Cached by version and by a digest of everything that goes in: a second call finds the
image (docker image inspect + the stamp in the cache) and builds nothing.
`python -m odin_acceptance.provisioning.kind_node_image` builds it by hand, step by step.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from odin_acceptance.provisioning import kind_node_build as build
from odin_acceptance.provisioning import kind_node_files as files
from odin_acceptance.provisioning.components import (
    Progress,
    ProvisioningError,
    cache_root,
    ensure,
)
from odin_acceptance.provisioning.versions import (
    COREDNS,
    CRICTL,
    KIND_NODE_DEBIAN_SUITE,
    KIND_NODE_ETCD,
    KIND_NODE_KUBERNETES,
    KIND_NODE_KUBERNETES_VERSION,
    KIND_NODE_PACKAGES,
    LOCAL_PATH_PROVISIONER,
    PAUSE_VERSION,
)

NodeImageError = build.NodeImageError
REPOSITORY = build.REPOSITORY

# Bump when the build steps change what lands in the image (the inputs' digest covers the
# files, texts and versions, not this module's code).
LAYOUT_REVISION = 1
# Built (or found) first; the node's binaries and its images' binaries.
NODE_COMPONENTS = (KIND_NODE_KUBERNETES, KIND_NODE_ETCD, COREDNS, CRICTL, LOCAL_PATH_PROVISIONER)


def work_dir(version: str = KIND_NODE_KUBERNETES_VERSION) -> Path:
    return cache_root() / f"kind-node-{version}"


def debian_dir() -> Path:
    """The Debian root filesystem and the layer made of it: the same for every Kubernetes version."""
    return cache_root() / f"kind-node-debian-{KIND_NODE_DEBIAN_SUITE}"


def inputs_digest() -> str:
    """Digest of everything the image is made of: versions, Debian packages, the node's
    files and generated texts, the runc wrapper, the layout revision."""
    h = hashlib.sha256()
    parts = [
        f"layout {LAYOUT_REVISION}",
        f"debian {KIND_NODE_DEBIAN_SUITE} {' '.join(KIND_NODE_PACKAGES)}",
        *(f"{c.name} {c.version} {c.sources!r}" for c in NODE_COMPONENTS),
        f"pause {PAUSE_VERSION}",
        files.containerd_config(),
        files.cni_manifest(),
        files.storage_manifest(),
        files.CNI_AGENT_SCRIPT,
        files.version_file(),
        repr(files.IMAGES),
    ]
    for part in parts:
        h.update(part.encode() + b"\0")
    for path in [*sorted(p for p in files.STATIC_TREE.rglob("*") if p.is_file()), files.RUNC_WRAPPER]:
        h.update(str(path.relative_to(files.STATIC_TREE.parent)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def image_ref(version: str = KIND_NODE_KUBERNETES_VERSION) -> str:
    return f"{build.REPOSITORY}:v{version}-{inputs_digest()[:12]}"


def require_tools(*, rootfs_cached: bool) -> None:
    """One sentence per missing tool, naming it and the fix, before any step starts."""
    missing = []
    if shutil.which("docker") is None:
        missing.append("docker is not on PATH: install Docker (Debian: apt-get install docker.io)")
    else:
        probe = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True)
        if probe.returncode != 0:
            missing.append(
                "docker cannot reach a daemon (`docker info` fails): start dockerd (on this project's CI "
                "machines: bash .ci/prepare-docker as root)"
            )
    if not rootfs_cached and shutil.which("mmdebstrap") is None:
        missing.append("mmdebstrap is not on PATH: apt-get install mmdebstrap (it builds the node's Debian)")
    if not rootfs_cached and os.geteuid() != 0:
        missing.append("mmdebstrap needs root here (the node's files belong to root and system users): run as root")
    if shutil.which("gcc") is None:
        missing.append("gcc is not on PATH: apt-get install gcc libc6-dev (it compiles the static pause binary)")
    if shutil.which("go") is None:
        missing.append(
            "go is not on PATH: install Go (https://go.dev/dl); the node's binaries are built from the module proxy"
        )
    if missing:
        raise build.NodeImageError("cannot build the kind node image:\n- " + "\n- ".join(missing))


def is_cached(ref: str, stamp: Path, digest: str) -> bool:
    """The image `ref` exists with our inputs' label and the stamp names its image id."""
    if shutil.which("docker") is None:
        return False
    proc = subprocess.run(
        [
            "docker",
            "image",
            "inspect",
            "--format",
            f'{{{{.Id}}}} {{{{index .Config.Labels "{build.INPUTS_LABEL}"}}}}',
            ref,
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        return False
    image_id, _, label = proc.stdout.strip().partition(" ")
    return label == digest and stamp.is_file() and stamp.read_text().split() == [ref, image_id]


@contextlib.contextmanager
def _lock(path: Path, progress: Progress) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress("kind node image: another run is building it; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


BUILT = "built"  # `--kind-node-image built`


def node_image(choice: str, progress: Progress = print) -> str:
    """The node image `--kind-node-image` asks for: `built` is ours, built or found here;
    anything else is an image reference, used as given."""
    return ensure_node_image(progress=progress) if choice == BUILT else choice


def ensure_node_image(version: str = KIND_NODE_KUBERNETES_VERSION, progress: Progress = print) -> str:
    """The reference of a kind node image of Kubernetes `version` built here (building it
    the first time, minutes); only the pinned version can be built."""
    if version != KIND_NODE_KUBERNETES_VERSION:
        raise build.NodeImageError(
            f"a kind node image can be built here only for the pinned Kubernetes {KIND_NODE_KUBERNETES_VERSION} "
            f"(odin_acceptance/provisioning/versions.py), not {version}"
        )
    work = work_dir(version)
    digest = inputs_digest()
    ref = f"{build.REPOSITORY}:v{version}-{digest[:12]}"
    stamp = work / "image.stamp"
    if is_cached(ref, stamp, digest):
        return ref
    # One lock for every version: they share the Debian root filesystem they are laid out in.
    with _lock(cache_root() / ".kind-node.lock", progress):
        if is_cached(ref, stamp, digest):
            return ref
        rootfs = debian_dir() / "rootfs"
        require_tools(rootfs_cached=(rootfs / ".rootfs-complete").is_file())
        steps = build.Steps(progress)
        started = time.monotonic()
        binaries = _binaries(steps)
        build.debian_rootfs(steps, rootfs)
        base = build.base_layer(steps, rootfs, debian_dir())
        work.mkdir(parents=True, exist_ok=True)  # pause's build writes there first on a fresh cache
        pause = build.pause(steps, work)
        with steps.step("image archives"):
            archives = build.image_archives(work / "images", binaries, pause, base)
        with steps.step("node filesystem"):
            build.lay_out_node(rootfs, binaries)
        image_id = build.commit_node(steps, rootfs, work / "images", archives, ref, digest)
        stamp.write_text(f"{ref} {image_id}\n")
        build.remove_older_builds(ref)
        size = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Size}}", ref], capture_output=True, text=True, check=False
        ).stdout.strip()
        progress(
            f"kind node image {ref}: built in {time.monotonic() - started:.0f} s"
            + (f", {int(size) / 1e6:.0f} MB" if size.isdigit() else "")
        )
        return ref


def _binaries(steps: build.Steps) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for component in NODE_COMPONENTS:
        with steps.step(f"{component.name} {component.version} binaries"):
            found.update(ensure(component, steps.progress))
    return found


def main() -> int:
    """Build (or find) the node image, printing each step and its time."""
    try:
        print(ensure_node_image(progress=lambda m: print(m, flush=True)))
    except ProvisioningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
