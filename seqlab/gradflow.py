"""Measure how gradients flow back through time in RNN, GRU and LSTM cells (lesson 02).

Glossary (torch.nn's names and gate order):
    T            seq_len, number of steps; states h_0 (initial) .. h_T (after the last input)
    k            lag T - t; we measure the Jacobian J_k = dh_T / dh_{T-k}, k = 0 .. T
    H, I         hidden_size, input_size
    W_hh         recurrent weight, (G*H, H) with G = 1 (RNN), 3 (GRU: r, z, n), 4 (LSTM: i, f, g, o)
    rho          spectral radius max |eig(W)| of a square (H, H) block of W_hh
    ||J||        spectral norm (largest singular value): the most any unit-length change of
                 h_{T-k} can grow or shrink on its way to h_T
    gate bias    bias of chunk 1 of bias_ih/bias_hh: the update gate z of a GRU, the forget gate
                 f of an LSTM (PyTorch stores both as the 2nd chunk)

PyTorch's GRU (torch.nn.GRU docs) computes h' = (1 - z) * n + z * h, so z -> 1 *keeps* the old
state and dh'/dh = diag(z) + (terms through r, z and n), which is the identity when z = 1.
The LSTM's cell c' = f * c + i * g gives dc'/dc = diag(f) + (terms through h), so f -> 1 keeps c.

For an LSTM the state is (h, c). ``state="h"`` measures dh_T/dh_{T-k}: the change of h_T when
h_{T-k} alone is nudged (c_{T-k} held), through every path after step T-k (h -> gates -> c -> h
as well as h -> h). ``state="c"`` measures dc_T/dc_{T-k}, the cell "highway", as backprop delivers
it to c_{T-k}: nudging c_{T-k} also nudges h_{T-k} = o * tanh(c_{T-k}) of the same step (o held),
so it is diag(f) plus the terms of the path c -> h -> gates. Both are what ``.grad`` of a state
kept with retain_grad() holds.

Also here: the delay-recall training run of lesson 02 (``train_recall``), whose gradient steps go
through seqlab.train's one training loop.
"""

from __future__ import annotations

import copy
import math
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from .models import NUM_GATES, recurrent_class
from .train import fit_batches, num_threads

__all__ = [
    "LinearRNNCell",
    "make_cell",
    "set_spectral_radius",
    "scale_recurrent_weights",
    "set_gate_bias",
    "orthogonal_init_with_gate_bias",
    "state_jacobians",
    "jacobian_norms",
    "memory_horizon",
    "delay_recall_batch",
    "RecallModel",
    "train_recall",
    "train_recall_seeds",
]

KINDS = tuple(NUM_GATES)  # ("rnn", "gru", "lstm")
NONLINEARITIES = ("tanh", "relu", "linear")


