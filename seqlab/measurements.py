"""The measurements behind lesson 07's claims table (``seqlab.claims``).

Every function returns a ``Result``: the measured value as text (mean ± spread over seeds or
rounds), a verdict (``holds``, ``fails`` or ``depends: ...``) decided by a rule written in the
function, and the raw numbers. Quick ones run live in the lesson; the sunspot and adding-problem
grids are precomputed by ``python -m seqlab.claims run`` (see ``seqlab.claims``), and a test re-runs
a part of them and matches the stored numbers bit for bit.

Timings are measured side by side in one run, interleaved, and reported as ratios; the CPU they
ran on is printed by ``cpu_name()``.
"""

from __future__ import annotations

import platform
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from . import scratch
from .models import AutoRegressive
from .toolbox import drop_months, fill_missing, random_splits, time_series_splits
from .train import LabLoss, num_threads, regression_metrics


@dataclass
class Result:
    """One measured claim: ``value`` (text, mean ± spread), ``verdict`` and the raw ``numbers``."""

    value: str
    verdict: str
    numbers: dict = field(default_factory=dict)


def mean_spread(values, fmt: str = ".3f") -> str:
    """``"m ± s (n=k)"``: the mean and the standard deviation (ddof=1) over k seeds or rounds."""
    v = np.asarray(values, dtype=np.float64)
    s = v.std(ddof=1) if len(v) > 1 else 0.0
    return f"{v.mean():{fmt}} ± {s:{fmt}} (n={len(v)})"


def cpu_name() -> str:
    """The CPU model, for printing beside timings."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# ------------------------------------------------------------------------ parameters (exact)


def parameter_counts() -> Result:
    """GRU / LSTM parameter ratio over sizes, and the tutorial's printed counts against torch.nn's."""
    ratios = []
    for inp, hid, layers in [(1, 16, 1), (1, 64, 2), (10, 64, 2), (10, 128, 2), (32, 256, 3)]:
        g = sum(p.numel() for p in nn.GRU(inp, hid, layers).parameters())
        l = sum(p.numel() for p in nn.LSTM(inp, hid, layers).parameters())
        ratios.append(g / l)
    printed = {"GRU(10, 128, 2)": (105_344, 139_264), "GRU(10, 64, 2)": (28_800, 38_400)}
    actual = {}
    for name, (inp, hid) in {"GRU(10, 128, 2)": (10, 128), "GRU(10, 64, 2)": (10, 64)}.items():
        actual[name] = (sum(p.numel() for p in nn.GRU(inp, hid, 2).parameters()),
                        sum(p.numel() for p in nn.LSTM(inp, hid, 2).parameters()))
    exact = all(abs(r - 0.75) < 1e-12 for r in ratios)
    value = (f"GRU/LSTM = {min(ratios):.4f}..{max(ratios):.4f} over 5 sizes; torch.nn counts "
             + "; ".join(f"{k}: {a[0]:,} vs {a[1]:,} (tutorial prints {printed[k][0]:,} vs {printed[k][1]:,})"
                         for k, a in actual.items()))
    return Result(value, "holds (exactly 25% fewer); the tutorial's printed counts are wrong" if exact else "fails",
                  {"ratios": ratios, "actual": actual, "printed": printed})


def lab_parameter_counts() -> Result:
    """The lab's final models: does its GRU have more parameters than the others?"""
    from .models import make_forecaster, count_parameters
    sizes = {"rnn": dict(hidden_size=64), "gru": dict(hidden_size=48), "lstm": dict(hidden_size=128)}
    counts = {k: count_parameters(make_forecaster(k, seed=0, **kw)) for k, kw in sizes.items()}
    same = {k: count_parameters(make_forecaster(k, seed=0, hidden_size=64)) for k in ("rnn", "gru", "lstm")}
    most = max(counts, key=counts.get)
    value = ("final configs: " + ", ".join(f"{k.upper()} {v:,}" for k, v in counts.items())
             + "; at hidden 64: " + ", ".join(f"{k.upper()} {v:,}" for k, v in same.items()))
    verdict = "fails: the GRU does not have the most parameters" if most != "gru" else "holds"
    return Result(value, verdict, {"final": counts, "hidden64": same})


