"""Fast path for the multi-layer modules: one layer, one direction, whole sequence at once.

The reference path (``cells.gru_step`` called once per time step under autograd) builds a
graph of ~15 small ops per step; on a laptop CPU that bookkeeping, not the arithmetic, is
what costs. Here each layer/direction is one ``torch.autograd.Function``:

- forward: the input projection of ALL time steps is one matmul (``x @ W_ih^T``), then per step
  one ``addmm`` for ``W_hh h`` and a few in-place elementwise ops writing into preallocated
  buffers; the gate activations are kept for backward (and for ``return_gates``).
- backward (through time, by hand): per step only the recurrent part - the gradient w.r.t.
  the gate pre-activations from the saved gates, and ``dh_prev = d_gates @ W_hh``. The
  factors that do not depend on the incoming gradient are computed in bulk, for many steps
  at once. The weight gradients are ONE matmul each over all steps after the loop:
  ``dW_ih = sum_t d_gates_t^T x_t``, ``dW_hh = sum_t d_gates_t^T h_{t-1}``.

The per-step formulas are those of ``manual_backward.gru_step_backward`` /
``lstm_step_backward`` (see there for the derivation), rearranged so that factors are
precomputed in bulk. Tests check every gradient against torch.nn, the reference path and
finite differences (gradcheck).

Measured tricks (each saves a few microseconds per step, which is what the small lab shapes
are made of):
- per-step views are made once with ``unbind``; ``W_hh^T`` is made contiguous once;
- states live in one (T+1)-step buffer, so h_{t-1} is a view, not a concatenation;
- the LSTM keeps its gates in the order o|i|f|g, so one ``sigmoid_`` covers o, i, f and, with
  the g rows of the weights times -2, g too: tanh(a) = 1 - 2 sigmoid(-2a) (torch's CPU tanh
  costs ~3x its sigmoid per element here; tanh(c') is computed the same way). The minus sign
  lets ``addcmul`` fold the "1 -" into its neighbours: c' = (i + f c) - 2 i s and
  h' = o - 2 o sigmoid(-2c'), 7 ops per step; g and tanh(c') themselves, which only backward
  and ``return_gates`` read, are formed after the loop in one op each;
- the LSTM backward accumulates the recurrent gradient in place into a copy of the incoming
  one (``addmm_``) and reuses one buffer for dL/dc';
- the LSTM backward writes [d a_o | d a_i | d a_f | d a_g | carried dc] per step, so one
  multiply fills four blocks, and computes its factors in cache-sized blocks of steps
  (``_BLOCK_ELEMENTS``) rather than in one pass over the whole sequence.

Exact beyond first derivatives: the hand-written backward works on saved buffers that are in
no autograd graph, so differentiating it (``create_graph=True``: double backward, gradient
penalties, ``gradgradcheck``) would silently give wrong second derivatives, and under vmap
(``autograd.grad(..., is_grads_batched=True)``) its preallocated buffers cannot hold batched
values. In those two cases each Function's backward instead recomputes the layer from its
saved inputs with the cells' step equations and lets autograd differentiate that
(``_backward_by_autograd``): slower, exact to every order. Under torch.func transforms (vmap,
jvp, grad) and forward-mode AD the modules do not call these Functions at all
(``fast_path_applies``) and run the reference path.

Glossary: T sequence length, N batch, I input features, H hidden features; x (T, N, I);
h0, c0 (N, H); weights (G*H, I), (G*H, H), (G*H,). ``reverse=True`` runs time backwards
(the reverse direction of a bidirectional layer) but stores everything in natural time order.
"""

from __future__ import annotations

import functools

import torch
from torch.autograd import forward_ad

from .._autograd import grads_by_recomputation
from .cells import gru_step, lstm_step, rnn_step

__all__ = ["rnn_layer", "gru_layer", "lstm_layer", "fast_path_applies"]


# --- when the hand-written kernels apply, and the exact fallback when they do not ----------


