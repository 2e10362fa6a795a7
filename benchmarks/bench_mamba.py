"""Mamba vs LSTM on a CPU at the sunspot lab's sizes: one training step (forward + backward).

Contenders, measured side by side in one run (round-robin, median of the repetitions), so the
load of a shared machine hits all of them alike; the ratios are what to read, not the ms:

    lstm            make_forecaster("lstm"): 2-layer nn.LSTM(1 -> 64) -> Linear(64, 1), dropout 0.2 (the lab's)
    mamba           make_forecaster("mamba"): Linear(1, 64) -> seqlab Mamba(64, 16, 4, 2) -> LayerNorm -> Linear
    mambapy         the same forecaster with mambapy's MambaBlock (pure PyTorch, parallel pscan) as the block
    mambapy-seq     the same with mambapy's sequential scan (pscan=False)

Then the scan alone, on the block's sizes: seqlab's fast ``selective_scan`` vs its readable
``selective_scan_sequential`` (forward + backward).

    .venv/bin/python benchmarks/bench_mamba.py                  # threads 1 and 2, l = 12 and 48
    .venv/bin/python benchmarks/bench_mamba.py --threads 1 --lengths 12 --reps 10
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from mambapy.mamba import MambaBlock, MambaConfig

from seqlab.mamba import selective_scan, selective_scan_sequential
from seqlab.models import make_forecaster


def mambapy_forecaster(reference, pscan):
    """``reference`` (a seqlab MambaForecaster) with its block replaced by mambapy's, same weights."""
    model = make_forecaster("mamba", seed=0)
    model.load_state_dict(reference.state_dict())
    block = MambaBlock(MambaConfig(d_model=64, n_layers=1, d_state=16, d_conv=4, expand_factor=2, pscan=pscan))
    block.load_state_dict(reference.blocks[0].state_dict())
    model.blocks[0] = block
    return model


def training_step(model, x, y):
    model.zero_grad(set_to_none=True)
    loss = torch.mean((model(x) - y) ** 2)
    loss.backward()


def time_round_robin(contenders, reps, warmup=2):
    """{name: median seconds} of ``contenders`` {name: fn()}, called in turn ``reps`` times."""
    times = {name: [] for name in contenders}
    for rep in range(warmup + reps):
        for name, fn in contenders.items():
            start = time.perf_counter()
            fn()
            if rep >= warmup:
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def bench_models(length, batch, reps):
    lstm = make_forecaster("lstm", seed=0)
    mamba = make_forecaster("mamba", seed=0)
    models = {
        "lstm": lstm,
        "mamba": mamba,
        "mambapy": mambapy_forecaster(mamba, pscan=True),
        "mambapy-seq": mambapy_forecaster(mamba, pscan=False),
    }
    x = torch.randn(batch, length, 1, generator=torch.Generator().manual_seed(0))
    y = torch.randn(batch)
    with torch.no_grad():  # same weights, same function: check before timing
        assert torch.allclose(models["mambapy"](x), mamba(x), atol=1e-4)
    return time_round_robin({k: (lambda m=m: training_step(m, x, y)) for k, m in models.items()}, reps)


def bench_scan(length, batch, reps, d_inner=128, d_state=16):
    g = torch.Generator().manual_seed(0)
    u, delta, z = (torch.randn(batch, d_inner, length, generator=g) for _ in range(3))
    A = -torch.rand(d_inner, d_state, generator=g) - 0.5
    B, C = (torch.randn(batch, d_state, length, generator=g) for _ in range(2))
    D, bias = torch.randn(d_inner, generator=g), torch.randn(d_inner, generator=g)
    leaves = [t.requires_grad_() for t in (u, delta, A, B, C, D, z, bias)]

    def step(fn):
        y = fn(*leaves[:7], delta_bias=leaves[7], delta_softplus=True)
        torch.autograd.grad(y.sum(), leaves)

    return time_round_robin({"sequential": lambda: step(selective_scan_sequential), "fast": lambda: step(selective_scan)}, reps)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--lengths", type=int, nargs="+", default=[12, 48])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args(argv)

    print("## Training step (forward + backward), batch", args.batch, "- median ms, ratio to the LSTM\n")
    print("| threads | l | lstm | mamba (seqlab) | mambapy | mambapy-seq | mamba / lstm | mambapy / lstm | mambapy-seq / lstm |")
    print("|---|---|---|---|---|---|---|---|---|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        for length in args.lengths:
            t = bench_models(length, args.batch, args.reps)
            ms = {k: v * 1e3 for k, v in t.items()}
            print(f"| {threads} | {length} | {ms['lstm']:.1f} | {ms['mamba']:.1f} | {ms['mambapy']:.1f} | "
                  f"{ms['mambapy-seq']:.1f} | **{t['mamba'] / t['lstm']:.1f}x** | {t['mambapy'] / t['lstm']:.1f}x | "
                  f"{t['mambapy-seq'] / t['lstm']:.1f}x |", flush=True)

    print("\n## The scan alone (b, d_inner, n) = (", args.batch, ", 128, 16), forward + backward\n")
    print("| threads | l | sequential ms | fast ms | sequential / fast |")
    print("|---|---|---|---|---|")
    for threads in args.threads:
        torch.set_num_threads(threads)
        for length in args.lengths:
            t = bench_scan(length, args.batch, args.reps)
            print(f"| {threads} | {length} | {t['sequential'] * 1e3:.1f} | {t['fast'] * 1e3:.1f} | "
                  f"{t['sequential'] / t['fast']:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