class LinearRNNCell(nn.RNNCell):
    """An RNN cell with no nonlinearity: h' = x W_ih^T + b_ih + h W_hh^T + b_hh.

    Same constructor, parameters and forward as ``torch.nn.RNNCell``. It exists for the oracle
    dh_T/dh_{T-k} = W_hh^k, which holds exactly only without a squashing function.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, **kwargs) -> None:
        super().__init__(input_size, hidden_size, bias, nonlinearity="tanh", **kwargs)
        self.nonlinearity = "linear"

    def forward(self, input: torch.Tensor, hx: torch.Tensor | None = None) -> torch.Tensor:
        if hx is None:
            hx = input.new_zeros(*input.shape[:-1], self.hidden_size)
        return nn.functional.linear(input, self.weight_ih, self.bias_ih) + nn.functional.linear(
            hx, self.weight_hh, self.bias_hh
        )


def _kind_of(cell: nn.Module) -> str:
    """'rnn' | 'gru' | 'lstm' from the number of gate blocks in weight_hh (works for any cell with
    torch.nn's parameter names, e.g. seqlab.scratch cells)."""
    num_gates = cell.weight_hh.shape[0] // cell.weight_hh.shape[1]
    for kind, g in NUM_GATES.items():
        if g == num_gates:
            return kind
    raise ValueError(f"cannot tell the cell kind from weight_hh of shape {tuple(cell.weight_hh.shape)}")


def set_spectral_radius(weight: torch.Tensor, rho: float) -> torch.Tensor:
    """Rescale a square matrix in place so that max |eigenvalue| = rho; returns it.

    weight: (H, H). rho: the target spectral radius, >= 0.
    """
    if weight.ndim != 2 or weight.shape[0] != weight.shape[1]:
        raise ValueError(
            f"set_spectral_radius needs a square (H, H) matrix, got shape {tuple(weight.shape)}; "
            "for a gated cell's (G*H, H) weight_hh use scale_recurrent_weights(cell, rho)"
        )
    if rho < 0:
        raise ValueError(f"spectral radius must be >= 0, got {rho}")
    with torch.no_grad():
        current = torch.linalg.eigvals(weight.double()).abs().max().item()
        if current == 0:
            raise ValueError("the matrix is nilpotent (all eigenvalues 0); it cannot be rescaled to a radius")
        weight.mul_(rho / current)
    return weight


def scale_recurrent_weights(cell: nn.Module, rho: float) -> nn.Module:
    """Give every (H, H) gate block of ``cell.weight_hh`` the spectral radius rho (in place)."""
    H = cell.weight_hh.shape[1]
    with torch.no_grad():
        for block in cell.weight_hh.split(H, dim=0):  # views: (H, H) each
            set_spectral_radius(block, rho)
    return cell


def set_gate_bias(module: nn.Module, value: float) -> nn.Module:
    """Set the pre-activation bias of chunk 1 (GRU update gate z, LSTM forget gate f) to ``value``.

    Works on cells (``bias_ih``) and on multi-layer modules (``bias_ih_l0``, ``bias_ih_l0_reverse``,
    ...): bias_ih's chunk gets ``value`` and bias_hh's chunk gets 0, so the gate's total bias is
    ``value`` and sigmoid(value) is its value when input and state are 0.
    """
    params = dict(module.named_parameters())
    ih_names = [n for n in params if n.startswith("bias_ih")]
    if not ih_names:
        raise ValueError(f"{type(module).__name__} has no bias_ih*: build it with bias=True to set a gate bias")
    for name in ih_names:
        b_ih, b_hh = params[name], params[name.replace("bias_ih", "bias_hh")]
        num_gates = b_ih.shape[0] // (params[name.replace("bias_ih", "weight_hh")].shape[1])
        if num_gates not in (NUM_GATES["gru"], NUM_GATES["lstm"]):
            raise ValueError(f"gate bias needs a GRU (3 gate blocks) or LSTM (4); {name} has {num_gates}")
        H = b_ih.shape[0] // num_gates
        with torch.no_grad():
            b_ih[H : 2 * H] = value
            b_hh[H : 2 * H] = 0.0
    return module


def orthogonal_init_with_gate_bias(module: nn.Module, bias: float = 1.0) -> nn.Module:
    """Orthogonal (H, H) blocks in every weight_hh* and gate bias ``bias`` (see set_gate_bias).

    An orthogonal W has all singular values 1, so the linear part of dh'/dh neither grows nor
    shrinks a gradient; a positive update/forget bias starts z (f) near 1, the carry-through regime.
    """
    with torch.no_grad():
        for name, p in module.named_parameters():
            if name.startswith("weight_hh"):
                for block in p.split(p.shape[1], dim=0):
                    nn.init.orthogonal_(block)
    return set_gate_bias(module, bias)


def make_cell(
    kind: str,
    input_size: int = 1,
    hidden_size: int = 32,
    *,
    nonlinearity: str = "tanh",
    spectral_radius: float | None = None,
    gate_bias: float | None = None,
    seed: int = 0,
) -> nn.Module:
    """A seeded torch.nn cell (RNNCell, GRUCell, LSTMCell or LinearRNNCell) with torch's default init.

    Seeds with torch.manual_seed(seed), so it also resets torch's global random generator.

    nonlinearity ('tanh' | 'relu' | 'linear') applies to kind='rnn' only. spectral_radius rescales
    each (H, H) block of weight_hh; gate_bias sets the GRU z / LSTM f bias (gated kinds only).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    if kind != "rnn" and nonlinearity != "tanh":
        raise ValueError(f"nonlinearity={nonlinearity!r} is for kind='rnn' only; GRU/LSTM use tanh and sigmoid")
    if kind == "rnn" and gate_bias is not None:
        raise ValueError("gate_bias needs kind='gru' or 'lstm'; a plain RNN has no gates (pass gate_bias=None)")
    torch.manual_seed(seed)
    if kind == "rnn":
        cell = LinearRNNCell(input_size, hidden_size) if nonlinearity == "linear" else nn.RNNCell(
            input_size, hidden_size, nonlinearity=nonlinearity
        )
    else:
        cell = {"gru": nn.GRUCell, "lstm": nn.LSTMCell}[kind](input_size, hidden_size)
    if spectral_radius is not None:
        scale_recurrent_weights(cell, spectral_radius)
    if gate_bias is not None:
        set_gate_bias(cell, gate_bias)
    return cell


def state_jacobians(
    step: Callable, inputs: torch.Tensor, state0: Sequence[torch.Tensor], *, wrt: int = 0
) -> torch.Tensor:
    """All Jacobians J_k = d s_T / d s_{T-k}, k = 0..T, of one state component s in one backward pass.

    step:    (x (N, I), state tuple of (N, H)) -> new state tuple (a cell's forward, wrapped)
    inputs:  (T, I) one sequence; state0: tuple of (H,) initial states; wrt: which component (0 = h).
    Returns (T + 1, H, H); entry [k, i, j] = d s_T[i] / d s_{T-k}[j].

    How: run H identical copies of the sequence as a batch; copy i backpropagates only s_T[i]
    (loss = trace of s_T viewed as (H, H)), so the .grad of s_t kept with retain_grad() holds
    row i of the Jacobian in its row i. The same trick as torch.func.jacrev, by hand.
    """
    T, H = inputs.shape[0], state0[wrt].shape[-1]
    state = tuple(s.detach().expand(H, H).clone().requires_grad_(True) for s in state0)  # (H copies, H)
    tracked = [state[wrt]]
    for t in range(T):
        state = step(inputs[t].expand(H, -1), state)
        state[wrt].retain_grad()
        tracked.append(state[wrt])
    tracked[-1].diagonal().sum().backward()
    grads = [s.grad if s.grad is not None else torch.zeros_like(s) for s in tracked]  # (H, H) each, index t
    return torch.stack(grads[::-1])  # index k = T - t


def _step_of(cell: nn.Module, kind: str) -> Callable:
    if kind == "lstm":
        return lambda x, state: tuple(cell(x, state))
    return lambda x, state: (cell(x, state[0]),)


def jacobian_norms(
    cell_or_kind: nn.Module | str = "rnn",
    seq_len: int = 100,
    hidden_size: int = 32,
    *,
    input_size: int = 1,
    spectral_radius: float | None = None,
    nonlinearity: str = "tanh",
    gate_bias: float | None = None,
    state: str = "h",
    inputs: torch.Tensor | None = None,
    seed: int = 0,
) -> np.ndarray:
    """||dh_T / dh_{T-k}||_2 for k = 0..seq_len, on one random input sequence; shape (seq_len + 1,).

    cell_or_kind: 'rnn' | 'gru' | 'lstm' (a seeded torch.nn cell is built with make_cell and the
        keyword options), or a cell with torch.nn's forward (then hidden/input sizes come from it,
        and spectral_radius/gate_bias, if given, are applied to a copy of it).
    inputs: (seq_len, input_size); default N(0, 1) noise from ``seed``. Initial state: zeros.
    state: 'h' or, for an LSTM, 'c' (dc_T/dc_{T-k}); see the module docstring.
    Entry 0 is ||I|| = 1.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be >= 1, got {seq_len}")
    if isinstance(cell_or_kind, str):
        cell = make_cell(
            cell_or_kind, input_size, hidden_size, nonlinearity=nonlinearity,
            spectral_radius=spectral_radius, gate_bias=gate_bias, seed=seed,
        )
    else:
        cell = copy.deepcopy(cell_or_kind)  # measured in float64 below; the caller's cell is untouched
        if spectral_radius is not None:
            scale_recurrent_weights(cell, spectral_radius)
        if gate_bias is not None:
            set_gate_bias(cell, gate_bias)
    cell = cell.double()  # float64: lag-200 norms of 1e-60 would underflow float32 to 0
    kind = _kind_of(cell)
    if state not in ("h", "c") or (state == "c" and kind != "lstm"):
        raise ValueError(f"state must be 'h' (any cell) or 'c' (LSTM only), got {state!r} for a {kind} cell")
    H, I = cell.weight_hh.shape[1], cell.weight_ih.shape[1]
    if inputs is None:
        inputs = torch.randn(seq_len, I, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    if inputs.shape != (seq_len, I):
        raise ValueError(f"inputs must have shape (seq_len, input_size) = {(seq_len, I)}, got {tuple(inputs.shape)}")
    inputs = inputs.double()
    state0 = (torch.zeros(H, dtype=torch.float64),) * (2 if kind == "lstm" else 1)
    J = state_jacobians(_step_of(cell, kind), inputs, state0, wrt=1 if state == "c" else 0)
    return torch.linalg.matrix_norm(J, ord=2).numpy()  # (T + 1,)


def memory_horizon(norms: np.ndarray, threshold: float = 1e-2) -> int:
    """The largest lag k with ||dh_T/dh_{T-k}|| >= threshold (how far back a gradient still arrives
    at 1% strength by default). Returns len(norms) - 1 when it never drops below the threshold."""
    below = np.nonzero(np.asarray(norms) < threshold)[0]
    return int(below[0]) - 1 if below.size else len(norms) - 1


# ---------------------------------------------------------------- a training run where memory matters


def delay_recall_batch(batch_size: int, seq_len: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The delay-recall task: x is N(0, 1) noise (N, L, 1), batch_first; the target is the FIRST
    value, y = x[:, 0] of shape (N, 1), to be read out after the last step, seq_len - 1 steps later.
    Predicting 0 (no memory) gives MSE 1, so the loss says how much of x[:, 0] survived."""
    x = torch.randn(batch_size, seq_len, 1, generator=generator)
    return x, x[:, 0].clone()


class RecallModel(nn.Module):
    """nn.GRU (or LSTM/RNN) with a linear head on the last hidden state: (N, L, 1) -> (N, 1)."""

    def __init__(self, kind: str = "gru", hidden_size: int = 32) -> None:
        super().__init__()
        self.rnn = recurrent_class(kind)(1, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (N, L, H)
        return self.head(out[:, -1])  # (N, 1)


def train_recall(
    *,
    kind: str = "gru",
    init: str = "default",
    gate_bias: float = 2.0,
    spectral_radius: float | None = None,
    clip: float | None = None,
    optimizer: str = "adam",
    steps: int = 300,
    seq_len: int = 50,
    hidden_size: int = 32,
    batch_size: int = 64,
    lr: float = 1e-2,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, np.ndarray]:
    """Train a RecallModel on delay_recall_batch; return per-step 'loss' and 'grad_norm' (the global
    gradient norm *before* clipping), each a (steps,) array (NaN/inf once a run has blown up).

    init: 'default' (torch's uniform init) or 'orthogonal' (orthogonal_init_with_gate_bias with
    ``gate_bias``; GRU/LSTM only). spectral_radius: rescale each (H, H) block of weight_hh_l0 after
    init. clip: max_norm for torch.nn.utils.clip_grad_norm_, or None for no clipping.
    optimizer: 'adam' or 'sgd' (momentum 0.9; its step is proportional to the gradient, so an
    exploding gradient is an exploding step, which is what clipping guards against).
    """
    if init not in ("default", "orthogonal"):
        raise ValueError(f"init must be 'default' or 'orthogonal', got {init!r}")
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    torch.manual_seed(seed)
    model = RecallModel(kind, hidden_size)
    if init == "orthogonal":
        orthogonal_init_with_gate_bias(model.rnn, gate_bias)
    if spectral_radius is not None:
        with torch.no_grad():
            for block in model.rnn.weight_hh_l0.split(hidden_size, dim=0):
                set_spectral_radius(block, spectral_radius)
    if optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=lr)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    data = torch.Generator().manual_seed(seed + 1)
    label = f"{kind} {init} clip={clip}"
    batches = (delay_recall_batch(batch_size, seq_len, data)
               for _ in tqdm(range(steps), desc=label, disable=not progress, leave=False))
    # max_loss=None: a run that blows up keeps going, its NaN/inf losses are the lesson's point
    run = fit_batches(model, batches, nn.functional.mse_loss, opt, clip_grad_norm=clip,
                      measure_grad_norm=True, max_loss=None)
    return {"loss": np.array(run.loss, dtype=float), "grad_norm": np.array(run.grad_norm, dtype=float)}


def _recall_job(job: tuple[dict, int]) -> dict[str, np.ndarray]:
    kwargs, seed = job
    with num_threads(1):
        return train_recall(seed=seed, progress=False, **kwargs)


def train_recall_seeds(settings: dict[str, dict], seeds: Sequence[int] = (0, 1, 2), *, jobs: int = 2,
                       progress: bool = True) -> dict[str, list[dict[str, np.ndarray]]]:
    """``train_recall(**settings[label], seed=seed)`` for every label and seed: ``{label: [run per seed]}``.

    The runs are independent, so they are spread over ``jobs`` processes (on 2 cores, about half the
    time of one after the other); each runs on one thread, so the numbers do not depend on how many
    cores the machine has.
    """
    from .parallel import map_in_processes

    work = [(label, seed) for label in settings for seed in seeds]
    runs = map_in_processes(_recall_job, [(settings[label], seed) for label, seed in work], jobs,
                            desc="training runs", progress=progress)
    out: dict[str, list] = {label: [] for label in settings}
    for (label, _), run in zip(work, runs):
        out[label].append(run)
    return out