def fast_path_applies() -> bool:
    """False under torch.func transforms (vmap, grad, jvp, ...) and forward-mode AD.

    The Functions below write into preallocated buffers and implement neither a vmap rule nor
    a jvp; there the modules run the reference path (plain differentiable ops), which every
    transform supports. Same numbers, slower.
    """
    return torch._C._functorch.maybe_current_level() is None and forward_ad._current_level < 0


def _is_batched(t) -> bool:
    """A tensor under vmap: torch.func's, or the one of ``autograd.grad(is_grads_batched=True)``."""
    f = torch._C._functorch
    return t is not None and (f.is_batchedtensor(t) or f.is_legacy_batchedtensor(t))


def _reference_layer(kind, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse, relu=False):
    """The layer by the cells' step equations under autograd; outputs as the Function's
    differentiable ones: RNN/GRU (out,), LSTM (out, c_all), each (T, N, H)."""
    outs, cs, h, c = [None] * x.shape[0], [None] * x.shape[0], h0, c0
    for t in _steps(x.shape[0], reverse):
        if kind == "LSTM":
            (h, c), _ = lstm_step(x[t], h, c, w_ih, w_hh, b_ih, b_hh)
        elif kind == "GRU":
            h, _ = gru_step(x[t], h, w_ih, w_hh, b_ih, b_hh)
        else:
            h, _ = rnn_step(x[t], h, w_ih, w_hh, b_ih, b_hh, "relu" if relu else "tanh")
        outs[t], cs[t] = h, c
    return (torch.stack(outs), torch.stack(cs)) if kind == "LSTM" else (torch.stack(outs),)


def _needs_autograd_backward(grads) -> bool:
    """create_graph=True (grad mode is on inside backward only then) or batched grads (vmap)."""
    return torch.is_grad_enabled() or not fast_path_applies() or any(_is_batched(g) for g in grads)


def _backward_by_autograd(needs, kind, inputs, grad_outputs, **options):
    """The backward as autograd's derivative of the reference equations, from the saved inputs.

    Used instead of the hand-written backward where that one would be wrong or fail: when the
    backward is itself differentiated (``create_graph=True``: double backward, gradient
    penalties; the hand-written one works on buffers outside any graph) and under vmap
    (``is_grads_batched=True``; its preallocated buffers cannot hold batched values). Slower
    (the per-step graph is built once more), and exact to every order.
    """
    return grads_by_recomputation(functools.partial(_reference_layer, kind, **options), inputs, needs,
                                  grad_outputs)


def _steps(T: int, reverse: bool):
    return range(T - 1, -1, -1) if reverse else range(T)


def _state_buffer(h0, T, reverse):
    """One (T+1, N, H) buffer for the initial state and the T new ones, so that both the new
    states and the previous state of every step are views (no concatenation in backward).

    Returns (buffer, states, previous): states[t] is the state after step t, previous[t] the
    state before it, both (T, N, H) in natural time order.
    """
    buffer = h0.new_empty(T + 1, *h0.shape)
    if reverse:  # step t reads the state of step t + 1, the last step reads h0
        buffer[T] = h0
        return buffer, buffer[:T], buffer[1:]
    buffer[0] = h0
    return buffer, buffer[1:], buffer[:T]


def _state_views(buffer, reverse):
    """(states, previous) views of a buffer made by _state_buffer."""
    return (buffer[:-1], buffer[1:]) if reverse else (buffer[1:], buffer[:-1])


def _project(x, w, b):
    """x @ w^T + b for all steps at once: (T, N, I) -> (T, N, G*H). As one 2-D matmul, since
    F.linear on a non-contiguous 3-D x (batch_first) falls back to a much slower batched one."""
    T, N, I = x.shape
    x2 = x.reshape(T * N, I)
    y = x2 @ w.t() if b is None else torch.addmm(b, x2, w.t())
    return y.view(T, N, -1)


