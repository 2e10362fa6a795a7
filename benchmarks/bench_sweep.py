"""Sweep throughput: the lab's table 1 with N local workers against one (one thread each), and the
embedded stores under N concurrent processes.

    python benchmarks/bench_sweep.py                  # table 1 as the lab ran it: 1 seed, 10 epochs, whole series
    python benchmarks/bench_sweep.py --epochs 2 --start 1950-01 --skip-stores   # a quick look
    python benchmarks/bench_sweep.py --stores-only    # SQLite vs Optuna's journal file, 2 and 4 processes

Prints the CPU, wall times measured side by side in one run, and the ratio. A ratio needs an
otherwise idle machine: on a shared one the other jobs' load lands on whichever run it meets.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def sweep_seconds(workers: int, args) -> tuple[float, float]:
    """Wall seconds and CPU seconds (the sweep and its worker processes) of one sweep."""
    with tempfile.TemporaryDirectory() as out:
        cmd = [sys.executable, "-m", "seqlab", "sweep", "--table", "lab1", "--seeds", str(args.seeds),
               "--epochs", str(args.epochs), "--start", args.start, "--workers", str(workers), "--out", out,
               "--quiet", "--study", f"bench-{workers}"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
        wall = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _hammer(url: str, study: str, trials: int, errors) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend

        storage = optuna.storages.JournalStorage(JournalFileBackend(url.split(":", 1)[1]))
    else:
        storage = optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}},
                                             heartbeat_interval=1, grace_period=3)
    study = optuna.load_study(study_name=study, storage=storage)
    for _ in range(trials):
        try:
            study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
        except Exception as error:  # a lock error is what this counts
            errors.put(repr(error))


def store_rates(processes: int, trials: int) -> None:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    with tempfile.TemporaryDirectory() as tmp:
        for name, url in (("SQLite (RDB, heartbeat)", f"sqlite:///{tmp}/s.db"), ("journal file", f"journal:{tmp}/j.log")):
            if url.startswith("journal:"):
                from optuna.storages.journal import JournalFileBackend

                storage = optuna.storages.JournalStorage(JournalFileBackend(url.split(":", 1)[1]))
            else:
                storage = optuna.storages.RDBStorage(url)
            optuna.create_study(study_name="s", storage=storage)
            errors = mp.Queue()
            start = time.perf_counter()
            procs = [mp.Process(target=_hammer, args=(url, "s", trials, errors)) for _ in range(processes)]
            for p in procs:
                p.start()
            for p in procs:
                p.join()
            seconds = time.perf_counter() - start
            failed = 0
            while not errors.empty():
                errors.get()
                failed += 1
            done = len(optuna.load_study(study_name="s", storage=storage).get_trials())
            print(f"  {name:24s} {processes} processes x {trials} trials: {done} stored, {failed} errors, "
                  f"{done / seconds:.1f} trials/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--start", default="1749-01")
    parser.add_argument("--stores-only", action="store_true")
    parser.add_argument("--skip-stores", action="store_true")
    args = parser.parse_args()
    print(f"CPU: {cpu_model()}, {os.cpu_count()} logical cores; load average now {os.getloadavg()[0]:.1f}")
    if not args.skip_stores:
        print("Embedded stores, trivial trials (what the stores themselves sustain):")
        for n in (2, 4):
            store_rates(n, 30)
    if args.stores_only:
        return 0
    (one, one_cpu), (many, many_cpu) = sweep_seconds(1, args), sweep_seconds(args.workers, args)
    points = 16 * args.seeds
    print(f"sweep --table lab1, {points} points ({args.epochs} epochs, months from {args.start}), one thread per worker:")
    print(f"  1 worker : {one:6.1f} s wall, {one_cpu:6.1f} s CPU  ({points / one:.2f} points/s)")
    print(f"  {args.workers} workers: {many:6.1f} s wall, {many_cpu:6.1f} s CPU  ({points / many:.2f} points/s)")
    print(f"  throughput ratio {args.workers} workers / 1 worker (wall): {one / many:.2f}x "
          f"(load average after: {os.getloadavg()[0]:.1f})")
    # what the ratio would be with a free core per worker: the same work split N ways, plus what the
    # extra workers cost in CPU (their start-up, the storage); only meaningful when the wall ratio is not
    print(f"  CPU-bound bound for {args.workers} free cores: {args.workers * one_cpu / many_cpu:.2f}x "
          "(N x CPU of 1 worker / CPU of N workers; ignores the uneven last points)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
