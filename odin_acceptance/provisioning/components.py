"""Obtain the pinned component binaries without root, once per version.

Order for each component: a binary on PATH that reports the pinned version, then the
user's cache, then each source of the component in turn (Debian package unpacked with
`dpkg -x`, or a Go build from the module proxy). Results are cached outside the
repository, keyed by version, because CI runs in a fresh clone every time.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from odin_acceptance.core.errors import OdinError
from odin_acceptance.provisioning.versions import (
    COMPONENTS,
    CONTROL_PLANE,
    PERMISSIVE_LICENCES,
    Component,
    DebianPackage,
    GoInstall,
    GoModuleTree,
    GoWrapperModule,
)

Progress = Callable[[str], None]


class ProvisioningError(OdinError, RuntimeError):
    """A component could not be obtained; the message says which and how to fix it."""


class GoTooOld(ProvisioningError):
    """The Go on PATH is older than a module's go.mod requires: one line, with the fix."""


def cache_root() -> Path:
    base = os.environ.get("ODIN_CACHE_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "odin-acceptance"


def component_dir(component: Component) -> Path:
    return cache_root() / f"{component.name}-{component.version}"


def reported_version(path: Path | str) -> str:
    """What `path --version` prints (first lines), or why it printed nothing."""
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"(cannot run it: {exc})"
    text = (out.stdout + out.stderr).strip()
    return "\n".join(text.splitlines()[:3]) or f"(printed nothing, exit {out.returncode})"


def is_version(text: str, version: str) -> bool:
    """True if `text` states exactly `version`. A suffix makes it another build: Debian's
    `2.42.0+ds` promtool lacks Kubernetes discovery, `-rc1` is a pre-release."""
    return re.search(rf"(?<![\w.])v?{re.escape(version)}(?![\w.+~-])", text) is not None


def _from_path(component: Component, progress: Progress) -> dict[str, Path] | None:
    found: dict[str, Path] = {}
    for exe in component.executables:
        path = shutil.which(exe)
        if path is None:
            return None
        said = reported_version(path)
        if not is_version(said, component.version):
            if component.version in said:  # the right number, another build: say why it is not used
                progress(
                    f"{path} reports {said.splitlines()[0]!r}, not the upstream {component.version} build: not used"
                )
            return None
        found[exe] = Path(path)
    return found


def _from_cache(component: Component) -> dict[str, Path] | None:
    bindir = component_dir(component) / "bin"
    found = {exe: bindir / exe for exe in component.executables}
    if all(p.is_file() and os.access(p, os.X_OK) for p in found.values()):
        return found
    return None


class _Heartbeat:
    """Prints 'still working' lines during long builds so a first run never looks hung."""

    def __init__(self, progress: Progress, what: str, every: float = 20.0) -> None:
        self._progress, self._what, self._every = progress, what, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._started = time.monotonic()

    def _run(self) -> None:
        while not self._stop.wait(self._every):
            elapsed = time.monotonic() - self._started
            self._progress(f"  … still {self._what} ({elapsed:.0f} s)")

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()


def _run(cmd: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-15:])
        raise ProvisioningError(f"`{' '.join(cmd)}` failed (exit {proc.returncode}):\n{tail}")


def _go_env(gobin: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, CGO_ENABLED="0", GOFLAGS="-mod=mod", GOTOOLCHAIN="local")
    if gobin is not None:
        env["GOBIN"] = str(gobin)
    return env


def _debian(src: DebianPackage, work: Path) -> dict[str, Path]:
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        raise ProvisioningError("apt-get/dpkg not available (not a Debian-family system)")
    _run(["apt-get", "download", f"{src.package}={src.version}"], cwd=work)
    debs = list(work.glob("*.deb"))
    if not debs:
        raise ProvisioningError(f"apt-get download {src.package} produced no .deb")
    _run(["dpkg", "-x", str(debs[0]), str(work / "root")])
    return {exe: work / "root" / rel for exe, rel in src.files.items()}


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def require_go(module: str, version: str, work: Path) -> None:
    """The Go on PATH is at least what `module@version`'s go.mod asks for (read from the
    module, not assumed): GOTOOLCHAIN=local keeps Go from fetching a newer toolchain itself,
    so without this check the build fails with Go's own terse message."""
    if shutil.which("go") is None:
        raise ProvisioningError("the Go toolchain is not on PATH (install Go, or put the component on PATH)")
    gomod = Path(_go_mod_download(module, version, work)["GoMod"]).read_text()
    needed = re.search(r"(?m)^go (\d+\.\d+(?:\.\d+)?)\s*$", gomod)
    have = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, check=False).stdout.strip()
    if needed and _version_tuple(have) < _version_tuple(needed[1]):
        raise GoTooOld(
            f"{module}@{version} needs Go >= {needed[1]}, and `go` on PATH is {have or 'of unknown version'}: "
            f"install Go {needed[1]} or newer (the suite never downloads a toolchain: GOTOOLCHAIN=local)"
        )


