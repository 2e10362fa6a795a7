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
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

__all__ = ["NOISE", "MARKER", "SelectiveCopying", "selective_copying"]

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
