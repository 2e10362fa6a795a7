"""Cost against sequence length: forward+backward time and peak memory of the sequence mixers.

Contenders, one sequence (batch 1), width d = 64, one head (``contenders``):

    softmax            seqlab.attention.softmax_attention, causal: the (L, L) scores are built
    linear             causal linear attention, parallel form (cumulative sums of φ(k) vᵀ)
    linear_recurrent   the same numbers, one LinearAttentionState.step per token
    ssd_chunked        Mamba-2's SSD, chunks of 64, state 64
    mamba_scan         seqlab.mamba.selective_scan (Mamba-1's scan: d = 64 channels, state 16)
    lstm               a 1-layer torch.nn.LSTM(64, 64)

Time: the median of a few calls, contenders in turn (round-robin), measured by default on the
process's CPU clock (``clock="cpu"``: the seconds this process ran, robust when other jobs share the
cores; with one thread it equals wall time on an idle machine), or on the wall clock. Memory: the peak of the bytes torch's CPU allocator holds during one forward+backward,
above what it held before, read from ``torch.profiler``'s memory records (every allocation and
free, in time order, summed, maximum taken). That counts tensors (activations kept for the backward, scores,
gradients), not the interpreter or the allocator's caching. ``tracemalloc`` would see none of it.

``benchmarks/bench_efficient.py`` runs the full sweep (L = 64 .. 8192); lesson 06 a quick one.
"""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import time
from dataclasses import dataclass, field

import numpy as np
import torch

from .attention import linear_attention, linear_attention_recurrent, softmax_attention, ssd_chunked
from .mamba import selective_scan

__all__ = ["CLOCKS", "CONTENDERS", "CostResult", "crossovers", "log_log_slope", "measure", "peak_memory_bytes", "sweep"]

CONTENDERS = ("softmax", "linear", "linear_recurrent", "ssd_chunked", "mamba_scan", "lstm")


def _make(name: str, length: int, d: int = 64, seed: int = 0):
    """(fn, leaves): fn() runs forward + backward of contender ``name`` on fresh inputs of length L."""
    g = torch.Generator().manual_seed(seed)
    rand = lambda *shape: torch.randn(*shape, generator=g).requires_grad_()  # noqa: E731
    if name in ("softmax", "linear", "linear_recurrent"):
        q, k, v = rand(1, 1, length, d), rand(1, 1, length, d), rand(1, 1, length, d)
        f = {"softmax": softmax_attention, "linear": linear_attention,
             "linear_recurrent": linear_attention_recurrent}[name]
        return lambda: f(q, k, v).sum().backward()
    if name == "ssd_chunked":
        X, B, C = rand(1, length, 1, d), rand(1, length, 1, d), rand(1, length, 1, d)
        log_a = (-torch.rand(1, length, 1, generator=g)).requires_grad_()
        return lambda: ssd_chunked(X, log_a, B, C, chunk_size=64)[0].sum().backward()
    if name == "mamba_scan":
        n = 16
        u, delta = rand(1, d, length), rand(1, d, length)
        A = (-torch.rand(d, n, generator=g) - 0.5).requires_grad_()
        B, C = rand(1, n, length), rand(1, n, length)
        return lambda: selective_scan(u, delta, A, B, C, delta_softplus=True).sum().backward()
    if name == "lstm":
        lstm = torch.nn.LSTM(d, d, batch_first=True)
        x = rand(1, length, d)
        return lambda: lstm(x)[0].sum().backward()
    raise ValueError(f"unknown contender {name!r}; choose from {', '.join(CONTENDERS)}")


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (the profiler's C++ start/stop log lines), then restore it."""
    try:
        saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    except OSError:  # no real descriptor 2 here: nothing to silence
        yield
        return
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def peak_memory_bytes(fn) -> int:
    """Peak bytes held by torch's CPU allocator while ``fn()`` runs, above the level before it."""
    with _quiet_stderr(), torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU],
                                                 profile_memory=True) as prof:
        fn()
    # the allocator's record: one "[memory]" event per allocation (+bytes) and free (-bytes), in time order
    raw = prof.profiler.kineto_results.events()  # raw events: no per-op tree to build, fast for long loops
    events = sorted((e.start_ns(), e.nbytes()) for e in raw if e.name() == "[memory]")
    live = np.cumsum([b for _, b in events]) if events else np.zeros(1)
    return int(max(0, live.max()))


