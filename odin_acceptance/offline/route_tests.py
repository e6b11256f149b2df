"""Offline route tests with amtool (the routing tree as Alertmanager itself resolves it)."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from odin_acceptance.core import timeouts


def routes_for(amtool: Path, config_text: str, labels: dict[str, str]) -> list[str]:
    """The receivers the config's routing tree picks for an alert with `labels`."""
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="odin-am-") as cfg:
        cfg.write(config_text)
        cfg.flush()
        proc = subprocess.run(
            [
                str(amtool),
                "config",
                "routes",
                "test",
                f"--config.file={cfg.name}",
                *[f"{k}={v}" for k, v in labels.items()],
            ],
            capture_output=True,
            text=True,
            timeout=timeouts.CONFIG_CHECK,
            check=False,
        )
    if proc.returncode != 0:
        raise RuntimeError(f"amtool config routes test failed: {proc.stdout}{proc.stderr}")
    return [r.strip() for r in proc.stdout.strip().split(",") if r.strip()]
