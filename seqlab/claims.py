"""Every claim of the course's three references, as a row with a measurement behind it (lesson 07).

A ``Claim`` says who claimed what, how we measure it, and ``where`` the measurement lives:

- ``"fn:NAME"``: a function in ``MEASURES`` below, run in lesson 07 (live, or from the stored grids
  of ``seqlab.claim_runs``); it returns a ``seqlab.measurements.Result`` with value and verdict.
- ``"notebook:PATH#TAG"``: a cell of another lesson tagged ``TAG``; its saved output is the value
  and ``verdict`` is written in the row (the lesson explains it).
- ``"lesson06:MODULE:NAME"``: measured in lesson 06 (efficient models) by ``MODULE.NAME``.
- ``"not measured: WHY"``: kept to the few claims that cannot be measured in this kit, saying why.

``tests/test_claims.py`` fails when a row's measurement does not exist or produces no value.

Command line: ``python -m seqlab.claims run`` re-makes the stored grids (``claims_results.json``;
``run sunspots A.json [NAMES]`` and ``run adding B.json`` side by side, then ``merge A.json B.json``, is the same);
``python -m seqlab.claims table`` prints the whole table.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import measurements as m
from .measurements import Result, mean_spread

ROOT = Path(__file__).resolve().parents[1]
MIN_EFFECT = 0.005  # R^2: the lab's own "R^2 could vary by .005 each run"
SOURCES = {"lab": "sunspot lab report", "tutorial": "GRU tutorial", "poster": "efficient-models poster"}


@dataclass(frozen=True)
class Claim:
    key: str
    source: str  # a key of SOURCES
    claim: str
    how: str
    where: str
    verdict: str | None = None  # only for rows measured in another lesson


# ---------------------------------------------------------------- verdicts from the stored grids


def _sunspot(results, name, metric="test_r2"):
    return np.array([run[metric] for run in results["sunspots"][name]])


def compare_to(results, name, baseline="gru", metric="test_r2", label=None) -> Result:
    """Paired by seed: ``name`` minus ``baseline`` on held-out R^2; verdict from the paired spread."""
    missing = [n for n in (name, baseline) if n not in results["sunspots"]]
    if missing:
        return _missing(missing)
    a, b = _sunspot(results, name, metric), _sunspot(results, baseline, metric)
    d = a - b
    s = d.std(ddof=1)
    # a difference counts when it exceeds the paired seed spread AND the lab's own run-to-run 0.005
    if d.mean() > max(s, MIN_EFFECT):
        verdict = "holds: better by more than the seed spread"
    elif d.mean() < -max(s, MIN_EFFECT):
        verdict = "fails: worse by more than the seed spread"
    else:
        verdict = f"fails: no difference beyond the seed spread (or below the {MIN_EFFECT} R^2 that moves between runs)"
    return Result(f"test R^2 {mean_spread(a)} vs {baseline.upper() if baseline in ('gru', 'lstm') else baseline} "
                  f"{mean_spread(b)}; paired difference {d.mean():+.3f} ± {s:.3f}", verdict,
                  {"values": a.tolist(), "baseline": b.tolist()})


def _missing(names) -> Result:
    return Result(f"{', '.join(names)} missing from the stored grid",
                  "not measured: the stored grid lacks this setting; re-make it with `python -m seqlab.claims run`")


def ensemble_result(results) -> Result:
    """The mean of the GRU's seed models vs each of them alone (held-out R^2)."""
    from .data import load_sunspots, split_series
    from .train import regression_metrics
    y = split_series(load_sunspots(), window=12).y_test
    preds = np.array([run["test_pred"] for run in results["sunspots"]["gru"]])
    alone = [regression_metrics(y, p)["r2"] for p in preds]
    together = regression_metrics(y, preds.mean(axis=0))["r2"]
    verdict = ("holds: the ensemble beats its members' mean by more than their spread"
               if together - np.mean(alone) > np.std(alone, ddof=1) else
               "depends: better than the average member, within the members' spread" if together > np.mean(alone)
               else "fails")
    return Result(f"ensemble of {len(alone)} GRUs R^2 {together:.3f}; members {mean_spread(alone)}", verdict,
                  {"ensemble": together, "members": alone})


