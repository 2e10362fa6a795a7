"""Sunspot forecasters: RNN, GRU, LSTM, Mamba, and the two baselines they must beat.

Every forecaster reads a window of ``l`` scaled months and predicts the next one:

    input  x  (b, l, 1)   batch_first, one feature (the scaled sunspot number)
    output y  (b,)        the prediction for month l + 1 (the trailing size-1 dim is squeezed)

The recurrent ones are ``rnn -> Linear(hidden_size, 1)`` on the last time step, exactly the lab's
design. ``backend="nn"`` builds the recurrent layers from torch.nn, ``backend="scratch"`` from
seqlab.scratch; both take the same arguments and have the same ``state_dict`` keys, so one's
weights load into the other and give the same predictions.

Baselines work on numpy windows ``X (n, window)``: ``Persistence`` (next month = this month) and
``AutoRegressive`` (AR(p): least squares with intercept on the last p months of each window).

Lab defaults (its "baseline settings"): hidden 64, 2 layers, tanh, dropout 0.2 for the LSTM and
0 for the others; Mamba d_model 64, d_state 16, d_conv 4, expand 2.
"""

from __future__ import annotations

import importlib

import numpy as np
import torch
from torch import nn

RECURRENT = {"rnn": "RNN", "gru": "GRU", "lstm": "LSTM"}
EFFICIENT = ("transformer", "linear_transformer", "mamba2", "samovar")  # seqlab.efficient_models (lesson 06)
NEURAL = (*RECURRENT, "mamba", *EFFICIENT)
BASELINES = ("persistence", "ar")
MODEL_NAMES = (*NEURAL, *BASELINES)


def _recurrent_class(kind: str, backend: str):
    if kind not in RECURRENT:
        raise ValueError(f"Unknown recurrent kind {kind!r}; expected one of {sorted(RECURRENT)}.")
    if backend == "nn":
        module = nn
    elif backend == "scratch":
        module = importlib.import_module("seqlab.scratch")  # lazy: only when asked for
    else:
        raise ValueError(f"backend must be 'nn' (torch.nn) or 'scratch' (seqlab.scratch), got {backend!r}.")
    return getattr(module, RECURRENT[kind])


class RecurrentForecaster(nn.Module):
    """``(b, l, 1) -> (b,)``: a stacked RNN/GRU/LSTM, then ``Linear(hidden_size, 1)`` on the last step.

    Args:
        kind: ``"rnn"``, ``"gru"`` or ``"lstm"``.
        hidden_size, num_layers, dropout: as in torch.nn (dropout acts between layers).
        nonlinearity: ``"tanh"`` or ``"relu"`` (RNN only).
        layer_norm: LayerNorm on the last hidden state before the head (the lab's LSTM trial).
        backend: ``"nn"`` or ``"scratch"``.
    """

    def __init__(self, kind: str = "lstm", hidden_size: int = 64, num_layers: int = 2,
                 dropout: float | None = None, nonlinearity: str = "tanh", layer_norm: bool = False,
                 backend: str = "nn", input_size: int = 1):
        super().__init__()
        kind = kind.lower()
        cls = _recurrent_class(kind, backend)
        if dropout is None:
            dropout = 0.2 if kind == "lstm" else 0.0  # the lab's defaults
        kwargs = dict(input_size=input_size, hidden_size=hidden_size, num_layers=num_layers,
                      batch_first=True, dropout=dropout)
        if kind == "rnn":
            kwargs["nonlinearity"] = nonlinearity
        elif nonlinearity != "tanh":
            raise ValueError(f"nonlinearity applies to 'rnn' only; {kind} has fixed gates (got {nonlinearity!r}).")
        self.kind, self.backend = kind, backend
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
        Mamba = importlib.import_module("seqlab.mamba").Mamba  # lazy: the block lives in seqlab.mamba
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


class Persistence:
    """Next month equals the last month of the window: ``y_hat = X[:, -1]``."""

    name = "persistence"

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

    name = "ar"

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


def make_forecaster(name: str, *, seed: int | None = None, **kwargs):
    """A forecaster by name: ``rnn``, ``gru``, ``lstm``, ``mamba``, ``transformer``, ``linear_transformer``,
    ``mamba2``, ``samovar``, ``persistence`` or ``ar``.

    ``seed`` (if given) seeds torch before the weights are drawn. Other keyword arguments go to
    the constructor (``RecurrentForecaster``, ``MambaForecaster``, ``AutoRegressive``).
    """
    key = name.lower()
    if key not in MODEL_NAMES:
        raise ValueError(f"Unknown model {name!r}; expected one of {', '.join(MODEL_NAMES)}.")
    if seed is not None:
        torch.manual_seed(seed)
    if key in RECURRENT:
        return RecurrentForecaster(key, **kwargs)
    if key == "mamba":
        return MambaForecaster(**kwargs)
    if key in EFFICIENT:
        return _efficient_forecaster(key, **kwargs)
    if key == "persistence":
        if kwargs:
            raise ValueError(f"persistence takes no arguments, got {sorted(kwargs)}.")
        return Persistence()
    return AutoRegressive(**kwargs)


def _efficient_forecaster(key: str, **kwargs):
    em = importlib.import_module("seqlab.efficient_models")  # lazy, like the Mamba block
    if key in ("transformer", "linear_transformer"):
        return em.TransformerForecaster(attention="softmax" if key == "transformer" else "linear", **kwargs)
    return em.Mamba2Forecaster(**kwargs) if key == "mamba2" else em.SAMoVARForecaster(**kwargs)


def count_parameters(model) -> int:
    """Trainable parameters of a torch module (or a baseline's fitted coefficients)."""
    if isinstance(model, nn.Module):
        return sum(p.numel() for p in model.parameters() if p.requires_grad)
    return model.num_parameters()
