"""Sunspot forecasters: RNN, GRU, LSTM, Mamba, the two baselines they must beat, and lesson 01's
next-month forecaster.

Every forecaster in ``FORECASTERS`` reads a window of ``l`` scaled months and predicts the next one:

    input  x  (b, l, 1)   batch_first, one feature (the scaled sunspot number)
    output y  (b,)        the prediction for month l + 1 (the trailing size-1 dim is squeezed)

``FORECASTERS`` is a registry, kind -> builder: a new forecaster is one entry there (a class or a
function taking keyword arguments), and ``make_forecaster``, the experiments, ``compare`` and
``sweep`` pick it up. A ``torch.nn.Module`` is trained by ``seqlab.train.train``; anything else is a
baseline with ``fit(X, y)`` / ``predict(X)`` on numpy windows ``X (n, window)``.

Vocabulary: ``kind`` is a forecaster's name in the registry (``"lstm"``); result tables show it in
their ``model`` column, as the lab's tables do. ``num_gates`` is the number of gate blocks stacked
in a recurrent layer's weights (RNN 1, GRU 3, LSTM 4).

The recurrent ones are ``rnn -> Linear(hidden_size, 1)`` on the last time step, exactly the lab's
design. ``implementation="nn"`` builds the recurrent layers from torch.nn, ``"scratch"`` from
seqlab.scratch; both take the same arguments and have the same ``state_dict`` keys, so one's
weights load into the other and give the same predictions.

Baselines: ``Persistence`` (next month = this month) and ``AutoRegressive`` (AR(p): least squares
with intercept on the last p months of each window).

Lab defaults (its "baseline settings"): hidden 64, 2 layers, tanh, dropout 0.2 for the LSTM and
0 for the others; Mamba d_model 64, d_state 16, d_conv 4, expand 2.
"""

from __future__ import annotations

import functools
import importlib
from typing import Callable

import numpy as np
import torch
from torch import nn

NUM_GATES = {"rnn": 1, "gru": 3, "lstm": 4}  # gate blocks per recurrent layer, torch.nn's order
RECURRENT_CLASSES = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}  # kind -> class name in torch.nn / scratch
EFFICIENT = ("transformer", "linear_transformer", "mamba2", "samovar")  # seqlab.efficient_models (lesson 06)


def recurrent_class(kind: str, implementation: str = "nn") -> type[nn.Module]:
    """``torch.nn.RNN/GRU/LSTM`` (``implementation="nn"``) or seqlab.scratch's twin (``"scratch"``)."""
    if kind not in RECURRENT_CLASSES:
        raise ValueError(f"Unknown recurrent kind {kind!r}; expected one of {sorted(RECURRENT_CLASSES)}.")
    if implementation == "nn":
        module = nn
    elif implementation == "scratch":
        module = importlib.import_module("seqlab.scratch")  # lazy: only when asked for
    else:
        raise ValueError(f"implementation must be 'nn' (torch.nn) or 'scratch' (seqlab.scratch), "
                         f"got {implementation!r}.")
    return getattr(module, RECURRENT_CLASSES[kind])


class RecurrentForecaster(nn.Module):
    """``(b, l, 1) -> (b,)``: a stacked RNN/GRU/LSTM, then ``Linear(hidden_size, 1)`` on the last step.

    Args:
        kind: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        hidden_size, num_layers, dropout: as in torch.nn (dropout acts between layers).
        nonlinearity: ``"tanh"`` or ``"relu"`` (RNN only).
        layer_norm: LayerNorm on the last hidden state before the head (the lab's LSTM trial).
        implementation: ``"nn"`` or ``"scratch"``.
    """

    def __init__(self, kind: str = "lstm", hidden_size: int = 64, num_layers: int = 2,
                 dropout: float | None = None, nonlinearity: str = "tanh", layer_norm: bool = False,
                 implementation: str = "nn", input_size: int = 1):
        super().__init__()
        kind = kind.lower()
        cls = recurrent_class(kind, implementation)
        if dropout is None:
            dropout = 0.2 if kind == "lstm" else 0.0  # the lab's defaults
        kwargs = dict(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
                      batch_first=True, dropout=dropout)
        if kind == "rnn":
            kwargs["nonlinearity"] = nonlinearity
        elif nonlinearity != "tanh":
            raise ValueError(f"nonlinearity applies to 'rnn' only; {kind} has fixed gates (got {nonlinearity!r}).")
        self.kind, self.implementation = kind, implementation
        self.rnn = cls(**kwargs)
        self.norm = nn.LayerNorm(hidden_size) if layer_norm else nn.Identity()
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (b, l, hidden_size); the final state is unused
        return self.head(self.norm(out[:, -1])).squeeze(-1)  # (b,)


class MambaForecaster(nn.Module):
    """``(b, l, 1) -> (b,)``: ``Linear(1, d_model)`` -> Mamba block(s) -> LayerNorm -> ``Linear(d_model, 1)``.

    The blocks are ``seqlab.mamba.Mamba`` (same arguments as ``mamba_ssm.Mamba``), applied one
    after the other like the lab's single block; the head reads the last time step.
    """

    def __init__(self, d_model: int = 64, d_state: int = 16, d_conv: int = 4, expand: int = 2,
                 num_layers: int = 1, input_size: int = 1, **mamba_kwargs):
        super().__init__()
        from .mamba import Mamba  # lazy: keeps `import seqlab.models` light

        self.kind = "mamba"
        self.embed = nn.Linear(input_size, d_model)
        self.blocks = nn.ModuleList(
            Mamba(d_model, d_state=d_state, d_conv=d_conv, expand=expand, **mamba_kwargs)
            for _ in range(num_layers)
        )
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)  # (b, l, d_model)
        for block in self.blocks:
            h = block(h)  # (b, l, d_model)
        return self.head(self.norm(h[:, -1])).squeeze(-1)  # (b,)