def depth_vs_time(results) -> Result:
    """The lab: more layers hurt the RNN, because of vanishing gradients. Depth and time are two dials."""
    layers = {k: _sunspot(results, f"rnn_{k}") for k in ("1layer", "2layers", "3layers")}
    w36 = _sunspot(results, "rnn_1layer_window36")
    value = ("RNN test R^2: 1 layer " + mean_spread(layers["1layer"]) + ", 2 layers " + mean_spread(layers["2layers"])
             + ", 3 layers " + mean_spread(layers["3layers"]) + "; 1 layer on 36-month windows " + mean_spread(w36))
    spread = max(v.std(ddof=1) for v in layers.values())
    drop = layers["1layer"].mean() - layers["3layers"].mean()
    verdict = (f"depends: 3 layers {'lose' if drop > 0 else 'gain'} {abs(drop):.3f} R^2 "
               f"({'beyond' if abs(drop) > spread else 'within'} the seed spread {spread:.3f}); layers add depth, "
               "not time steps: the gradient's path back through time has the same 12 steps, so vanishing "
               "through time cannot be what layers change")
    return Result(value, verdict, {k: v.tolist() for k, v in layers.items()} | {"window36": w36.tolist()})


def overfitting_gap(results) -> Result:
    """Validation MSE / training MSE at the end of training, GRU vs LSTM (same size, one layer)."""
    gap = {k: _sunspot(results, k, "val_mse") / _sunspot(results, k, "train_mse") for k in ("gru", "lstm")}
    d = gap["gru"] - gap["lstm"]
    verdict = ("fails: the GRU overfits no more than the LSTM (val/train MSE within the seed spread)"
               if abs(d.mean()) <= d.std(ddof=1) else
               ("holds: the GRU's gap is larger" if d.mean() > 0 else "fails: the LSTM's gap is larger"))
    return Result(f"val MSE / train MSE: GRU {mean_spread(gap['gru'], '.2f')}, LSTM {mean_spread(gap['lstm'], '.2f')}",
                  verdict, {k: v.tolist() for k, v in gap.items()})


def combined_loss_effect(results) -> Result:
    """The lab's GRU trained on 0.5 MSE + 0.5 RMSE vs plain MSE, with Adam: held-out R^2."""
    r = compare_to(results, "lab_gru_alpha0.5", "lab_gru_alpha1")
    if r.verdict.startswith("not measured"):
        return r
    outcome = r.verdict.split(": ", 1)[1]  # e.g. "no difference beyond the seed spread"
    verdict = (f"depends on the optimiser: with Adam, which divides out the gradient's scale, the combined loss "
               f"vs plain MSE: {outcome}; with plain SGD it would act as a larger learning rate late in training")
    return Result(r.value.replace("vs lab_gru_alpha1", "vs plain MSE"), verdict, r.numbers)


def adding_table(results):
    """GRU and LSTM test R^2 on the adding problem, mean ± std over seeds, as a DataFrame."""
    import pandas as pd
    df = pd.DataFrame(results["adding"])
    g = df.groupby(["length", "n_train", "kind"])["r2"]
    table = (g.mean().map("{:.2f}".format) + " ± " + g.std(ddof=1).map("{:.2f}".format)).unstack("kind")
    return table


def adding_verdict(results, dial: str) -> Result:
    """The tutorial's thresholds: GRU for short sequences / small data, LSTM for long / large."""
    import pandas as pd
    df = pd.DataFrame(results["adding"])
    piv = df.pivot_table(index=["length", "n_train", "seed"], columns="kind", values="r2").dropna()  # both kinds run
    diff = (piv["lstm"] - piv["gru"]).groupby(level=dial).agg(["mean", "std"])
    parts = [f"{dial}={k}: LSTM - GRU {row['mean']:+.2f} ± {row['std']:.2f}" for k, row in diff.iterrows()]
    small, large = diff.iloc[0], diff.iloc[-1]
    spread = diff["std"].max()
    claimed = small["mean"] < 0 and large["mean"] > 0
    change = large["mean"] - small["mean"]
    if claimed and change > spread:
        verdict = "holds: GRU ahead at the small end, LSTM at the large end"
    elif change < -spread:
        verdict = (f"fails: the opposite; LSTM - GRU falls from {small['mean']:+.2f} to {large['mean']:+.2f} "
                   f"as {dial} grows: the GRU's lead grows")
    else:
        lead = "the GRU" if (diff["mean"] < 0).all() else "the LSTM" if (diff["mean"] > 0).all() else "neither"
        verdict = f"fails: {dial} does not change the ordering beyond the seed spread; {lead} is ahead throughout"
    return Result("; ".join(parts), verdict, {"diff": diff.to_dict()})


