"""Input checks shared by the cells and the multi-layer modules.

Each check raises ``ValueError`` naming what was expected, what was received, and the fix,
so a student who passes a (batch, seq, feature) tensor to a module built with
``batch_first=False`` reads why, instead of a matmul shape error three frames deep.
"""

from __future__ import annotations

import torch


def shape_str(shape) -> str:
    """``torch.Size([2, 3])`` -> ``(2, 3)``."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_tensor(value, what: str) -> None:
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"{what} must be a torch.Tensor, got {type(value).__name__}.")


def check_dtype(tensor: torch.Tensor, expected: torch.dtype, what: str, module: str) -> None:
    if tensor.dtype != expected:
        raise ValueError(
            f"{module}: {what} has dtype {tensor.dtype}, expected {expected} (the dtype of the "
            f"module's weights). Fix: convert one side, e.g. `{what}.to({expected})` or "
            f"`module.to({tensor.dtype})`."
        )


def check_cell_input(cell, input: torch.Tensor) -> bool:
    """Check a cell's input; return True when it is batched (2-D)."""
    name = type(cell).__name__
    check_tensor(input, "input")
    if input.dim() not in (1, 2):
        hint = ""
        if input.dim() == 3:
            hint = (
                " A 3-D tensor looks like a whole sequence: loop over time and call the cell on "
                "input[t], or use the multi-layer module (seqlab.scratch.RNN/GRU/LSTM)."
            )
        raise ValueError(
            f"{name}: expected input of shape (batch, input_size) = (N, {cell.input_size}) or "
            f"unbatched (input_size,) = ({cell.input_size},), received {input.dim()}-D input of "
            f"shape {shape_str(input.shape)}.{hint}"
        )
    if input.shape[-1] != cell.input_size:
        raise ValueError(
            f"{name}: input has {input.shape[-1]} features in its last dimension (shape "
            f"{shape_str(input.shape)}), expected input_size={cell.input_size}, i.e. shape "
            f"(N, {cell.input_size}) or ({cell.input_size},). Fix: build the cell with "
            f"input_size={input.shape[-1]} or reshape the input so features are last."
        )
    check_dtype(input, cell.weight_ih.dtype, "input", name)
    return input.dim() == 2


def check_cell_state(cell, input: torch.Tensor, state: torch.Tensor, what: str) -> None:
    """Check one hidden/cell state ``state`` against the cell and its (checked) input."""
    name = type(cell).__name__
    check_tensor(state, what)
    batched = input.dim() == 2
    expected = (input.shape[0], cell.hidden_size) if batched else (cell.hidden_size,)
    if tuple(state.shape) != expected:
        layout = "(batch, hidden_size)" if batched else "(hidden_size,) for unbatched input"
        raise ValueError(
            f"{name}: {what} has shape {shape_str(state.shape)}, expected {layout} = "
            f"{shape_str(expected)} to match input of shape {shape_str(input.shape)}. Fix: "
            f"give {what} the same batch size as the input and hidden_size={cell.hidden_size} "
            f"features, or pass none to start from zeros."
        )
    if state.dtype != input.dtype:
        raise ValueError(
            f"{name}: {what} has dtype {state.dtype} but input has dtype {input.dtype}; "
            f"expected both {input.dtype}. Fix: `{what}.to(input.dtype)`."
        )


def check_layer_input(module, input: torch.Tensor) -> bool:
    """Check a multi-layer module's input; return True when it is batched (3-D)."""
    name = type(module).__name__
    if isinstance(input, torch.nn.utils.rnn.PackedSequence):
        raise ValueError(
            f"{name}: packed sequences (PackedSequence) are not supported by seqlab.scratch. Fix: "
            "pad the batch to one length (torch.nn.utils.rnn.pad_packed_sequence) or use torch.nn."
        )
    check_tensor(input, "input")
    layout = "(N, L, input_size)" if module.batch_first else "(L, N, input_size)"
    if input.dim() not in (2, 3):
        raise ValueError(
            f"{name}: expected 3-D input of shape {layout} (batch_first={module.batch_first}) "
            f"or unbatched 2-D input (L, input_size), received {input.dim()}-D input of shape "
            f"{shape_str(input.shape)}. Fix: reshape to {layout} with "
            f"input_size={module.input_size}."
        )
    if input.shape[-1] != module.input_size:
        raise ValueError(
            f"{name}: input has {input.shape[-1]} features in its last dimension (shape "
            f"{shape_str(input.shape)}), expected input_size={module.input_size}, layout "
            f"{layout if input.dim() == 3 else '(L, input_size)'}. Fix: build the module with "
            f"input_size={input.shape[-1]}, or check batch_first (now {module.batch_first})."
        )
    check_dtype(input, module.weight_ih_l0.dtype, "input", name)
    return input.dim() == 3


def check_layer_state(module, state: torch.Tensor, batch: int | None, dtype, what: str) -> None:
    """``batch`` is None for unbatched input."""
    name = type(module).__name__
    check_tensor(state, what)
    rows = module.num_layers * (2 if module.bidirectional else 1)
    if batch is None:
        expected, layout = (rows, module.hidden_size), "(num_layers * num_directions, hidden_size)"
    else:
        expected = (rows, batch, module.hidden_size)
        layout = "(num_layers * num_directions, batch, hidden_size)"
    if tuple(state.shape) != expected:
        raise ValueError(
            f"{name}: {what} has shape {shape_str(state.shape)}, expected {layout} = "
            f"{shape_str(expected)}. Note {what} is (layers, batch, hidden) even when "
            f"batch_first=True. Fix: reshape {what}, or pass none to start from zeros."
        )
    if state.dtype != dtype:
        raise ValueError(
            f"{name}: {what} has dtype {state.dtype} but input has dtype {dtype}; expected "
            f"both {dtype}. Fix: `{what}.to(input.dtype)`."
        )
