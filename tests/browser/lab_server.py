"""A throwaway JupyterLab server for the browser tests.

It serves a temporary copy of the lessons (autosave never writes into the repository), with
temporary Jupyter/IPython/matplotlib config dirs, a ``python3`` kernelspec pointing at this
interpreter, and user settings that keep every cell in the page and stop news and update checks.
The server is its own process group: ``stop()`` terminates it, then kills it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

# user-settings files: plugin id -> settings. windowingMode "none" keeps every cell in the DOM,
# so the tests can read every prompt and widget without scrolling.
LAB_USER_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """JupyterLab on 127.0.0.1 with a token, serving copies of ``lesson_dirs`` under ``root``.

    Args:
        lesson_dirs: folders to copy (e.g. ``notebooks/`` and ``solutions/``); each lands at
            ``root/<folder name>``.
        env: extra environment for the server and its kernels (e.g. ``SEQLAB_SUNSPOTS``).
    """

    def __init__(self, lesson_dirs: list[Path], env: dict[str, str] | None = None):
        self.tmp = Path(tempfile.mkdtemp(prefix="seqlab-lab-"))
        self.root = self.tmp / "root"
        self.root.mkdir()
        for folder in lesson_dirs:
            if folder.is_dir():
                shutil.copytree(folder, self.root / folder.name,
                                ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        self.token = secrets.token_hex(16)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.tmp / "server.log"
        self._extra_env = dict(env or {})
        self.process: subprocess.Popen | None = None
        self._log_file = None

    # -- set-up -------------------------------------------------------------------------------
    def _environment(self) -> dict[str, str]:
        dirs = {name: self.tmp / name.lower() for name in
                ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR",
                 "MPLCONFIGDIR")}
        for path in dirs.values():
            path.mkdir(exist_ok=True)
        env = dict(os.environ)
        env.update({name: str(path) for name, path in dirs.items()})
        env.update(self._extra_env)
        # Students see the inline backend in JupyterLab; the test session's MPLBACKEND=Agg
        # (root conftest) would make plt.show() draw nothing.
        env["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        env["JUPYTER_PLATFORM_DIRS"] = "1"
        env.setdefault("OMP_NUM_THREADS", "1")
        env.pop("JUPYTER_PATH", None)
        env.pop("JUPYTER_CONFIG_PATH", None)
        self._write_kernelspec(dirs["JUPYTER_DATA_DIR"])
        self._write_user_settings(dirs["JUPYTER_CONFIG_DIR"])
        return env

    @staticmethod
    def _write_kernelspec(data_dir: Path) -> None:
        """The notebooks ask for kernel ``python3``: make it this interpreter (the venv)."""
        spec_dir = data_dir / "kernels" / "python3"
        spec_dir.mkdir(parents=True, exist_ok=True)
        spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "Python 3 (ipykernel)", "language": "python",
                "metadata": {"debugger": False}}
        (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))

    @staticmethod
    def _write_user_settings(config_dir: Path) -> None:
        for plugin, settings in LAB_USER_SETTINGS.items():
            path = config_dir / "lab" / "user-settings" / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))

    def start(self, timeout: float = 90.0) -> None:
        """Start the server and wait until its REST API answers."""
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}", f"--ServerApp.root_dir={self.root}",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # window.jupyterapp lets the tests watch the kernel status and save by command.
            "--LabApp.expose_app_in_browser=True",
            "--ServerApp.open_browser=False",
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.append("--allow-root")  # CI containers run as root
        self._log_file = open(self.log_path, "w")
        self.process = subprocess.Popen(command, env=self._environment(), cwd=self.root,
                                        stdout=self._log_file, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.process.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                self.api("GET", "/api/status")
                return
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"JupyterLab did not answer within {timeout:.0f} s:\n{self.log_tail()}")

    # -- REST API -----------------------------------------------------------------------------
    def api(self, method: str, path: str, body: dict | None = None):
        """Call the server's REST API; returns the decoded JSON (or None for an empty reply)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.url + path, data=data, method=method, headers={
            "Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as reply:
            text = reply.read()
        return json.loads(text) if text else None

    def notebook_json(self, path: str) -> dict:
        """The notebook as saved on the server (``path`` relative to the server root)."""
        return self.api("GET", f"/api/contents/{path}?content=1&type=notebook")["content"]

    def shut_down_sessions(self) -> None:
        """Delete every session (and so its kernel), so the next test starts a fresh kernel."""
        for session in self.api("GET", "/api/sessions"):
            try:
                self.api("DELETE", f"/api/sessions/{session['id']}")
            except urllib.error.HTTPError:
                pass
        for kernel in self.api("GET", "/api/kernels"):
            try:
                self.api("DELETE", f"/api/kernels/{kernel['id']}")
            except urllib.error.HTTPError:
                pass

    def lab_url(self, path: str) -> str:
        """URL that opens ``path`` alone in a fresh workspace (``reset`` drops earlier tabs)."""
        return f"{self.url}/lab/tree/{path}?reset&token={self.token}"

    # -- log ------------------------------------------------------------------------------------
    def log_size(self) -> int:
        return self.log_path.stat().st_size if self.log_path.exists() else 0

    def log_since(self, offset: int) -> str:
        """Server log written after byte ``offset`` (kernels' stderr lands here too)."""
        with open(self.log_path, errors="replace") as log:
            log.seek(offset)
            return log.read()

    def log_tail(self, chars: int = 4000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return text[-chars:]

    # -- tear-down ------------------------------------------------------------------------------
    def stop(self) -> None:
        """Shut down kernels, stop the server by its process group, remove the temp dirs."""
        if self.process is not None and self.process.poll() is None:
            try:
                self.shut_down_sessions()
            except Exception:  # noqa: BLE001 - best effort, the server is going anyway
                pass
            stop_process_group(self.process)
        kill_processes_mentioning(str(self.tmp))  # kernels run in their own sessions
        if self._log_file is not None:
            self._log_file.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def stop_process_group(process: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM the process group ``process`` leads, then SIGKILL it if it lingers."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
            break
        except subprocess.TimeoutExpired:
            continue
    # children (kernels) that outlived the leader are in the same group
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def kill_processes_mentioning(text: str) -> None:
    """SIGKILL processes whose command line contains ``text`` (our kernels: their connection
    file lies in our temporary runtime dir). Linux only; elsewhere it does nothing."""
    proc = Path("/proc")
    if not proc.is_dir():
        return
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in cmdline:
            try:
                os.kill(int(entry.name), signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
