"""Container images written as `docker save` archives, without a registry or a daemon.

Both `ctr images import` and `docker load` read this layout (manifest.json, an image config,
gzip-compressed layer tars): the kind node's images are made this way from binaries built
here and imported into the node's containerd.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Layer:
    """A gzip-compressed layer tar and the digest of its uncompressed content (diff_id)."""

    path: Path
    diff_id: str


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an OCI image config a Kubernetes pod relies on."""

    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: tuple[str, ...] = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",)
    user: str = ""
    workdir: str = "/"
    labels: dict[str, str] = field(default_factory=dict)


def compress_layer(tar_path: Path, out: Path) -> Layer:
    """Gzip `tar_path` into `out`, hashing the uncompressed stream for the image's diff_id.
    mtime 0 in the gzip header: the same tar gives the same blob."""
    digest = hashlib.sha256()
    with (
        tar_path.open("rb") as src,
        out.open("wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=1, mtime=0) as gz,
    ):
        while chunk := src.read(_CHUNK):
            digest.update(chunk)
            gz.write(chunk)
    return Layer(out, f"sha256:{digest.hexdigest()}")


def _info(name: str, *, mode: int, kind: bytes = tarfile.REGTYPE, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.size, info.mtime, info.uid, info.gid = kind, mode, size, 0, 0, 0
    return info


def files_layer(files: dict[str, Path | bytes], out: Path, *, executable: frozenset[str] = frozenset()) -> Layer:
    """A layer holding `files` (path in the image -> a file to copy or the bytes), with every
    parent directory, owned by root. Paths in `executable`, and copied files that are
    executable, get mode 0755; the rest 0644. /tmp is always there (Go's os.TempDir)."""
    tar_path = out.with_suffix(".tar")
    dirs = {"tmp"}
    for name in files:
        parts = name.strip("/").split("/")[:-1]
        dirs.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tar:
        for d in sorted(dirs):
            tar.addfile(_info(d, mode=0o1777 if d == "tmp" else 0o755, kind=tarfile.DIRTYPE))
        for name, source in sorted(files.items()):
            data = source if isinstance(source, bytes) else None
            is_exec = name in executable or (data is None and bool(Path(source).stat().st_mode & 0o111))  # type: ignore[arg-type]
            size = len(data) if data is not None else Path(source).stat().st_size  # type: ignore[arg-type]
            info = _info(name.strip("/"), mode=0o755 if is_exec else 0o644, size=size)
            if data is not None:
                tar.addfile(info, io.BytesIO(data))
            else:
                with Path(source).open("rb") as f:  # type: ignore[arg-type]
                    tar.addfile(info, f)
    try:
        return compress_layer(tar_path, out)
    finally:
        tar_path.unlink()


def image_config(layers: list[Layer], config: ImageConfig) -> dict[str, object]:
    body: dict[str, object] = {"Env": list(config.env), "WorkingDir": config.workdir}
    if config.entrypoint:
        body["Entrypoint"] = list(config.entrypoint)
    if config.cmd:
        body["Cmd"] = list(config.cmd)
    if config.user:
        body["User"] = config.user
    if config.labels:
        body["Labels"] = dict(config.labels)
    return {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": body,
        "rootfs": {"type": "layers", "diff_ids": [layer.diff_id for layer in layers]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "odin_acceptance image_archive"}] * len(layers),
    }


def write_archive(out: Path, ref: str, layers: list[Layer], config: ImageConfig) -> None:
    """`out`: a `docker save` archive of one image tagged `ref`."""
    config_bytes = json.dumps(image_config(layers, config), sort_keys=True).encode()
    config_name = f"{hashlib.sha256(config_bytes).hexdigest()}.json"
    layer_names = [f"blobs/{layer.diff_id.removeprefix('sha256:')}.tar.gz" for layer in layers]
    manifest = json.dumps([{"Config": config_name, "RepoTags": [ref], "Layers": layer_names}]).encode()
    with tarfile.open(out, "w") as tar:
        tar.addfile(_info("blobs", mode=0o755, kind=tarfile.DIRTYPE))
        for layer, name in zip(layers, layer_names, strict=True):
            if name not in tar.getnames():
                tar.add(layer.path, arcname=name)
        for name, data in ((config_name, config_bytes), ("manifest.json", manifest)):
            tar.addfile(_info(name, mode=0o644, size=len(data)), io.BytesIO(data))