# ---------------------------------------------------------------- the registry of measurements

MEASURES = {
    "parameter_counts": lambda ctx: m.parameter_counts(),
    "lab_parameter_counts": lambda ctx: m.lab_parameter_counts(),
    "tutorial_gradient_demo": lambda ctx: m.tutorial_gradient_demo(),
    "combined_loss_gradient": lambda ctx: m.combined_loss_gradient(),
    "combined_loss_effect": lambda ctx: combined_loss_effect(ctx["results"]),
    "speed_nn": lambda ctx: ctx["live"]["speed_nn"],
    "speed_scratch": lambda ctx: ctx["live"]["speed_scratch"],
    "packing": lambda ctx: ctx["live"]["packing"],
    "bucketing": lambda ctx: m.bucketing_padding(),
    "dropout_between_layers": lambda ctx: m.dropout_between_layers(),
    "missing_values": lambda ctx: m.missing_values(ctx["series"]),
    "cross_validation": lambda ctx: m.cross_validation(ctx["series"]),
    "ensemble": lambda ctx: ensemble_result(ctx["results"]),
    "depth_vs_time": lambda ctx: depth_vs_time(ctx["results"]),
    "overfitting_gap": lambda ctx: overfitting_gap(ctx["results"]),
    "adding_length": lambda ctx: adding_verdict(ctx["results"], "length"),
    "adding_size": lambda ctx: adding_verdict(ctx["results"], "n_train"),
    **{f"toolbox_{name}": (lambda ctx, name=name: compare_to(ctx["results"], name))
       for name in ("bigru", "attention", "residual", "layernorm_head", "batchnorm_head", "layernorm_cell",
                    "zoneout", "cnn_gru", "warmup", "warmup_cosine", "jitter", "weight_decay")},
    "lstm_vs_gru_sunspots": lambda ctx: compare_to(ctx["results"], "lstm", "gru"),
}

L02 = "notebook:notebooks/02_gradient_flow.ipynb#"

