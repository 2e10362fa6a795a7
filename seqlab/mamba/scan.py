"""The selective scan (S6) of Mamba, in plain PyTorch: a readable loop and a fast one.

Glossary (mamba-ssm's names; Gu & Dao 2023, "Mamba", arXiv 2312.00752):

    b        batch size
    l        sequence length (time steps)
    d        channels of the scan (= d_inner of the block, "D" in the paper)
    n        state size per channel (= d_state, "N" in the paper)
    u        input of the scan, one scalar per channel and step    (b, d, l)
    delta    step size Δ > 0 per channel and step                  (b, d, l)
    A        diagonal state matrix, negative real                  (d, n)
             (or complex, S4D-style: see "Options" below)
    B, C     input and output projections, chosen by the input   (b, n, l)
             (or grouped (b, g, n, l), or constant (d, n))
    D        skip connection u -> y                                (d,)
    z        gate branch: y is multiplied by silu(z)               (b, d, l)
    x_t      hidden state at step t                                (b, d, n)

Equations (paper eq. 2a-2b and Algorithm 2, discretised by zero-order hold for A and the
simplified Euler step for B that mamba-ssm uses):

    deltaA_t   = exp(Δ_t A)                 Ā_t  (ZOH)
    deltaB_u_t = Δ_t B_t u_t                B̄_t u_t  (≈ ZOH for small Δ)
    x_t        = deltaA_t * x_{t-1} + deltaB_u_t          (2a, elementwise: A is diagonal)
    y_t        = <x_t, C_t> + D u_t                       (2b, sum over n)
    y_t        = y_t * silu(z_t)                          (the gate of the block)

Mirrors ``selective_scan_ref`` in mamba-ssm, mamba_ssm/ops/selective_scan_interface.py
(same argument names, shapes, float32 compute, return dtype). Three functions:

- ``selective_scan_sequential``: one equation per line, a Python loop over time. The lesson's
  reference, differentiated by autograd.
- ``selective_scan``: the same numbers, fast on a CPU: a loop over time on one contiguous
  (b, d, n) slab per step (it stays in the CPU's cache) and a backward pass written by hand
  (the adjoint of a linear recurrence is the same recurrence run backwards), so autograd
  records two nodes instead of several per step. Without autograd (inference) it keeps no
  (b, l, d, n) states at all.
- ``selective_scan_step``: one step, for recurrent inference with a cached state.

Options of mamba-ssm's ``selective_scan_fn``, all in both functions (the fast one hands the
rarer ones to the reference loop, which autograd differentiates to any order):

- grouped B/C (b, g, n, l): channel block k of d // g channels reads group k (g divides d);
- constant B/C (d, n): one projection per channel, the same at every step;
- complex A (d, n) (S4D-style, complex64 with a float32 real part and an imaginary part):
  the state is complex; input-dependent B/C are then real tensors (b, n, 2l) or
  (b, g, n, 2l) holding (real, imaginary) pairs along the last dim, constant B/C are complex
  (a real constant one is read as complex), and y = 2 Re<x_t, C_t> (the state's conjugate
  pair counted once).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .._autograd import grads_by_recomputation

__all__ = [
    "selective_scan",
    "selective_scan_sequential",
    "selective_scan_step",
]


# --------------------------------------------------------------------------- input checks


def _check_scan_inputs(u, delta, A, B, C, D, z, delta_bias):
    """Raise ValueError naming the first argument whose shape does not fit u (b, d, l)."""
    if u.dim() != 3:
        raise ValueError(f"u must be (batch, d, length), got shape {tuple(u.shape)}")
    b, d, l = u.shape
    if l == 0:
        raise ValueError(f"u must have length >= 1 time step, got shape {tuple(u.shape)}")
    if A.dim() != 2 or A.shape[0] != d:
        raise ValueError(f"A must be (d, n) = ({d}, n) to match u {tuple(u.shape)}, got {tuple(A.shape)}")
    n = A.shape[1]
    expected = {"delta": (b, d, l), "z": (b, d, l), "D": (d,), "delta_bias": (d,)}
    for name, t in (("delta", delta), ("z", z), ("D", D), ("delta_bias", delta_bias)):
        if t is not None and tuple(t.shape) != expected[name]:
            raise ValueError(
                f"{name} must have shape {expected[name]} to match u {tuple(u.shape)}, got {tuple(t.shape)}"
            )
    steps = 2 * l if A.is_complex() else l  # complex A: (real, imaginary) pairs along time
    for name, t in (("B", B), ("C", C)):
        if t.is_complex() and not A.is_complex():
            raise ValueError(
                f"{name} is complex ({t.dtype}) but A is real ({A.dtype}): mamba-ssm's complex mode "
                "needs a complex A (d, n). Fix: pass a complex A, or real B and C."
            )
        if t.is_complex() and t.dim() != 2:
            raise ValueError(
                f"input-dependent {name} must be real with complex A: (batch, n, 2 * length) = "
                f"{(b, n, steps)} holding (real, imaginary) pairs, got a complex {tuple(t.shape)}. "
                f"Fix: torch.view_as_real({name}).flatten(-2)."
            )
        grouped = t.dim() == 4 and t.shape[0] == b and t.shape[1] > 0 and d % t.shape[1] == 0
        if tuple(t.shape) not in ((b, n, steps), (d, n)) and not (grouped and tuple(t.shape[2:]) == (n, steps)):
            raise ValueError(
                f"{name} must be input-dependent (batch, n, length) = {(b, n, steps)}, grouped "
                f"(batch, groups, n, length) = {(b, 'g', n, steps)} with g dividing d={d}, or "
                f"constant (d, n) = {(d, n)}, got {tuple(t.shape)}"
                + (" (complex A: length counts (real, imaginary) pairs, 2 * l)" if A.is_complex() else "")
            )


def _projection_per_channel(M, A, d, ct):
    """B or C as the reference loop reads it: (b, d|1, n, l) per step, or constant (d, n).

    Grouped (b, g, n, l) -> each of the d channels gets its group's rows (b, d, n, l); with a
    complex A, input-dependent (..., n, 2l) real pairs -> complex (..., n, l) and a constant
    one -> complex. Returns a tensor in the compute dtype (or its complex version).
    """
    if A.is_complex():
        if M.dim() >= 3:
            M = torch.view_as_complex(M.to(ct).unflatten(-1, (-1, 2)).contiguous())  # (..., n, l)
        else:
            M = M.to(A.dtype)
    else:
        M = M.to(ct)
    if M.dim() == 4:  # grouped: channel c reads group c // (d // g)
        return M.repeat_interleave(d // M.shape[1], dim=1)  # (b, d, n, l)
    return M.unsqueeze(1) if M.dim() == 3 else M  # (b, 1, n, l) or (d, n)


def _compute_dtype(u):
    """float32, like mamba-ssm, for float32 and lower; float64 stays float64 (for gradcheck)."""
    return torch.float64 if u.dtype == torch.float64 else torch.float32


def _discretise_delta(delta, delta_bias, delta_softplus, ct):
    """Δ in the compute dtype ct: optional bias per channel (d,) then softplus. (b, d, l) -> (b, d, l)."""
    delta = delta.to(ct)
    if delta_bias is not None:
        delta = delta + delta_bias[..., None].to(ct)
    if delta_softplus:
        delta = F.softplus(delta)
    return delta


# --------------------------------------------------------------------------- the reference


def selective_scan_sequential(
    u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, return_last_state=False
):
    """The selective scan, one step at a time (the lesson's reference).

    Args:
        u: (b, d, l) input.  delta: (b, d, l) step sizes (before bias/softplus).
        A: (d, n), negative.  B, C: (b, n, l) input-dependent, or (d, n) constant.
        D: (d,) skip, optional.  z: (b, d, l) gate, optional.
        delta_bias: (d,) added to delta, optional.  delta_softplus: apply softplus to delta.
        return_last_state: also return the state after the last step.

    Returns:
        y (b, d, l) in u's dtype, and the last state (b, d, n) in float32 (float64 for
        float64 input) when asked.
    """
    _check_scan_inputs(u, delta, A, B, C, D, z, delta_bias)
    dtype_in, ct = u.dtype, _compute_dtype(u)
    u = u.to(ct)
    delta = _discretise_delta(delta, delta_bias, delta_softplus, ct)  # (b, d, l)
    batch, dim, length = u.shape
    if A.is_complex():  # complex64 (complex128 for float64 input): float32 parts, like mamba-ssm
        A = A.to(torch.complex128 if ct == torch.float64 else torch.complex64)
    else:
        A = A.to(ct)
    B, C = _projection_per_channel(B, A, dim, ct), _projection_per_channel(C, A, dim, ct)
    x = torch.zeros(batch, dim, A.shape[1], dtype=A.dtype, device=u.device)  # (b, d, n)
    ys = []
    for t in range(length):
        delta_t = delta[:, :, t, None]  # (b, d, 1)
        B_t = B[..., t] if B.dim() == 4 else B  # (b, d|1, n) or (d, n)
        C_t = C[..., t] if C.dim() == 4 else C  # (b, d|1, n) or (d, n)
        deltaA = torch.exp(delta_t * A)  # (b, d, n)   Ā_t = exp(Δ_t A)
        deltaB_u = delta_t * B_t * u[:, :, t, None]  # (b, d, n)   B̄_t u_t = Δ_t B_t u_t
        x = deltaA * x + deltaB_u  # (b, d, n)   x_t = Ā_t x_{t-1} + B̄_t u_t
        y_t = (x * C_t).sum(-1)  # (b, d)      y_t = <x_t, C_t>
        ys.append(2 * y_t.real if y_t.is_complex() else y_t)  # complex: the pair counted once
    y = torch.stack(ys, dim=2)  # (b, d, l)
    if D is not None:
        y = y + D.to(ct)[:, None] * u  # skip connection
    if z is not None:
        y = y * F.silu(z.to(ct))  # gate
    y = y.to(dtype_in)
    return (y, x) if return_last_state else y


# --------------------------------------------------------------------------- the fast scan


_LOG2_E = 1.4426950408889634  # exp(x) = exp2(x log2 e); exp2 is about 2x faster than exp on CPU


class _SelectiveScanFn(torch.autograd.Function):
    """The core of the fast scan, forward and backward written by hand, channels-last layout.

    Inputs u, delta (b, l, d) (delta already biased and softplus-ed), A (d, n), B, C (b, l, n);
    outputs y (b, l, d) = <x_t, C_t> (no D, no gate) and the last state (b, d, n).

    Why it is fast on a CPU: autograd records two nodes instead of several per step, and each
    step works on one contiguous (b, d, n) slab that stays in the CPU's cache, where whole-
    sequence (b, l, d, n) operations would stream through main memory once per operation
    (measured: 1.6-1.9x slower at the sunspot sizes).

    Backward, with g_t = dL/dy_t: the state x_t feeds y_t (through C_t) and x_{t+1} (through
    deltaA_{t+1}), so its total gradient is lam_t = g_t C_t + deltaA_{t+1} lam_{t+1}: the same
    linear recurrence run backwards. Then, for deltaB_u_t = (delta_t u_t) B_t and
    deltaA_t = exp(delta_t A):  dB_t = sum_d lam_t delta_t u_t,  d(delta_t u_t) = <lam_t, B_t>,
    dC_t = sum_d g_t x_t,  and with P_t = lam_t x_{t-1} deltaA_t:  d delta_t += <P_t, A>,  dA = sum P_t delta_t.
    """

    @staticmethod
    def forward(ctx, u, delta, A, B, C):
        inputs = (u, delta, A, B, C)  # kept for a differentiable backward (_backward_by_autograd)
        # Time-major copies (l, b, ...): the slab of step t is then one contiguous block.
        u, delta, B, C = (t.transpose(0, 1).contiguous() for t in (u, delta, B, C))
        (l, b, d), n = u.shape, A.shape[1]
        A2 = A * _LOG2_E  # exp(x) = exp2(x log2 e), and exp2 is the faster of the two on CPU
        delta_u = delta * u  # (l, b, d)
        deltaA = u.new_empty(l, b, d, n)  # kept for the backward pass
        states = u.new_empty(l, b, d, n)  # x_t for all t, kept for the backward pass
        y = u.new_empty(l, b, d)
        for t in range(l):
            torch.exp2(delta[t, :, :, None] * A2, out=deltaA[t])  # deltaA_t = exp(delta_t A)
            torch.mul(delta_u[t, :, :, None], B[t, :, None, :], out=states[t])  # deltaB_u_t = delta_t B_t u_t
            if t > 0:
                states[t].addcmul_(deltaA[t], states[t - 1])  # x_t = deltaA_t x_{t-1} + deltaB_u_t
            torch.linalg.vecdot(states[t], C[t, :, None, :], out=y[t])  # y_t = <x_t, C_t>
        ctx.save_for_backward(u, delta, delta_u, A, B, C, deltaA, states, *inputs)
        return y.transpose(0, 1), states[-1]

    @staticmethod
    def backward(ctx, grad_y, grad_last):
        u, delta, delta_u, A, B, C, deltaA, states, *inputs = ctx.saved_tensors  # time-major (l, b, ...)
        if _needs_differentiable_backward(grad_y, grad_last):
            return _backward_by_autograd(ctx.needs_input_grad, inputs, (grad_y, grad_last))
        l, b, d, n = states.shape
        grad_y = grad_y.transpose(0, 1).contiguous()  # (l, b, d)
        # dC_t = sum_d g_t x_t for all t at once: one efficient batched matmul
        grad_C = torch.bmm(grad_y.view(l * b, 1, d), states.view(l * b, d, n)).view(l, b, n)
        grad_B = u.new_empty(l, b, n)
        grad_delta_u = u.new_empty(l, b, d)
        grad_delta_A = u.new_zeros(l, b, d)  # the part of d delta that flows through deltaA
        grad_A = u.new_zeros(b, d, n)  # summed over the batch at the end
        lam = u.new_zeros(b, d, n) if grad_last is None else grad_last.clone()
        for t in range(l - 1, -1, -1):
            g_C = grad_y[t, :, :, None] * C[t, :, None, :]  # (b, d, n)
            lam = g_C + lam if t == l - 1 else torch.addcmul(g_C, deltaA[t + 1], lam)
            torch.linalg.vecdot(lam, B[t, :, None, :], out=grad_delta_u[t])
            torch.bmm(delta_u[t, :, None, :], lam, out=grad_B[t, :, None, :])
            if t > 0:  # x_{-1} = 0: deltaA_0 gets no gradient
                P = lam * states[t - 1]
                P *= deltaA[t]
                torch.linalg.vecdot(P, A, out=grad_delta_A[t])
                grad_A.addcmul_(P, delta[t, :, :, None])
        grad_delta = grad_delta_A + grad_delta_u * u
        batch_first = lambda t: t.transpose(0, 1)  # noqa: E731  (l, b, ...) -> (b, l, ...)
        return (batch_first(grad_delta_u * delta), batch_first(grad_delta), grad_A.sum(0),
                batch_first(grad_B), batch_first(grad_C))


def _needs_differentiable_backward(*grads) -> bool:
    """create_graph=True (grad mode is on inside a backward only then), or grads under vmap."""
    f = torch._C._functorch
    batched = any(g is not None and (f.is_batchedtensor(g) or f.is_legacy_batchedtensor(g)) for g in grads)
    return torch.is_grad_enabled() or batched or f.maybe_current_level() is not None


def _scan_bld_autograd(u, delta, A, B, C):
    """``_SelectiveScanFn``'s forward in plain differentiable ops: (b, l, d) inputs -> y (b, l, d),
    last state (b, d, n)."""
    x = u.new_zeros(u.shape[0], u.shape[2], A.shape[1])  # (b, d, n)
    ys = []
    for t in range(u.shape[1]):
        deltaA = torch.exp(delta[:, t, :, None] * A)  # (b, d, n)
        x = deltaA * x + (delta[:, t] * u[:, t])[..., None] * B[:, t, None, :]
        ys.append((x * C[:, t, None, :]).sum(-1))  # (b, d)
    return torch.stack(ys, dim=1), x


def _backward_by_autograd(needs, inputs, grads):
    """The scan's backward as autograd's derivative of ``_scan_bld_autograd``, from the saved
    inputs: used when the backward is itself differentiated (``create_graph=True``: double
    backward; the hand-written one works on saved buffers outside any graph, so its second
    derivatives would be wrong) or runs under vmap (``is_grads_batched``). Exact, slower."""
    return tuple(grads_by_recomputation(_scan_bld_autograd, inputs, needs, grads))


def _scan_no_grad(u, delta, A, B, C):
    """Forward only (inference, validation): step by step on (b, d, n) slabs, keeping no states.

    Same inputs and outputs as ``_SelectiveScanFn``. Without a backward pass there is no need
    for all l states at once; not allocating (b, l, d, n) buffers matters when the batch is a
    whole validation set (large fresh allocations are slow).
    """
    A2 = A * _LOG2_E
    delta_u = delta * u  # (b, l, d)
    state = torch.zeros(u.shape[0], u.shape[2], A.shape[1], dtype=u.dtype, device=u.device)  # (b, d, n)
    ys = []
    for t in range(u.shape[1]):
        deltaA = torch.exp2(delta[:, t].unsqueeze(-1) * A2)  # (b, d, n)
        state = torch.addcmul(delta_u[:, t].unsqueeze(-1) * B[:, t].unsqueeze(1), deltaA, state)
        ys.append(torch.linalg.vecdot(state, C[:, t].unsqueeze(1)))  # (b, d)
    return torch.stack(ys, dim=1), state  # (b, l, d), (b, d, n)


def _selective_scan_bld(u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """The fast scan in the block's channels-last layout, in u's float dtype.

    u, delta, z: (b, l, d);  A: (d, n);  B, C: (b, l, n);  D, delta_bias: (d,).
    Returns y (b, l, d) and the last state (b, d, n).
    """
    if delta_bias is not None:
        delta = delta + delta_bias
    if delta_softplus:
        delta = F.softplus(delta)
    if torch.is_grad_enabled() and any(t.requires_grad for t in (u, delta, A, B, C)):
        y, last_state = _SelectiveScanFn.apply(u, delta, A, B, C)
    else:
        y, last_state = _scan_no_grad(u, delta, A, B, C)
    if D is not None:
        y = y + u * D
    if z is not None:
        y = y * F.silu(z)
    return y, last_state


def selective_scan(
    u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False, return_last_state=False
):
    """The selective scan, fast on a CPU; same arguments, shapes and numbers as the reference.

    Args:
        u: (b, d, l) input.  delta: (b, d, l) step sizes (before bias/softplus).
        A: (d, n), negative.  B, C: (b, n, l) input-dependent, or (d, n) constant.
        D: (d,) skip, optional.  z: (b, d, l) gate, optional.
        delta_bias: (d,) added to delta, optional.  delta_softplus: apply softplus to delta.
        return_last_state: also return the state after the last step.

    Returns:
        y (b, d, l) in u's dtype, and the last state (b, d, n) in float32 (float64 for
        float64 input) when asked.

    Grouped or constant B/C and complex A (see the module docstring) run the reference loop.
    """
    _check_scan_inputs(u, delta, A, B, C, D, z, delta_bias)
    if B.dim() != 3 or C.dim() != 3 or A.is_complex():  # rarer options: left to the reference
        return selective_scan_sequential(u, delta, A, B, C, D, z, delta_bias, delta_softplus, return_last_state)
    dtype_in, ct = u.dtype, _compute_dtype(u)

    def channels_last(t):  # (b, d|n, l) -> (b, l, d|n) in the compute dtype
        return None if t is None else t.to(ct).transpose(1, 2)

    y, last_state = _selective_scan_bld(
        channels_last(u),
        channels_last(delta),
        A.to(ct),
        channels_last(B),
        channels_last(C),
        None if D is None else D.to(ct),
        channels_last(z),
        None if delta_bias is None else delta_bias.to(ct),
        delta_softplus,
    )
    y = y.transpose(1, 2).to(dtype_in)  # (b, d, l)
    return (y, last_state) if return_last_state else y


# --------------------------------------------------------------------------- one step


def selective_scan_step(state, u, delta, A, B, C, D=None, z=None, delta_bias=None, delta_softplus=False):
    """One step of the scan for recurrent inference; updates ``state`` in place.

    Args:
        state: (b, d, n) state x_{t-1} (float32, or float64), overwritten with x_t.
        u, delta, z: (b, d).  A: (d, n).  B, C: (b, n).  D, delta_bias: (d,).

    Returns:
        y_t (b, d) in u's dtype.
    """
    if A.is_complex() or state.is_complex():
        raise ValueError(
            "selective_scan_step runs a real A only; for a complex A run selective_scan "
            "(or selective_scan_sequential) over the sequence."
        )
    dtype_in, ct = u.dtype, state.dtype  # compute in the state's dtype (float32, or float64)
    u, delta, A, B, C = (t.to(ct) for t in (u, delta, A, B, C))
    if delta_bias is not None:
        delta = delta + delta_bias.to(ct)
    if delta_softplus:
        delta = F.softplus(delta)
    deltaA = torch.exp(delta.unsqueeze(-1) * A)  # (b, d, n)
    deltaB_u = (delta * u).unsqueeze(-1) * B.unsqueeze(1)  # (b, d, n)
    state.copy_(deltaA * state + deltaB_u)  # x_t = deltaA_t x_{t-1} + deltaB_u_t
    y = (state @ C.unsqueeze(-1)).squeeze(-1)  # (b, d)   y_t = <x_t, C_t>
    if D is not None:
        y = y + D.to(ct) * u
    if z is not None:
        y = y * F.silu(z.to(ct))
    return y.to(dtype_in)
