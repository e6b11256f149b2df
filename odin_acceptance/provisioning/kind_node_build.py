"""The steps that make a kind node image (kind_node_image.ensure_node_image runs them):
Debian by mmdebstrap, the layer the small images share, pause, the images as archives, the
node's own files, and the build container whose containerd imports the images before it
is committed. Each step is timed; each failure names the command and its output."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from odin_acceptance.provisioning import kind_node_files as files
from odin_acceptance.provisioning.components import Progress, ProvisioningError
from odin_acceptance.provisioning.image_archive import ImageConfig, Layer, compress_layer, files_layer, write_archive
from odin_acceptance.provisioning.versions import (
    KIND_NODE_DEBIAN_SUITE,
    KIND_NODE_KUBERNETES_VERSION,
    KIND_NODE_PACKAGES,
    PAUSE_VERSION,
)

REPOSITORY = "odin.local/kind-node"
INPUTS_LABEL = "odin.kind-node.inputs"
_PLAIN = ImageConfig()

# Node-only parts of the root filesystem, left out of the small images that share it.
_NOT_IN_BASE_LAYER = (
    "./usr/bin/containerd*",
    "./usr/bin/ctr",
    "./usr/sbin/runc",
    "./usr/lib/cni",
    "./usr/bin/kube*",
    "./usr/local/bin/*",
    "./usr/local/sbin/*",
    "./opt/cni",
    "./kind",
    "./etc/kubernetes",
    "./var/lib/containerd",
    "./var/cache/*",
    "./var/lib/apt/lists/*",
    "./.rootfs-complete",
)


class NodeImageError(ProvisioningError):
    """The node image cannot be built here; the message names the tool and the fix."""


def _run(cmd: list[str], *, stdin: bytes | None = None, cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, input=stdin, capture_output=True, cwd=cwd, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).decode(errors="replace").strip().splitlines()[-15:])
        raise NodeImageError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{tail}")
    return proc.stdout.decode(errors="replace")


class Steps:
    """Times each step and reports it: the figures the README quotes come from here."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.times: dict[str, float] = {}

    @contextlib.contextmanager
    def step(self, name: str) -> Iterator[None]:
        self.progress(f"kind node image: {name} …")
        started = time.monotonic()
        yield
        self.times[name] = time.monotonic() - started
        self.progress(f"kind node image: {name}: {self.times[name]:.1f} s")


def debian_rootfs(steps: Steps, rootfs: Path) -> None:
    marker = rootfs / ".rootfs-complete"
    wanted = f"{KIND_NODE_DEBIAN_SUITE} {' '.join(KIND_NODE_PACKAGES)}\n"
    if marker.is_file() and marker.read_text() == wanted:
        return
    with steps.step(f"Debian {KIND_NODE_DEBIAN_SUITE} root filesystem (mmdebstrap)"):
        if rootfs.exists():
            shutil.rmtree(rootfs)
        rootfs.parent.mkdir(parents=True, exist_ok=True)
        _run(
            [
                "mmdebstrap",
                "--variant=minbase",
                "--mode=root",
                "--format=directory",
                f"--include={','.join(KIND_NODE_PACKAGES)}",
                *(f"--dpkgopt=path-exclude=/usr/share/{d}/*" for d in ("man", "doc", "locale")),
                KIND_NODE_DEBIAN_SUITE,
                str(rootfs),
            ]
        )
        marker.write_text(wanted)


def base_layer(steps: Steps, rootfs: Path, work: Path) -> Layer:
    """The Debian userland shared by kube-proxy (iptables, conntrack), the CNI agent (sh,
    ip, iptables) and the storage helper (sh): one layer, stored once in the node."""
    out = work / "base-layer.tar.gz"
    diff_id_file = work / "base-layer.diff_id"
    marker = (rootfs / ".rootfs-complete").read_text()
    if out.is_file() and diff_id_file.is_file() and diff_id_file.read_text().split("\n", 1)[1] == marker:
        return Layer(out, diff_id_file.read_text().split("\n", 1)[0])
    with steps.step("base layer of the small images"):
        tar = work / "base-layer.tar"
        excludes = [f"--exclude={pattern}" for pattern in _NOT_IN_BASE_LAYER]
        _run(
            ["tar", "--numeric-owner", "--sort=name", "--mtime=@0", *excludes, "-C", str(rootfs), "-cf", str(tar), "."]
        )
        layer = compress_layer(tar, out)
        tar.unlink()
        diff_id_file.write_text(f"{layer.diff_id}\n{marker}")
    return layer


def pause(steps: Steps, work: Path) -> Path:
    out = work / f"pause-{PAUSE_VERSION}"
    if out.is_file():
        return out
    with steps.step(f"pause {PAUSE_VERSION} (gcc -static)"):
        source = Path(_run(["go", "env", "GOMODCACHE"]).strip()) / f"k8s.io/kubernetes@v{KIND_NODE_KUBERNETES_VERSION}"
        pause_c = source / "build/pause/linux/pause.c"
        if not pause_c.is_file():  # the module is fetched by the Kubernetes build, but be sure
            _run(["go", "mod", "download", f"k8s.io/kubernetes@v{KIND_NODE_KUBERNETES_VERSION}"], cwd=work)
        tmp = out.with_name(f"{out.name}.tmp")
        _run(["gcc", "-Os", "-Wall", "-Werror", "-static", f"-DVERSION=v{PAUSE_VERSION}", "-o", str(tmp), str(pause_c)])
        _run(["strip", str(tmp)])
        tmp.rename(out)
    return out


