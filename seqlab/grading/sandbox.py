"""One sandbox per notebook run, with bubblewrap (``bwrap``), and the limits around it.

Inside: new PID, network, IPC and UTS namespaces, an unprivileged uid, the system (``/usr``,
``/lib*``, a few ``/etc`` files), Python and the virtual environment read-only, and one private
writable folder, ``/home/student``, holding only the notebook being run. Nothing of the solutions,
other submissions, the grader's files or its outputs is there. The run inside is
``python -m seqlab.grading.runner`` (nbclient and its kernel), so the kernel's ports live on the
sandbox's own loopback.

Who the notebook runs as:

- grader run by root (CI, a grading server): bwrap sets up the sandbox as root, with every
  capability dropped but the two the runner needs to switch, once, to its own host uid
  ``SANDBOX_UID + slot`` before it reads anything a student wrote. Each concurrent sandbox has its
  own uid, so the process limit counts that sandbox alone and no sandbox can signal another.
- grader run by a user: bwrap makes a user namespace too, in which the notebook is uid 65534; the
  process limit then counts all the user's processes, so it is added to the number already running.

Wall time and the bytes read back are limited here; memory, processes, CPU time and file size by
rlimits in the runner. Killing bwrap ends its PID namespace, and with it every process the
notebook started (``--die-with-parent`` covers a grader that dies).

A submission sees only the part of seqlab a graded run needs (``GRADED_RUN_FILES``: ``check`` and
the runner), so an answer cannot call the course's own implementation of what it is graded on, not
even by loading its file; the solution's reference run sees the whole package.

``--no-sandbox`` runs the same runner as a plain process group instead (no isolation).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

SANDBOX_UID = 61000  # host uids SANDBOX_UID + slot, one per concurrent sandbox (when run as root)
INSIDE_UID = 65534  # "nobody", as the sandbox sees itself
HOME = "/home/student"
STARTUP_SECONDS = 150  # kernel start-up allowance on top of the notebook's wall time
ETC_FILES = ("passwd", "group", "nsswitch.conf", "ld.so.cache", "ld.so.conf", "ld.so.conf.d",
             "localtime", "mime.types", "fonts")
# the files of seqlab inside a submission's sandbox: the runner and what test cells import
GRADED_RUN_FILES = ("__init__.py", "grading/__init__.py", "grading/checks.py", "grading/values.py",
                    "grading/execute.py", "grading/runner.py")
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: sudo apt-get install bubblewrap; Fedora: sudo dnf "
                "install bubblewrap; Arch: sudo pacman -S bubblewrap), or pass --no-sandbox to grade "
                "without one (only for notebooks you trust)")


@dataclass(frozen=True)
class Limits:
    """Per-notebook limits; 0 means none."""

    timeout: float = 120  # seconds of wall time for all cells (kernel start-up not counted)
    memory: int = 4 << 30  # bytes of address space per process
    processes: int = 64  # processes and threads of the sandbox's uid
    cpu: int = 0  # seconds of CPU time per process (0: the wall-time limit decides)
    file_size: int = 64 << 20  # bytes per file written
    output: int = 1 << 20  # bytes of output kept from the run; the rest is dropped

    def runner(self) -> dict[str, int]:
        return {"memory": self.memory, "processes": self.processes,
                "cpu": self.cpu or int(self.timeout) + 60, "file_size": self.file_size}


@dataclass
class RunOutput:
    lines: list[str]  # what the runner printed, one JSON document a line (untrusted)
    timed_out: bool
    truncated: bool  # more than Limits.output bytes were printed; the rest was dropped
    returncode: int | None
    error: str = ""  # the start of what bwrap or the runner wrote to stderr (for diagnostics)


class Sandboxes:
    """Starts runs, one per notebook, and ends them all on demand (``kill_all``)."""

    def __init__(self, use_bwrap: bool = True, slots: int = 1):
        self.use_bwrap = use_bwrap
        self.as_root = os.geteuid() == 0
        self.running: set[subprocess.Popen] = set()
        self.lock = threading.Lock()
        self.closed = False
        self.free_slots = list(range(slots))
        self.slot_ready = threading.Condition(self.lock)

    # -- the command -------------------------------------------------------------------------
    def bwrap_command(self, work_fd: int, fds: list[int], whole_seqlab: bool = False) -> list[str]:
        """bwrap's argv; every host path it binds is opened here and its fd appended to ``fds``.

        Unless ``whole_seqlab``, seqlab's folder holds only ``GRADED_RUN_FILES``."""

        made: set[str] = set()

        def bind(path: str) -> list[str]:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            fds.append(fd)
            return bind_parents(path, made) + ["--ro-bind-fd", str(fd), path]

        if self.as_root:  # the runner switches to its own uid, then has no capability left
            argv = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                    "--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
        else:
            argv = ["bwrap", "--unshare-all", "--uid", str(INSIDE_UID), "--gid", str(INSIDE_UID)]
        argv += ["--die-with-parent", "--new-session", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
                 "--perms", "0755", "--dir", "/home"]
        for top in ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
            if os.path.islink(top):
                argv += ["--symlink", os.readlink(top), top]
            elif os.path.isdir(top):
                argv += bind(top)
        for name in ETC_FILES:
            if os.path.exists(f"/etc/{name}"):
                argv += bind(f"/etc/{name}")
        package = str(Path(__import__("seqlab").__file__).resolve().parent)
        bound = python_paths()
        for path in bound:
            if whole_seqlab or path != package:
                argv += bind(path)
        if not whole_seqlab:
            # an empty folder over seqlab's (inside the venv for an installed wheel), then the few files
            made.update(str(p) for p in Path(package).parents if any(is_within(str(p), b) for b in bound))
            made.add(package)
            argv += bind_parents(package, made) + ["--perms", "0755", "--tmpfs", package]
            for name in GRADED_RUN_FILES:
                argv += bind(f"{package}/{name}")
        argv += ["--bind-fd", str(work_fd), HOME]
        argv += ["--clearenv"]  # the runner changes to $HOME once it has its own uid
        for name, value in sandbox_env(HOME, f"{HOME}/.tmp").items():
            argv += ["--setenv", name, value]
        return argv + ["--", sys.executable, "-m", "seqlab.grading.runner"]

    # -- one run -----------------------------------------------------------------------------
    def run(self, notebook: dict, graded: dict[int, str], limits: Limits, env: dict[str, str],
            whole_seqlab: bool = False) -> RunOutput:
        """Run ``notebook`` in a fresh sandbox; never raises for what the notebook does.

        ``whole_seqlab``: the run may import all of seqlab (the solution's reference run); otherwise
        only ``GRADED_RUN_FILES`` are there and imports of the rest fail with a message saying why."""
        with self.slot_ready:
            while not self.free_slots and not self.closed:
                self.slot_ready.wait()
            if self.closed:
                return RunOutput([], False, False, None)
            slot = self.free_slots.pop()
        base = tempfile.mkdtemp(prefix="seqlab-grade-")
        fds: list[int] = []
        try:
            work = Path(base) / "work"
            work.mkdir(mode=0o700)
            (work / "notebook.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
            runner_limits = limits.runner()
            kwargs: dict = {}
            if self.use_bwrap:
                if self.as_root:
                    runner_limits["uid"] = SANDBOX_UID + slot
                    os.chown(work, SANDBOX_UID + slot, SANDBOX_UID + slot)
                    os.chown(work / "notebook.ipynb", SANDBOX_UID + slot, SANDBOX_UID + slot)
                elif limits.processes:  # the limit counts every process of this uid
                    runner_limits["processes"] += tasks_of(os.geteuid())
                work_fd = os.open(work, os.O_PATH | os.O_DIRECTORY | os.O_CLOEXEC)
                fds.append(work_fd)
                argv = self.bwrap_command(work_fd, fds, whole_seqlab)
                kwargs.update(pass_fds=fds)
                # per-run variables (the check mode) go in with --setenv, before "--"
                extra = [x for name, value in env.items() for x in ("--setenv", name, value)]
                split = argv.index("--")
                argv = argv[:split] + extra + argv[split:]
            else:
                argv = [sys.executable, "-m", "seqlab.grading.runner"]
                tmp = work / "tmp"
                tmp.mkdir()
                kwargs.update(cwd=work, env={**sandbox_env(str(work), str(tmp)), **env},
                              start_new_session=True)
            job = json.dumps({"notebook": notebook, "graded": {str(k): v for k, v in graded.items()},
                              "timeout": limits.timeout, "limits": runner_limits,
                              "whole_seqlab": whole_seqlab})
            return self.communicate(argv, job, limits, kwargs)
        finally:
            for fd in fds:
                os.close(fd)
            shutil.rmtree(base, ignore_errors=True)
            with self.slot_ready:
                self.free_slots.append(slot)
                self.slot_ready.notify()

    def communicate(self, argv: list[str], job: str, limits: Limits, kwargs: dict) -> RunOutput:
        with self.lock:
            if self.closed:
                return RunOutput([], False, False, None)
            proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, **kwargs)
            self.running.add(proc)
        kept, truncated, errors = bytearray(), [False], bytearray()

        def read(stream, into: bytearray, cap: int, flag: list | None) -> None:
            while chunk := stream.read(65536):  # keep at most cap bytes; drain (and drop) the rest
                room = cap - len(into)
                if len(chunk) > room and flag is not None:
                    flag[0] = True
                into.extend(chunk[: max(room, 0)])

        readers = [threading.Thread(target=read, args=(proc.stdout, kept, limits.output, truncated), daemon=True),
                   threading.Thread(target=read, args=(proc.stderr, errors, 4096, None), daemon=True)]
        for reader in readers:
            reader.start()
        timed_out = False
        try:
            proc.stdin.write(job.encode("utf-8"))
            proc.stdin.close()
        except OSError:  # the sandbox died before reading its job
            pass
        try:
            # the runner stops itself at limits.timeout; kernel start-up (up to 120 s) is not counted there
            proc.wait(timeout=limits.timeout + STARTUP_SECONDS)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            self.kill(proc)
            for reader in readers:
                reader.join(timeout=5)
            with self.lock:
                self.running.discard(proc)
        text = bytes(kept).decode("utf-8", errors="replace")
        return RunOutput(text.splitlines(), timed_out, truncated[0], proc.returncode,
                         bytes(errors).decode("utf-8", errors="replace"))

    def kill(self, proc: subprocess.Popen) -> None:
        """End the run and everything it started: bwrap's PID namespace, or the process group."""
        try:
            if self.use_bwrap:
                proc.kill()
            else:
                os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass

    def kill_all(self) -> None:
        """Stop every running sandbox and refuse new ones (SIGINT / SIGTERM)."""
        with self.lock:
            self.closed = True
            running = list(self.running)
        with self.slot_ready:
            self.slot_ready.notify_all()
        for proc in running:  # signal all first, then wait: each PID namespace ends on its own
            try:
                proc.kill() if self.use_bwrap else os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        for proc in running:
            self.kill(proc)


