"""Each config through its own tool, before anything starts.

A failure names the file and quotes the tool, so a broken manifest is one clear error
instead of a component that dies at start-up or a scenario that times out.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from odin_acceptance.core import timeouts
from odin_acceptance.core.errors import OdinError
from odin_acceptance.stack_config import manifests
from odin_acceptance.stack_config.manifests import CONFIGS


class ConfigCheckError(OdinError, ValueError):
    def __init__(self, tool: str, path: Path, output: str) -> None:
        self.tool, self.path, self.output = tool, path, output
        super().__init__(f"{tool} rejected {path}:\n{output.strip()}")


def run_check(tool: str, argv: Sequence[str], path: Path) -> str:
    proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeouts.CONFIG_CHECK, check=False)
    output = proc.stdout + proc.stderr
    if proc.returncode != 0:
        raise ConfigCheckError(tool, path, output)
    return output


def check_rules(promtool: Path, rules: Path) -> str:
    return run_check("promtool check rules", [str(promtool), "check", "rules", str(rules)], rules)


def check_prometheus(promtool: Path, config: Path) -> str:
    # --syntax-only: rule files are checked on their own, and file paths in the config
    # refer to the machine it will run on.
    return run_check("promtool check config", [str(promtool), "check", "config", "--syntax-only", str(config)], config)


def check_alertmanager(amtool: Path, config: Path) -> str:
    return run_check("amtool check-config", [str(amtool), "check-config", str(config)], config)


def check_loki(loki: Path, config: Path) -> str:
    return run_check("loki -verify-config", [str(loki), f"-config.file={config}", "-verify-config"], config)


def check_promtail(promtail: Path, config: Path) -> str:
    return run_check("promtail -check-syntax", [str(promtail), f"-config.file={config}", "-check-syntax"], config)


@dataclass(frozen=True)
class ManifestConfigs:
    """The manifests' config files, written out where the tools can read them."""

    paths: dict[str, Path]


@contextmanager
def written_configs(manifest_dir: Path) -> Iterator[ManifestConfigs]:
    """Each config file the manifests' ConfigMaps hold, as a file, for the run of the block."""
    objs = manifests.load(manifest_dir)
    with tempfile.TemporaryDirectory(prefix="odin-manifest-configs-") as tmp:
        paths = {}
        for name, (cm, key) in CONFIGS.items():
            paths[name] = Path(tmp) / name
            paths[name].write_text(objs.config_file(cm, key))
        yield ManifestConfigs(paths)
