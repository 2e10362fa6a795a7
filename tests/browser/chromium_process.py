"""Headless Chromium started by us (its own process group) and driven by Playwright over CDP.

Debian's Chromium is used as installed (``playwright install`` is never needed). Starting it
ourselves, rather than through ``playwright.chromium.launch``, means the test session owns
its process id and stops it the same way as the JupyterLab server.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from lab_server import stop_process_group

DEFAULT_CHROMIUM = "/usr/bin/chromium"

# Without these, Chromium stalls on network calls that the sandboxed CI cannot make.
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--no-default-browser-check", "--mute-audio",
    "--window-size=1400,1000", "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
]


def chromium_path() -> str | None:
    """The Chromium to use: ``$SEQLAB_CHROMIUM`` or Debian's ``/usr/bin/chromium``; None if absent."""
    candidate = os.environ.get("SEQLAB_CHROMIUM") or DEFAULT_CHROMIUM
    found = shutil.which(candidate) or (candidate if os.access(candidate, os.X_OK) else None)
    return found


class Chromium:
    """A headless Chromium with a fresh profile; ``cdp_url`` is what Playwright connects to."""

    def __init__(self, executable: str):
        self.executable = executable
        self.profile = Path(tempfile.mkdtemp(prefix="seqlab-chromium-"))
        self.log_path = self.profile.parent / (self.profile.name + ".log")
        self.process: subprocess.Popen | None = None
        self.cdp_url = ""

    def start(self, timeout: float = 60.0) -> str:
        log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [self.executable, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        port_file = self.profile / "DevToolsActivePort"  # Chromium writes its port here
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Chromium exited with code {self.process.returncode}:\n"
                                   f"{self.log_path.read_text(errors='replace')[-3000:]}")
            if port_file.is_file():
                lines = port_file.read_text().split()
                if lines:
                    self.cdp_url = f"http://127.0.0.1:{lines[0]}"
                    return self.cdp_url
            time.sleep(0.1)
        raise RuntimeError(f"Chromium did not open its debugging port within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop_process_group(self.process, grace=5.0)
        shutil.rmtree(self.profile, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)
