"""seqlab: a Jupyter teaching kit on sequence models (RNN, GRU, LSTM, Mamba).

Submodules (import what you need; nothing heavy is imported here):

- ``seqlab.scratch``      RNN/GRU/LSTM cells and multi-layer modules from scratch, torch.nn-compatible
- ``seqlab.mamba``        the selective scan and the Mamba block in plain PyTorch
- ``seqlab.data``         the SILSO monthly sunspot series, windows, splits, scaler
- ``seqlab.models``       the forecasters' registry: networks and baselines
- ``seqlab.train``        ``TrainConfig``, the one training loop, early stopping, metrics
- ``seqlab.lab``          the lab's tables and reported numbers, as data
- ``seqlab.experiments``  configurations over seeds, selection on validation, summaries
- ``seqlab.compare``, ``seqlab.sweep``  the ``compare`` and ``sweep`` commands
- ``seqlab.plots``, ``seqlab.widgets``  figures and ipywidgets UIs for the lessons
- ``seqlab.grading``      exercises from solutions, grading a class
"""

__version__ = "0.1.0"
