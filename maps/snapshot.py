"""PNG pictures of a rendered map with headless Chromium (Debian ``chromium``).

An evidence bundle's PDF and a notice to an operator need the map as an
image, not as a page. Chromium is run with a fresh profile and with every
background network feature switched off, so taking a picture sends nothing
anywhere; the page itself needs no network (see :mod:`giamsat.maps.assets`).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium(name: str = "chromium") -> str:
    """Path of the Chromium binary; a clear error instead of a skipped picture."""
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} not found: install it with `apt-get install -y chromium`")
    return path


def png_snapshot(
    html_file: Path,
    png_file: Path,
    *,
    width: int = 1280,
    height: int = 800,
    budget_ms: int = 10_000,
    timeout_s: float = 120.0,
) -> None:
    """Write a ``width`` x ``height`` screenshot of ``html_file`` after its scripts ran.

    ``budget_ms`` is Chromium's virtual time budget: the page's timers and
    scripts run that long (in virtual time) before the picture is taken.
    """
    with tempfile.TemporaryDirectory(prefix="giamsat-chromium-") as profile:
        subprocess.run(
            [
                find_chromium(),
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--virtual-time-budget={budget_ms}",
                f"--screenshot={png_file}",
                Path(html_file).resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=timeout_s,
        )
    if not png_file.exists():
        raise RuntimeError(f"chromium wrote no screenshot for {html_file}")
