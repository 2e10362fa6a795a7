"""Input checks shared by the cells and the multi-layer modules.

Each check raises an error naming what was expected, what was received, and the fix, so a
student who passes a (batch, seq, feature) tensor to a module built with
``batch_first=False`` reads why, instead of a matmul shape error three frames deep.

Two audiences: students read our longer message; code written against torch.nn catches the
type torch.nn raises and may match its words. So every error is a ``ValueError`` (seqlab's
type for bad input) and, where torch.nn raises something else, also that type
(``ShapeError`` is a RuntimeError, ``ArgumentTypeError`` a TypeError), and its message starts
with torch.nn's own sentence.
"""

from __future__ import annotations

import torch


class ShapeError(ValueError, RuntimeError):
    """A shape that does not fit: ValueError for seqlab, RuntimeError as torch.nn raises."""


class DtypeError(ValueError, RuntimeError):
    """Tensors of different dtypes: ValueError for seqlab, RuntimeError as torch.nn raises."""


class ArgumentTypeError(ValueError, TypeError):
    """A constructor argument of the wrong type: ValueError for seqlab, TypeError as torch.nn."""


def shape_str(shape) -> str:
    """``torch.Size([2, 3])`` -> ``(2, 3)``."""
    return "(" + ", ".join(str(int(s)) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def check_tensor(value, what: str) -> None:
    if not isinstance(value, torch.Tensor):
        raise ArgumentTypeError(f"{what} must be a torch.Tensor, got {type(value).__name__}.")


def check_dtype(tensor: torch.Tensor, expected: torch.dtype, what: str, module: str) -> None:
    """torch.nn's RNN/GRU/LSTM raise ValueError here, its cells RuntimeError: DtypeError is both."""
    if tensor.dtype != expected:
        raise DtypeError(
            f"RNN input dtype ({tensor.dtype}) does not match weight dtype ({expected}). Convert "
            f"input: input.to({expected}), or convert model: model.to({tensor.dtype}). "
            f"[{module}: {what} has dtype {tensor.dtype}, expected {expected} (the dtype of the "
            f"module's weights). Fix: convert one side, e.g. `{what}.to({expected})` or "
            f"`module.to({tensor.dtype})`.]"
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
            f"{name}: Expected input to be 1D or 2D, got {input.dim()}D instead. "
            f"{name}: expected input of shape (batch, input_size) = (N, {cell.input_size}) or "
            f"unbatched (input_size,) = ({cell.input_size},), received {input.dim()}-D input of "
            f"shape {shape_str(input.shape)}.{hint}"
        )
    if input.shape[-1] != cell.input_size:
        raise ShapeError(
            f"input has inconsistent input_size: got {input.shape[-1]} expected {cell.input_size}. "
            f"{name}: input has {input.shape[-1]} features in its last dimension (shape "
            f"{shape_str(input.shape)}), expected input_size={cell.input_size}, i.e. shape "
            f"(N, {cell.input_size}) or ({cell.input_size},). Fix: build the cell with "
            f"input_size={input.shape[-1]} or reshape the input so features are last."
        )
    return input.dim() == 2  # the dtype is checked after the states, in torch.nn's order


def check_cell_state(cell, input: torch.Tensor, state: torch.Tensor, what: str, index: int = 0) -> None:
    """Check one hidden/cell state ``state`` (hx[index]) against the cell and its (checked) input."""
    name = type(cell).__name__
    check_tensor(state, what)
    batched = input.dim() == 2
    expected = (input.shape[0], cell.hidden_size) if batched else (cell.hidden_size,)
    if tuple(state.shape) != expected:
        layout = "(batch, hidden_size)" if batched else "(hidden_size,) for unbatched input"
        hidden = "hidden" if name != "LSTMCell" else f"hx[{index}]"
        if state.dim() not in (1, 2):  # torch.nn's words for each case first
            error, torch_words = ValueError, f"{name}: Expected {hidden} to be 1D or 2D, got {state.dim()}D instead."
        elif state.shape[-1] != cell.hidden_size:
            error = ShapeError
            torch_words = f"hidden{index} has inconsistent hidden_size: got {state.shape[-1]}, expected {cell.hidden_size}."
        elif batched and state.dim() == 2:
            error = ShapeError
            torch_words = f"Input batch size {input.shape[0]} doesn't match hidden{index} batch size {state.shape[0]}."
        elif not batched and state.dim() == 2:  # torch.nn reads (a, b) as batch 1 of hidden_size a
            error = ShapeError
            torch_words = f"hidden{index} has inconsistent hidden_size: got {state.shape[0]}, expected {cell.hidden_size}."
        else:
            error, torch_words = ShapeError, f"{name}: {what} has {state.dim()} dimensions, input has {input.dim()}."
        raise error(
            f"{torch_words} "
            f"{name}: {what} has shape {shape_str(state.shape)}, expected {layout} = "
            f"{shape_str(expected)} to match input of shape {shape_str(input.shape)}. Fix: "
            f"give {what} the same batch size as the input and hidden_size={cell.hidden_size} "
            f"features, or pass none to start from zeros."
        )
    if state.dtype != input.dtype:
        raise DtypeError(
            f"{name}: {what} has dtype {state.dtype} but input has dtype {input.dtype}; "
            f"expected both {input.dtype}. Fix: `{what}.to(input.dtype)`."
        )


def check_packed_data(module, data: torch.Tensor) -> None:
    """Check the data (sum of lengths, input_size) of a PackedSequence."""
    name = type(module).__name__
    check_dtype(data, module.weight_ih_l0.dtype, "input", name)
    if data.dim() != 2:
        raise ShapeError(
            f"input must have 2 dimensions, got {data.dim()}. {name}: the data of a PackedSequence "
            f"is (sum of lengths, input_size), got shape {shape_str(data.shape)}. Fix: build it "
            "with torch.nn.utils.rnn.pack_padded_sequence or pack_sequence."
        )
    if data.shape[-1] != module.input_size:
        raise ShapeError(
            f"input.size(-1) must be equal to input_size. Expected {module.input_size}, got "
            f"{data.shape[-1]}. {name}: the packed sequences have {data.shape[-1]} features, the "
            f"module was built with input_size={module.input_size}."
        )


def check_layer_input(module, input: torch.Tensor) -> bool:
    """Check a multi-layer module's input; return True when it is batched (3-D)."""
    name = type(module).__name__
    check_tensor(input, "input")
    layout = "(N, L, input_size)" if module.batch_first else "(L, N, input_size)"
    if input.dim() not in (2, 3):
        raise ValueError(
            # torch.nn's words first (its RNN says "4D tensor", its GRU and LSTM "4D")
            f"{name}: Expected input to be 2D or 3D, got {input.dim()}D"
            f"{' tensor' if name == 'RNN' else ''} instead. "
            f"{name}: expected 3-D input of shape {layout} (batch_first={module.batch_first}) "
            f"or unbatched 2-D input (L, input_size), received {input.dim()}-D input of shape "
            f"{shape_str(input.shape)}. Fix: reshape to {layout} with "
            f"input_size={module.input_size}."
        )
    if input.shape[-1] != module.input_size:
        raise ShapeError(
            f"input.size(-1) must be equal to input_size. Expected {module.input_size}, got "
            f"{input.shape[-1]}. "
            f"{name}: input has {input.shape[-1]} features in its last dimension (shape "
            f"{shape_str(input.shape)}), expected input_size={module.input_size}, layout "
            f"{layout if input.dim() == 3 else '(L, input_size)'}. Fix: build the module with "
            f"input_size={input.shape[-1]}, or check batch_first (now {module.batch_first})."
        )
    check_dtype(input, module.weight_ih_l0.dtype, "input", name)
    length = input.shape[1 if module.batch_first else 0] if input.dim() == 3 else input.shape[0]
    if length == 0:
        raise ShapeError(
            f"Expected sequence length to be larger than 0 in RNN. {name}: input of shape "
            f"{shape_str(input.shape)} has no time steps (layout {layout}, batch_first="
            f"{module.batch_first})."
        )
    return input.dim() == 3


def check_layer_state(
    module, state: torch.Tensor, batch: int | None, dtype, what: str, size: int | None = None, index=None
) -> None:
    """``batch`` is None for unbatched input; ``size`` the features of the state (default
    hidden_size; proj_size for an LSTM's h with projections); ``index`` 0/1 for the LSTM's pair."""
    name = type(module).__name__
    check_tensor(state, what)
    rows = module.num_layers * (2 if module.bidirectional else 1)
    size = module.hidden_size if size is None else size
    if batch is None:
        expected, layout = (rows, size), "(num_layers * num_directions, hidden_size)"
    else:
        expected = (rows, batch, size)
        layout = "(num_layers * num_directions, batch, hidden_size)"
    if tuple(state.shape) != expected:
        if state.dim() != len(expected):  # torch.nn's words for each case first
            kind = "unbatched 2-D" if batch is None else "batched 3-D"
            torch_words = f"For {kind} input, hx should also be {len(expected)}-D but got {state.dim()}-D tensor."
        else:
            full = (rows, 1 if batch is None else batch, size)
            got = list(state.shape) if batch is not None else [rows, 1, state.shape[-1]]
            hidden = "hidden" if index is None else f"hidden[{index}]"
            torch_words = f"Expected {hidden} size {full}, got {got}."
        raise ShapeError(
            f"{torch_words} "
            f"{name}: {what} has shape {shape_str(state.shape)}, expected {layout} = "
            f"{shape_str(expected)}. Note {what} is (layers, batch, hidden) even when "
            f"batch_first=True. Fix: reshape {what}, or pass none to start from zeros."
        )
    if state.dtype != dtype:
        raise DtypeError(
            f"{name}: {what} has dtype {state.dtype} but input has dtype {dtype}; expected "
            f"both {dtype}. Fix: `{what}.to(input.dtype)`."
        )