# ------------------------------------------------------------------------ gradients


def tutorial_gradient_demo(seeds=(0, 1, 2, 3, 4)) -> Result:
    """The tutorial's Q1 snippet: nn.RNN(10, 20) vs nn.GRU(10, 20), x ~ N(0, 1) of (100, 32, 10),
    loss out.sum(); the norm of weight_hh_l0's gradient ("RNN may be > 100, GRU usually < 10")."""
    rnn_norms, gru_norms = [], []
    for seed in seeds:
        torch.manual_seed(seed)
        x = torch.randn(100, 32, 10)
        for cls, store in ((nn.RNN, rnn_norms), (nn.GRU, gru_norms)):
            model = cls(input_size=10, hidden_size=20, num_layers=1)
            out, _ = model(x)
            out.sum().backward()
            store.append(model.weight_hh_l0.grad.norm().item())
    holds = np.mean(rnn_norms) > 100 and np.mean(gru_norms) < 10
    value = f"RNN {mean_spread(rnn_norms, '.0f')}, GRU {mean_spread(gru_norms, '.0f')}"
    verdict = "holds" if holds else (
        "fails: both norms are large; out.sum() over 100 steps x 32 x 20 units is a big loss, "
        "and the norm measures its size, not vanishing or exploding")
    return Result(value, verdict, {"rnn": rnn_norms, "gru": gru_norms})


def combined_loss_gradient(seed: int = 0) -> Result:
    """d/dp [a MSE + (1 - a) RMSE] = (a + (1 - a) / (2 RMSE)) dMSE/dp: checked with autograd, float64."""
    torch.manual_seed(seed)
    worst = 0.0
    for alpha in (0.0, 0.3, 0.5, 0.7):
        w = torch.randn(5, dtype=torch.float64, requires_grad=True)
        x, y = torch.randn(40, 5, dtype=torch.float64), torch.randn(40, dtype=torch.float64)
        pred = x @ w
        (g_lab,) = torch.autograd.grad(LabLoss(alpha)(pred, y), w)
        mse = torch.mean((x @ w - y) ** 2)
        (g_mse,) = torch.autograd.grad(mse, w)
        factor = alpha + (1 - alpha) / (2 * mse.detach().sqrt())
        worst = max(worst, (g_lab - factor * g_mse).abs().max().item())
    return Result(f"max |autograd - (alpha + (1-alpha)/(2 RMSE)) grad MSE| = {worst:.1e} over 4 alphas",
                  "holds: the combined loss only rescales the MSE gradient" if worst < 1e-12 else "fails",
                  {"max_abs_diff": worst})


# ------------------------------------------------------------------------ speed (ratios, one run)