def image_archives(out: Path, binaries: dict[str, Path], pause: Path, base: Layer) -> list[Path]:
    """One `docker save` archive per image the node needs, laid out as upstream's images:
    the binary on PATH (control plane, etcd, kube-proxy), or at / with an entrypoint
    (CoreDNS, pause)."""
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    images = files.IMAGES
    made: list[Path] = []

    def image(ref: str, layers: list[Layer], config: ImageConfig = _PLAIN) -> None:
        archive = out / f"{ref.rsplit('/', 1)[1].replace(':', '_')}.tar"
        write_archive(archive, ref, layers, config)
        made.append(archive)

    def binary_layer(name: str, content: dict[str, Path | bytes]) -> Layer:
        return files_layer(content, out / f"{name}.layer.tar.gz")

    for exe, ref in (
        ("kube-apiserver", images.kube_apiserver),
        ("kube-controller-manager", images.kube_controller_manager),
        ("kube-scheduler", images.kube_scheduler),
        ("etcd", images.etcd),
    ):
        image(ref, [binary_layer(exe, {f"usr/local/bin/{exe}": binaries[exe]})])
    image(images.kube_proxy, [base, binary_layer("kube-proxy", {"usr/local/bin/kube-proxy": binaries["kube-proxy"]})])
    image(
        images.coredns,
        [binary_layer("coredns", {"coredns": binaries["coredns"]})],
        ImageConfig(entrypoint=("/coredns",)),
    )
    image(images.pause, [binary_layer("pause", {"pause": pause})], ImageConfig(entrypoint=("/pause",)))
    image(
        images.storage_provisioner,
        [binary_layer("local-path", {"usr/local/bin/local-path-provisioner": binaries["local-path-provisioner"]})],
        ImageConfig(entrypoint=("local-path-provisioner",)),
    )
    image(images.storage_helper, [base])
    agent = {
        "usr/local/bin/kubectl": binaries["kubectl"],
        "usr/local/bin/odin-cni-agent": files.CNI_AGENT_SCRIPT.encode(),
    }
    image(images.cni, [base, binary_layer("cni-agent", agent)])
    for leftover in out.glob("*.layer.tar.gz"):
        leftover.unlink()
    return made


def lay_out_node(rootfs: Path, binaries: dict[str, Path]) -> None:
    """The node's own files on top of Debian, as kind's base image and node builder lay
    them out; idempotent, so an interrupted build can run it again."""
    for source in sorted(files.STATIC_TREE.rglob("*")):
        target = rootfs / source.relative_to(files.STATIC_TREE)
        if source.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            shutil.copy2(source, target)
            target.chmod(0o755 if source.parent.name == "bin" else 0o644)
    for exe in ("kubelet", "kubeadm", "kubectl"):
        shutil.copy2(binaries[exe], rootfs / "usr/bin" / exe)
    shutil.copy2(binaries["crictl"], rootfs / "usr/local/bin/crictl")
    shutil.copy2(files.RUNC_WRAPPER, rootfs / files.RUNC_WRAPPER_IN_NODE.lstrip("/"))
    (rootfs / files.RUNC_WRAPPER_IN_NODE.lstrip("/")).chmod(0o755)
    texts = {
        "etc/containerd/config.toml": files.containerd_config(),
        "kind/version": files.version_file(),
        "kind/manifests/default-cni.yaml": files.cni_manifest(),
        "kind/manifests/default-storage.yaml": files.storage_manifest(),
    }
    for rel, text in texts.items():
        (rootfs / rel).parent.mkdir(parents=True, exist_ok=True)
        (rootfs / rel).write_text(text)
    # Kubelet's CNI lookups and kind's conventions use /opt/cni/bin; Debian installs to /usr/lib/cni.
    cni_bin = rootfs / "opt/cni/bin"
    cni_bin.mkdir(parents=True, exist_ok=True)
    for plugin in (rootfs / "usr/lib/cni").iterdir():
        link = cni_bin / plugin.name
        if not link.is_symlink():
            link.symlink_to(f"/usr/lib/cni/{plugin.name}")
    (rootfs / "etc/kubernetes/manifests").mkdir(parents=True, exist_ok=True)
    # containerd's default OCI spec without rlimits (raising one needs CAP_SYS_RESOURCE), as kind's.
    spec = _run(["chroot", str(rootfs), "ctr", "oci", "spec"])
    (rootfs / "etc/containerd/cri-base.json").write_text(
        _run(["chroot", str(rootfs), "jq", "del(.process.rlimits)"], stdin=spec.encode())
    )
    # systemd as a container's init: only what a node needs starts (kind's base image does the same).
    for wants in ("lib/systemd/system/multi-user.target.wants", "etc/systemd/system/multi-user.target.wants"):
        for unit in (rootfs / wants).glob("*") if (rootfs / wants).is_dir() else ():
            unit.unlink()
    for unit in (rootfs / "lib/systemd/system/sysinit.target.wants").glob("systemd-tmpfiles-setup.service"):
        unit.unlink()
    journald = rootfs / "etc/systemd/journald.conf"
    if "ReadKMsg=no" not in journald.read_text():
        journald.write_text(journald.read_text() + "ReadKMsg=no\n")
    _run(["chroot", str(rootfs), "systemctl", "enable", "kubelet.service", "containerd.service"])
    _run(["chroot", str(rootfs), "systemctl", "mask", "systemd-binfmt.service"])


