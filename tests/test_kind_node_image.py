"""The kind node image built here (odin_acceptance/provisioning/kind_node_image.py), offline:
the files the node holds, the images they name, the cache key, the archives, the errors."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import subprocess
import tarfile
import tomllib
from pathlib import Path

import pytest
import yaml

from odin_acceptance.provisioning import kind_node_files as files
from odin_acceptance.provisioning import kind_node_image as node
from odin_acceptance.provisioning.image_archive import ImageConfig, files_layer, write_archive
from odin_acceptance.provisioning.versions import KIND_NODE_IMAGE, KIND_NODE_KUBERNETES_VERSION
from odin_acceptance.targets import kubernetes as kube

REPO = Path(__file__).resolve().parent.parent

ENTRYPOINT = files.STATIC_TREE / "usr/local/bin/entrypoint"
# kind v0.33.0 waits for one of these lines in the node's log before it runs anything
# (pkg/cluster/internal/providers/common/cgroups.go).
KIND_READY_LINE = re.compile("Reached target .*Multi-User System.*|detected cgroup v1")
# What `kubeadm config images list` of 1.34.11 prints: the node must hold each, or it pulls.
KUBEADM_IMAGES = {
    "registry.k8s.io/kube-apiserver:v1.34.11",
    "registry.k8s.io/kube-controller-manager:v1.34.11",
    "registry.k8s.io/kube-scheduler:v1.34.11",
    "registry.k8s.io/kube-proxy:v1.34.11",
    "registry.k8s.io/coredns/coredns:v1.12.1",
    "registry.k8s.io/pause:3.10.1",
    "registry.k8s.io/etcd:3.6.5-0",
}


def _kind_templated(manifest: str) -> list[dict]:
    """The manifest as kind applies it: `{{ .PodSubnet }}` filled in."""
    return [d for d in yaml.safe_load_all(manifest.replace("{{ .PodSubnet }}", "10.244.0.0/16")) if d]


def _images_of(objects: list[dict]) -> set[str]:
    found = set()
    for obj in objects:
        spec = obj.get("spec", {}).get("template", {}).get("spec", {})
        found |= {c["image"] for c in spec.get("containers", [])}
        helper = obj.get("data", {}).get("helperPod.yaml")
        if helper:
            found |= {c["image"] for c in yaml.safe_load(helper)["spec"]["containers"]}
        args = [a for c in spec.get("containers", []) for a in c.get("command", [])]
        if "--helper-image" in args:
            found.add(args[args.index("--helper-image") + 1])
    return found


def test_the_node_holds_every_image_kubeadm_and_its_manifests_name():
    cni, storage = _kind_templated(files.cni_manifest()), _kind_templated(files.storage_manifest())
    wanted = KUBEADM_IMAGES | _images_of(cni) | _images_of(storage)
    assert wanted <= set(files.IMAGES.all()), f"named but not built: {sorted(wanted - set(files.IMAGES.all()))}"
    assert set(files.IMAGES.all()) <= wanted, f"built but named nowhere: {sorted(set(files.IMAGES.all()) - wanted)}"
    assert KIND_NODE_KUBERNETES_VERSION == "1.34.11", "KUBEADM_IMAGES is kubeadm 1.34.11's list: update it with the pin"


def test_the_built_node_is_of_the_official_node_images_kubernetes_release():
    """A run on the node built here speaks for the nightly's kindest/node: same release."""
    official = re.fullmatch(r"kindest/node:v([\d.]+)@sha256:[0-9a-f]{64}", KIND_NODE_IMAGE)[1]
    assert files.version_file() == f"v{official}\n"
    assert files.IMAGES.kube_apiserver.endswith(f":v{official}")
    assert node.image_ref().startswith(f"{node.REPOSITORY}:v{official}-")


def test_containerd_runs_our_pause_with_the_systemd_cgroup_driver_kind_configures():
    config = tomllib.loads(files.containerd_config())
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == files.IMAGES.pause
    runc = cri["containerd"]["runtimes"]["runc"]
    assert runc["options"]["SystemdCgroup"] is True, "kind's kubelet config says cgroupDriver: systemd"
    assert "BinaryName" not in runc["options"], "the wrapper is only for machines that lack CAP_SYS_RESOURCE"
    assert cri["restrict_oom_score_adj"] is False
    assert cri["cni"]["bin_dir"] == "/opt/cni/bin"


def _adapt(tmp_path: Path, bounding: str) -> tuple[dict, Path]:
    config = tmp_path / "config.toml"
    config.write_text(files.containerd_config())
    dropins = tmp_path / "dropins"
    paths = f"containerd_config={config}; containerd_dropins={dropins}"
    script = f"source {ENTRYPOINT}; {paths}; adapt_to_capabilities {bounding}"
    subprocess.run(["bash", "-c", script], check=True, capture_output=True, text=True)
    return tomllib.loads(config.read_text()), dropins