def _input_grads(ctx, d_ih, d_hh, x, h_prev, w_ih):
    """Bulk gradients after the time loop: dx, dW_ih, dW_hh, db_ih, db_hh."""
    gh = d_ih.shape[-1]
    need = ctx.needs_input_grad  # (x, h0, [c0,] w_ih, w_hh, b_ih, b_hh, ...)
    off = 1 if ctx.has_cell else 0
    d_ih2, d_hh2 = d_ih.reshape(-1, gh), d_hh.reshape(-1, gh)
    dx = (d_ih2 @ w_ih).view(x.shape) if need[0] else None  # (T, N, I)
    dw_ih = d_ih2.T @ x.reshape(-1, x.shape[-1]) if need[2 + off] else None  # (G*H, I)
    dw_hh = d_hh2.T @ h_prev.reshape(-1, h_prev.shape[-1]) if need[3 + off] else None
    db_ih = d_ih2.sum(0) if need[4 + off] else None
    if not need[5 + off]:
        db_hh = None
    elif d_hh is d_ih and db_ih is not None:
        db_hh = db_ih.clone()  # RNN/LSTM: both biases get the same gradient (own tensor each)
    else:
        db_hh = d_hh2.sum(0)
    return dx, dw_ih, dw_hh, db_ih, db_hh


class _RNNLayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse, relu):
        T = x.shape[0]
        pre_all = _project(x, w_ih, b_ih)  # (T, N, H), becomes the pre-activations
        if b_hh is not None:
            pre_all += b_hh
        out_buf, out, _ = _state_buffer(h0, T, reverse)
        w_hh_t, h = w_hh.t().contiguous(), h0
        for t in _steps(T, reverse):
            pre_all[t].addmm_(h, w_hh_t)  # pre = W_ih x + b_ih + b_hh + W_hh h
            h = torch.clamp(pre_all[t], min=0, out=out[t]) if relu else torch.tanh(pre_all[t], out=out[t])
        ctx.save_for_backward(x, w_ih, w_hh, out_buf, h0, b_ih, b_hh)
        ctx.reverse, ctx.relu, ctx.has_cell = reverse, relu, False
        ctx.mark_non_differentiable(pre_all)
        ctx.set_materialize_grads(False)
        return out, pre_all

    @staticmethod
    def backward(ctx, d_out, _d_pre):
        x, w_ih, w_hh, out_buf, h0, b_ih, b_hh = ctx.saved_tensors
        if _needs_autograd_backward([d_out]):
            inputs = (x, h0, None, w_ih, w_hh, b_ih, b_hh)
            needs = ctx.needs_input_grad[:2] + (False,) + ctx.needs_input_grad[2:]
            grads = _backward_by_autograd(needs, "RNN", inputs, [d_out], reverse=ctx.reverse, relu=ctx.relu)
            return (*grads[:2], *grads[3:], None, None)
        out, h_prev = _state_views(out_buf, ctx.reverse)
        T, N, H = out.shape
        d_out = torch.zeros_like(out) if d_out is None else d_out.contiguous()
        # h' = act(pre): d pre = dh * act'(pre), with act' from the output itself
        slope = (out > 0).to(out.dtype) if ctx.relu else 1 - out * out  # (T, N, H)
        d_pre = torch.empty_like(out)
        steps = list(_steps(T, ctx.reverse))
        dh = d_out[steps[-1]]
        for k in range(T - 1, -1, -1):
            t = steps[k]
            torch.mul(dh, slope[t], out=d_pre[t])
            if k > 0:
                dh = torch.addmm(d_out[steps[k - 1]], d_pre[t], w_hh)
        dh0 = d_pre[steps[0]] @ w_hh if ctx.needs_input_grad[1] else None
        dx, dw_ih, dw_hh, db_ih, db_hh = _input_grads(ctx, d_pre, d_pre, x, h_prev, w_ih)
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None, None