def is_within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def bind_parents(path: str, made: set[str]) -> list[str]:
    """bwrap arguments making ``path``'s missing parent folders, readable by all (bwrap would make
    them private to root); ``made`` holds the folders already there and is updated."""
    argv = []
    for parent in reversed(Path(path).parents[:-1]):
        if str(parent) not in made:
            made.add(str(parent))
            argv += ["--perms", "0755", "--dir", str(parent)]
    return argv


def python_paths() -> list[str]:
    """Python, the virtual environment and seqlab's source, each once, outside ``/usr``."""
    import seqlab

    candidates = [sys.base_prefix, sys.prefix, str(Path(seqlab.__file__).resolve().parent)]
    paths: list[str] = []
    for path in map(os.path.realpath, candidates):
        if path.startswith("/usr/") or any(path == p or path.startswith(p + "/") for p in paths):
            continue
        paths = [p for p in paths if not p.startswith(path + "/")] + [path]
    return paths


def sandbox_env(home: str, tmp: str) -> dict[str, str]:
    """The whole environment of a run: no variable of the grader's leaks in."""
    return {
        "HOME": home, "TMPDIR": tmp, "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "LANG": "C.UTF-8", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "Agg",
        "PYTHONDONTWRITEBYTECODE": "1", "JUPYTER_RUNTIME_DIR": f"{tmp}/jupyter",
        "IPYTHONDIR": f"{tmp}/ipython", "MPLCONFIGDIR": f"{tmp}/matplotlib", "JUPYTER_PLATFORM_DIRS": "1",
    }


def tasks_of(uid: int) -> int:
    """Processes and threads whose real uid is ``uid`` (what RLIMIT_NPROC counts)."""
    count = 0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
        except (OSError, KeyError, ValueError):
            continue
    return count


def open_sandboxes(use_bwrap: bool, slots: int) -> tuple[Sandboxes | None, str | None]:
    """Sandboxes that work here, or (None, what is wrong and how to fix it)."""
    if not use_bwrap:
        return Sandboxes(False, slots), None
    if shutil.which("bwrap") is None:
        return None, f"bubblewrap (bwrap) is not installed; {INSTALL_HINT}"
    sandboxes = Sandboxes(True, slots)
    out = sandboxes.run({"probe": True}, {}, Limits(timeout=30), {})
    if any('"probe": "ok"' in line for line in out.lines):
        return sandboxes, None
    hint = ("" if sandboxes.as_root else "allow unprivileged user namespaces "
            "(sysctl kernel.unprivileged_userns_clone=1), or ")
    return None, f"bwrap cannot start a sandbox here ({out.error.strip() or 'no output'}); {hint}pass --no-sandbox"