def _fwd_bwd_seconds(model, x, repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        out, _ = model(x)
        out.sum().backward()
    return (time.perf_counter() - start) / repeats


def gru_vs_lstm_speed(backend: str = "nn", *, batch=32, length=50, hidden=64, layers=2, rounds=5,
                      repeats=3, threads: int = 1) -> Result:
    """Forward+backward time, GRU / LSTM, same sizes, interleaved rounds; ratio mean ± spread.

    The tutorial: GRU "10-15% faster", i.e. a ratio of 0.85-0.90."""
    lib = nn if backend == "nn" else scratch
    ratios = []
    with num_threads(threads):
        torch.manual_seed(0)
        x = torch.randn(batch, length, 1)
        gru = lib.GRU(1, hidden, layers, batch_first=True)
        lstm = lib.LSTM(1, hidden, layers, batch_first=True)
        _fwd_bwd_seconds(gru, x, 1), _fwd_bwd_seconds(lstm, x, 1)  # warm-up
        for _ in range(rounds):
            ratios.append(_fwd_bwd_seconds(gru, x, repeats) / _fwd_bwd_seconds(lstm, x, repeats))
    r = np.asarray(ratios)
    if r.mean() + r.std(ddof=1) < 0.85:
        verdict = "fails: the GRU is faster than claimed"
    elif r.mean() - r.std(ddof=1) > 0.90:
        verdict = "fails: the GRU is not 10-15% faster" + (" (it is slower)" if r.mean() > 1 else "")
    else:
        verdict = "holds"
    return Result(f"time GRU / LSTM = {mean_spread(r, '.2f')} rounds ({backend}, b{batch} l{length} h{hidden} x{layers})",
                  verdict, {"ratios": ratios})


def packing_speed(*, batch=64, max_len=100, min_len=10, hidden=64, rounds=5, repeats=3, threads: int = 1,
                  seed: int = 0) -> Result:
    """nn.GRU on a zero-padded batch vs the same batch packed (PackedSequence): forward+backward time
    ratio packed / padded, and a check that packing gives each sequence's own final state."""
    g = torch.Generator().manual_seed(seed)
    lengths = torch.randint(min_len, max_len + 1, (batch,), generator=g)
    x = torch.randn(batch, max_len, 8, generator=g)
    x = x * (torch.arange(max_len)[None, :, None] < lengths[:, None, None])  # zero padding
    torch.manual_seed(seed)
    gru = nn.GRU(8, hidden, batch_first=True)
    with num_threads(threads):
        def padded():
            out, h = gru(x)
            return out, h

        def packed():
            return gru(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))

        # each sequence run alone gives the final state that packing must reproduce
        _, h_packed = packed()
        h_alone = torch.stack([gru(x[i:i + 1, : lengths[i]])[1][0, 0] for i in range(4)])
        same = torch.allclose(h_packed[0, :4], h_alone, atol=1e-6)
        ratios = []
        for _ in range(rounds):
            t = {}
            for name, fn in (("padded", padded), ("packed", packed)):
                start = time.perf_counter()
                for _ in range(repeats):
                    out, h = fn()
                    h.sum().backward()
                t[name] = (time.perf_counter() - start) / repeats
            ratios.append(t["packed"] / t["padded"])
    r = np.asarray(ratios)
    padding = 1 - lengths.float().mean().item() / max_len
    saved = 1 - r.mean()
    if saved < 0:
        verdict = (f"fails on this CPU: packed takes {r.mean():.2f}x the padded time although {padding:.0%} "
                   "of the steps are padding (the speed-up is a GPU/cuDNN result)")
    elif 0.20 <= saved <= 0.30:
        verdict = "holds"
    else:
        verdict = f"depends on the padding: {padding:.0%} of this batch is padding, packing saves {saved:.0%}"
    return Result(f"time packed / padded = {mean_spread(r, '.2f')} rounds; {padding:.0%} padding; "
                  f"packed final states = per-sequence runs: {same}", verdict,
                  {"ratios": ratios, "padding": padding, "same_final_state": bool(same)})