class _GRULayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
        T, N, _ = x.shape
        H = h0.shape[1]
        xi = _project(x, w_ih, b_ih)  # (T, N, 3H): W_ih x + b_ih for every step at once
        gh_all = x.new_empty(T, N, 3 * H)  # W_hh h + b_hh
        rz_all = x.new_empty(T, N, 2 * H)  # r | z
        n_all = x.new_empty(T, N, H)
        out_buf, out, _ = _state_buffer(h0, T, reverse)
        # Per-step views made once (indexing in the loop costs as much as a small op).
        xi_rz, xi_n = xi[..., : 2 * H].unbind(0), xi[..., 2 * H :].unbind(0)
        gh_s, gh_rz, gh_n = gh_all.unbind(0), gh_all[..., : 2 * H].unbind(0), gh_all[..., 2 * H :].unbind(0)
        rz_s, r_s, z_s = rz_all.unbind(0), rz_all[..., :H].unbind(0), rz_all[..., H:].unbind(0)
        n_s, out_s = n_all.unbind(0), out.unbind(0)
        w_hh_t, h = w_hh.t().contiguous(), h0  # (H, 3H), contiguous for a faster matmul
        for t in _steps(T, reverse):
            if b_hh is None:
                torch.mm(h, w_hh_t, out=gh_s[t])
            else:
                torch.addmm(b_hh, h, w_hh_t, out=gh_s[t])
            torch.add(xi_rz[t], gh_rz[t], out=rz_s[t]).sigmoid_()  # r, z
            torch.addcmul(xi_n[t], r_s[t], gh_n[t], out=n_s[t]).tanh_()  # n
            h = torch.lerp(n_s[t], h, z_s[t], out=out_s[t])  # h' = n + z * (h - n)
        ctx.save_for_backward(x, w_ih, w_hh, out_buf, gh_all, rz_all, n_all, h0, b_ih, b_hh)
        ctx.reverse, ctx.has_cell = reverse, False
        ctx.mark_non_differentiable(rz_all, n_all)
        ctx.set_materialize_grads(False)
        return out, rz_all, n_all

    @staticmethod
    def backward(ctx, d_out, _d_rz, _d_n):
        x, w_ih, w_hh, out_buf, gh_all, rz_all, n_all, h0, b_ih, b_hh = ctx.saved_tensors
        if _needs_autograd_backward([d_out]):
            inputs = (x, h0, None, w_ih, w_hh, b_ih, b_hh)
            needs = ctx.needs_input_grad[:2] + (False,) + ctx.needs_input_grad[2:]
            grads = _backward_by_autograd(needs, "GRU", inputs, [d_out], reverse=ctx.reverse)
            return (*grads[:2], *grads[3:], None)
        out, h_prev = _state_views(out_buf, ctx.reverse)  # (T, N, H) each
        T, N, H = out.shape
        d_out = torch.zeros_like(out) if d_out is None else d_out.contiguous()
        r, z, n, gh_n = rz_all[..., :H], rz_all[..., H:], n_all, gh_all[..., 2 * H :]
        # Factors that do not depend on the incoming gradient, for all steps at once:
        dn_pre_per_dh = (1 - z) * (1 - n * n)  # d a_n / d h'
        per_dh = torch.stack([(h_prev - n) * z * (1 - z), dn_pre_per_dh * r], dim=2)  # (T,N,2,H)
        hr_per_hn = gh_n * (1 - r)  # d a_r = dm * m (1 - r), with m = W_hn h + b_hn = gh_n
        d_hh = x.new_empty(T, N, 3 * H)  # grads of W_hh h + b_hh: [d a_r, d a_z, dm = r d a_n]
        dh_all = x.new_empty(T, N, H)  # total dL/dh' per step
        d_hh_s, d_hh_zn = d_hh.unbind(0), d_hh.view(T, N, 3, H)[:, :, 1:].unbind(0)
        d_hh_r, d_hh_n = d_hh[..., :H].unbind(0), d_hh[..., 2 * H :].unbind(0)
        dh_s, d_out_s, z_s = dh_all.unbind(0), d_out.unbind(0), z.unbind(0)
        per_dh_s, hr_s = per_dh.unbind(0), hr_per_hn.unbind(0)
        steps = list(_steps(T, ctx.reverse))
        dh_all[steps[-1]] = d_out[steps[-1]]
        dh0 = None
        for k in range(T - 1, -1, -1):
            t = steps[k]
            dh = dh_s[t]
            torch.mul(dh.unsqueeze(1), per_dh_s[t], out=d_hh_zn[t])  # d a_z, d (W_hn h + b_hn)
            torch.mul(d_hh_n[t], hr_s[t], out=d_hh_r[t])  # d a_r
            if k > 0:
                tp = steps[k - 1]
                torch.addcmul(d_out_s[tp], dh, z_s[t], out=dh_s[tp]).addmm_(d_hh_s[t], w_hh)
            elif ctx.needs_input_grad[1]:
                dh0 = torch.addmm(dh * z_s[t], d_hh_s[t], w_hh)
        d_ih = d_hh.clone()
        torch.mul(dh_all, dn_pre_per_dh, out=d_ih[..., 2 * H :])  # d a_n (without the r)
        dx, dw_ih, dw_hh, db_ih, db_hh = _input_grads(ctx, d_ih, d_hh, x, h_prev, w_ih)
        return dx, dh0, dw_ih, dw_hh, db_ih, db_hh, None


