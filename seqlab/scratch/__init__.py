"""RNN, GRU and LSTM from scratch, drop-in compatible with torch.nn.

- ``RNNCell``, ``GRUCell``, ``LSTMCell`` (cells.py): one time step, the readable reference, with
  ``forward_with_gates`` for the lessons' gate plots.
- ``RNN``, ``GRU``, ``LSTM`` (layers.py): multi-layer, bidirectional, dropout, same
  ``state_dict`` keys as torch.nn; a fast path (fast_path.py, hand-written backward through
  time) is used by default, the per-step reference with ``fast_path=False``.
- manual_backward.py: the backward of one GRU step and one LSTM step derived by hand.
"""

from .cells import GRUCell, LSTMCell, RNNCell, gru_step, lstm_step, rnn_step
from .layers import GRU, LSTM, RNN
from .manual_backward import GRUStepFunction, LSTMStepFunction, gru_step_backward, lstm_step_backward
from .variants import CellRNN, LayerNormGRUCell, ZoneoutGRUCell  # the tutorial's zoneout and LayerNorm GRU

__all__ = [
    "RNNCell", "GRUCell", "LSTMCell", "RNN", "GRU", "LSTM", "rnn_step", "gru_step", "lstm_step",
    "gru_step_backward", "lstm_step_backward", "GRUStepFunction", "LSTMStepFunction",
]