def bucketing_padding(*, n=2048, batch=32, min_len=10, max_len=100, seed=0) -> Result:
    """Fraction of padded steps when batches are drawn at random vs from length-sorted buckets."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, n)

    def padding(order):
        pads = [len(b) * lengths[b].max() - lengths[b].sum() for b in np.array_split(order, n // batch)]
        return sum(pads) / (sum(pads) + lengths.sum())

    shuffled = [padding(np.random.default_rng(s).permutation(n)) for s in range(3)]
    bucketed = padding(np.argsort(lengths, kind="stable"))
    return Result(f"padded steps: random batches {mean_spread(shuffled, '.2f')}, sorted buckets {bucketed:.3f}",
                  "holds: bucketing removes almost all padding" if bucketed < 0.1 * np.mean(shuffled) else "fails",
                  {"random": shuffled, "bucketed": bucketed})


def dropout_between_layers() -> Result:
    """torch.nn.GRU(dropout=p) acts between layers only: one layer ignores it (with a warning)."""
    torch.manual_seed(0)
    x = torch.randn(4, 10, 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        one = nn.GRU(3, 8, 1, dropout=0.3, batch_first=True).train()
    two = nn.GRU(3, 8, 2, dropout=0.3, batch_first=True).train()
    one_same = torch.equal(one(x)[0], one(x)[0])
    two_same = torch.equal(two(x)[0], two(x)[0])
    ok = one_same and not two_same and any("dropout" in str(w.message) for w in caught)
    return Result(f"1 layer, train mode, two calls equal: {one_same} (warned: {bool(caught)}); 2 layers equal: {two_same}",
                  "holds" if ok else "fails", {"one_layer_same": one_same, "two_layers_same": two_same})


# ------------------------------------------------------------------------ data handling (numpy, exact)


def missing_values(series, *, fraction=0.1, seeds=(0, 1, 2), window=12) -> Result:
    """Remove ``fraction`` of the training months at random, fill them by forward fill or linear
    interpolation; report the fill error (sunspot units) and AR(12)'s held-out R^2 trained on the
    filled series, against the complete series."""
    from .data import split_series
    full = split_series(series, window=window)
    reference = regression_metrics(full.y_test, AutoRegressive(window).fit(full.X_train, full.y_train).predict(full.X_test))["r2"]
    err, r2 = {"ffill": [], "linear": []}, {"ffill": [], "linear": []}
    for seed in seeds:
        holed = drop_months(series, fraction, seed=seed)
        gone = holed.isna().to_numpy()
        for method in err:
            filled = fill_missing(holed, method)
            err[method].append(float(np.sqrt(np.mean((filled.to_numpy()[gone] - series.to_numpy()[gone]) ** 2))))
            s = split_series(filled, window=window)
            # test on the complete months: only training is affected by the holes
            model = AutoRegressive(window).fit(s.X_train, s.y_train)
            r2[method].append(regression_metrics(full.y_test, model.predict(full.X_test))["r2"])
    better = "linear" if np.mean(err["linear"]) < np.mean(err["ffill"]) else "ffill"
    value = (f"fill RMSE (sunspots): ffill {mean_spread(err['ffill'], '.1f')}, linear {mean_spread(err['linear'], '.1f')}; "
             f"AR(12) test R^2 ffill {mean_spread(r2['ffill'])}, linear {mean_spread(r2['linear'])}, complete {reference:.3f}")
    return Result(value, f"holds: both recipes work here; {better} fills closer to the truth", {"err": err, "r2": r2,
                  "complete_r2": reference})


def cross_validation(series, *, window=12, n_splits=5, seeds=(0, 1, 2)) -> Result:
    """AR(window) scored by TimeSeriesSplit folds and by shuffled k-fold on the training + validation
    windows, against its R^2 on the held-out test months."""
    from .data import split_series
    s = split_series(series, window=window)
    X = np.concatenate([s.X_train, s.X_val])
    y = np.concatenate([s.y_train, s.y_val])

    def score(folds):
        return [regression_metrics(y[va], AutoRegressive(window).fit(X[tr], y[tr]).predict(X[va]))["r2"] for tr, va in folds]

    ts = score(time_series_splits(len(y), n_splits))
    shuffled = [np.mean(score(random_splits(len(y), n_splits, seed=k))) for k in seeds]
    test = regression_metrics(s.y_test, AutoRegressive(window).fit(X, y).predict(s.X_test))["r2"]
    value = (f"AR({window}) R^2: TimeSeriesSplit folds {mean_spread(ts)}, shuffled k-fold {mean_spread(shuffled)} "
             f"(over shuffles), held-out test {test:.3f}")
    gap_ts, gap_sh = abs(np.mean(ts) - test), abs(np.mean(shuffled) - test)
    verdict = ("holds: shuffled folds are further from the held-out score" if gap_sh > gap_ts else
               "depends on the model: for a linear AR with few parameters shuffling leaks little; "
               "the folds' spread is what the time split shows")
    return Result(value, verdict, {"timeseries": ts, "shuffled": shuffled, "test": test})