@pytest.mark.parametrize(
    ("bounding", "gap"),
    [("000001fffeffffff", True), ("000001ffffffffff", False), ("000001fffffffffe", False)],
)
def test_without_cap_sys_resource_the_nodes_containerd_uses_the_wrapper(tmp_path, bounding, gap):
    config, dropins = _adapt(tmp_path, bounding)
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    options = cri["containerd"]["runtimes"]["runc"]["options"]
    if gap:  # runc could neither grant the capability nor lower an OOM score there
        assert options.get("BinaryName") == files.RUNC_WRAPPER_IN_NODE
        assert cri["restrict_oom_score_adj"] is True
        assert not dropins.exists(), "containerd's unit must not ask for limits the node cannot grant"
    else:
        assert "BinaryName" not in options
        assert cri["restrict_oom_score_adj"] is False
        assert "OOMScoreAdjust=-999" in (dropins / "20-limits.conf").read_text()


def test_the_entrypoint_says_what_kind_waits_for_and_hands_over_to_init():
    text = ENTRYPOINT.read_text()
    subprocess.run(["bash", "-n", str(ENTRYPOINT)], check=True)
    said = re.findall(r'^\s*info "([^"$]*)"$', text, re.M)
    assert any(KIND_READY_LINE.search(line) for line in said), said
    assert text.rstrip().endswith('exec "$@"')