def _go_install(src: GoInstall, work: Path) -> dict[str, Path]:
    require_go(src.module, src.version, work)
    gobin = work / "gobin"
    cmd = ["go", "install", "-ldflags", src.ldflags] + [f"{pkg}@{src.version}" for pkg in src.packages.values()]
    _run(cmd, env=_go_env(gobin))
    built = {Path(pkg).name: gobin / Path(pkg).name for pkg in src.packages.values()}
    return {exe: built[Path(pkg).name] for exe, pkg in src.packages.items()}


def _go_mod_download(module: str, version: str, work: Path) -> dict[str, str]:
    """`go mod download -json module@version`: where the module's tree ("Dir") and go.mod ("GoMod") are."""
    proc = subprocess.run(
        ["go", "mod", "download", "-json", f"{module}@{version}"],
        capture_output=True,
        text=True,
        env=_go_env(),
        cwd=work,
        check=False,
    )
    try:
        info = json.loads(proc.stdout)
    except json.JSONDecodeError:
        info = {}
    if proc.returncode != 0 or "Dir" not in info:
        raise ProvisioningError(f"go mod download {module}@{version} failed:\n{proc.stdout}{proc.stderr}")
    return info


def _go_module_tree(src: GoModuleTree, work: Path) -> dict[str, Path]:
    require_go(src.module, src.version, work)
    tree = work / "src"
    shutil.copytree(_go_mod_download(src.module, src.version, work)["Dir"], tree)
    for path in tree.rglob("*"):  # the module cache is read-only; the build writes beside it
        path.chmod(path.stat().st_mode | 0o200)
    out = work / "out"
    for exe, pkg in src.packages.items():
        _run(
            ["go", "build", "-tags", src.tags, "-ldflags", src.ldflags, "-o", str(out / exe), pkg],
            cwd=tree,
            env=_go_env(),
        )
    return {exe: out / exe for exe in src.packages}


_STAGING_REPLACE = re.compile(r"(?m)^\s*(k8s\.io/[\w.-]+) => \./staging/src/\1\s*$")


def staging_replaces(gomod: str, version: str) -> dict[str, str]:
    """Each staging module a Kubernetes release's go.mod replaces locally -> its published
    version (release v1.M.P publishes its staging modules as v0.M.P)."""
    major_minor_patch = version.lstrip("v").split(".")
    published = "v0." + ".".join(major_minor_patch[1:])
    return {module: published for module in _STAGING_REPLACE.findall(gomod)}


def wrapper_gomod(src: GoWrapperModule, replaces: dict[str, str]) -> str:
    """The go.mod of the module that builds `src`'s packages as dependencies."""
    lines = ["module odin.local/build", "", "go 1.24.0", "", f"require {src.module} {src.version}"]
    if replaces:
        lines += ["", "replace ("] + [f"\t{m} => {m} {v}" for m, v in sorted(replaces.items())] + [")"]
    return "\n".join(lines) + "\n"


def _go_wrapper_module(src: GoWrapperModule, work: Path) -> dict[str, Path]:
    require_go(src.module, src.version, work)
    wrapper = work / "wrapper"
    wrapper.mkdir()
    replaces = (
        staging_replaces(Path(_go_mod_download(src.module, src.version, work)["GoMod"]).read_text(), src.version)
        if src.staging_replaces
        else {}
    )
    (wrapper / "go.mod").write_text(wrapper_gomod(src, replaces))
    # A build-tagged file importing the packages keeps them in the module graph for tidy.
    imports = "\n".join(f'\t_ "{pkg}"' for pkg in src.packages.values())
    (wrapper / "tools.go").write_text(f"//go:build tools\n\npackage tools\n\nimport (\n{imports}\n)\n")
    _run(["go", "mod", "tidy"], cwd=wrapper, env=_go_env())
    out = work / "out"
    for exe, pkg in src.packages.items():  # one by one: `-o exe` names each binary exactly
        _run(
            ["go", "build", "-trimpath", "-ldflags", src.ldflags, "-o", str(out / exe), pkg], cwd=wrapper, env=_go_env()
        )
    return {exe: out / exe for exe in src.packages}