CLAIMS: list[Claim] = [
    # ---------------------------------------------------------------- the lab report
    Claim("lab-depth", "lab", "Increasing the number of layers had a negative effect on the RNN's accuracy, "
          "because of the vanishing gradient problem.", "RNN(64) with 1, 2, 3 layers on 12-month windows, and "
          "1 layer on 36-month windows; held-out R^2 over 3 seeds", "fn:depth_vs_time"),
    Claim("lab-gru-params", "lab", "The GRU overfits most, likely because it has a larger number of parameters.",
          "parameters of the lab's final models (GRU hidden 48, LSTM 128, RNN 64) and at equal size",
          "fn:lab_parameter_counts"),
    Claim("lab-gru-overfits", "lab", "The GRU had the most trouble with overfitting.",
          "validation MSE / training MSE after 10 epochs, GRU vs LSTM of the same size, 3 seeds",
          "fn:overfitting_gap"),
    Claim("lab-combined-loss-grad", "lab", "Combining RMSE and MSE in the loss; unclear whether it helps.",
          "the gradient of a MSE + (1 - a) RMSE against (a + (1 - a)/(2 RMSE)) grad MSE, by autograd",
          "fn:combined_loss_gradient"),
    Claim("lab-combined-loss-effect", "lab", "(same) whether 0.5 MSE + 0.5 RMSE offers real predictive benefits.",
          "the lab's GRU trained with alpha 0.5 and 1.0 (plain MSE), Adam, 3 seeds, held-out R^2",
          "fn:combined_loss_effect"),
    Claim("lab-lstm-best", "lab", "LSTM provided the best overall accuracy.",
          "LSTM vs GRU of the same size (one layer, hidden 32) on held-out months, 3 seeds "
          "(lesson 04 compares the lab's final configs)", "fn:lstm_vs_gru_sunspots"),
    # ---------------------------------------------------------------- the GRU tutorial
    Claim("tut-params", "tutorial", "GRU has about 25% fewer parameters (and the printed counts 105,344 vs "
          "139,264; 28,800 vs 38,400).", "torch.nn parameter counts over 5 sizes", "fn:parameter_counts"),
    Claim("tut-speed-nn", "tutorial", "GRU trains 10-15% faster than LSTM.",
          "forward+backward time GRU / LSTM, torch.nn, one CPU thread, 5 interleaved rounds", "fn:speed_nn"),
    Claim("tut-speed-scratch", "tutorial", "(same) for a from-scratch implementation.",
          "the same with seqlab.scratch's GRU and LSTM", "fn:speed_scratch"),
    Claim("tut-horizon", "tutorial", "GRU learns dependencies over 50-100 steps; a plain RNN < 10.",
          "gradient horizon (lag where ||dh_T/dh_T-k|| < 1e-2) at default init and with gate bias", L02 + "claim-horizon",
          "depends on the init: 11.4 ± 0.9 steps at default init (RNN 9.6 ± 0.9, 5 seeds), 56 ± 2 with "
          "update-gate bias 2, 100 with bias 3; an RNN with spectral radius 1 reaches 50 ± 8"),
    Claim("tut-gradient-demo", "tutorial", "RNN weight_hh gradient norm 'may be > 100', GRU 'usually < 10' "
          "(its Q1 snippet).", "the tutorial's own snippet over 5 seeds", "fn:tutorial_gradient_demo"),
    Claim("tut-gate-bias-init", "tutorial", "Initialise the update-gate bias to encourage remembering; "
          "orthogonal recurrent weights.", "delay recall over 49 steps, GRU default vs orthogonal + z bias 2, 3 seeds",
          L02 + "claim-recall-init", "holds: the default GRU stays at the no-memory loss, the initialised one solves it"),
    Claim("tut-clipping", "tutorial", "Gradient clipping (max_norm=1.0) prevents explosion.",
          "RNN with spectral radius 1.5 trained with SGD, with and without clipping, 3 seeds",
          L02 + "claim-clipping", "holds: 0/3 clipped runs overflowed, 2/3 unclipped did; what the clipped runs "
          "learn then depends on the seed (loss 0.54, 0.83, 2.27; no memory is 1.0)"),
    Claim("tut-rho", "tutorial", "If the recurrent weight's eigenvalue is below 1, gradients decay exponentially.",
          "a non-normal W (rho 0.71) with tanh slopes diag(1, 0.01) in a real tanh RNN at a fixed point",
          L02 + "claim-nonnormal", "fails: the gradient grows to about 1e5 at lag 30; sigma_max, not rho, bounds it"),
    Claim("tut-thresholds-length", "tutorial", "GRU for sequences < 50 steps, LSTM for > 100; accuracy table "
          "(20: .92/.93, 50: .89/.90, 100: .85/.87, 200: .78/.82).",
          "adding problem, dependency length 10/30/60, GRU vs LSTM, same budget, 3 seeds", "fn:adding_length"),
    Claim("tut-thresholds-data", "tutorial", "GRU for < 5,000 samples, LSTM for > 10,000; table "
          "(10k: .88/.89, 50k: .91/.93, 100k: .93/.95).", "adding problem, 200/1,000/5,000 training sequences, 3 seeds",
          "fn:adding_size"),
    Claim("tut-overfit-risk", "tutorial", "GRU has a lower overfitting risk (fewer parameters).",
          "validation / training MSE, GRU vs LSTM, 3 seeds", "fn:overfitting_gap"),
    Claim("tut-packing", "tutorial", "pack_padded_sequence: 20-30% faster (depending on length differences).",
          "nn.GRU forward+backward on a padded batch vs packed, lengths 10-100, 5 rounds", "fn:packing"),
    Claim("tut-bucketing", "tutorial", "Bucketing reduces padding per batch.",
          "padded fraction with random vs length-sorted batches", "fn:bucketing"),
    Claim("tut-dropout", "tutorial", "nn.GRU(dropout=...) applies only between layers.",
          "one-layer GRU in train mode called twice; two layers", "fn:dropout_between_layers"),
    Claim("tut-weight-decay", "tutorial", "L2 regularisation (weight_decay=1e-5) prevents overfitting.",
          "GRU(32) with Adam weight_decay 1e-4 vs none, paired by seed", "fn:toolbox_weight_decay"),
    Claim("tut-zoneout", "tutorial", "Zoneout regularises GRU/LSTM.", "GRU with zoneout 0.1 (scratch cell) vs GRU",
          "fn:toolbox_zoneout"),
    Claim("tut-layernorm", "tutorial", "Layer normalisation stabilises training.",
          "LayerNorm on the last state (the tutorial's GRUWithLayerNorm) vs GRU", "fn:toolbox_layernorm_head"),
    Claim("tut-layernorm-cell", "tutorial", "(same) inside the cell (LayerNorm-GRU).",
          "seqlab.scratch.LayerNormGRUCell forecaster vs GRU", "fn:toolbox_layernorm_cell"),
    Claim("tut-batchnorm", "tutorial", "Batch normalisation stabilises the loss curve.",
          "BatchNorm1d on the last state vs GRU", "fn:toolbox_batchnorm_head"),
    Claim("tut-residual", "tutorial", "Residual connections help against vanishing gradients.",
          "skip connection from the last input month (the tutorial's ResidualGRU) vs GRU", "fn:toolbox_residual"),
    Claim("tut-bigru", "tutorial", "Bidirectional GRU, when future context helps.",
          "BiGRU (both final states) vs GRU on forecasting windows", "fn:toolbox_bigru"),
    Claim("tut-attention", "tutorial", "Attention-GRU focuses on the important time steps.",
          "attention pooling over the GRU's states vs the last state", "fn:toolbox_attention"),
    Claim("tut-hybrid", "tutorial", "CNN-GRU hybrids: CNN for features, GRU for time.",
          "causal Conv1d(1, 8, 3) + ReLU before the GRU vs GRU", "fn:toolbox_cnn_gru"),
    Claim("tut-warmup", "tutorial", "Warm-up learning rate for stable training.", "3 warm-up epochs vs constant lr",
          "fn:toolbox_warmup"),
    Claim("tut-schedule", "tutorial", "Use learning-rate scheduling.", "3 warm-up epochs then cosine decay vs constant",
          "fn:toolbox_warmup_cosine"),
    Claim("tut-augmentation", "tutorial", "Data augmentation (adding noise) against overfitting.",
          "training windows + N(0, 0.02^2) noise vs clean", "fn:toolbox_jitter"),
    Claim("tut-cv", "tutorial", "Cross-validation for time series must not be random (TimeSeriesSplit).",
          "AR(12) scored by TimeSeriesSplit and by shuffled k-fold vs its held-out R^2", "fn:cross_validation"),
    Claim("tut-ensemble", "tutorial", "Train several models and average their predictions.",
          "mean of the 3 GRU seeds' predictions vs each alone", "fn:ensemble"),
    Claim("tut-missing", "tutorial", "Handle missing values by forward fill or linear interpolation.",
          "10% of months removed at random (3 seeds), filled both ways; fill error and AR(12) R^2",
          "fn:missing_values"),
    Claim("tut-mixed-precision", "tutorial", "Use mixed precision training (autocast + GradScaler) for speed.",
          "-", "not measured: the kit runs on CPUs; torch.cuda.amp's float16 autocast and GradScaler need a "
          "CUDA GPU, and CPU bfloat16 speed depends on the CPU's vector units"),
    Claim("tut-50-25-25", "tutorial", "GRU and LSTM perform similarly in 50% of tasks, GRU better in 25%, LSTM in 25%.",
          "-", "not measured: a statement about the literature with no tasks named; the papers it cites "
          "(Chung 2014, Jozefowicz 2015, Greff 2017) report no such split"),
    # ---------------------------------------------------------------- the poster
    Claim("poster-gates", "poster", "Gating (LSTM, GRU) mostly solved the vanishing and exploding gradient problem.",
          "gradient norms against the lag with and without an open update gate", L02 + "claim-gate-bias",
          "depends: gates solve it only when open (bias 2-3); at default init the GRU vanishes like the RNN"),
    Claim("poster-quadratic", "poster", "Transformers' training scales as O(n^2).",
          "softmax attention time and memory against length", "lesson06:seqlab.attention:softmax_attention",
          "holds (lesson 06 fits the log-log slope)"),
    Claim("poster-linear-attention", "poster", "Linear transformers remove the sigmoid in the context calculation.",
          "linear attention written out: what it removes is the softmax", "lesson06:seqlab.attention:linear_attention",
          "fails: it removes the softmax (Katharopoulos et al. 2020), not a sigmoid"),
    Claim("poster-rnn-parallel", "poster", "RNN training is not parallelisable over time.",
          "scan vs loop cost; linear attention as an RNN computed in parallel", "lesson06:seqlab.attention:linear_attention",
          "depends: a nonlinear RNN is sequential; linear recurrences (linear attention, SSMs) are not"),
    Claim("poster-samovar", "poster", "SAMoVAR beats Linear Transformer, PatchTST, DLinear on time series.",
          "a VAR-aligned linear-attention forecaster on sunspots beside AR(p)", "lesson06:seqlab.models:make_forecaster",
          "depends: lesson 06 measures it on sunspots only; the poster's datasets are not in the kit"),
]


