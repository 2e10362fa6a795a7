"""Efficient sequence models on a CPU: cost against length, and the forecasters' training step.

Part 1 (``seqlab.cost``): forward+backward time and peak memory of softmax attention, linear
attention (parallel and recurrent), SSD chunked, seqlab's Mamba scan and a 1-layer LSTM, d = 64,
one sequence, L = 64 .. 8192, side by side in one run; the log-log slope above L = 512 and the
lengths where softmax attention stops being the cheaper one. A contender whose next call would
take longer than --max-call-s is skipped from then on (said in the output), which caps the run.

Part 2: one training step (forward + backward of the MSE, batch 64, one thread) of the sunspot
forecasters at windows 12 and 48, against the lab's 2-layer LSTM(64) forecaster, round-robin,
median; ratios to the LSTM printed.

    .venv/bin/python benchmarks/bench_efficient.py              # full: ~3-5 min on 2 cores
    .venv/bin/python benchmarks/bench_efficient.py --quick      # L = 64 .. 2048, fewer reps
    .venv/bin/python benchmarks/bench_efficient.py --part speed
"""

from __future__ import annotations

import argparse
import platform
import statistics

import torch

from seqlab.cost import CLOCKS, CONTENDERS, crossovers, log_log_slope, sweep
from seqlab.models import make_forecaster

VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16",
                "amx_tile", "amx_bf16", "neon", "asimd", "sve")


def cpu_description() -> str:
    """CPU model, the vector extensions it reports, and the ones torch's kernels use."""
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() in ("flags", "Features"):
                    flags = set(value.split())
    except OSError:
        pass
    found = [f for f in VECTOR_FLAGS if f in flags] or ["(not readable here)"]
    return (f"CPU: {model}; vector extensions: {' '.join(found)}; torch {torch.__version__} uses "
            f"{torch.backends.cpu.get_cpu_capability()}; threads {torch.get_num_threads()}")


def part_length(args):
    lengths = [64, 128, 256, 512, 1024, 2048] if args.quick else [64, 128, 256, 512, 1024, 2048, 4096, 8192]
    result = sweep(lengths, reps=args.reps, max_call_s=args.max_call_s, clock=args.clock)
    table = result.table()
    print(f"## Forward + backward against length (d = 64, batch 1): median ms ({args.clock} clock), peak MiB\n")
    for what, col in (("ms", "ms"), ("MiB", "MiB")):
        wide = table.pivot(index="L", columns="model", values=col)[list(CONTENDERS)]
        print(f"### {what}\n")
        print(wide.to_string(float_format=lambda v: f"{v:.3g}"))
        print()
    for note in result.skipped:
        print("skipped:", note)
    print("\n## Log-log slope above L = 512 (time, memory)\n")
    for name in CONTENDERS:
        print(f"{name:17s} time {log_log_slope(result.lengths, result.seconds[name]):5.2f}   "
              f"memory {log_log_slope(result.lengths, result.memory[name]):5.2f}")
    print("\n## Where softmax attention stops being the cheaper one (interpolated L)\n")
    others = [n for n in CONTENDERS if n != "softmax"]
    for what, data in (("time", result.seconds), ("memory", result.memory)):
        cross = crossovers(result.lengths, data["softmax"], {n: data[n] for n in others})
        text = ", ".join(f"{n} {'beyond ' + str(result.lengths[-1]) if v is None else f'~{v:.0f}'}"
                         for n, v in cross.items())
        print(f"{what}: {text}")
    return result


def training_step(model, x, y):
    model.zero_grad(set_to_none=True)
    torch.mean((model(x) - y) ** 2).backward()


def part_speed(args):
    torch.set_num_threads(1)
    names = ["lstm", "mamba", "mamba2", "transformer", "linear_transformer", "samovar"]
    print(f"\n## Training step (forward + backward), batch 64, one thread, {args.clock} clock: median ms, "
          "ratio to the LSTM forecaster\n")
    print("| window | " + " | ".join(names) + " | " + " | ".join(f"{n} / lstm" for n in names[1:]) + " |")
    print("|---" * (2 * len(names)) + "|")
    for length in (12, 48):
        models = {n: make_forecaster(n, seed=0) for n in names}
        g = torch.Generator().manual_seed(0)
        x, y = torch.randn(64, length, 1, generator=g), torch.randn(64, generator=g)
        times, now = {n: [] for n in names}, CLOCKS[args.clock]
        for rep in range(2 + args.speed_reps):
            for n, m in models.items():
                start = now()
                training_step(m, x, y)
                if rep >= 2:
                    times[n].append(now() - start)
        med = {n: statistics.median(t) for n, t in times.items()}
        print(f"| {length} | " + " | ".join(f"{med[n] * 1e3:.1f}" for n in names) + " | "
              + " | ".join(f"**{med[n] / med['lstm']:.2f}x**" for n in names[1:]) + " |", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "length", "speed"], default="all")
    parser.add_argument("--quick", action="store_true", help="L = 64 .. 2048 (the lesson's sweep)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--speed-reps", type=int, default=15)
    parser.add_argument("--max-call-s", type=float, default=3.0, help="skip a contender once a call would exceed this")
    parser.add_argument("--threads", type=int, default=1, help="threads for part 1 (part 2 always uses 1)")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="cpu",
                        help="cpu: this process's CPU seconds (robust on a shared machine; use with 1 thread); wall")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    print(cpu_description(), "\n")
    if args.part in ("all", "length"):
        part_length(args)
    if args.part in ("all", "speed"):
        part_speed(args)


if __name__ == "__main__":
    main()
