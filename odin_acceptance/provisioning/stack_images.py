"""The stack's container images, built on this machine where no registry answers.

Prometheus, Alertmanager and node-exporter are laid out as their upstream Dockerfiles lay
them out (the Dockerfile in each release's module tree: binary paths, the default config
files and, for Prometheus, console templates, owner `nobody`, working directory, volume,
entrypoint, default command, exposed port) on a busybox base like upstream's
`quay.io/prometheus/busybox`: Debian's static busybox, `root`/`nobody` accounts and glibc
(Debian's node-exporter build links it). The binaries are the pinned ones the local target
runs (provisioning.components), so every target judges the same builds. They are tagged with
the manifests' image names.

The instruments' image is Debian bookworm's Python 3 (3.11), tagged as what it is: upstream's
python:3.12.8 cannot be built offline, and the instruments run on 3.11 like the local target.

An image built here carries a label naming its recipe; a second run finds it and builds
nothing. An image of that name without the label (pulled from a registry, or loaded by the
user) is used as it is: the official image wins wherever it exists.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from odin_acceptance.provisioning.components import (
    Progress,
    ProvisioningError,
    _go_mod_download,
    _run,
    ensure,
)
from odin_acceptance.provisioning.versions import (
    ALERTMANAGER,
    NODE_EXPORTER,
    PROMETHEUS,
    PYTHON_IMAGE,
    GoInstall,
    GoModuleTree,
)

# Bump when a layout below changes: images built by an older recipe are rebuilt.
RECIPE_REVISION = "1"
RECIPE_LABEL = "org.odin-acceptance.recipe"
BUSYBOX_PACKAGE = "busybox-static"
PYTHON_PACKAGES = ("python3", "python-is-python3")
NOBODY = 65534
# What upstream's busybox base carries for accounts (the Dockerfiles chown to nobody:nobody).
PASSWD = "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n"
GROUP = "root:x:0:\nnobody:x:65534:\nnogroup:x:65534:\n"


@dataclass(frozen=True)
class Entry:
    """One path of an image's file system: a file copied from `source`, a directory
    (`source` None, `link` None) or a symbolic link to `link`."""

    path: str
    source: Path | None = None
    link: str | None = None
    owner: int = 0
    mode: int | None = None


@dataclass(frozen=True)
class ImageRecipe:
    reference: str
    what: str  # for the report: what the image holds and where it came from
    entries: Callable[[Path], list[Entry]]  # given a scratch directory
    changes: tuple[str, ...]  # Dockerfile instructions `docker import --change` accepts


def recipe_id(recipe: ImageRecipe) -> str:
    return f"{RECIPE_REVISION}:{recipe.reference}"


def write_tar(entries: Iterable[Entry], out: BinaryIO) -> None:
    """A root file system as a tar stream; parents are created as root-owned directories."""
    seen: set[str] = set()
    with tarfile.open(fileobj=out, mode="w|") as tar:

        def add_dir(path: str, owner: int = 0, mode: int = 0o755) -> None:
            if path in seen or path in ("", "."):
                return
            parent = str(Path(path).parent)
            if parent != ".":
                add_dir(parent)
            info = tarfile.TarInfo(path)
            info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, mode, owner, owner
            tar.addfile(info)
            seen.add(path)

        for entry in entries:
            path = entry.path.strip("/")
            add_dir(str(Path(path).parent))
            if entry.link is not None:
                info = tarfile.TarInfo(path)
                info.type, info.linkname, info.uid, info.gid = tarfile.SYMTYPE, entry.link, entry.owner, entry.owner
                tar.addfile(info)
            elif entry.source is None:
                add_dir(path, entry.owner, entry.mode or 0o755)
            elif entry.source.is_dir():
                for child in sorted(entry.source.rglob("*")):
                    rel = f"{path}/{child.relative_to(entry.source)}"
                    if child.is_dir():
                        add_dir(rel, entry.owner)
                    else:
                        add_dir(str(Path(rel).parent), entry.owner)
                        _add_file(tar, rel, child, entry.owner, None)
            else:
                _add_file(tar, path, entry.source, entry.owner, entry.mode)
            seen.add(path)


def _add_file(tar: tarfile.TarFile, path: str, source: Path, owner: int, mode: int | None) -> None:
    info = tarfile.TarInfo(path)
    data = source.read_bytes()
    info.size, info.uid, info.gid = len(data), owner, owner
    info.mode = mode if mode is not None else (0o755 if source.stat().st_mode & 0o111 else 0o644)
    tar.addfile(info, io.BytesIO(data))


def _apt_download(package: str, work: Path) -> Path:
    """The package's files unpacked into a directory (no root needed)."""
    _run(["apt-get", "download", package], cwd=work)
    debs = sorted(work.glob(f"{package}_*.deb"))
    if not debs:
        raise ProvisioningError(f"apt-get download {package} produced no .deb")
    root = work / f"{package}-root"
    _run(["dpkg-deb", "-x", str(debs[0]), str(root)])
    return root