def check_where(claim: Claim) -> str:
    """What kind of measurement a row names, after checking it exists; raises with the fix if not."""
    kind, _, rest = claim.where.partition(":")
    if kind == "fn":
        if rest not in MEASURES:
            raise LookupError(f"claim {claim.key!r} names measurement {rest!r}, which is not in MEASURES.")
        return "fn"
    if kind == "notebook":
        path, _, tag = rest.partition("#")
        notebook_output(path, tag)  # raises if missing or empty
        if not claim.verdict:
            raise ValueError(f"claim {claim.key!r} is measured in {path}: write its verdict in the row.")
        return "notebook"
    if kind == "lesson06":
        if not claim.verdict:
            raise ValueError(f"claim {claim.key!r} is measured in lesson 06: write its verdict in the row.")
        return "lesson06"
    if claim.where.startswith("not measured: ") and len(claim.where) > len("not measured: ") + 20:
        return "not measured"
    raise ValueError(f"claim {claim.key!r}: where={claim.where!r} is none of fn:, notebook:, lesson06:, "
                     "'not measured: <why>'.")


def notebook_output(path: str, tag: str) -> str:
    """The saved text output of the cell tagged ``tag`` in the notebook at ``path`` (from the repo root)."""
    import nbformat
    nb = nbformat.read(ROOT / path, as_version=4)
    cells = [c for c in nb.cells if tag in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise LookupError(f"{path} has {len(cells)} cells tagged {tag!r}; a claim needs exactly one.")
    text = "".join(o.get("text", "") for o in cells[0].outputs if o.output_type == "stream")
    if not text.strip():
        raise ValueError(f"the cell tagged {tag!r} in {path} has no saved text output: run the notebook.")
    return text.strip()


def measure(claim: Claim, ctx: dict) -> Result:
    """The row's measured value and verdict."""
    kind = check_where(claim)
    if kind == "fn":
        return MEASURES[claim.where[3:]](ctx)
    if kind == "notebook":
        path, _, tag = claim.where[len("notebook:"):].partition("#")
        return Result(" | ".join(notebook_output(path, tag).splitlines()[:3]), claim.verdict)
    if kind == "lesson06":
        return Result(f"measured in lesson 06 ({claim.where[len('lesson06:'):]})", claim.verdict)
    return Result("-", claim.where)


def table(ctx: dict):
    """All claims as a DataFrame: source, claim, how measured, measured value, verdict, where."""
    import pandas as pd
    rows = []
    for c in CLAIMS:
        r = measure(c, ctx)
        rows.append({"source": SOURCES[c.source], "claim": c.claim, "how measured": c.how, "measured": r.value,
                     "verdict": r.verdict, "where": c.where})
    return pd.DataFrame(rows, index=[c.key for c in CLAIMS])


def live_measurements(rounds: int = 5) -> dict:
    """The timings (not stored: they belong to the machine that runs the lesson)."""
    return {"speed_nn": m.gru_vs_lstm_speed("nn", rounds=rounds), "speed_scratch": m.gru_vs_lstm_speed("scratch", rounds=rounds),
            "packing": m.packing_speed(rounds=rounds)}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:  # run [sunspots|adding [OUT]]
        from .claim_runs import RESULTS_PATH, run_all
        parts = (argv[1],) if len(argv) > 1 else ("sunspots", "adding")
        out = Path(argv[2]) if len(argv) > 2 else RESULTS_PATH
        run_all(out, parts, names=argv[3].split(",") if len(argv) > 3 else None)
        print(f"wrote {out}")
        return 0
    if argv[:1] == ["merge"]:  # merge PART_JSON PART_JSON ...
        from .claim_runs import RESULTS_PATH, merge
        merge(*map(Path, argv[1:]))
        print(f"wrote {RESULTS_PATH}")
        return 0
    if argv[:1] == ["table"]:
        from .claim_runs import load_results
        from .data import load_sunspots
        ctx = {"results": load_results(), "series": load_sunspots(), "live": live_measurements()}
        print(json.dumps(table(ctx).to_dict(orient="index"), indent=1))
        return 0
    print("usage: python -m seqlab.claims run [sunspots|adding [OUT [NAME,..]]] | merge PART_JSON.. | table")
    return 2


if __name__ == "__main__":
    raise SystemExit(main())


TUTORIAL_TABLES = {
    "by length (its Q10 'results' dict)": {20: (0.92, 0.93), 50: (0.89, 0.90), 100: (0.85, 0.87), 200: (0.78, 0.82),
                                           500: (0.65, 0.73), 1000: (0.52, 0.61)},
    "by data size": {"10k": (0.88, 0.89), "50k": (0.91, 0.93), "100k": (0.93, 0.95)},
}


def tutorial_tables():
    """The tutorial's GRU-vs-LSTM accuracy tables (numbers it prints, with no task, data or code behind them)."""
    import pandas as pd
    return {name: pd.DataFrame(rows, index=["GRU", "LSTM"]).T for name, rows in TUTORIAL_TABLES.items()}


def plot_adding(results):
    """Test R^2 against dependency length, GRU (solid, circles) vs LSTM (dashed, squares), one panel per
    training-set size; error bars are the std over seeds. Okabe-Ito colours, and line style and marker
    tell the two apart without colour."""
    import matplotlib.pyplot as plt
    import pandas as pd
    df = pd.DataFrame(results["adding"])
    sizes = sorted(df.n_train.unique())
    fig, axes = plt.subplots(1, len(sizes), figsize=(3.3 * len(sizes), 3.0), sharey=True)
    style = {"gru": dict(color="#0072B2", ls="-", marker="o"), "lstm": dict(color="#D55E00", ls="--", marker="s")}
    for ax, n in zip(axes, sizes):
        for kind, st in style.items():
            g = df[(df.n_train == n) & (df.kind == kind)].groupby("length")["r2"]
            ax.errorbar(g.mean().index, g.mean(), yerr=g.std(ddof=1), label=kind.upper(), capsize=3, **st)
        ax.set_title(f"{n:,} training sequences")
        ax.set_xlabel("dependency length (steps)")
        ax.axhline(0, color="gray", lw=0.6, ls=":")
    axes[0].set_ylabel("test R^2 (0 = no memory)")
    axes[0].legend()
    fig.suptitle("adding problem: GRU vs LSTM, same training budget, mean ± std over seeds")
    fig.tight_layout()
    return fig