def test_the_cni_manifest_takes_kinds_template_and_patch():
    manifest = files.cni_manifest()
    # kind fills in the pod subnet and appends the API server's endpoint to the first
    # container's env only when it finds these comments (pkg/cluster/internal/create/actions/installcni).
    assert "would you kindly template this file" in manifest and "would you kindly patch this file" in manifest
    [daemonset] = [o for o in _kind_templated(manifest) if o["kind"] == "DaemonSet"]
    spec = daemonset["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["POD_SUBNET"]["value"] == "10.244.0.0/16"
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert spec["hostNetwork"] is True
    assert {"operator": "Exists"} in spec["tolerations"], "every node, the control plane too"
    assert "${CONTROL_PLANE_ENDPOINT}" in files.CNI_AGENT_SCRIPT, "the agent must not need kube-proxy to start"


def test_the_cni_agent_is_valid_shell_and_writes_a_config_for_the_standard_plugins():
    subprocess.run(["sh", "-n"], input=files.CNI_AGENT_SCRIPT, text=True, check=True)
    conf = files.CNI_AGENT_SCRIPT.split("<<EOF\n", 1)[1].split("\nEOF", 1)[0].replace("$1", "10.244.1.0/24")
    plugins = json.loads(conf)["plugins"]
    assert [p["type"] for p in plugins] == ["ptp", "portmap"]
    assert plugins[0]["ipam"]["ranges"] == [[{"subnet": "10.244.1.0/24"}]]


def test_the_default_storage_class_is_kinds_standard_and_binds_on_first_use():
    objects = _kind_templated(files.storage_manifest())
    [storage_class] = [o for o in objects if o["kind"] == "StorageClass"]
    assert storage_class["metadata"]["name"] == "standard"
    assert storage_class["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert storage_class["volumeBindingMode"] == "WaitForFirstConsumer"


def test_the_cluster_dns_answers_cluster_names_only():
    corefile = files.cluster_corefile()
    assert "forward" not in corefile, "a lookup must never go to the host's resolver"
    assert re.search(r"^\s*kubernetes cluster\.local in-addr\.arpa ip6\.arpa \{", corefile, re.M)
    assert corefile.count("{") == corefile.count("}")


def test_the_cache_key_follows_every_input(monkeypatch):
    first = node.inputs_digest()
    assert node.inputs_digest() == first, "the same inputs must give the same key"
    assert node.image_ref() == f"{node.REPOSITORY}:v{KIND_NODE_KUBERNETES_VERSION}-{first[:12]}"
    monkeypatch.setattr(files, "containerd_config", lambda: "version = 2\n")
    assert node.inputs_digest() != first, "a changed containerd config must rebuild the image"
    monkeypatch.undo()
    monkeypatch.setattr(node, "LAYOUT_REVISION", node.LAYOUT_REVISION + 1)
    assert node.inputs_digest() != first


def _fake_docker(tmp_path: Path, image_id: str, label: str) -> None:
    docker = tmp_path / "bin" / "docker"
    docker.parent.mkdir()
    docker.write_text(f'#!/bin/sh\n[ "$1 $2" = "image inspect" ] && echo "{image_id} {label}" && exit 0\nexit 1\n')
    docker.chmod(0o755)


def test_a_second_call_with_the_image_present_builds_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("ODIN_CACHE_DIR", str(tmp_path / "cache"))
    digest, ref = node.inputs_digest(), node.image_ref()
    _fake_docker(tmp_path, "sha256:abc", digest)
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}:/usr/bin:/bin")

    def no_build(*_: object) -> None:
        raise AssertionError("rebuilt although the image and its stamp are there")

    monkeypatch.setattr(node, "_binaries", no_build)
    node.work_dir().mkdir(parents=True)
    (node.work_dir() / "image.stamp").write_text(f"{ref} sha256:abc\n")
    assert node.ensure_node_image() == ref
    # The image of other inputs, or without the stamp: not ours, so it builds.
    (node.work_dir() / "image.stamp").unlink()
    with pytest.raises(AssertionError, match="rebuilt"):
        monkeypatch.setattr(node, "require_tools", lambda **_: None)
        node.ensure_node_image()


def test_missing_tools_are_named_with_their_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("ODIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker, mmdebstrap, gcc, go
    with pytest.raises(node.NodeImageError) as caught:
        node.ensure_node_image()
    message = str(caught.value)
    for tool, fix in (
        ("docker", "apt-get install docker.io"),
        ("mmdebstrap", "apt-get install mmdebstrap"),
        ("gcc", "apt-get install gcc"),
        ("go", "go.dev/dl"),
    ):
        assert re.search(rf"^- {tool} is not on PATH: .*{re.escape(fix)}", message, re.M), message


def test_only_the_pinned_kubernetes_can_be_built():
    with pytest.raises(node.NodeImageError, match=r"only for the pinned Kubernetes 1\.34\.11"):
        node.ensure_node_image("1.35.0")


def test_kind_node_image_option_passes_a_reference_through_and_builds_on_request(monkeypatch):
    monkeypatch.setattr(node, "ensure_node_image", lambda progress=print: "odin.local/kind-node:built")
    assert node.node_image("kindest/node:v1.34.11") == "kindest/node:v1.34.11"
    assert node.node_image(node.BUILT) == "odin.local/kind-node:built"


def test_an_image_archive_is_what_docker_load_and_ctr_import_read(tmp_path):
    binary = tmp_path / "tool"
    binary.write_bytes(b"#!/bin/sh\n")
    binary.chmod(0o755)
    layer = files_layer({"usr/local/bin/tool": binary, "etc/note": b"hi"}, tmp_path / "layer.tar.gz")
    archive = tmp_path / "image.tar"
    write_archive(archive, "registry.k8s.io/tool:v1", [layer], ImageConfig(entrypoint=("/usr/local/bin/tool",)))
    with tarfile.open(archive) as tar:
        [manifest] = json.loads(tar.extractfile("manifest.json").read())
        config = json.loads(tar.extractfile(manifest["Config"]).read())
        [blob] = manifest["Layers"]
        content = gzip.decompress(tar.extractfile(blob).read())
    assert manifest["RepoTags"] == ["registry.k8s.io/tool:v1"]
    assert config["rootfs"]["diff_ids"] == [f"sha256:{hashlib.sha256(content).hexdigest()}"]
    assert config["config"]["Entrypoint"] == ["/usr/local/bin/tool"]
    with tarfile.open(fileobj=__import__("io").BytesIO(content)) as inner:
        members = {m.name: m for m in inner.getmembers()}
    assert members["usr/local/bin/tool"].mode == 0o755 and members["etc/note"].mode == 0o644
    assert members["tmp"].isdir() and members["usr/local/bin"].isdir()


def test_the_package_ships_the_nodes_files():
    """An installed suite builds the node too: every file of the node's tree is package data."""
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    where = setuptools.get("package-dir", {})
    shipped = {
        path
        for package, patterns in setuptools["package-data"].items()
        for pattern in patterns
        for path in (REPO / where.get(package, package.replace(".", "/"))).glob(pattern)
    }
    # Resolved: the package may be imported through a path with ".." in it (tests/pytest.ini).
    needed = {p.resolve() for p in files.STATIC_TREE.rglob("*") if p.is_file()} | {files.RUNC_WRAPPER.resolve()}
    assert needed <= shipped, f"not package data: {sorted(str(p) for p in needed - shipped)}"


def test_the_kind_cluster_is_created_on_the_node_image_the_option_names(tmp_path, monkeypatch):
    calls = tmp_path / "calls"
    for tool in ("kind", "docker"):
        (tmp_path / tool).write_text(f'#!/bin/sh\necho {tool} "$@" >> {calls}\nexit {int(tool == "docker")}\n')
        (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    monkeypatch.setattr(node, "ensure_node_image", lambda progress=print: "odin.local/kind-node:v1.34.11-abc")
    monkeypatch.setattr(kube.stack_images, "ensure_images", lambda progress, stack=True: [])  # test_stack_images.py
    cluster = kube.KindCluster.__new__(kube.KindCluster)
    cluster.kubeconfig, cluster.created_cluster, cluster.node_image = None, False, node.BUILT
    cluster.ensure_cluster()
    [create] = [line for line in calls.read_text().splitlines() if line.startswith("kind create cluster")]
    assert "--image odin.local/kind-node:v1.34.11-abc " in create, create


class _Stop(Exception):
    pass


def test_a_fresh_cache_has_the_work_directory_before_pause_is_compiled_into_it(tmp_path, monkeypatch):
    """Found by the kind tier's first run with a new Kubernetes version: gcc could not write
    the pause binary into a work directory nothing had made yet."""
    monkeypatch.setenv("ODIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(node, "is_cached", lambda *_: False)
    monkeypatch.setattr(node, "require_tools", lambda **_: None)
    monkeypatch.setattr(node, "_binaries", lambda steps: {})
    monkeypatch.setattr(node.build, "debian_rootfs", lambda steps, rootfs: None)
    monkeypatch.setattr(node.build, "base_layer", lambda steps, rootfs, work: None)

    def compile_step(cmd: list[str], **_: object) -> str:
        if cmd[0] == "gcc":
            output = Path(cmd[cmd.index("-o") + 1])
            assert output.parent.is_dir(), f"gcc would write {output} into a directory that does not exist"
            raise _Stop
        return str(tmp_path)  # `go env GOMODCACHE`

    monkeypatch.setattr(node.build, "_run", compile_step)
    with pytest.raises(_Stop):
        node.ensure_node_image(progress=lambda _: None)


KUBELET_CGROUPS = files.STATIC_TREE / "usr/local/bin/kubelet-cgroups"


def test_kubelet_cgroups_on_v2_delegate_every_controller_down_to_kubelets_root(tmp_path):
    root = tmp_path / "cgroup"
    for group in ("", "kubelet", "kubelet.slice"):  # the kernel gives each new cgroup its controllers
        (root / group).mkdir(parents=True, exist_ok=True)
        (root / group / "cgroup.controllers").write_text("cpuset cpu memory pids\n")
    (root / "cgroup.procs").write_text("")
    subprocess.run([str(KUBELET_CGROUPS)], env={"CGROUP_ROOT": str(root), "PATH": "/usr/bin:/bin"}, check=True)
    for group in ("", "kubelet", "kubelet.slice"):
        assert (root / group / "cgroup.subtree_control").read_text().split() == ["+cpuset", "+cpu", "+memory", "+pids"]


def test_kubelet_cgroups_on_v2_refuse_while_processes_sit_in_the_root(tmp_path):
    (tmp_path / "cgroup.controllers").write_text("cpu memory\n")
    (tmp_path / "cgroup.procs").write_text("1\n")
    run = subprocess.run(
        [str(KUBELET_CGROUPS)],
        env={"CGROUP_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and "after systemd starts" in run.stderr


def test_kubelet_cgroups_on_v1_make_the_systemd_hierarchys_kubelet_root(tmp_path):
    subprocess.run([str(KUBELET_CGROUPS)], env={"CGROUP_ROOT": str(tmp_path), "PATH": "/usr/bin:/bin"}, check=True)
    assert (tmp_path / "systemd/kubelet").is_dir()


def test_a_failed_docker_import_ends_the_build_instead_of_hanging(tmp_path, monkeypatch):
    """`docker import` exits at once (a daemon gone, a full disk): tar, with a megabyte left to
    write into a pipe nobody reads, must not keep the build waiting for ever."""
    import os
    import threading

    from odin_acceptance.provisioning import kind_node_build as build

    rootfs = tmp_path / "rootfs"
    rootfs.mkdir()
    (rootfs / "big").write_bytes(os.urandom(1 << 20))
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text("#!/bin/sh\necho 'no space left on device' >&2\nexit 1\n")
    (fake / "docker").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}{os.pathsep}{os.environ['PATH']}")
    outcome: list[BaseException] = []

    def commit() -> None:
        try:
            build.commit_node(build.Steps(lambda _: None), rootfs, tmp_path, [], "odin.local/x:1", "0" * 64)
        except BaseException as error:  # the thread hands it to the test
            outcome.append(error)

    worker = threading.Thread(target=commit, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert not worker.is_alive(), "commit_node still waits for tar 30 s after docker import failed"
    assert len(outcome) == 1 and isinstance(outcome[0], build.NodeImageError), outcome
    assert "no space left on device" in str(outcome[0])
