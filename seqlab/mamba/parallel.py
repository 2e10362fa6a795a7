"""Why the scan parallelises: the linear recurrence is a chain of associative compositions.

Glossary:  a_t, b_t  coefficients of step t (deltaA_t and deltaB_u_t in the selective scan), (..., l)
           h_t       state after step t, h_{-1} = 0

Step t is the affine map h -> a_t h + b_t, written as the pair (a_t, b_t). Doing (a1, b1) and
then (a2, b2) is again such a map:

    (a1, b1) then (a2, b2)  =  (a2 a1, a2 b1 + b2)

and "then" is associative, so the prefix compositions h_t = (step 0 then ... then step t)(0)
can be computed as a tree instead of a chain: Hillis & Steele's scan takes log2(l) rounds of
l independent combines each. On a GPU each round is one parallel kernel; mamba-ssm's kernel
uses the work-efficient variant (Blelloch) inside each thread block.
"""

from __future__ import annotations

import torch

__all__ = ["combine", "hillis_steele_scan"]


def combine(first, second):
    """The map "``first`` then ``second``" of two steps (a, b): h -> a h + b. Shapes broadcast."""
    a1, b1 = first
    a2, b2 = second
    return a2 * a1, a2 * b1 + b2


def hillis_steele_scan(a, b):
    """All states h_t = a_t h_{t-1} + b_t (h_{-1} = 0) along the last dim in ceil(log2 l) rounds.

    Args: a, b: (..., l).  Returns: h (..., l). Differentiable (plain tensor ops, no in-place).
    """
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape (..., l), got {tuple(a.shape)} and {tuple(b.shape)}")
    length, offset = a.shape[-1], 1
    while offset < length:
        # Round: every t >= offset absorbs the composition ending at t - offset.
        a_prev, b_prev = a[..., :-offset], b[..., :-offset]
        a_new, b_new = combine((a_prev, b_prev), (a[..., offset:], b[..., offset:]))
        a = torch.cat([a[..., :offset], a_new], dim=-1)
        b = torch.cat([b[..., :offset], b_new], dim=-1)
        offset *= 2
    return b  # after the last round b_t is the composition of steps 0..t applied to h_{-1} = 0