def shared_libraries(binary: Path) -> list[Path]:
    """The host's libraries a dynamically linked binary loads (ldd), loader included."""
    out = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False).stdout
    libs = []
    for line in out.splitlines():
        words = line.replace("=>", " ").split()
        libs += [Path(w) for w in words if w.startswith("/")]
    return libs


def busybox_base(work: Path) -> list[Entry]:
    """upstream's busybox base: busybox with its applets in /bin, the accounts, glibc."""
    root = _apt_download(BUSYBOX_PACKAGE, work)
    busybox = root / "bin" / "busybox"
    applets = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout.split()
    entries = [Entry("bin/busybox", busybox, mode=0o755)]
    entries += [Entry(f"bin/{name}", link="busybox") for name in applets if name != "busybox"]
    etc = work / "etc"
    etc.mkdir(exist_ok=True)
    (etc / "passwd").write_text(PASSWD)
    (etc / "group").write_text(GROUP)
    entries += [Entry("etc/passwd", etc / "passwd", mode=0o644), Entry("etc/group", etc / "group", mode=0o644)]
    entries += [Entry("home"), Entry("root", mode=0o700), Entry("tmp", mode=0o1777)]
    # The host's glibc, at the paths its loader expects (upstream's base is busybox:glibc).
    node_exporter = ensure(NODE_EXPORTER, lambda _m: None)["node_exporter"]
    for lib in shared_libraries(node_exporter):
        entries.append(Entry(str(lib), lib.resolve(), mode=0o755))
    return entries


def _module_tree(source: object, work: Path) -> Path:
    assert isinstance(source, GoModuleTree | GoInstall)
    module = source.module
    return Path(_go_mod_download(module, source.version, work)["Dir"])


def prometheus_entries(work: Path) -> list[Entry]:
    # prometheus/prometheus v2.42.0 Dockerfile (npm_licenses.tar.bz2 is a release-build
    # artefact that the module tree does not hold: left out).
    binaries = ensure(PROMETHEUS)
    tree = _module_tree(PROMETHEUS.sources[0], work)
    return [
        *busybox_base(work),
        Entry("bin/prometheus", binaries["prometheus"], mode=0o755),
        Entry("bin/promtool", binaries["promtool"], mode=0o755),
        Entry("usr/share/prometheus/console_libraries", tree / "console_libraries"),
        Entry("usr/share/prometheus/consoles", tree / "consoles"),
        Entry("LICENSE", tree / "LICENSE", mode=0o644),
        Entry("NOTICE", tree / "NOTICE", mode=0o644),
        Entry("etc/prometheus", owner=NOBODY),
        Entry("etc/prometheus/prometheus.yml", tree / "documentation/examples/prometheus.yml", owner=NOBODY),
        Entry("etc/prometheus/console_libraries", link="/usr/share/prometheus/console_libraries", owner=NOBODY),
        Entry("etc/prometheus/consoles", link="/usr/share/prometheus/consoles/", owner=NOBODY),
        Entry("prometheus", owner=NOBODY),
    ]


def alertmanager_entries(work: Path) -> list[Entry]:
    binaries = ensure(ALERTMANAGER)
    tree = _module_tree(ALERTMANAGER.sources[0], work)
    return [
        *busybox_base(work),
        Entry("bin/amtool", binaries["amtool"], mode=0o755),
        Entry("bin/alertmanager", binaries["alertmanager"], mode=0o755),
        Entry("etc/alertmanager", owner=NOBODY),
        Entry("etc/alertmanager/alertmanager.yml", tree / "examples/ha/alertmanager.yml", owner=NOBODY),
        Entry("alertmanager", owner=NOBODY),
    ]


def node_exporter_entries(work: Path) -> list[Entry]:
    return [*busybox_base(work), Entry("bin/node_exporter", ensure(NODE_EXPORTER)["node_exporter"], mode=0o755)]


STACK_RECIPES: tuple[ImageRecipe, ...] = (
    ImageRecipe(
        reference=PROMETHEUS.images[0],
        what=f"Prometheus {PROMETHEUS.version} (the pinned build) in upstream's image layout",
        entries=prometheus_entries,
        changes=(
            "USER nobody",
            "EXPOSE 9090",
            'VOLUME ["/prometheus"]',
            "WORKDIR /prometheus",
            'ENTRYPOINT ["/bin/prometheus"]',
            'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus", '
            '"--web.console.libraries=/usr/share/prometheus/console_libraries", '
            '"--web.console.templates=/usr/share/prometheus/consoles"]',
        ),
    ),
    ImageRecipe(
        reference=ALERTMANAGER.images[0],
        what=f"Alertmanager {ALERTMANAGER.version} (the pinned build) in upstream's image layout",
        entries=alertmanager_entries,
        changes=(
            "USER nobody",
            "EXPOSE 9093",
            'VOLUME ["/alertmanager"]',
            "WORKDIR /alertmanager",
            'ENTRYPOINT ["/bin/alertmanager"]',
            'CMD ["--config.file=/etc/alertmanager/alertmanager.yml", "--storage.path=/alertmanager"]',
        ),
    ),
    ImageRecipe(
        reference=NODE_EXPORTER.images[0],
        what=f"node_exporter {NODE_EXPORTER.version} (the pinned build) in upstream's image layout",
        entries=node_exporter_entries,
        changes=("EXPOSE 9100", "USER nobody", 'ENTRYPOINT ["/bin/node_exporter"]'),
    ),
)


