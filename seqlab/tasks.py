"""Synthetic sequence tasks with a known answer, for lessons that need a task where one model
design provably matters. Each generator is a plain function of a seeded ``torch.Generator``.

Selective copying (Gu & Dao 2023, "Mamba", arXiv 2312.00752, section 3.1 and Figure 2):

    tokens   . 3 . . 5 . . . 2 . 7 . . . . . | # # # #      (. = noise, # = "copy now" marker)
    targets                                     3 5 2 7

``n_tokens`` data tokens sit at random positions among ``n_noise`` noise positions; then come
``n_tokens`` markers, and at each marker the model must output the next data token, in order.
The spacing changes from sequence to sequence, so no fixed (time-invariant) filter over the
input can pick the tokens out: the model has to decide from each input whether to remember it.

Token ids: 0 = noise, 1 = marker, 2 .. 2 + vocab_size - 1 = data tokens.

The adding problem (Hochreiter & Schmidhuber 1997; the version of Le, Jaitly & Hinton 2015):
each input step carries two features, a value u_t ~ U(0, 1) and a marker that is 1 at exactly two
steps, one in the first half and one in the second half; the target is the sum of the two marked
values. Its two dials are the ones the GRU tutorial's GRU-vs-LSTM thresholds talk about:

- ``length``: the dependency spans up to ``length`` steps (the first marked value must be carried
  to the end);
- ``n_train``: how many distinct training sequences there are (a small set is revisited and can be
  memorised; a large one cannot).

Predicting the mean (1.0) scores MSE Var(u_a + u_b) = 1/6; we report R^2 = 1 - MSE / Var(y_test),
so 0 is "no memory", 1 is perfect, on the same scale as the tutorial's accuracy tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

__all__ = ["NOISE", "MARKER", "SelectiveCopying", "selective_copying",
           "adding_problem", "AddingConfig", "SequenceRegressor", "train_adding"]

NOISE, MARKER = 0, 1  # the two special token ids; data tokens start at 2


@dataclass(frozen=True)
class SelectiveCopying:
    """Sizes of a selective-copying task.

    n_noise: noise positions among the data tokens; n_tokens: data tokens to copy;
    vocab_size: distinct data tokens (chance accuracy is 1 / vocab_size).
    Sequence length = n_noise + 2 * n_tokens; the answers sit at the last n_tokens positions.
    """

    n_noise: int = 16
    n_tokens: int = 4
    vocab_size: int = 8

    def __post_init__(self):
        if self.n_tokens < 1 or self.n_noise < 0 or self.vocab_size < 2:
            raise ValueError(
                f"need n_tokens >= 1, n_noise >= 0 and vocab_size >= 2, got n_tokens={self.n_tokens}, "
                f"n_noise={self.n_noise}, vocab_size={self.vocab_size}"
            )

    @property
    def seq_len(self) -> int:
        return self.n_noise + 2 * self.n_tokens

    @property
    def n_symbols(self) -> int:
        """Size of the input alphabet: noise, marker and the data tokens (the embedding's rows)."""
        return self.vocab_size + 2


def selective_copying(
    batch_size: int, task: SelectiveCopying = SelectiveCopying(), *, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """A batch of the selective-copying task.

    Returns ``tokens`` (b, seq_len) int64 and ``targets`` (b, n_tokens) int64 in 0 .. vocab_size - 1
    (the data token minus 2, i.e. a class index); the model's outputs at the last n_tokens
    positions are scored against ``targets``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    k, body = task.n_tokens, task.n_noise + task.n_tokens
    targets = torch.randint(0, task.vocab_size, (batch_size, k), generator=generator)  # (b, k)
    # k distinct positions among the first n_noise + k, kept in order: where the data tokens go
    positions = torch.rand(batch_size, body, generator=generator).argsort(dim=1)[:, :k].sort(dim=1).values
    tokens = torch.full((batch_size, task.seq_len), NOISE, dtype=torch.int64)
    tokens.scatter_(1, positions, targets + 2)
    tokens[:, body:] = MARKER
    return tokens, targets


# ---------------------------------------------------------------- the adding problem (lesson 07)



def adding_problem(n: int, length: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` adding-problem sequences: x (n, length, 2) batch_first, y (n,) the sum of the marked values."""
    if length < 2 or n < 1:
        raise ValueError(f"the adding problem needs length >= 2 and n >= 1, got length={length}, n={n}.")
    values = torch.rand(n, length, generator=generator)  # (n, L)
    half = length // 2
    first = torch.randint(0, half, (n,), generator=generator)  # (n,) in the first half
    second = torch.randint(half, length, (n,), generator=generator)  # (n,) in the second half
    markers = torch.zeros(n, length)
    rows = torch.arange(n)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]  # (n,)
    return torch.stack([values, markers], dim=-1), y


class SequenceRegressor(nn.Module):
    """torch.nn GRU or LSTM (one layer) and a linear readout of the last step: (N, L, I) -> (N,)."""

    def __init__(self, kind: str, input_size: int = 2, hidden_size: int = 32):
        super().__init__()
        rnn_class = {"gru": nn.GRU, "lstm": nn.LSTM}.get(kind)
        if rnn_class is None:
            raise ValueError(f"kind must be 'gru' or 'lstm', got {kind!r}.")
        self.rnn = rnn_class(input_size, hidden_size, batch_first=True)
        self.readout = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (N, L, H)
        return self.readout(out[:, -1]).squeeze(-1)  # (N,)


@dataclass
class AddingConfig:
    """One cell of the GRU-vs-LSTM grid: the two dials and a fixed training budget."""

    kind: str = "gru"
    length: int = 20  # dial 1: dependency length
    n_train: int = 1000  # dial 2: distinct training sequences
    steps: int = 300  # Adam steps, the same for every cell (same compute, different data)
    batch_size: int = 50
    hidden_size: int = 32
    lr: float = 1e-2
    n_test: int = 1000
    seed: int = 0


def train_adding(config: AddingConfig) -> dict:
    """Train one ``SequenceRegressor`` on the adding problem; return test ``r2``, ``mse`` and the
    per-step training ``loss`` (steps,). Seeded: the same config gives the same numbers bit for bit
    on one CPU thread. The test set (``n_test`` fresh sequences) is drawn from its own generator,
    the same for both kinds and every ``n_train``."""
    c = config
    data = torch.Generator().manual_seed(1000 + c.seed)
    X, y = adding_problem(c.n_train, c.length, data)
    X_test, y_test = adding_problem(c.n_test, c.length, torch.Generator().manual_seed(10_000 + c.length))
    torch.manual_seed(c.seed)
    model = SequenceRegressor(c.kind, hidden_size=c.hidden_size)
    opt = torch.optim.Adam(model.parameters(), lr=c.lr)
    order = torch.Generator().manual_seed(c.seed)
    losses = np.empty(c.steps)
    for step in range(c.steps):
        idx = torch.randint(0, c.n_train, (c.batch_size,), generator=order)
        loss = nn.functional.mse_loss(model(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses[step] = loss.item()
    model.eval()
    with torch.no_grad():
        mse = nn.functional.mse_loss(model(X_test), y_test).item()
    return {"r2": 1.0 - mse / y_test.var(unbiased=False).item(), "mse": mse, "loss": losses}