# The LSTM kernel keeps its gate blocks in the order o, i, f, g (torch.nn: i, f, g, o): the
# sigmoid gates o, i, f are contiguous (one op; with g's rows times -2, g joins it), and so are
# i, f, g, the three that the backward multiplies by dc. Weights are rotated by one block on
# the way in, gradients rotated back on the way out (torch.roll; advanced indexing is ~10x
# slower here).


def _to_kernel_order(w, H):
    """(4H, ...) i|f|g|o -> o|i|f|g along dim 0."""
    return torch.roll(w, H, dims=0)


_BLOCK_ELEMENTS = 65536  # N*H*K per block of LSTM backward factors (measured: 16 steps at N*H = 4096)


def _g_times_minus_2(w, H):
    """Copy of kernel-order w with the g block times -2, for tanh(a) = 1 - 2 sigmoid(-2a): one
    sigmoid then serves all four gates (torch's CPU tanh costs ~3x its sigmoid per element)."""
    w = w.clone()
    w[3 * H :].mul_(-2)  # in place on the view (`w[...] *= -2` would also copy it back)
    return w


def _to_torch_order_rows(d, H):
    """(4H, ...) o|i|f|g -> i|f|g|o along dim 0."""
    return torch.roll(d, -H, dims=0)


class _LSTMLayer(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse):
        T, N, _ = x.shape
        H = h0.shape[1]
        bias = None if b_ih is None else _g_times_minus_2(_to_kernel_order(b_ih + b_hh, H), H)
        w_ih_k = _to_kernel_order(w_ih, H)  # (4H, I) in kernel order
        w_hh_k = _to_kernel_order(w_hh, H)  # (4H, H) in kernel order
        gates = _project(x, _g_times_minus_2(w_ih_k, H), bias)  # (T, N, 4H) a_o|a_i|a_f|-2a_g
        w_hh_kt = _g_times_minus_2(w_hh_k, H).t().contiguous()  # (H, 4H)
        c_buf, c_all, _ = _state_buffer(c0, T, reverse)
        sig_c = x.new_empty(T, N, H)  # sigmoid(-2c') per step, tanh(c') after the loop
        out_buf, out, _ = _state_buffer(h0, T, reverse)
        minus_two, one = x.new_tensor((-2.0, 1.0)).unbind()  # 0-d: cheaper than Python scalars
        # Per-step views made once (indexing in the loop costs as much as a small op).
        g_s, sg_s = gates.unbind(0), gates[..., 3 * H :].unbind(0)
        o_s, i_s, f_s = (gates[..., k * H : (k + 1) * H].unbind(0) for k in range(3))
        c_s, sc_s, out_s = c_all.unbind(0), sig_c.unbind(0), out.unbind(0)
        h, c = h0, c0
        for t in _steps(T, reverse):
            g_s[t].addmm_(h, w_hh_kt).sigmoid_()  # o, i, f and s = sigmoid(-2 a_g)
            # c' = f c + i g with g = tanh(a_g) = 1 - 2 s: (i + f c) - 2 i s, two ops
            c = torch.addcmul(i_s[t], f_s[t], c, out=c_s[t]).addcmul_(i_s[t], sg_s[t], value=-2)
            torch.mul(c, minus_two, out=sc_s[t]).sigmoid_()  # sigmoid(-2c')
            h = torch.addcmul(o_s[t], o_s[t], sc_s[t], value=-2, out=out_s[t])  # o tanh(c')
        # What backward and return_gates read, in bulk: g = 1 - 2 s and tanh(c') = 1 - 2 sigmoid(-2c')
        g_block = gates[..., 3 * H :]
        torch.add(one, g_block, alpha=-2, out=g_block)
        tanh_c = torch.add(one, sig_c, alpha=-2, out=sig_c)
        ctx.save_for_backward(x, w_ih_k, w_hh_k, out_buf, c_buf, tanh_c, gates, h0, c0, w_ih, w_hh, b_ih, b_hh)
        ctx.reverse, ctx.has_cell = reverse, True
        ctx.mark_non_differentiable(gates)
        ctx.set_materialize_grads(False)
        return out, c_all, gates

    @staticmethod
    def backward(ctx, d_out, d_c_all, _d_gates):
        x, w_ih_k, w_hh_k, out_buf, c_buf, tanh_c, gates, *inputs = ctx.saved_tensors
        if _needs_autograd_backward([d_out, d_c_all]):
            inputs = (x, *inputs)  # x, h0, c0, w_ih, w_hh, b_ih, b_hh
            return (*_backward_by_autograd(ctx.needs_input_grad, "LSTM", inputs, [d_out, d_c_all], reverse=ctx.reverse), None)
        out, h_prev = _state_views(out_buf, ctx.reverse)  # (T, N, H) each
        _, c_prev = _state_views(c_buf, ctx.reverse)
        T, N, H = out.shape
        # total dL/dh' per step: starts as the incoming gradient, each step adds its recurrent part
        dh_all = torch.zeros_like(out) if d_out is None else torch.empty_like(out).copy_(d_out)
        o, i, f, g = gates.split(H, dim=-1)
        # Factors that do not depend on the incoming gradient, computed per block of K steps
        # just before the loop reaches them (bulk ops, yet cache-sized: at long sequences one
        # pass over everything would stream from memory ~10 times).
        K = max(1, min(T, _BLOCK_ELEMENTS // (N * H)))
        dc_per_dh, do_per_dh = x.new_empty(K, N, H), x.new_empty(K, N, H)
        sig_slope, per_dc = x.new_empty(K, N, 2 * H), x.new_empty(K, N, 4, H)

        def block_factors(lo, hi):
            """Fill the factor buffers for time steps lo..hi-1; return per-step views."""
            n, ts = hi - lo, slice(lo, hi)
            # s' = s (1 - s) = s - s*s for a sigmoid; h' = o tanh(c') is `out`
            torch.addcmul(o[ts], out[ts], tanh_c[ts], value=-1, out=dc_per_dh[:n])  # o (1 - tanh^2 c')
            torch.addcmul(out[ts], out[ts], o[ts], value=-1, out=do_per_dh[:n])  # tanh(c') o (1 - o)
            sig = gates[ts, :, H : 3 * H]  # i, f (o's slope is folded into do_per_dh)
            torch.addcmul(sig, sig, sig, value=-1, out=sig_slope[:n])
            # per dc' of a step: d a_i, d a_f, d a_g, and the carry dc = dc' f to the step before
            torch.mul(g[ts], sig_slope[:n, :, :H], out=per_dc[:n, :, 0])  # g i (1 - i)
            torch.mul(c_prev[ts], sig_slope[:n, :, H:], out=per_dc[:n, :, 1])  # c f (1 - f)
            torch.mul(g[ts], g[ts], out=per_dc[:n, :, 2])
            torch.addcmul(i[ts], i[ts], per_dc[:n, :, 2], value=-1, out=per_dc[:n, :, 2])  # i (1 - g^2)
            per_dc[:n, :, 3] = f[ts]
            return dc_per_dh.unbind(0), do_per_dh.unbind(0), per_dc.unbind(0)

        # Per step [d a_o | d a_i | d a_f | d a_g | dc carried to the step before], so that one
        # multiply by per_dc fills the last four blocks.
        d_buf = x.new_empty(T, N, 5 * H)
        d_gates = d_buf[..., : 4 * H]  # grads of the pre-activations a_o|a_i|a_f|a_g
        dg_s, do_s = d_gates.unbind(0), d_buf[..., :H].unbind(0)
        dlast4_s, carry_s = d_buf[..., H:].unflatten(-1, (4, H)).unbind(0), d_buf[..., 4 * H :].unbind(0)
        dh_s = dh_all.unbind(0)
        dc_all_s = None if d_c_all is None else d_c_all.unbind(0)
        dc = x.new_empty(N, H)  # dL/dc' of the current step (one buffer, reused)
        dc_col = dc.unsqueeze(1)  # (N, 1, H) view, broadcast over the four blocks of per_dc
        steps = list(_steps(T, ctx.reverse))
        dh0 = None
        for k in range(T - 1, -1, -1):
            t = steps[k]
            if (T - 1 - k) % K == 0:  # entering a new block of steps k-K+1..k
                first = max(0, k - K + 1)
                lo, hi = (T - 1 - k, T - first) if ctx.reverse else (first, k + 1)
                dcdh_s, dodh_s, per_dc_s = block_factors(lo, hi)
            j = t - lo
            dh = dh_s[t]
            if k == T - 1:
                torch.mul(dh, dcdh_s[j], out=dc)  # dL/dc' (nothing arrives from a later step)
            else:
                torch.addcmul(carry_s[steps[k + 1]], dh, dcdh_s[j], out=dc)
            if dc_all_s is not None:
                dc += dc_all_s[t]
            torch.mul(dc_col, per_dc_s[j], out=dlast4_s[t])  # d a_i, d a_f, d a_g, carry
            torch.mul(dh, dodh_s[j], out=do_s[t])  # d a_o
            if k > 0:
                dh_s[steps[k - 1]].addmm_(dg_s[t], w_hh_k)
            elif ctx.needs_input_grad[1]:
                dh0 = dg_s[t] @ w_hh_k
        dc0 = carry_s[steps[0]].clone() if ctx.needs_input_grad[2] else None
        grads = _input_grads(ctx, d_gates, d_gates, x, h_prev, w_ih_k)
        dx, dw_ih, dw_hh, db_ih, db_hh = (
            grad if grad is None or grad is grads[0] else _to_torch_order_rows(grad, H)
            for grad in grads
        )  # weight/bias grads back to torch.nn's i|f|g|o
        return dx, dh0, dc0, dw_ih, dw_hh, db_ih, db_hh, None


def rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False, nonlinearity="tanh"):
    """Elman RNN over a sequence. Returns out (T, N, H) and gates {"pre": (T, N, H)}."""
    out, pre = _RNNLayer.apply(x, h0, w_ih, w_hh, b_ih, b_hh, reverse, nonlinearity == "relu")
    return out, {"pre": pre}


def gru_layer(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """GRU over a sequence. Returns out (T, N, H) and gates {"r", "z", "n"} each (T, N, H)."""
    out, rz, n = _GRULayer.apply(x, h0, w_ih, w_hh, b_ih, b_hh, reverse)
    H = out.shape[-1]
    return out, {"r": rz[..., :H], "z": rz[..., H:], "n": n}


def lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """LSTM over a sequence. Returns out, c_all (T, N, H) and gates {"i","f","g","o","c"}."""
    out, c_all, gates = _LSTMLayer.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, reverse)
    o, i, f, g = gates.split(out.shape[-1], dim=-1)  # the kernel's gate order
    return out, c_all, {"i": i, "f": f, "g": g, "o": o, "c": c_all}
