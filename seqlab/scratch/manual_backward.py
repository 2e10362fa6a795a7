"""The backward pass of one GRU step and one LSTM step, derived by hand.

Autograd does this for us; writing it out once shows where the gradient goes: through the
gates' slopes s(1 - s) and 1 - tanh^2, and, for the state, along the "highway" terms
(z * dh' in the GRU, f * dc' in the LSTM) that let gradients survive many steps.

Glossary (one step; N batch, I input features, H hidden features)
    x (N, I) input;  h (N, H) previous hidden state;  c (N, H) previous LSTM cell state
    W_ih (G*H, I), W_hh (G*H, H), b_ih, b_hh (G*H,)  gate blocks stacked like torch.nn
    a_*   pre-activation of a gate (N, H);  sigma(a) = 1 / (1 + e^-a), sigma' = s (1 - s)
    tanh' = 1 - tanh^2
    d<v>  dL/d<v>, the gradient of the loss w.r.t. v, same shape as v
    "upstream" gradients: dh' (and dc' for the LSTM) w.r.t. this step's outputs

Each ``*_step_forward`` returns the output and a cache of what backward needs; each
``*_step_backward`` maps upstream gradients to the gradients of every input. The
``torch.autograd.Function`` wrappers (``GRUStepFunction.apply(x, h, W_ih, W_hh, b_ih, b_hh)``,
``LSTMStepFunction.apply(x, h, c, W_ih, W_hh, b_ih, b_hh)``) plug them into autograd; the tests
check them with ``torch.autograd.gradcheck`` and against autograd through ``cells.gru_step`` /
``cells.lstm_step``. The fast path (fast_path.py) uses the same formulas over whole sequences.
"""

from __future__ import annotations

import torch

__all__ = [
    "gru_step_forward",
    "gru_step_backward",
    "lstm_step_forward",
    "lstm_step_backward",
    "GRUStepFunction",
    "LSTMStepFunction",
]


def _linear(x, W, b):
    return x @ W.T if b is None else x @ W.T + b


def _weight_grads(d_in, d_hid, x, h, need_bias):
    """Gradients of W_ih, W_hh, b_ih, b_hh from the grads of W_ih x + b_ih and W_hh h + b_hh."""
    dW_ih = d_in.T @ x  # (G*H, N) @ (N, I): sum over the batch of outer products
    dW_hh = d_hid.T @ h  # (G*H, H)
    db_ih = d_in.sum(0) if need_bias else None  # (G*H,)
    db_hh = d_hid.sum(0) if need_bias else None
    return dW_ih, dW_hh, db_ih, db_hh


# --- GRU ------------------------------------------------------------------------------------


def gru_step_forward(x, h, W_ih, W_hh, b_ih=None, b_hh=None):
    """h' of one GRU step (torch.nn.GRUCell's equations) and the cache for backward.

        a_r = W_ir x + b_ir + W_hr h + b_hr          r = sigma(a_r)
        a_z = W_iz x + b_iz + W_hz h + b_hz          z = sigma(a_z)
        m   = W_hn h + b_hn                           (the hidden part of the candidate)
        a_n = W_in x + b_in + r * m                   n = tanh(a_n)
        h'  = (1 - z) * n + z * h
    """
    x_r, x_z, x_n = _linear(x, W_ih, b_ih).chunk(3, dim=1)  # (N, H) each
    h_r, h_z, m = _linear(h, W_hh, b_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * m)
    h_new = (1 - z) * n + z * h
    cache = (x, h, W_ih, W_hh, b_ih is not None, r, z, n, m)
    return h_new, cache


def gru_step_backward(dh_new, cache):
    """Gradients of one GRU step, given dh' = dL/dh'.

    Derivation (chain rule on the forward equations, bottom to top):
        h' = (1 - z) n + z h      =>  dn = dh' (1 - z),   dz = dh' (h - n),   dh += dh' z
        n  = tanh(a_n)            =>  da_n = dn (1 - n^2)
        a_n = ... + r * m         =>  dr = da_n m,        dm = da_n r
        r = sigma(a_r)            =>  da_r = dr r (1 - r)
        z = sigma(a_z)            =>  da_z = dz z (1 - z)
    The input side W_ih x + b_ih received [da_r, da_z, da_n]; the hidden side
    W_hh h + b_hh received [da_r, da_z, dm] (r multiplies only the hidden part of n). Then
        dW_ih = [da_r, da_z, da_n]^T x     dx = [da_r, da_z, da_n] W_ih
        dW_hh = [da_r, da_z, dm]^T h       dh = dh' z + [da_r, da_z, dm] W_hh
    and the bias gradients are those row vectors summed over the batch.

    Returns: dx (N, I), dh (N, H), dW_ih, dW_hh, db_ih, db_hh (biases None if absent).
    """
    x, h, W_ih, W_hh, has_bias, r, z, n, m = cache
    dn = dh_new * (1 - z)
    dz = dh_new * (h - n)
    da_n = dn * (1 - n * n)
    dr = da_n * m
    dm = da_n * r
    da_r = dr * r * (1 - r)
    da_z = dz * z * (1 - z)
    d_in = torch.cat([da_r, da_z, da_n], dim=1)  # (N, 3H): grad of W_ih x + b_ih
    d_hid = torch.cat([da_r, da_z, dm], dim=1)  # (N, 3H): grad of W_hh h + b_hh
    dx = d_in @ W_ih
    dh = dh_new * z + d_hid @ W_hh
    return (dx, dh, *_weight_grads(d_in, d_hid, x, h, has_bias))


