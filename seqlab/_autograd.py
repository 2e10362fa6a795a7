"""One helper shared by the hand-written backwards (``seqlab.scratch`` and ``seqlab.mamba``)."""

from __future__ import annotations

from typing import Callable, Sequence

import torch


def grads_by_recomputation(forward: Callable, inputs: Sequence, needs: Sequence[bool],
                           grad_outputs: Sequence) -> list:
    """The gradients of ``forward(*inputs)`` for ``grad_outputs``, by autograd on a recomputed graph.

    A hand-written backward falls back to this where it would be wrong or fail: when the backward is
    itself differentiated (``create_graph=True``: double backward, gradient penalties; hand-written
    backwards work on buffers outside any graph) or batched (vmap, ``is_grads_batched``). Slower, and
    exact to every order. Returns one entry per input, ``None`` where ``needs`` is False.
    """
    with torch.enable_grad():
        outputs = forward(*inputs)
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if g is not None]
    wanted = [k for k, t in enumerate(inputs) if t is not None and needs[k] and t.requires_grad]
    grads = torch.autograd.grad(
        [o for o, _ in pairs], [inputs[k] for k in wanted], [g for _, g in pairs],
        create_graph=torch.is_grad_enabled(), allow_unused=True,
    )
    result = [None] * len(inputs)
    for k, g in zip(wanted, grads):
        result[k] = g
    return result
