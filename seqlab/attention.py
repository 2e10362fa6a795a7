"""Attention, linear attention and the state-space duality, written out (lesson 06).

Glossary:

    b        batch size (any leading dims ``...`` work where a function says so)
    h        heads                       l        sequence length (queries; keys have s = l when causal)
    e        query/key size per head     p        value size per head (``d_head`` / ``P`` in Mamba-2)
    n        state size of the SSM (``d_state``, ``N`` in Mamba-2)
    φ        the feature map of linear attention, φ(x) = elu(x) + 1 > 0

Three ideas, one section each:

1. Softmax attention (Vaswani et al. 2017): ``y_i = Σ_{j≤i} softmax_j(q_i·k_j / √e) v_j``. The (l, l)
   score matrix makes it O(l² e) time and O(l²) memory.
2. Linear attention (Katharopoulos et al. 2020, "Transformers are RNNs"): replace exp(q·k) by
   φ(q)·φ(k). By associativity ``y_i = φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i + eps)`` with running sums
   ``S_i = S_{i-1} + φ(k_i) v_iᵀ`` (e, p) and ``z_i = z_{i-1} + φ(k_i)`` (e,): an RNN with a
   constant-size state. It removes the softmax (not a sigmoid, as the course poster says).
   Mirrors fast-transformers' ``causal_linear_attention.py`` and its recurrent twin (eps 1e-6).
3. The state-space duality (Dao & Gu 2024, "Transformers are SSMs", Mamba-2): an SSM whose state
   matrix is a scalar a_t per head and step, ``H_t = a_t H_{t-1} + B_t x_tᵀ`` (n, p),
   ``y_t = H_tᵀ C_t``, is also ``Y = (L ∘ C Bᵀ) X`` with the decay mask
   ``L_{ts} = a_t a_{t-1} ... a_{s+1}`` (t ≥ s, else 0): masked attention with Q = C, K = B, V = X.
   With a_t = 1, L is the causal mask of ones and SSD is unnormalised causal linear attention.
   Mamba-1 (lesson 05) has a diagonal A, a different decay for each of the n state entries, so it
   has no single mask L per head; with one decay per channel it is SSD with head size p = 1.
   ``ssd_chunked`` mirrors mamba-ssm's ``mamba_ssm/modules/ssd_minimal.py`` (Listing 1 of the paper).

Decays are passed as their logarithm ``log_a = Δ_t A_h ≤ 0`` (b, l, h), as Mamba-2 computes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "LinearAttentionState",
    "elu_feature_map",
    "linear_attention",
    "linear_attention_recurrent",
    "segsum",
    "softmax_attention",
    "ssd_chunked",
    "ssd_decay_mask",
    "ssd_quadratic",
    "ssd_sequential",
]

EPS = 1e-6  # linear attention's normaliser guard, as in fast-transformers


def _causal_mask(l: int, s: int, device) -> torch.Tensor:
    """(l, s) bool, True where query i may see key j: j ≤ i (top-left aligned, like torch's is_causal)."""
    return torch.ones(l, s, dtype=torch.bool, device=device).tril()


# --------------------------------------------------------------------------- 1. softmax attention


def softmax_attention(q, k, v, causal: bool = True, scale: float | None = None, return_weights: bool = False):
    """Scaled dot-product attention, every step written out.

    Args:
        q: (..., l, e) queries.  k: (..., s, e) keys.  v: (..., s, p) values.
        causal: query i sees keys j ≤ i only.  scale: default 1/√e.
        return_weights: also return the attention weights (..., l, s) (rows sum to 1).

    Returns:
        y (..., l, p), equal to ``F.scaled_dot_product_attention(q, k, v, is_causal=causal)``.
    """
    if q.shape[-1] != k.shape[-1] or k.shape[-2] != v.shape[-2]:
        raise ValueError(f"need q (..., l, e), k (..., s, e), v (..., s, p); got q {tuple(q.shape)}, "
                         f"k {tuple(k.shape)}, v {tuple(v.shape)}")
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * scale  # (..., l, s): the O(l²) matrix
    if causal:
        scores = scores.masked_fill(~_causal_mask(q.shape[-2], k.shape[-2], q.device), float("-inf"))
    weights = torch.softmax(scores, dim=-1)  # (..., l, s), each row a distribution over keys
    y = weights @ v  # (..., l, p)
    return (y, weights) if return_weights else y


# --------------------------------------------------------------------------- 2. linear attention


def elu_feature_map(x: torch.Tensor) -> torch.Tensor:
    """φ(x) = elu(x) + 1: positive, so φ(q)·φ(k) > 0 can stand in for exp(q·k)."""
    return F.elu(x) + 1.0


def linear_attention(q, k, v, causal: bool = True, eps: float = EPS, feature_map=elu_feature_map,
                     normalize: bool = True):
    """Linear attention in its parallel (training) form: cumulative sums over time.

    Args:
        q, k: (..., l, e).  v: (..., l, p).
        feature_map: φ applied to q and k (None: identity, as in SSD and SAMoVAR).
        normalize: divide by φ(q_i)ᵀ z_i + eps (False: the unnormalised sum).

    Returns:
        y (..., l, p) with ``y_i = φ(q_i)ᵀ S_i / (φ(q_i)ᵀ z_i + eps)``, S_i and z_i summed over
        j ≤ i (causal) or over all j. Time O(l e p); memory O(l e p) for the causal S_i.
    """
    if q.shape != k.shape or k.shape[:-1] != v.shape[:-1]:
        raise ValueError(f"need q, k (..., l, e) and v (..., l, p); got q {tuple(q.shape)}, "
                         f"k {tuple(k.shape)}, v {tuple(v.shape)}")
    if feature_map is not None:
        q, k = feature_map(q), feature_map(k)
    if causal:
        S = torch.cumsum(k.unsqueeze(-1) * v.unsqueeze(-2), dim=-3)  # (..., l, e, p): S_i = Σ_{j≤i} φ(k_j) v_jᵀ
        y = (q.unsqueeze(-2) @ S).squeeze(-2)  # (..., l, p): φ(q_i)ᵀ S_i
        z = torch.cumsum(k, dim=-2)  # (..., l, e): z_i = Σ_{j≤i} φ(k_j)
    else:
        S = k.transpose(-2, -1) @ v  # (..., e, p)
        y = q @ S  # (..., l, p)
        z = k.sum(dim=-2, keepdim=True)  # (..., 1, e)
    if not normalize:
        return y
    return y / ((q * z).sum(-1, keepdim=True) + eps)  # φ(q_i)ᵀ z_i > 0 for φ = elu + 1


@dataclass
class LinearAttentionState:
    """The constant-size memory of causal linear attention: S (..., e, p) and z (..., e).

    ``step`` takes one token and returns its output; memory does not grow with the sequence,
    unlike softmax attention's key-value cache.
    """

    S: torch.Tensor  # (..., e, p) Σ φ(k_j) v_jᵀ so far
    z: torch.Tensor  # (..., e)    Σ φ(k_j) so far
    eps: float = EPS
    feature_map: object = elu_feature_map

    @classmethod
    def zeros(cls, batch_shape, e: int, p: int, dtype=torch.float32, device=None, **kwargs):
        return cls(torch.zeros(*batch_shape, e, p, dtype=dtype, device=device),
                   torch.zeros(*batch_shape, e, dtype=dtype, device=device), **kwargs)

    def step(self, q_t, k_t, v_t):
        """q_t, k_t (..., e), v_t (..., p) -> y_t (..., p); updates S and z (new tensors, autograd-safe)."""
        if self.feature_map is not None:
            q_t, k_t = self.feature_map(q_t), self.feature_map(k_t)
        self.S = self.S + k_t.unsqueeze(-1) * v_t.unsqueeze(-2)  # S_t = S_{t-1} + φ(k_t) v_tᵀ
        self.z = self.z + k_t  # z_t = z_{t-1} + φ(k_t)
        numerator = (q_t.unsqueeze(-2) @ self.S).squeeze(-2)  # (..., p)
        return numerator / ((q_t * self.z).sum(-1, keepdim=True) + self.eps)


def linear_attention_recurrent(q, k, v, eps: float = EPS, feature_map=elu_feature_map):
    """Causal linear attention as an RNN: one ``LinearAttentionState.step`` per token.

    Same arguments and result as ``linear_attention(q, k, v, causal=True)``.
    """
    state = LinearAttentionState.zeros(q.shape[:-2], q.shape[-1], v.shape[-1], dtype=q.dtype, device=q.device,
                                       eps=eps, feature_map=feature_map)
    return torch.stack([state.step(q[..., t, :], k[..., t, :], v[..., t, :]) for t in range(q.shape[-2])], dim=-2)


# --------------------------------------------------------------------------- 3. state-space duality


def _check_ssd(X, log_a, B, C):
    heads_ok = B.dim() == 4 and B.shape[2] in (1, X.shape[2])  # one B, C per head, or one group for all
    if X.dim() != 4 or log_a.shape != X.shape[:3] or not heads_ok or B.shape[:2] != X.shape[:2] or C.shape != B.shape:
        raise ValueError(f"need X (b, l, h, p), log_a (b, l, h), B and C (b, l, h or 1, n); got X {tuple(X.shape)}, "
                         f"log_a {tuple(log_a.shape)}, B {tuple(B.shape)}, C {tuple(C.shape)}")


def segsum(x: torch.Tensor) -> torch.Tensor:
    """Segment sums (..., T) -> (..., T, T): ``out[t, s] = x_{s+1} + ... + x_t`` for t ≥ s, -inf above.

    Summed from masked copies rather than as cumsum differences, which lose precision when
    the cumulative sums grow large (mamba-ssm's ``segsum``, not its ``segsum_unstable``).
    """
    T = x.shape[-1]
    x = x.unsqueeze(-1).expand(*x.shape, T)  # (..., T, T): column s holds x
    strictly_below = torch.ones(T, T, dtype=torch.bool, device=x.device).tril(-1)
    x = x.masked_fill(~strictly_below, 0.0)  # keep x_t in row t for t > s
    out = torch.cumsum(x, dim=-2)  # out[t, s] = Σ_{s<k≤t} x_k
    return out.masked_fill(~_causal_mask(T, T, x.device), float("-inf"))


def ssd_decay_mask(log_a: torch.Tensor) -> torch.Tensor:
    """L (..., T, T) from log decays (..., T): ``L[t, s] = a_t a_{t-1} ... a_{s+1}`` (t ≥ s), 0 above.

    Computed as exp(cumsum_t - cumsum_s), as mamba-ssm's Triton kernels do inside a chunk: one
    cumulative sum of length T instead of ``segsum``'s T x T one (faster forward and backward),
    accurate while the sums stay moderate (chunks of ≤ 256 steps).
    """
    T = log_a.shape[-1]
    cum = torch.cumsum(log_a, dim=-1)  # (..., T): log(a_1 ... a_t)
    diff = cum.unsqueeze(-1) - cum.unsqueeze(-2)  # (..., T, T): log(a_{s+1} ... a_t) below the diagonal
    return torch.exp(diff.masked_fill(~_causal_mask(T, T, log_a.device), float("-inf")))


def ssd_sequential(X, log_a, B, C, initial_state=None):
    """The scalar-decay SSM one step at a time (the reference).

    Args:
        X: (b, l, h, p) inputs.  log_a: (b, l, h) log of each step's decay a_t ∈ (0, 1].
        B, C: (b, l, h, n) input and output maps, or (b, l, 1, n): one group shared by all heads.
        initial_state: (b, h, n, p), default zeros.

    Returns:
        Y (b, l, h, p) and the last state (b, h, n, p), from
        ``H_t = a_t H_{t-1} + B_t x_tᵀ`` and ``y_t = H_tᵀ C_t``.
    """
    _check_ssd(X, log_a, B, C)
    b, l, h, p = X.shape
    H = X.new_zeros(b, h, B.shape[-1], p) if initial_state is None else initial_state
    B, C = (t.expand(b, l, h, t.shape[-1]) for t in (B, C))
    ys = []
    for t in range(l):
        a_t = torch.exp(log_a[:, t])[..., None, None]  # (b, h, 1, 1)
        H = a_t * H + B[:, t, :, :, None] * X[:, t, :, None, :]  # (b, h, n, p)
        ys.append((C[:, t, :, :, None] * H).sum(-2))  # (b, h, p)
    return torch.stack(ys, dim=1), H


def ssd_quadratic(X, log_a, B, C):
    """The same SSM as one masked matrix product per head: ``Y = (L ∘ C Bᵀ) X`` (O(l²), like attention).

    Shapes as ``ssd_sequential``; returns Y (b, l, h, p).
    """
    _check_ssd(X, log_a, B, C)
    L = ssd_decay_mask(log_a.transpose(1, 2))  # (b, h, l, l)
    scores = C.transpose(1, 2) @ B.permute(0, 2, 3, 1)  # (b, h or 1, l, l): C_t · B_s
    return ((L * scores) @ X.transpose(1, 2)).transpose(1, 2)  # (b, l, h, p)


def ssd_chunked(X, log_a, B, C, chunk_size: int = 64, initial_state=None):
    """The chunked SSD algorithm: quadratic inside chunks of length Q, a short recurrence between them.

    Shapes as ``ssd_sequential`` (the length need not be a multiple of ``chunk_size``: the end is
    padded with a = 1 and x = 0, which leaves the state unchanged). Returns Y (b, l, h, p) and
    the last state (b, h, n, p). Time O(l Q (n + p)) + O((l/Q) n p): linear in l for a fixed Q.
    Follows ``ssd_minimal_discrete`` in mamba-ssm (mamba_ssm/modules/ssd_minimal.py), step by step.
    """
    _check_ssd(X, log_a, B, C)
    b, l, h, p = X.shape
    B, C = (t.expand(b, l, h, t.shape[-1]) for t in (B, C))
    pad = (-l) % chunk_size
    if pad:
        X, B, C = (F.pad(t, (0, 0, 0, 0, 0, pad)) for t in (X, B, C))
        log_a = F.pad(log_a, (0, 0, 0, pad))
    c = X.shape[1] // chunk_size
    # (b, c, Q, h, ...) chunks; log_a as (b, h, c, Q) so cumulative sums run along the chunk
    X, B, C = (t.reshape(b, c, chunk_size, h, -1) for t in (X, B, C))
    log_a = log_a.reshape(b, c, chunk_size, h).permute(0, 3, 1, 2)  # (b, h, c, Q)
    log_a_cum = torch.cumsum(log_a, dim=-1)  # (b, h, c, Q): log(a_1 ... a_t) inside each chunk

    # 1. inside each chunk: the quadratic form (diagonal blocks of L ∘ C Bᵀ)
    L = ssd_decay_mask(log_a)  # (b, h, c, Q, Q)
    Y_diag = torch.einsum("bclhn,bcshn,bhcls,bcshp->bclhp", C, B, L, X)

    # 2. the state each chunk leaves behind, starting from zero: Σ_s (a_{s+1} ... a_Q) B_s x_sᵀ
    decay_to_end = torch.exp(log_a_cum[..., -1:] - log_a_cum)  # (b, h, c, Q)
    states = torch.einsum("bclhn,bhcl,bclhp->bchnp", B, decay_to_end, X)  # (b, c, h, n, p)

    # 3. between chunks: H_c = (a over chunk c) H_{c-1} + states_c, a recurrence over c steps
    if initial_state is None:
        initial_state = X.new_zeros(b, h, B.shape[-1], p)
    states = torch.cat([initial_state.unsqueeze(1), states], dim=1)  # (b, c + 1, h, n, p)
    chunk_decay = torch.exp(segsum(F.pad(log_a_cum[..., -1], (1, 0))))  # (b, h, c + 1, c + 1)
    states = torch.einsum("bhzc,bchnp->bzhnp", chunk_decay, states)  # state entering chunk z, and the last
    states, final_state = states[:, :-1], states[:, -1]

    # 4. the entering state's contribution to each output: C_tᵀ (a_1 ... a_t) H_{c-1}
    Y_off = torch.einsum("bclhn,bchnp,bhcl->bclhp", C, states, torch.exp(log_a_cum))
    Y = (Y_diag + Y_off).reshape(b, c * chunk_size, h, p)
    return Y[:, :l], final_state