# --- LSTM -----------------------------------------------------------------------------------


def lstm_step_forward(x, h, c, W_ih, W_hh, b_ih=None, b_hh=None):
    """(h', c') of one LSTM step (torch.nn.LSTMCell's equations) and the cache for backward.

        [a_i, a_f, a_g, a_o] = W_ih x + b_ih + W_hh h + b_hh
        i = sigma(a_i)   f = sigma(a_f)   g = tanh(a_g)   o = sigma(a_o)
        c' = f * c + i * g
        h' = o * tanh(c')
    """
    a_i, a_f, a_g, a_o = (_linear(x, W_ih, b_ih) + _linear(h, W_hh, b_hh)).chunk(4, dim=1)
    i = torch.sigmoid(a_i)
    f = torch.sigmoid(a_f)
    g = torch.tanh(a_g)
    o = torch.sigmoid(a_o)
    c_new = f * c + i * g
    tanh_c = torch.tanh(c_new)
    h_new = o * tanh_c
    cache = (x, h, c, W_ih, W_hh, b_ih is not None, i, f, g, o, tanh_c)
    return (h_new, c_new), cache


def lstm_step_backward(dh_new, dc_new, cache):
    """Gradients of one LSTM step, given dh' = dL/dh' and dc' = dL/dc' (from the next step).

    Derivation (bottom to top):
        h' = o tanh(c')        =>  do = dh' tanh(c'),  and c' gets dh' o (1 - tanh^2(c'))
        dc_total = dc' + dh' o (1 - tanh^2(c'))          (both paths into c')
        c' = f c + i g         =>  df = dc_total c,  di = dc_total g,  dg = dc_total i,
                                   dc = dc_total f   (the cell-state highway)
        da_i = di i (1 - i)    da_f = df f (1 - f)    da_g = dg (1 - g^2)    da_o = do o (1 - o)
    Both W_ih x + b_ih and W_hh h + b_hh received da = [da_i, da_f, da_g, da_o], so
        dW_ih = da^T x   dW_hh = da^T h   dx = da W_ih   dh = da W_hh   db_ih = db_hh = sum(da).

    Returns: dx (N, I), dh (N, H), dc (N, H), dW_ih, dW_hh, db_ih, db_hh (biases None if absent).
    """
    x, h, c, W_ih, W_hh, has_bias, i, f, g, o, tanh_c = cache
    do = dh_new * tanh_c
    dc_total = dc_new + dh_new * o * (1 - tanh_c * tanh_c)
    di = dc_total * g
    df = dc_total * c
    dg = dc_total * i
    dc = dc_total * f
    da_i = di * i * (1 - i)
    da_f = df * f * (1 - f)
    da_g = dg * (1 - g * g)
    da_o = do * o * (1 - o)
    da = torch.cat([da_i, da_f, da_g, da_o], dim=1)  # (N, 4H)
    dx = da @ W_ih
    dh = da @ W_hh
    return (dx, dh, dc, *_weight_grads(da, da, x, h, has_bias))


# --- autograd wrappers ----------------------------------------------------------------------


def _save(ctx, cache):
    """save_for_backward the cache's tensors (so autograd checks they are not changed in place)."""
    ctx.has_bias = next(v for v in cache if isinstance(v, bool))
    ctx.save_for_backward(*(v for v in cache if not isinstance(v, bool)))


def _load(ctx, bool_at):
    tensors = list(ctx.saved_tensors)
    return tuple(tensors[:bool_at] + [ctx.has_bias] + tensors[bool_at:])


class GRUStepFunction(torch.autograd.Function):
    """``GRUStepFunction.apply(x, h, W_ih, W_hh, b_ih, b_hh) -> h'`` with the hand-written backward."""

    @staticmethod
    def forward(ctx, x, h, W_ih, W_hh, b_ih=None, b_hh=None):
        h_new, cache = gru_step_forward(x, h, W_ih, W_hh, b_ih, b_hh)
        _save(ctx, cache)
        return h_new

    @staticmethod
    def backward(ctx, dh_new):
        return gru_step_backward(dh_new, _load(ctx, bool_at=4))


class LSTMStepFunction(torch.autograd.Function):
    """``LSTMStepFunction.apply(x, h, c, W_ih, W_hh, b_ih, b_hh) -> (h', c')``, hand-written backward."""

    @staticmethod
    def forward(ctx, x, h, c, W_ih, W_hh, b_ih=None, b_hh=None):
        (h_new, c_new), cache = lstm_step_forward(x, h, c, W_ih, W_hh, b_ih, b_hh)
        _save(ctx, cache)
        return h_new, c_new

    @staticmethod
    def backward(ctx, dh_new, dc_new):
        return lstm_step_backward(dh_new, dc_new, _load(ctx, bool_at=5))