class NextStepForecaster(nn.Module):
    """Lesson 01's forecaster: one recurrent layer read out at *every* step, ``(b, l, 1) -> (b, l, 1)``.

    Output ``t`` predicts month ``t + 1`` from months ``..t`` (``seqlab.train.train_next_step``
    trains it). ``rnn`` is a torch.nn.RNN/GRU/LSTM (batch_first), so its ``state_dict`` loads into
    seqlab.scratch's twin for the gate plots.
    """

    def __init__(self, kind: str = "gru", hidden_size: int = 8, input_size: int = 1) -> None:
        super().__init__()
        self.kind = kind
        self.rnn = recurrent_class(kind)(input_size, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (b, l, hidden_size)
        return self.head(out)  # (b, l, 1)


class Persistence:
    """Next month equals the last month of the window: ``y_hat = X[:, -1]``."""

    kind = "persistence"

    def fit(self, X: np.ndarray, y: np.ndarray) -> "Persistence":
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64)[:, -1]

    def num_parameters(self) -> int:
        return 0


class AutoRegressive:
    """AR(p): ``y_hat = c + sum_k a_k x_{t-k}``, fitted by least squares on training windows.

    Uses the last ``p`` months of each window (``p=None``: the whole window).
    """

    kind = "ar"

    def __init__(self, p: int | None = None):
        if p is not None and p < 1:
            raise ValueError(f"AR order p must be >= 1, got {p}.")
        self.p = p
        self.coef_: np.ndarray | None = None  # (1 + p,): intercept, then oldest .. newest month

    def _design(self, X: np.ndarray) -> np.ndarray:
        X = np.asarray(X, dtype=np.float64)
        p = self.p or X.shape[1]
        if p > X.shape[1]:
            raise ValueError(f"AR({p}) needs windows of at least {p} months, got {X.shape[1]}; "
                             f"use split_series(..., window={p}).")
        return np.column_stack([np.ones(len(X)), X[:, -p:]])  # (n, 1 + p)

    def fit(self, X: np.ndarray, y: np.ndarray) -> "AutoRegressive":
        self.coef_, *_ = np.linalg.lstsq(self._design(X), np.asarray(y, dtype=np.float64), rcond=None)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        if self.coef_ is None:
            raise RuntimeError("This AutoRegressive model is not fitted yet; call .fit(X_train, y_train).")
        return self._design(X) @ self.coef_

    def num_parameters(self) -> int:
        return 0 if self.coef_ is None else len(self.coef_)


def _efficient_forecaster(key: str, **kwargs):
    em = importlib.import_module("seqlab.efficient_models")  # lazy, like the Mamba block
    if key in ("transformer", "linear_transformer"):
        return em.TransformerForecaster(attention="softmax" if key == "transformer" else "linear", **kwargs)
    return em.Mamba2Forecaster(**kwargs) if key == "mamba2" else em.SAMoVARForecaster(**kwargs)


def _persistence(**kwargs) -> Persistence:
    if kwargs:
        raise ValueError(f"persistence takes no arguments, got {sorted(kwargs)}.")
    return Persistence()


# kind -> builder(**kwargs). Add a forecaster here and every tool that trains forecasters knows it.
FORECASTERS: dict[str, Callable] = {
    "rnn": functools.partial(RecurrentForecaster, "rnn"),
    "gru": functools.partial(RecurrentForecaster, "gru"),
    "lstm": functools.partial(RecurrentForecaster, "lstm"),
    "mamba": MambaForecaster,
    # lesson 06's models (seqlab.efficient_models, imported when first built)
    **{kind: functools.partial(_efficient_forecaster, kind) for kind in EFFICIENT},
    "persistence": _persistence,
    "ar": AutoRegressive,
}
BASELINES = ("persistence", "ar")  # fitted by least squares (or not at all), never trained


def forecaster_kinds() -> tuple[str, ...]:
    """The registered kinds, networks first, in registration order."""
    return tuple(FORECASTERS)


def make_forecaster(kind: str, *, seed: int | None = None, **kwargs):
    """A forecaster by kind (a key of ``FORECASTERS``: ``rnn``, ``gru``, ``lstm``, ``mamba``, ``persistence``,
    ``ar``, ...).

    ``seed`` (if given) seeds torch before the weights are drawn. Other keyword arguments go to
    the builder (``RecurrentForecaster``, ``MambaForecaster``, ``AutoRegressive``, ...).
    """
    key = kind.lower()
    if key not in FORECASTERS:
        raise ValueError(f"Unknown model {kind!r}; expected one of {', '.join(FORECASTERS)}.")
    if seed is not None:
        torch.manual_seed(seed)
    return FORECASTERS[key](**kwargs)


def is_trained(model) -> bool:
    """True for a network that ``seqlab.train.train`` trains; False for a baseline fitted with ``fit``."""
    return isinstance(model, nn.Module)


def count_parameters(model) -> int:
    """Trainable parameters of a torch module (or a baseline's fitted coefficients)."""
    if isinstance(model, nn.Module):
        return sum(p.numel() for p in model.parameters() if p.requires_grad)
    return model.num_parameters()
