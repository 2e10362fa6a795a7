"""Forward+backward time of seqlab.scratch GRU/LSTM against torch.nn, side by side.

    .venv/bin/python benchmarks/bench_scratch.py [--threads N] [--repeat N] [--clock wall|cpu]
                                                 [--shapes all|small|large] [--models GRU LSTM]

For each (model, shape) the contenders - torch.nn, scratch fast path (the default), scratch
reference path (per-step cell equations under autograd) - run in alternation, `--repeat`
short rounds of a few forward+backward passes each, on the same weights and input.
The table gives the median time per pass and the median over rounds of the time ratio to
torch.nn within each round. Only ratios measured in the same run mean anything; absolute
times depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from torch import nn

from seqlab import scratch

# (batch, seq_len, hidden_size, num_layers, input_size): the lab's forecaster, a longer sequence
SHAPES = [(64, 12, 64, 2, 1), (32, 128, 128, 2, 32)]


def make_contenders(model: str, input_size: int, hidden_size: int, num_layers: int):
    torch.manual_seed(0)
    ref = getattr(nn, model)(input_size, hidden_size, num_layers, batch_first=True)
    fast = getattr(scratch, model)(input_size, hidden_size, num_layers, batch_first=True)
    loop = getattr(scratch, model)(input_size, hidden_size, num_layers, batch_first=True, fast_path=False)
    fast.load_state_dict(ref.state_dict())
    loop.load_state_dict(ref.state_dict())
    return {"torch.nn": ref, "scratch": fast, "reference loop": loop}


def forward_backward(module: nn.Module, x: torch.Tensor) -> None:
    output, _ = module(x)
    output.pow(2).mean().backward()
    module.zero_grad(set_to_none=True)


def time_shape(model, shape, repeat, clock=time.perf_counter):
    """Median time per pass of each contender, and the median of the per-round ratios to torch.nn.

    Rounds are short (a few passes per contender) and the contenders' order rotates from round
    to round, so a change in the machine's load hits all of them alike; the ratio is taken
    within each round (paired) before the median.
    """
    batch, seq_len, hidden, layers, inputs = shape
    contenders = make_contenders(model, inputs, hidden, layers)
    names = list(contenders)
    x = torch.randn(batch, seq_len, inputs)
    passes = max(1, int(5e5 // (batch * seq_len * hidden * layers)))  # ~equal work per round
    for module in contenders.values():  # warm-up
        forward_backward(module, x)
    times = {name: [] for name in names}
    for r in range(repeat):
        for name in names[r % len(names):] + names[: r % len(names)]:
            module = contenders[name]
            start = clock()
            for _ in range(passes):
                forward_backward(module, x)
            times[name].append((clock() - start) / passes)
    median = {name: statistics.median(t) for name, t in times.items()}
    ratio = {
        name: statistics.median(a / b for a, b in zip(times[name], times["torch.nn"]))
        for name in names
    }
    return median, ratio


def warm_allocator() -> None:
    """Put glibc's malloc in the state of a long training run before timing anything.

    A fresh process returns every freed block above 128 KiB to the OS, so the next allocation
    of that size page-faults again; freeing one large block raises that threshold for good.
    Measured here: torch.nn's small-shape LSTM (oneDNN) takes ~9 ms per pass in a fresh process
    and ~7 ms once warm, the scratch LSTM ~9 ms either way; which state a benchmark starts in
    would otherwise decide the ratio.
    """
    torch.empty(16 * 2**20, dtype=torch.uint8)  # allocated and freed at once


VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
                "avx512_bf16", "amx_tile", "asimd", "sve")


def cpu_description() -> str:
    """CPU model and vector extensions (from /proc/cpuinfo where there is one), and the
    instruction set torch's kernels dispatch to. Ratios differ between CPUs: oneDNN's fused
    LSTM gains more from AVX-512 than seqlab's per-step ops do."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key.strip() in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    vector = [f for f in VECTOR_FLAGS if f in flags] or ["unknown"]
    return f"CPU: {model}; vector extensions: {' '.join(vector)}; torch CPU capability: " \
        f"{torch.backends.cpu.get_cpu_capability()}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    parser.add_argument("--repeat", type=int, default=31, help="alternating rounds (default 31)")
    parser.add_argument("--models", nargs="+", default=["GRU", "LSTM"], choices=["RNN", "GRU", "LSTM"])
    parser.add_argument(
        "--shapes", choices=["all", "small", "large"], default="all",
        help="small: the lab's (64, 12, 64, 2, 1) only; large: (32, 128, 128, 2, 32) only",
    )
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall",
        help="wall: elapsed time (default); cpu: this process's CPU time, steadier on a busy "
        "machine but it sums over threads, so only meaningful with --threads 1",
    )
    parser.add_argument(
        "--cold-allocator", action="store_true",
        help="skip the allocator warm-up (see warm_allocator); torch.nn's LSTM then pays page faults",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if not args.cold_allocator:
        warm_allocator()
    clock = time.perf_counter if args.clock == "wall" else time.process_time
    print(cpu_description())
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), {args.clock} clock, "
        f"median of {args.repeat} rounds, {'cold' if args.cold_allocator else 'warm'} allocator"
    )
    header = "model  (batch, seq, hidden, layers, input)  torch.nn ms  scratch ms  scratch/nn  loop/nn"
    print(header)
    print("-" * len(header))
    for model in args.models:
        for shape in {"all": SHAPES, "small": SHAPES[:1], "large": SHAPES[1:]}[args.shapes]:
            med, ratio = time_shape(model, shape, args.repeat, clock)
            print(
                f"{model:5}  {str(shape):35}  {med['torch.nn'] * 1e3:11.2f}  "
                f"{med['scratch'] * 1e3:10.2f}  {ratio['scratch']:10.2f}  "
                f"{ratio['reference loop']:7.2f}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
