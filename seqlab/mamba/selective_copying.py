"""Selective copying: train small Mamba variants on ``seqlab.tasks.selective_copying``, over seeds.

The lesson's evidence that selection matters (Gu & Dao 2023, section 3.1, Table 1) at a size a
laptop CPU trains in seconds: a time-invariant SSM (``MambaVariant(selective=False)``) against the
selective one, and the block with its conv1d, its gate or its low-rank Δ changed.

    python -m seqlab.mamba.selective_copying --out notebooks/results/05_selective_copying.csv

re-runs the full protocol (selective and time-invariant over 5 seeds, the four other variants over 3)
and writes one row per variant and seed: the committed file, a few CPU-minutes in all. Lesson 05
reads it and re-runs a small part live; tests/test_selective_copying.py re-runs one row. Runs are
deterministic on a CPU: the same variant, seed and config give the same numbers bit for bit.

Model: Embedding -> n_layers x (x + MambaVariant(RMSNorm(x))) -> RMSNorm -> Linear(vocab), trained
with AdamW on fresh batches every step, cross-entropy on the answer positions only; scored by
the accuracy of every answer token on a fixed held-out batch (chance = 1 / vocab_size).
"""

from __future__ import annotations

import argparse
import platform
import time
from dataclasses import asdict, dataclass, field

import pandas as pd
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..tasks import SelectiveCopying, selective_copying
from .variants import MambaVariant

__all__ = ["VARIANTS", "CopyingConfig", "TokenModel", "run_variants", "train_copying"]

# name -> MambaVariant switches; "selective" is the Mamba block itself
VARIANTS = {
    "selective": {},
    "time-invariant": {"selective": False},
    "no conv1d": {"conv": False},
    "no gate": {"gate": False},
    "dt_rank 1": {"dt_rank": 1},
    "dt_rank full": {"dt_rank": "full"},
}
MAIN = ("selective", "time-invariant")  # the lesson's main comparison gets more seeds


@dataclass(frozen=True)
class CopyingConfig:
    """Task, model and training sizes (defaults: what the lesson and the committed results use)."""

    task: SelectiveCopying = field(default_factory=lambda: SelectiveCopying(n_noise=12, n_tokens=4, vocab_size=8))
    d_model: int = 32
    n_layers: int = 1
    d_state: int = 8
    steps: int = 300
    batch_size: int = 32
    lr: float = 6e-3
    n_test: int = 1000


class TokenModel(nn.Module):
    """Tokens (b, l) -> logits (b, l, vocab_size): a stack of residual pre-norm Mamba variants."""

    def __init__(self, config: CopyingConfig, **switches):
        super().__init__()
        self.embedding = nn.Embedding(config.task.n_symbols, config.d_model)
        self.layers = nn.ModuleList(
            MambaVariant(config.d_model, d_state=config.d_state, **switches) for _ in range(config.n_layers)
        )
        self.norms = nn.ModuleList(nn.RMSNorm(config.d_model) for _ in range(config.n_layers))
        self.norm_f = nn.RMSNorm(config.d_model)
        self.lm_head = nn.Linear(config.d_model, config.task.vocab_size)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens)  # (b, l, d_model)
        for norm, layer in zip(self.norms, self.layers):
            x = x + layer(norm(x))
        return self.lm_head(self.norm_f(x))  # (b, l, vocab_size)


def _answers(model: TokenModel, tokens: torch.Tensor, k: int) -> torch.Tensor:
    return model(tokens)[:, -k:]  # (b, k, vocab_size): the outputs at the marker positions


def train_copying(variant: str | dict, seed: int, config: CopyingConfig = CopyingConfig(),
                  *, threads: int | None = 1) -> dict:
    """Train one variant from one seed; returns a row: variant, seed, accuracy, loss, parameters, seconds.

    ``variant``: a name in VARIANTS or a dict of MambaVariant switches. Training batches come from
    a generator seeded with ``seed``, the test batch from a fixed other seed (the same for all runs).
    """
    if isinstance(variant, str):
        if variant not in VARIANTS:
            raise ValueError(f"unknown variant {variant!r}; choose one of {list(VARIANTS)} or pass a dict of switches")
        name, switches = variant, VARIANTS[variant]
    else:
        name, switches = str(variant), dict(variant)
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        torch.manual_seed(seed)
        model = TokenModel(config, **switches)
        optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr)
        data = torch.Generator().manual_seed(10_000 + seed)
        k, start = config.task.n_tokens, time.perf_counter()
        for _ in range(config.steps):
            tokens, targets = selective_copying(config.batch_size, config.task, generator=data)
            loss = F.cross_entropy(_answers(model, tokens, k).flatten(0, 1), targets.flatten())
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        seconds = time.perf_counter() - start
        tokens, targets = selective_copying(config.n_test, config.task, generator=torch.Generator().manual_seed(1))
        with torch.no_grad():
            logits = _answers(model, tokens, k)
            test_loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten()).item()
            accuracy = (logits.argmax(-1) == targets).float().mean().item()
    finally:
        torch.set_num_threads(previous)
    return {"variant": name, "seed": seed, "accuracy": accuracy, "test_loss": test_loss,
            "train_loss": loss.item(), "parameters": sum(p.numel() for p in model.parameters()),
            "train_time_s": seconds}


def run_variants(variants, seeds, config: CopyingConfig = CopyingConfig(), *, progress: bool = True) -> pd.DataFrame:
    """One row per (variant, seed), as ``train_copying``; a progress bar over the runs."""
    from tqdm.auto import tqdm

    runs = [(v, s) for v in variants for s in seeds]
    rows = [train_copying(v, s, config) for v, s in tqdm(runs, desc="selective copying", disable=not progress)]
    return pd.DataFrame(rows)


def summarize(results: pd.DataFrame, column: str = "accuracy") -> pd.DataFrame:
    """Mean, sample std, min and max of ``column`` per variant (in the order they first appear)."""
    g = results.groupby("variant", sort=False)[column]
    out = pd.DataFrame({"mean": g.mean(), "std": g.std(ddof=1), "min": g.min(), "max": g.max(), "seeds": g.size()})
    out["parameters"] = results.groupby("variant", sort=False)["parameters"].first()
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="CSV to write, one row per variant and seed")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 for selective and time-invariant")
    parser.add_argument("--ablation-seeds", type=int, default=3, help="seeds 0..N-1 for the other variants")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names from VARIANTS")
    parser.add_argument("--steps", type=int, default=CopyingConfig.steps)
    args = parser.parse_args(argv)
    config = CopyingConfig(steps=args.steps)
    names = args.variants.split(",")
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"unknown variants {unknown}; choose from {list(VARIANTS)}")
    results = pd.concat([run_variants([n], range(args.seeds if n in MAIN else args.ablation_seeds), config)
                         for n in names], ignore_index=True)
    results.to_csv(args.out, index=False)  # full precision: a test re-runs rows bit for bit
    print(summarize(results).to_string(float_format="%.3f"))
    print(f"config: {asdict(config)}; torch {torch.__version__}; CPU {platform.processor() or platform.machine()}")


if __name__ == "__main__":
    main()