def commit_node(steps: Steps, rootfs: Path, images_dir: Path, archives: list[Path], ref: str, digest: str) -> str:
    """Import the root filesystem, start its containerd in a build container, import the
    images into namespace k8s.io (pinned, not unpacked: the node unpacks on first use),
    then commit the container as the node image. Returns the image id."""
    build_ref = f"{REPOSITORY}-build:{digest[:12]}"
    container = f"odin-kind-node-build-{os.getpid()}"
    with steps.step("import root filesystem into Docker"):
        tar = subprocess.Popen(
            ["tar", "--numeric-owner", "--exclude=./.rootfs-complete", "-C", str(rootfs), "-c", "."],
            stdout=subprocess.PIPE,
        )
        try:
            _run_with_stdin_from(["docker", "import", "-", build_ref], tar)
        finally:
            tar.wait()
    try:
        with steps.step("import images into the node's containerd"):
            _run(
                [
                    "docker", "run", "-d", "--privileged", "--name", container,
                    "-v", f"{images_dir}:/kind/images:ro", "--entrypoint", "/bin/sleep", build_ref, "infinity",
                ]
            )  # fmt: skip
            _run(["docker", "exec", container, "bash", "-c", "nohup containerd >/var/log/containerd-build.log 2>&1 &"])
            _wait_for_containerd(container)
            for archive in archives:
                _run(
                    [
                        "docker", "exec", container, "ctr", "--namespace=k8s.io", "images", "import",
                        "--label=io.cri-containerd.pinned=pinned", "--all-platforms", "--no-unpack",
                        f"/kind/images/{archive.name}",
                    ]
                )  # fmt: skip
            listed = set(
                _run(["docker", "exec", container, "ctr", "--namespace=k8s.io", "images", "list", "-q"]).split()
            )
            absent = [image for image in files.IMAGES.all() if _normalised(image) not in listed]
            if absent:
                raise NodeImageError(f"the node's containerd lacks {absent} after import (it lists {sorted(listed)})")
            _run(["docker", "exec", container, "pkill", "-x", "containerd"])
        with steps.step("commit the node image"):
            changes = ['ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]', "ENV container=docker"]
            _run(["docker", "commit", *(f"--change={c}" for c in changes), container, build_ref])
            # `docker commit` cannot set a stop signal: systemd stops cleanly on SIGRTMIN+3.
            dockerfile = f"FROM {build_ref}\nSTOPSIGNAL SIGRTMIN+3\nLABEL {INPUTS_LABEL}={digest}\n"
            _run(["docker", "build", "--quiet", "-t", ref, "-"], stdin=dockerfile.encode())
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, check=False)
        subprocess.run(["docker", "rmi", build_ref], capture_output=True, check=False)
    return _run(["docker", "image", "inspect", "--format", "{{.Id}}", ref]).strip()


def remove_older_builds(ref: str) -> None:
    """Builds of other inputs are never used again: each is most of a gigabyte."""
    listed = subprocess.run(
        ["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", REPOSITORY], capture_output=True, text=True
    ).stdout.split()
    for old in (image for image in listed if image != ref):
        subprocess.run(["docker", "rmi", old], capture_output=True, check=False)  # one in use stays


def _normalised(image: str) -> str:
    """containerd lists images by their full name: docker.io/library/… for short ones."""
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return image
    return f"docker.io/{image}" if "/" in image else f"docker.io/library/{image}"


def _run_with_stdin_from(cmd: list[str], producer: subprocess.Popen[bytes]) -> None:
    proc = subprocess.run(cmd, stdin=producer.stdout, capture_output=True, check=False)
    if proc.returncode != 0:
        raise NodeImageError(
            f"`{' '.join(cmd)}` failed (exit {proc.returncode}): {proc.stderr.decode(errors='replace')}"
        )


def _wait_for_containerd(container: str) -> None:
    from odin_acceptance.core.polling import eventually

    def answers() -> None:
        proc = subprocess.run(["docker", "exec", container, "ctr", "version"], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr.strip() or proc.stdout.strip()

    eventually(
        answers,
        timeout=60,
        what="the build container's containerd to answer `ctr version`",
        hint="see /var/log/containerd-build.log in the build container",
    )
