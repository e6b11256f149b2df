"""The one place where component versions are pinned.

The local target runs these exact versions and the manifests must reference the same
images (a project test checks that), so a result on the local target speaks for the
cluster deployment too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class DebianPackage:
    """A Debian package fetched with `apt-get download` and unpacked without root."""

    package: str
    version: str
    # executable name we use -> path inside the package
    files: dict[str, str]


@dataclass(frozen=True)
class GoInstall:
    """`go install module/cmd@version` for modules whose go.mod has no replace directives."""

    module: str  # the module the packages belong to (its go.mod states the Go it needs)
    packages: dict[str, str]  # executable -> package path
    version: str
    ldflags: str = ""


@dataclass(frozen=True)
class GoModuleTree:
    """A `go build` inside a writable copy of a module's tree: for modules whose go.mod has
    (non-local) replace directives, which `go install module@version` refuses."""

    module: str
    version: str
    packages: dict[str, str]  # executable -> package path relative to the module root
    ldflags: str = ""
    tags: str = "netgo"


@dataclass(frozen=True)
class GoWrapperModule:
    """`go build` of main packages of `module` from a small generated module that requires it.

    For modules whose go.mod carries local replaces (Kubernetes' staging tree, etcd's
    sibling modules), which `go install` refuses and which a dependency's go.mod may have:
    replaces only apply in the main module. `staging_replaces` maps each module that
    `module` replaces with `./staging/src/<module>` to its published version
    v0.<minor>.<patch>, the block generated from that release's own go.mod.
    """

    module: str
    version: str
    packages: dict[str, str]  # executable -> full package path
    ldflags: str = ""
    staging_replaces: bool = False


# Licences under which the suite may fetch and build a component (SPDX identifiers).
PERMISSIVE_LICENCES = frozenset({"Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause", "ISC"})


@dataclass(frozen=True)
class Component:
    """A component the suite fetches or builds itself, when not found on PATH."""

    name: str
    version: str
    licence: str  # SPDX identifier; must be in PERMISSIVE_LICENCES
    images: tuple[str, ...]
    executables: tuple[str, ...]
    # tried in order; the first that works is cached
    sources: tuple[DebianPackage | GoInstall | GoModuleTree | GoWrapperModule, ...]


# Built from the module source: Debian's package strips Kubernetes service discovery,
# so its promtool rejects the manifests' prometheus.yml. The go.mod has (non-local)
# replace directives, which `go install` refuses, hence a build inside the module tree.
PROMETHEUS = Component(
    name="prometheus",
    licence="Apache-2.0",
    version="2.42.0",
    images=("quay.io/prometheus/prometheus:v2.42.0",),
    executables=("prometheus", "promtool"),
    sources=(
        GoModuleTree(
            module="github.com/prometheus/prometheus",
            version="v0.42.0",
            packages={"prometheus": "./cmd/prometheus", "promtool": "./cmd/promtool"},
            ldflags="-X github.com/prometheus/common/version.Version=2.42.0",
        ),
    ),
)

# Debian's Alertmanager reads its default template from a hard-coded /usr/share path, so an
# unpacked package fails at config load without root: the Go build embeds the template.
ALERTMANAGER = Component(
    name="alertmanager",
    licence="Apache-2.0",
    version="0.25.0",
    images=("quay.io/prometheus/alertmanager:v0.25.0",),
    executables=("alertmanager", "amtool"),
    sources=(
        GoInstall(
            module="github.com/prometheus/alertmanager",
            packages={
                "alertmanager": "github.com/prometheus/alertmanager/cmd/alertmanager",
                "amtool": "github.com/prometheus/alertmanager/cmd/amtool",
            },
            version="v0.25.0",
            ldflags="-X github.com/prometheus/common/version.Version=0.25.0",
        ),
    ),
)

NODE_EXPORTER = Component(
    name="node_exporter",
    licence="Apache-2.0",
    version="1.5.0",
    images=("quay.io/prometheus/node-exporter:v1.5.0",),
    executables=("node_exporter",),
    sources=(
        DebianPackage(
            package="prometheus-node-exporter",
            version="1.5.0-1+b6",
            files={"node_exporter": "usr/bin/prometheus-node-exporter"},
        ),
        GoInstall(
            module="github.com/prometheus/node_exporter",
            packages={"node_exporter": "github.com/prometheus/node_exporter"},
            version="v1.5.0",
            ldflags="-X github.com/prometheus/common/version.Version=1.5.0",
        ),
    ),
)

COMPONENTS: tuple[Component, ...] = (PROMETHEUS, ALERTMANAGER, NODE_EXPORTER)


@dataclass(frozen=True)
class SuppliedComponent:
    """A component the suite judges but never fetches or builds (its licence is the AGPL):
    the user supplies the executable (odin_acceptance.provisioning.supplied), or the cluster pulls the image."""

    name: str  # the executable's name on PATH and in `--component NAME=PATH`
    title: str
    version: str
    licence: str
    images: tuple[str, ...]
    # The upstream release archive that holds the executable, for the "how to supply" hint.
    archive: str


# 3.6.x is the last Loki line that ships Promtail (end-of-life 2026-03-02).
LOKI_RELEASE = "3.6.3"


def _of_the_loki_release(name: str, title: str) -> SuppliedComponent:
    return SuppliedComponent(
        name=name,
        title=title,
        version=LOKI_RELEASE,
        licence="AGPL-3.0",
        images=(f"docker.io/grafana/{name}:{LOKI_RELEASE}",),
        archive=f"{name}-linux-amd64.zip of the Loki v{LOKI_RELEASE} release",
    )


LOKI = _of_the_loki_release("loki", "Loki")
PROMTAIL = _of_the_loki_release("promtail", "Promtail")
GRAFANA = SuppliedComponent(
    name="grafana",
    title="Grafana",
    version="11.6.1",
    licence="AGPL-3.0",
    images=("docker.io/grafana/grafana:11.6.1",),
    archive="grafana-11.6.1.linux-amd64.tar.gz (bin/grafana, kept beside the archive's conf/ and public/)",
)
SUPPLIED: tuple[SuppliedComponent, ...] = (LOKI, PROMTAIL, GRAFANA)

# Images of the instruments and workloads (used by the Kubernetes overlays): Debian bookworm's
# Python 3 (3.11), built on the machine that runs kind (provisioning.stack_images), since no
# registry answers there and CPython 3.12 cannot be built offline; the name says what it holds.
PYTHON_IMAGE = "localhost/odin-acceptance/debian-python3:3.11-bookworm"
# What an existing cluster pulls for them instead: the image above lives only in the Docker
# of the machine that built it (and in the kind nodes it was loaded into).
PYTHON_REGISTRY_IMAGE = "docker.io/library/python:3.12.8-slim-bookworm"

# -- the kwok target's control plane (built only when --target kwok asks for it) --------

# 1.34: its staging modules are all served by the module proxy here (bar two samples the
# build does not need). kubectl is built from the same release, so the kwok target needs
# no kubectl of the host's and there is no version skew between client and server.
KUBERNETES_VERSION = "1.34.4"


def kube_ldflags(version: str) -> str:
    """What Kubernetes' own build stamps into its binaries (`--version`, the API's /version)."""
    return " ".join(
        f"-X k8s.io/{pkg}.{var}={value}"
        for pkg in ("component-base/version", "client-go/pkg/version")
        for var, value in (
            ("gitVersion", f"v{version}"),
            ("gitMajor", "1"),
            ("gitMinor", version.split(".")[1]),
            ("gitTreeState", "clean"),
        )
    )


KUBERNETES = Component(
    name="kubernetes",
    licence="Apache-2.0",
    version=KUBERNETES_VERSION,
    images=(),
    executables=("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"),
    sources=(
        GoWrapperModule(
            module="k8s.io/kubernetes",
            version=f"v{KUBERNETES_VERSION}",
            packages={
                exe: f"k8s.io/kubernetes/cmd/{exe}"
                for exe in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
            },
            ldflags="-s -w " + kube_ldflags(KUBERNETES_VERSION),
            staging_replaces=True,
        ),
    ),
)

# The etcd that Kubernetes 1.34.4 itself requires (Debian's 3.4 is too old for it).
ETCD = Component(
    name="etcd",
    licence="Apache-2.0",
    version="3.6.4",
    images=(),
    executables=("etcd",),
    sources=(
        GoWrapperModule(
            module="go.etcd.io/etcd/server/v3",
            version="v3.6.4",
            packages={"etcd": "go.etcd.io/etcd/server/v3"},
            ldflags="-s -w",
        ),
    ),
)

KWOK = Component(
    name="kwok",
    licence="Apache-2.0",
    version="0.7.0",
    images=(),
    executables=("kwok",),
    sources=(
        GoInstall(
            module="sigs.k8s.io/kwok",
            packages={"kwok": "sigs.k8s.io/kwok/cmd/kwok"},
            version="v0.7.0",
            ldflags="-s -w",
        ),
    ),
)

CONTROL_PLANE: tuple[Component, ...] = (ETCD, KUBERNETES, KWOK)

# -- the kind target (the nightly job's cluster): the kwok target's Kubernetes minor ------

# The newest kind release, on the module proxy (go install) since 2026-08-26.
KIND = Component(
    name="kind",
    licence="Apache-2.0",
    version="0.33.0",
    images=(),
    executables=("kind",),
    sources=(GoInstall(module="sigs.k8s.io/kind", packages={"kind": "sigs.k8s.io/kind"}, version="v0.33.0"),),
)
# The node image kind v0.33.0's release notes publish for Kubernetes 1.34 (its default is
# 1.37). By digest: kind supports an image only with the release that built it, and the tag
# alone can name a build of another release.
KIND_NODE_IMAGE = "kindest/node:v1.34.11@sha256:44e222ee2132dab25ff87301682f89eb82c7880ea3a1bf543bfe9708fd08d67d"

# kubectl for the kind and cluster targets, from the kwok target's Kubernetes release: one
# pin for the minor, and the Go checksum database vouches for the source (the runner's own
# kubectl follows whatever the image ships).
KUBECTL = Component(
    name="kubectl",
    licence="Apache-2.0",
    version=KUBERNETES_VERSION,
    images=(),
    executables=("kubectl",),
    # The kwok control plane's build, kubectl alone: same flags, so they share Go's build cache.
    sources=tuple(replace(source, packages={"kubectl": source.packages["kubectl"]}) for source in KUBERNETES.sources),
)
KIND_TOOLS: tuple[Component, ...] = (KIND, KUBECTL)

# -- tools of the project's own tests (never needed by an acceptance run) ----------------

ACTIONLINT = Component(
    name="actionlint",
    version="1.7.12",
    licence="MIT",
    images=(),
    executables=("actionlint",),
    sources=(
        GoInstall(
            module="github.com/rhysd/actionlint",
            packages={"actionlint": "github.com/rhysd/actionlint/cmd/actionlint"},
            version="v1.7.12",
            ldflags="-s -w -X github.com/rhysd/actionlint.version=1.7.12",
        ),
    ),
)

# -- the kind node image built here (odin_acceptance/provisioning/kind_node_image.py) ----
# Only where no registry answers (`--kind-node-image built`); the nightly and users keep
# KIND_NODE_IMAGE. Of the same Kubernetes release as KIND_NODE_IMAGE (read from its tag),
# so a run on either node speaks for the other; the kwok target stays on
# KUBERNETES_VERSION, whose whole release the module proxy lists. Every other version below
# is what kubeadm of that release or kind v0.33.0's node layout asks for, so the node pulls
# nothing: kubeadm's image list (cmd/kubeadm/app/constants: etcd 3.6.5-0, CoreDNS v1.12.1,
# pause 3.10.1).
_OFFICIAL_NODE = re.fullmatch(r"kindest/node:v(\d+\.\d+\.\d+)@sha256:[0-9a-f]{64}", KIND_NODE_IMAGE)
assert _OFFICIAL_NODE, f"KIND_NODE_IMAGE must be kindest/node:vX.Y.Z@sha256:…, not {KIND_NODE_IMAGE}"
KIND_NODE_KUBERNETES_VERSION = _OFFICIAL_NODE[1]
_NODE_BINARIES = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kube-proxy",
    "kubelet",
    "kubeadm",
    "kubectl",
)
KIND_NODE_KUBERNETES = Component(
    name="kubernetes-node",
    licence="Apache-2.0",
    version=KIND_NODE_KUBERNETES_VERSION,
    images=(),
    executables=_NODE_BINARIES,
    sources=(
        GoWrapperModule(
            module="k8s.io/kubernetes",
            version=f"v{KIND_NODE_KUBERNETES_VERSION}",
            packages={exe: f"k8s.io/kubernetes/cmd/{exe}" for exe in _NODE_BINARIES},
            ldflags="-s -w " + kube_ldflags(KIND_NODE_KUBERNETES_VERSION),
            staging_replaces=True,
        ),
    ),
)
KIND_NODE_DEBIAN_SUITE = "bookworm"  # the machine's own suite: containerd 1.6, runc 1.1, CNI plugins 1.1
KIND_NODE_ETCD = Component(
    name="etcd",
    licence="Apache-2.0",
    version="3.6.5",
    images=("registry.k8s.io/etcd:3.6.5-0",),
    executables=("etcd",),
    sources=(replace(ETCD.sources[0], version="v3.6.5"),),
)
COREDNS = Component(
    name="coredns",
    licence="Apache-2.0",
    version="1.12.1",
    images=("registry.k8s.io/coredns/coredns:v1.12.1",),
    executables=("coredns",),
    sources=(
        GoInstall(
            module="github.com/coredns/coredns",
            packages={"coredns": "github.com/coredns/coredns"},
            version="v1.12.1",
            ldflags="-s -w",
        ),
    ),
)
CRICTL = Component(
    name="crictl",
    licence="Apache-2.0",
    version="1.34.0",
    images=(),
    executables=("crictl",),
    sources=(
        GoInstall(
            module="sigs.k8s.io/cri-tools",
            packages={"crictl": "sigs.k8s.io/cri-tools/cmd/crictl"},
            version="v1.34.0",
            ldflags="-s -w -X sigs.k8s.io/cri-tools/pkg/version.Version=1.34.0",
        ),
    ),
)
LOCAL_PATH_PROVISIONER = Component(
    name="local-path-provisioner",
    licence="Apache-2.0",
    version="0.0.30",
    images=(),
    executables=("local-path-provisioner",),
    sources=(
        GoInstall(
            module="github.com/rancher/local-path-provisioner",
            packages={"local-path-provisioner": "github.com/rancher/local-path-provisioner"},
            version="v0.0.30",
            ldflags="-s -w",
        ),
    ),
)
# The pause container kubeadm 1.34 names, compiled from the Kubernetes release's own
# build/pause/linux/pause.c (gcc -static).
PAUSE_VERSION = "3.10.1"
KIND_NODE_COMPONENTS: tuple[Component, ...] = (
    KIND_NODE_KUBERNETES,
    KIND_NODE_ETCD,
    COREDNS,
    CRICTL,
    LOCAL_PATH_PROVISIONER,
)
# Debian packages of the node's root filesystem (kind's base image list, with Debian's
# containerd, runc and CNI plugins in place of kind's own builds).
KIND_NODE_PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "conntrack",
    "iptables",
    "nftables",
    "iproute2",
    "ethtool",
    "util-linux",
    "mount",
    "kmod",
    "libseccomp2",
    "pigz",
    "e2fsprogs",
    "bash",
    "ca-certificates",
    "curl",
    "jq",
    "procps",
    "socat",
    "ebtables",
    "containerd",
    "runc",
    "containernetworking-plugins",
)