_BUILDERS = {
    DebianPackage: _debian,
    GoInstall: _go_install,
    GoModuleTree: _go_module_tree,
    GoWrapperModule: _go_wrapper_module,
}


def _describe(source: object) -> str:
    if isinstance(source, DebianPackage):
        return f"Debian package {source.package} {source.version}"
    if isinstance(source, GoInstall):
        return f"Go build of {next(iter(source.packages.values()))}@{source.version}"
    if isinstance(source, GoModuleTree | GoWrapperModule):
        return f"Go build of {source.module}@{source.version} (takes minutes the first time)"
    return repr(source)


def ensure(component: Component, progress: Progress = print) -> dict[str, Path]:
    """Return executable name -> path for `component`, fetching or building it if needed."""
    if component.licence not in PERMISSIVE_LICENCES:
        raise ProvisioningError(
            f"{component.name} is licensed {component.licence}: the suite never fetches or builds it "
            "(odin_acceptance/provisioning/versions.py must list it as a SuppliedComponent)"
        )
    found = _from_path(component, progress) or _from_cache(component)
    if found:
        return found
    with _build_lock(component, progress):
        # Another run may have built it while this one waited for the lock.
        return _from_cache(component) or _build(component, progress)


@contextlib.contextmanager
def _build_lock(component: Component, progress: Progress) -> Iterator[None]:
    """One build of a component at a time per cache: two runs starting together on a fresh
    machine would otherwise replace each other's result mid-build."""
    path = cache_root() / f".{component.name}-{component.version}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            progress(f"{component.name} {component.version}: another run is building it; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _build(component: Component, progress: Progress) -> dict[str, Path]:
    target = component_dir(component)
    errors: list[str] = []
    too_old: GoTooOld | None = None
    for source in component.sources:
        progress(f"{component.name} {component.version}: not cached, trying {_describe(source)}")
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{component.name}-") as tmp:
            work = Path(tmp)
            started = time.monotonic()
            try:
                with _Heartbeat(progress, f"fetching {component.name}"):
                    built = _BUILDERS[type(source)](source, work)  # type: ignore[arg-type]
            except GoTooOld as exc:
                too_old = exc
                continue
            except (ProvisioningError, OSError) as exc:
                errors.append(f"- {_describe(source)}: {exc}")
                continue
            staging = work / "cached"
            (staging / "bin").mkdir(parents=True)
            for exe, path in built.items():
                shutil.copy2(path, staging / "bin" / exe)
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
            progress(f"{component.name} {component.version}: cached in {target} ({time.monotonic() - started:.0f} s)")
        found = _from_cache(component)
        if found:
            return found
    if too_old is not None:  # the one thing to fix, said in one line
        raise GoTooOld(f"cannot build {component.name} {component.version}: {too_old}")
    raise ProvisioningError(
        f"could not obtain {component.name} {component.version} "
        f"(executables: {', '.join(component.executables)}).\n"
        + "\n".join(errors)
        + f"\nFix: put {component.name} {component.version} on PATH, or install the Go "
        "toolchain (https://go.dev/dl) so the suite can build it; the result is cached in "
        f"{cache_root()} (override with ODIN_CACHE_DIR)."
    )


def ensure_all(progress: Progress = print, components: tuple[Component, ...] = COMPONENTS) -> dict[str, Path]:
    """Every executable of `components` (default: what the local target needs), by name."""
    paths: dict[str, Path] = {}
    for component in components:
        paths.update(ensure(component, progress))
    return paths


def main(argv: list[str] | None = None) -> int:
    """`python -m odin_acceptance.provisioning [--control-plane]`: fetch everything ahead of a run (e.g. in CI)."""
    args = sys.argv[1:] if argv is None else argv
    components = COMPONENTS + (CONTROL_PLANE if "--control-plane" in args else ())
    try:
        for name, path in sorted(ensure_all(lambda m: print(m, flush=True), components).items()):
            print(f"{name:14} {path}")
    except ProvisioningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