@dataclass
class CostResult:
    """Seconds and peak bytes per (contender, length); NaN where a contender was skipped."""

    lengths: list[int]
    seconds: dict[str, list[float]] = field(default_factory=dict)
    memory: dict[str, list[float]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # "name at L=...: why"

    def table(self):
        import pandas as pd

        rows = []
        for name in self.seconds:
            for L, s, m in zip(self.lengths, self.seconds[name], self.memory[name]):
                rows.append({"model": name, "L": L, "ms": s * 1e3, "MiB": m / 2**20})
        return pd.DataFrame(rows)


CLOCKS = {"cpu": time.process_time, "wall": time.perf_counter}


def measure(names, length: int, reps: int = 3, clock: str = "cpu") -> tuple[dict[str, float], dict[str, int]]:
    """Median forward+backward seconds (round-robin) and peak bytes of each contender at length L."""
    now = CLOCKS[clock]
    fns = {name: _make(name, length) for name in names}
    memory = {name: peak_memory_bytes(fn) for name, fn in fns.items()}  # also warms each up
    times = {name: [] for name in names}
    for _ in range(reps):
        for name, fn in fns.items():
            start = now()
            fn()
            times[name].append(now() - start)
    return {k: statistics.median(v) for k, v in times.items()}, memory


def sweep(lengths=(64, 128, 256, 512, 1024, 2048, 4096, 8192), names=CONTENDERS, reps: int = 3,
          max_call_s: float = 2.0, progress: bool = False, clock: str = "cpu") -> CostResult:
    """Measure every contender at every length; skip a contender once one call would exceed ``max_call_s``.

    The next call's time is predicted from the last two lengths (log-log); a skipped contender
    stays skipped at longer lengths, with a note in ``result.skipped``.
    """
    from tqdm.auto import tqdm

    result = CostResult(list(lengths), {n: [] for n in names}, {n: [] for n in names})
    for L in tqdm(lengths, desc="lengths", disable=not progress):
        active = []
        for name in names:
            s = result.seconds[name]
            done = [(Lp, t) for Lp, t in zip(result.lengths, s) if not math.isnan(t)]
            if len(done) < len(s):  # skipped before
                continue
            if len(done) >= 2:
                (L1, t1), (L2, t2) = done[-2:]
                slope = math.log(t2 / t1) / math.log(L2 / L1)
                predicted = t2 * (L / L2) ** max(slope, 1.0)
                if predicted > max_call_s:
                    result.skipped.append(f"{name} at L={L} and above: one call would take ~{predicted:.1f} s")
                    continue
            active.append(name)
        seconds, memory = measure(active, L, reps, clock) if active else ({}, {})
        for name in names:
            result.seconds[name].append(seconds.get(name, float("nan")))
            result.memory[name].append(memory.get(name, float("nan")))
    return result


def log_log_slope(lengths, values, above: int = 512) -> float:
    """Least-squares slope of log(value) against log(L) for L >= ``above`` (NaNs dropped)."""
    pts = [(math.log(L), math.log(v)) for L, v in zip(lengths, values) if L >= above and v > 0 and not math.isnan(v)]
    if len(pts) < 2:
        return float("nan")
    x, y = np.array(pts).T
    return float(np.polyfit(x, y, 1)[0])


def crossovers(lengths, reference, others: dict) -> dict[str, float | None]:
    """Per contender, the length where ``reference`` (softmax) stops being the cheaper one.

    Interpolated in log-log between the two grid lengths where ``reference - other`` changes
    sign from negative to positive (the first such change); None if it never does in the range,
    or 'always' stays the text for a contender that is cheaper already at the shortest length.
    """
    out = {}
    for name, values in others.items():
        out[name] = None
        pairs = [(L, r, o) for L, r, o in zip(lengths, reference, values) if not (math.isnan(r) or math.isnan(o))]
        if pairs and pairs[0][1] >= pairs[0][2]:
            out[name] = float(pairs[0][0])  # already cheaper than softmax at the shortest length
            continue
        for (L1, r1, o1), (L2, r2, o2) in zip(pairs, pairs[1:]):
            d1, d2 = math.log(r1 / o1), math.log(r2 / o2)
            if d1 < 0 <= d2:
                frac = -d1 / (d2 - d1)
                out[name] = float(math.exp(math.log(L1) + frac * (math.log(L2) - math.log(L1))))
                break
    return out
