"""The training grids behind lesson 07: too slow to run live, stored in ``claims_results.json``.

Two grids, each over seeds:

- ``SUNSPOT_RUNS``: forecasters on the sunspot windows (12 months, the lab's split), the tutorial's
  toolbox (``seqlab.toolbox``) and the lab's own claims (depth, the combined loss, GRU vs LSTM
  overfitting). Each run records validation and test R^2 and the final train / validation MSE.
- ``ADDING_GRID``: GRU vs LSTM on the adding problem (``seqlab.tasks``), with the dependency length
  and the number of training sequences as dials.

Made by ``python -m seqlab.claims run`` (one CPU thread each; the two grids can run side by side:
``run sunspots OUT1 [NAME,NAME..]``, ``run adding OUT2``, then ``merge OUT1 OUT2 ..``);
``tests/test_claims.py`` re-runs one run of each grid and compares it with the stored numbers bit for bit.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from .tasks import AddingConfig, train_adding
from .toolbox import ToolboxForecaster, jitter, splits_from_arrays, warmup_schedule

RESULTS_PATH = Path(__file__).with_name("claims_results.json")
SEEDS = (0, 1, 2)
EPOCHS = 10
WINDOW = 12

# name -> (model spec, training options). Model specs: ("toolbox", kwargs) or ("lab", kind, kwargs).
SUNSPOT_RUNS: dict[str, tuple] = {
    # the tutorial's toolbox, all on a one-layer GRU(32) trained on plain MSE
    "gru": (("toolbox", {}), {}),
    "lstm": (("toolbox", {"kind": "lstm"}), {}),
    "bigru": (("toolbox", {"bidirectional": True}), {}),
    "attention": (("toolbox", {"pooling": "attention"}), {}),
    "residual": (("toolbox", {"residual": True}), {}),
    "layernorm_head": (("toolbox", {"norm": "layer"}), {}),
    "batchnorm_head": (("toolbox", {"norm": "batch"}), {}),
    "layernorm_cell": (("toolbox", {"cell": "layernorm"}), {}),
    "zoneout": (("toolbox", {"zoneout": 0.1}), {}),
    "cnn_gru": (("toolbox", {"conv_channels": 8}), {}),
    "warmup": (("toolbox", {}), {"warmup": 3}),
    "warmup_cosine": (("toolbox", {}), {"warmup": 3, "decay": "cosine"}),
    "jitter": (("toolbox", {}), {"jitter": 0.02}),
    "weight_decay": (("toolbox", {}), {"weight_decay": 1e-4}),
    # the lab's claims, on the lab's recurrent forecasters (hidden 64)
    "rnn_1layer": (("lab", "rnn", {"num_layers": 1}), {}),
    "rnn_2layers": (("lab", "rnn", {"num_layers": 2}), {}),
    "rnn_3layers": (("lab", "rnn", {"num_layers": 3}), {}),
    "rnn_1layer_window36": (("lab", "rnn", {"num_layers": 1}), {"window": 36}),
    "lab_gru_alpha0.5": (("lab", "gru", {}), {"alpha": 0.5}),
    "lab_gru_alpha1": (("lab", "gru", {}), {"alpha": 1.0}),
}

ADDING_GRID = {"length": (10, 30, 60), "n_train": (200, 5000), "kind": ("gru", "lstm")}


def _weight_decay(value: float):
    """A ``train(lr_schedule=...)`` hook that turns Adam's L2 penalty on (the tutorial's weight_decay)."""
    import torch

    def make(optimizer):
        for group in optimizer.param_groups:
            group["weight_decay"] = value
        return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda epoch: 1.0)

    return make


def sunspot_run(name: str, seed: int, series=None, *, epochs: int = EPOCHS) -> dict:
    """Train one ``SUNSPOT_RUNS`` entry with one seed; return its metrics (scaled units)."""
    import torch

    from .data import load_sunspots, split_series
    from .models import make_forecaster
    from .toolbox import r2_of
    from .train import train

    spec, options = SUNSPOT_RUNS[name]
    series = load_sunspots() if series is None else series
    splits = split_series(series, window=options.get("window", WINDOW))
    if spec[0] == "toolbox":
        torch.manual_seed(seed)
        model = ToolboxForecaster(**{"hidden_size": 32, **spec[1]})
    else:
        model = make_forecaster(spec[1], seed=seed, **spec[2])
    data = splits
    if "jitter" in options:
        data = splits_from_arrays(jitter(splits.X_train, options["jitter"], seed=seed), splits.y_train,
                                  splits.X_val, splits.y_val)
    schedule = None
    if "warmup" in options:
        schedule = warmup_schedule(options["warmup"], decay=options.get("decay"), total_epochs=epochs)
    if "weight_decay" in options:
        schedule = _weight_decay(options["weight_decay"])
    result = train(model, data, epochs=epochs, alpha=options.get("alpha", 1.0), seed=seed, progress=False,
                   lr_schedule=schedule)
    mse = lambda X, y: float(np.mean((_predict(model, X) - y) ** 2))  # noqa: E731
    out = {"val_r2": r2_of(model, splits.X_val, splits.y_val), "test_r2": r2_of(model, splits.X_test, splits.y_test),
           "train_mse": mse(splits.X_train, splits.y_train), "val_mse": mse(splits.X_val, splits.y_val),
           "best_epoch": result.best_epoch}
    if name == "gru":  # kept for the ensemble
        out["test_pred"] = _predict(model, splits.X_test).tolist()
    return out


def _predict(model, X):
    from .train import predict
    return predict(model, X)[0]


def adding_run(kind: str, length: int, n_train: int, seed: int) -> dict:
    """One cell of ``ADDING_GRID``: test R^2 and MSE."""
    from .train import num_threads
    with num_threads(1):  # one thread, as the stored grid was made: same numbers bit for bit
        out = train_adding(AddingConfig(kind=kind, length=length, n_train=n_train, seed=seed))
    return {"r2": out["r2"], "mse": out["mse"]}


def run_all(path: Path = RESULTS_PATH, parts=("sunspots", "adding"), progress: bool = True,
            names=None) -> dict:
    """Run the grids named in ``parts`` over ``SEEDS`` and write them to ``path`` as JSON (the other
    part, if already stored there, is kept: the two grids can be made by two processes one after
    the other, or side by side into two files joined by ``merge``)."""
    from tqdm.auto import tqdm

    from .data import load_sunspots
    from .train import num_threads

    series = load_sunspots()
    results = {"sunspots": {}, "adding": [], "seeds": list(SEEDS), "epochs": EPOCHS,
               "adding_config": asdict(AddingConfig())}
    if Path(path).exists():
        results.update({k: v for k, v in json.loads(Path(path).read_text()).items() if k in ("sunspots", "adding")})
    with num_threads(1):
        if "sunspots" in parts:
            results["sunspots"] = {}
            for name in tqdm(names or SUNSPOT_RUNS, desc="sunspot runs", disable=not progress):
                results["sunspots"][name] = [sunspot_run(name, s, series) for s in SEEDS]
                Path(path).write_text(json.dumps(results, indent=1) + "\n")  # so far, in case it is stopped
        if "adding" in parts:
            results["adding"] = []
            cells = [(k, L, n) for L in ADDING_GRID["length"] for n in ADDING_GRID["n_train"] for k in ADDING_GRID["kind"]]
            if names:  # "kind:length:n_train" cells, to split the grid over processes
                cells = [(k, int(L), int(n)) for k, L, n in (name.split(":") for name in names)]
            for kind, length, n_train in tqdm(cells, desc="adding problem", disable=not progress):
                for seed in SEEDS:
                    results["adding"].append({"kind": kind, "length": length, "n_train": n_train, "seed": seed,
                                              **adding_run(kind, length, n_train, seed)})
                Path(path).write_text(json.dumps(results, indent=1) + "\n")  # so far, in case it is stopped
    Path(path).write_text(json.dumps(results, indent=1) + "\n")
    return results


def merge(*paths: Path, path: Path = RESULTS_PATH) -> None:
    """Join files holding parts of the grids (sunspot settings, adding runs) into ``path``, the sunspot
    settings in ``SUNSPOT_RUNS``'s order."""
    parts = [json.loads(Path(p).read_text()) for p in paths]
    out = {**parts[0], "sunspots": {}, "adding": []}
    found = {name: runs for part in parts for name, runs in part["sunspots"].items()}
    out["sunspots"] = {name: found[name] for name in SUNSPOT_RUNS if name in found}
    out["adding"] = [run for part in parts for run in part["adding"]]
    Path(path).write_text(json.dumps(out, indent=1) + "\n")


def load_results(path: Path = RESULTS_PATH) -> dict:
    """The stored grids; a clear error if they are missing."""
    if not Path(path).exists():
        raise FileNotFoundError(f"{path} is missing: make it with `python -m seqlab.claims run` (about 5 minutes).")
    return json.loads(Path(path).read_text())
