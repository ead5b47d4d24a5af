"""Headless Chromium (Debian's `chromium`), driven through its own command line.

No driver library: `--headless=new` loads a local page, runs its scripts and either prints
the DOM after the load event (`dump_dom`) or saves a screenshot (`screenshot`). WebGL runs
on SwiftShader through ANGLE, so no GPU or display is needed.

    html = dump_dom(Path("page.html"))            # the page's DOM once its scripts ran
    screenshot(Path("index.html"), Path("shot.png"), (1280, 900))
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import SepgenError

EXECUTABLES = ("chromium", "chromium-browser", "google-chrome")
DEBIAN_PACKAGE = "chromium"
TIMEOUT_S = 120
HEADLESS_FLAGS = (
    "--headless=new",
    "--use-angle=swiftshader",  # WebGL on the CPU, the same everywhere
    "--enable-unsafe-swiftshader",
    "--disable-gpu-sandbox",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--mute-audio",
    "--hide-scrollbars",
)

__all__ = ["find_chromium", "dump_dom", "screenshot", "DEBIAN_PACKAGE"]


def find_chromium() -> str:
    """Path of a Chromium executable, or a one-line SepgenError naming the Debian package."""
    for name in EXECUTABLES:
        path = shutil.which(name)
        if path:
            return path
    raise SepgenError(f"chromium not found on PATH (install the Debian package {DEBIAN_PACKAGE})")


def _command(page: Path, profile: str, extra: list[str]) -> list[str]:
    args = [find_chromium(), *HEADLESS_FLAGS, f"--user-data-dir={profile}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to start as root with its sandbox
    return [*args, *extra, page.resolve().as_uri()]


def _run(page: Path, extra: list[str], timeout: float) -> str:
    if not page.is_file():
        raise SepgenError(f"page {page} does not exist")
    with tempfile.TemporaryDirectory(prefix="sepgen-chromium-") as profile:
        cmd = _command(page, profile, extra)
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=profile)
        except OSError as exc:
            raise SepgenError(f"cannot run {cmd[0]}: {exc.strerror or exc}") from None
        except subprocess.TimeoutExpired:
            raise SepgenError(f"chromium did not finish {page.name} within {timeout:g} s") from None
    if proc.returncode != 0:
        errors = [ln for ln in proc.stderr.splitlines() if "ERROR" in ln and "dbus" not in ln] or proc.stderr.splitlines()
        raise SepgenError(f"chromium failed on {page.name} (exit {proc.returncode}): {(errors or ['no output'])[-1].strip()}")
    return proc.stdout


def dump_dom(page: Path, timeout: float = TIMEOUT_S) -> str:
    """Load `page` headless and return its serialised DOM after the load event."""
    return _run(page, ["--dump-dom"], timeout)


def screenshot(page: Path, png: Path, size: tuple[int, int] = (1280, 900), timeout: float = TIMEOUT_S) -> None:
    """Load `page` headless in a `size` (width, height) window and save what it shows as a PNG."""
    png = Path(png).resolve()
    _run(page, [f"--screenshot={png}", f"--window-size={size[0]},{size[1]}"], timeout)
    if not png.is_file():
        raise SepgenError(f"chromium wrote no screenshot of {page.name}")