def image_label(reference: str) -> str | None:
    """The recipe label of a local image; "" if it has none; None if Docker lacks the image."""
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", reference],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        return None
    labels = json.loads(out.stdout or "null") or {}
    return labels.get(RECIPE_LABEL, "")


def _import(reference: str, label: str, changes: Iterable[str], rootfs: Path) -> None:
    cmd = ["docker", "import", "--change", f"LABEL {RECIPE_LABEL}={label}"]
    for change in changes:
        cmd += ["--change", change]
    _run([*cmd, str(rootfs), reference])


def build_python_image(reference: str, work: Path) -> str:
    """Debian bookworm with its python3 (and `python`): mmdebstrap where installed, else a
    `docker build` from debian:bookworm-slim (where a registry answers, e.g. the nightly)."""
    label = f"{RECIPE_REVISION}:{reference}"
    changes = ('CMD ["python3"]',)
    if shutil.which("mmdebstrap"):
        rootfs = work / "rootfs.tar"
        include = ",".join(PYTHON_PACKAGES)
        _run(["mmdebstrap", "--variant=minbase", f"--include={include}", "bookworm", str(rootfs)])
        _import(reference, label, changes, rootfs)
        return "Debian bookworm's python3 (mmdebstrap)"
    dockerfile = (
        "FROM debian:bookworm-slim\n"
        f"RUN apt-get update && apt-get install -y --no-install-recommends {' '.join(PYTHON_PACKAGES)} "
        "&& rm -rf /var/lib/apt/lists/*\n"
        f"LABEL {RECIPE_LABEL}={label}\n"
        'CMD ["python3"]\n'
    )
    (work / "Dockerfile").write_text(dockerfile)
    _run(["docker", "build", "-q", "-t", reference, str(work)])
    return "Debian bookworm's python3 (docker build from debian:bookworm-slim)"


@dataclass
class ImageOutcome:
    reference: str
    how: str  # "built here in N s", "built here by an earlier run", "supplied"
    seconds: float = 0.0


def ensure_image(recipe: ImageRecipe, progress: Progress) -> ImageOutcome:
    label = image_label(recipe.reference)
    wanted = recipe_id(recipe)
    if label == wanted:
        return ImageOutcome(recipe.reference, f"built here by an earlier run: {recipe.what}")
    if label == "":
        return ImageOutcome(recipe.reference, "supplied (present in Docker, not built here)")
    progress(f"building image {recipe.reference} ({recipe.what})")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="odin-image-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        with rootfs.open("wb") as out:
            write_tar(recipe.entries(Path(tmp)), out)
        _import(recipe.reference, wanted, recipe.changes, rootfs)
    seconds = time.monotonic() - started
    return ImageOutcome(recipe.reference, f"built here in {seconds:.0f} s: {recipe.what}", seconds)


def ensure_python_image(progress: Progress) -> ImageOutcome:
    wanted = f"{RECIPE_REVISION}:{PYTHON_IMAGE}"
    label = image_label(PYTHON_IMAGE)
    if label == wanted:
        return ImageOutcome(PYTHON_IMAGE, "built here by an earlier run: Debian bookworm's python3")
    if label == "":
        return ImageOutcome(PYTHON_IMAGE, "supplied (present in Docker, not built here)")
    progress(f"building image {PYTHON_IMAGE} (Debian bookworm's python3; takes minutes the first time)")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="odin-image-") as tmp:
        how = build_python_image(PYTHON_IMAGE, Path(tmp))
    seconds = time.monotonic() - started
    return ImageOutcome(PYTHON_IMAGE, f"built here in {seconds:.0f} s: {how}", seconds)


def ensure_images(progress: Progress = print, *, stack: bool = True) -> list[ImageOutcome]:
    """The images the kind target deploys that the suite may build (not the AGPL ones): the
    instruments' always (no registry has it), the stack's only with `stack` (where no
    registry answers; elsewhere the nodes pull the official ones)."""
    stack_images = [ensure_image(recipe, progress) for recipe in STACK_RECIPES] if stack else []
    return [*stack_images, ensure_python_image(progress)]
