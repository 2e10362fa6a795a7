"""Recurrent inference with mamba-ssm's interface: ``InferenceParams`` and a cached forward.

mamba-ssm's generation code (mamba_ssm/utils/generation.py) passes one ``InferenceParams`` to
every block; block ``layer_idx`` keeps its (conv_state, ssm_state) in
``inference_params.key_value_memory_dict[layer_idx]``:

- ``seqlen_offset == 0`` (the prompt): run the whole prompt and leave the cache holding the
  state after its last token;
- ``seqlen_offset > 0`` (decoding): the new tokens continue from the cached state.

Here both are the block's ``step`` run token by token (the recurrence the cache exists for),
so the numbers equal ``forward``'s on the whole sequence to float rounding.

Glossary: b batch, l tokens in this call, d_inner channels, d_conv kernel width, d_state n.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

__all__ = ["InferenceParams", "forward_with_cache"]


@dataclass
class InferenceParams:
    """mamba-ssm's ``InferenceParams`` (same fields), for generation without mamba-ssm."""

    max_seqlen: int
    max_batch_size: int
    seqlen_offset: int = 0
    batch_size_offset: int = 0
    key_value_memory_dict: dict = field(default_factory=dict)
    lengths_per_sample: torch.Tensor | None = None

    def reset(self, max_seqlen, max_batch_size):
        self.max_seqlen = max_seqlen
        self.max_batch_size = max_batch_size
        self.seqlen_offset = 0
        if self.lengths_per_sample is not None:
            self.lengths_per_sample.zero_()


def states_from_cache(block, inference_params, batch_size):
    """The block's (conv_state (b, d_inner, d_conv), ssm_state (b, d_inner, d_state)), made
    (zeros) on first use, as mamba-ssm's ``Mamba._get_states_from_cache``."""
    if block.layer_idx is None:
        raise ValueError(
            "Mamba(..., layer_idx=None) cannot use inference_params: the cache is keyed by "
            "layer_idx. Fix: build each block with its own layer_idx (0, 1, ...)."
        )
    cache = inference_params.key_value_memory_dict
    if block.layer_idx not in cache:
        cache[block.layer_idx] = block.allocate_cache(batch_size)
    conv_state, ssm_state = cache[block.layer_idx]
    if conv_state.shape[0] != batch_size:
        raise ValueError(
            f"the cache of layer {block.layer_idx} holds a batch of {conv_state.shape[0]}, "
            f"hidden_states has {batch_size}. Fix: a fresh InferenceParams for a new batch."
        )
    return conv_state, ssm_state


def forward_with_cache(block, hidden_states, inference_params):
    """hidden_states (b, l, d_model) -> (b, l, d_model), continuing from and updating the cache."""
    block._check_input(hidden_states)
    cache = states_from_cache(block, inference_params, hidden_states.shape[0])
    if inference_params.seqlen_offset == 0:  # a new prompt: start from zeros
        for state in cache:
            state.zero_()
    outs = [block.step(hidden_states[:, t : t + 1], cache)[0] for t in range(hidden_states.shape[1])]
    return torch.cat(outs, dim=1)  # (b, l, d_model)
