"""The instructors' exercise pages (docs/exercises/*.md) tell the truth: each mistake they list, made
in the solution, passes or fails the question's visible tests as the page says, and fails its hidden
tests with the message the page quotes. Runs in-process, no kernel (a few seconds)."""

from __future__ import annotations

import contextlib
import io
import re
import warnings
from pathlib import Path

import nbformat
import pytest

from seqlab.grading.cells import grade_id, is_test_cell

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "docs" / "exercises"

# (exercise, question, the mistake as the page names it, [(solution text, wrong text), ...])
MISTAKES = [
    ("01_gru_lstm_cells", "gru_cell", "z and 1 - z swapped",
     [("h_next = (1 - z) * n + z * hx", "h_next = z * n + (1 - z) * hx")]),
    ("01_gru_lstm_cells", "gru_cell", "reset gate outside the hidden bias b_hn (the paper's variant)",
     [("n = torch.tanh(x_n + r * h_n)",
       "n = torch.tanh(x_n + r * (h_n - bias_hh.chunk(3)[2]) + bias_hh.chunk(3)[2])")]),
    ("01_gru_lstm_cells", "gru_cell", "gate order read as z, r, n",
     [("x_r, x_z, x_n =", "x_z, x_r, x_n ="), ("h_r, h_z, h_n =", "h_z, h_r, h_n =")]),
    ("01_gru_lstm_cells", "lstm_cell", "forget gate left out", [("c_next = f * cx + i * g", "c_next = cx + i * g")]),
    ("01_gru_lstm_cells", "lstm_cell", "gate order read as i, f, o, g",
     [("a_i, a_f, a_g, a_o = gates", "a_i, a_f, a_o, a_g = gates")]),
    ("01_gru_lstm_cells", "lstm_cell", "h from c without tanh",
     [("h_next = o * torch.tanh(c_next)", "h_next = o * c_next")]),
    ("02_gradient_flow", "gradient_norms", "derivative taken at h_t instead of h_{t+1}",
     [("(1 - hidden[t] ** 2)", "(1 - hidden[t - 1] ** 2)")]),
    ("02_gradient_flow", "gradient_norms", "Jacobians multiplied in the wrong order",
     [("jacobian = jacobian @ ((1 - hidden[t] ** 2)[:, None] * weight_hh)",
       "jacobian = ((1 - hidden[t] ** 2)[:, None] * weight_hh) @ jacobian")]),
    ("02_gradient_flow", "gradient_norms", "spectral norm instead of Frobenius",
     [("norms = [jacobian.norm()]", "norms = [torch.linalg.matrix_norm(jacobian, ord=2)]"),
      ("norms.append(jacobian.norm())", "norms.append(torch.linalg.matrix_norm(jacobian, ord=2))")]),
    ("02_gradient_flow", "gradient_norms", "the tanh derivative left out (a linear RNN's W_hh^k)",
     [("((1 - hidden[t] ** 2)[:, None] * weight_hh)", "weight_hh")]),
    ("02_gradient_flow", "decay_rate", "slope from the two end points instead of a least-squares fit",
     [("slope = (lags_centered * (log_norms - log_norms.mean())).sum() / (lags_centered**2).sum()",
       "slope = (log_norms[-1] - log_norms[0]) / (len(log_norms) - 1)")]),
    ("02_gradient_flow", "diagnose", "largest singular value instead of spectral radius",
     [("float(torch.linalg.eigvals(weight_hh).abs().max())", "float(torch.linalg.matrix_norm(weight_hh, ord=2))")]),
    ("02_gradient_flow", "diagnose", "real part of the eigenvalues instead of their modulus",
     [("torch.linalg.eigvals(weight_hh).abs().max()", "torch.linalg.eigvals(weight_hh).real.abs().max()")]),
    ("03_sunspot_windows_loss", "make_windows", "the last window (which has no target) kept",
     [("X = series.unfold(0, window, 1)[:-1]", "X = series.unfold(0, window, 1)")]),
    ("03_sunspot_windows_loss", "make_windows", "windows rebuilt through a Python list (float32 whatever the input)",
     [("X = series.unfold(0, window, 1)[:-1]", "X = torch.tensor(series.unfold(0, window, 1)[:-1].tolist())")]),
    ("03_sunspot_windows_loss", "combined_loss", "alpha on the wrong term",
     [("return alpha * mse + (1 - alpha) * rmse", "return alpha * rmse + (1 - alpha) * mse")]),
    ("03_sunspot_windows_loss", "combined_loss", "MSE averaged over the first dimension only",
     [("mse = torch.mean((pred - target) ** 2)", "mse = torch.sum((pred - target) ** 2) / pred.shape[0]")]),
    ("03_sunspot_windows_loss", "combined_loss", "loss returned as a new tensor (no gradient)",
     [("return alpha * mse + (1 - alpha) * rmse", "return torch.tensor(float(alpha * mse + (1 - alpha) * rmse))")]),
    ("03_sunspot_windows_loss", "r2_score", "a tensor returned instead of a float",
     [("return float(1 - residual / total)", "return 1 - residual / total")]),
    ("03_sunspot_windows_loss", "r2_score", "total sum of squares around 0 instead of the mean",
     [("total = torch.sum((target - target.mean()) ** 2)", "total = torch.sum(target ** 2)")]),
    ("04_selective_scan", "discretize", "Euler step for A (1 + delta A) instead of exp",
     [('deltaA = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))', 'deltaA = 1 + torch.einsum("bdl,dn->bdln", delta, A)')]),
    ("04_selective_scan", "selective_scan", "skip connection D u left out",
     [("return y + u * D[None, :, None]", "return y")]),
    ("04_selective_scan", "selective_scan", "output read before the state update",
     [('        x = deltaA[:, :, i] * x + deltaB_u[:, :, i]\n        ys.append(torch.einsum("bdn,bn->bd", x, C[:, :, i]))',
       '        ys.append(torch.einsum("bdn,bn->bd", x, C[:, :, i]))\n        x = deltaA[:, :, i] * x + deltaB_u[:, :, i]')]),
    ("04_selective_scan", "selective_scan", "C of the first step used at every step",
     [('C[:, :, i]))  # (b, d)', 'C[:, :, 0]))  # (b, d)')]),
    ("01_gru_lstm_cells", "gates_quiz", "z = 1 read as taking the candidate (b)",
     [('gru_when_z_is_one = "c"', 'gru_when_z_is_one = "b"')]),
    ("01_gru_lstm_cells", "gates_quiz", "one bias vector per gate block counted, not two",
     [("4 * (32 * 1 + 32 * 32 + 32 + 32)", "4 * (32 * 1 + 32 * 32 + 32)")]),
    ("02_gradient_flow", "flow_quiz", "49 factors of 0.9 counted instead of 50",
     [("norm_after_50 = 0.9 ** 50", "norm_after_50 = 0.9 ** 49")]),
    ("02_gradient_flow", "flow_quiz", "clipping thought to fix vanishing gradients too (c)",
     [('clipping_fixes = "b"', 'clipping_fixes = "c"')]),
    ("03_sunspot_windows_loss", "protocol_quiz", "the last window counted (n - window + 1)",
     [("pairs = 120 - 12", "pairs = 120 - 12 + 1")]),
    ("03_sunspot_windows_loss", "protocol_quiz", "scaler fitted on the whole series (a)",
     [('scaler_fitted_on = "b"', 'scaler_fitted_on = "a"')]),
    ("04_selective_scan", "step_size_quiz", "half-life from the Euler factor 1 + delta A instead of exp(delta A)",
     [("half_life = math.log(2) / 0.1", "half_life = math.log(2) / -math.log(1 - 0.1)")]),
    ("04_selective_scan", "step_size_quiz", "a tiny step read as a reset (a)",
     [('tiny_step = "b"', 'tiny_step = "a"')]),
    ("05_linear_attention", "linear_attention_recurrent", "eps left out of the denominator",
     [("((fq[:, i] * z).sum(-1, keepdim=True) + eps)", "(fq[:, i] * z).sum(-1, keepdim=True)")]),
    ("05_linear_attention", "linear_attention_recurrent", "output read before the state update",
     [("        S = S + fk[:, i, :, None] * v[:, i, None, :]\n        z = z + fk[:, i]\n"
       "        numerator = torch.einsum(\"be,bep->bp\", fq[:, i], S)\n"
       "        ys.append(numerator / ((fq[:, i] * z).sum(-1, keepdim=True) + eps))",
       "        numerator = torch.einsum(\"be,bep->bp\", fq[:, i], S)\n"
       "        ys.append(numerator / ((fq[:, i] * z).sum(-1, keepdim=True) + eps))\n"
       "        S = S + fk[:, i, :, None] * v[:, i, None, :]\n        z = z + fk[:, i]")]),
    ("05_linear_attention", "linear_attention_recurrent", "feature map left out (raw q and k)",
     [("fq, fk = F.elu(q) + 1, F.elu(k) + 1", "fq, fk = q, k")]),
    ("05_linear_attention", "linear_attention_recurrent", "normaliser from the current key only (z not summed)",
     [("z = z + fk[:, i]", "z = fk[:, i]")]),
    ("05_linear_attention", "linear_attention_recurrent", "state detached from the graph",
     [("S = S + fk[:, i, :, None] * v[:, i, None, :]", "S = (S + fk[:, i, :, None] * v[:, i, None, :]).detach()")]),
    ("05_linear_attention", "memory_floats", "the key-value cache counted without the values",
     [("kv_cache = b * l * (e + p)", "kv_cache = b * l * e")]),
    ("05_linear_attention", "memory_floats", "the normaliser z left out of the state",
     [("linear_state = b * (e * p + e)", "linear_state = b * e * p")]),
    ("05_linear_attention", "memory_floats", "the batch left out of the state",
     [("linear_state = b * (e * p + e)", "linear_state = e * p + e")]),
    ("05_linear_attention", "decay_mask", "a_s included (L[t, s] = a_t ... a_s)",
     [("diff = (cum[..., :, None] - cum[..., None, :])",
       "diff = (cum[..., :, None] - cum[..., None, :] + log_a[..., None, :])")]),
    ("05_linear_attention", "decay_mask", "upper triangle not masked", [('.masked_fill(~below, float("-inf"))', "")]),
    ("05_linear_attention", "decay_mask", "mask transposed",
     [("return torch.exp(diff)", "return torch.exp(diff).transpose(-1, -2)")]),
    ("05_linear_attention", "decay_mask", "one sequence only (leading dims not broadcast)",
     [("cum[..., :, None] - cum[..., None, :]", "cum[:, None] - cum[None, :]")]),
]


def page_rows(exercise: str) -> dict[tuple[str, str], tuple[str, str]]:
    """``{(question, mistake): (visible, hidden)}`` from the page's mistakes table."""
    rows = {}
    for line in (PAGES / f"{exercise}.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[2] in ("pass", "fail"):
            rows[(cells[0].strip("`"), cells[1])] = (cells[2], cells[3])
    return rows


def _outcome(source: str, namespace: dict) -> tuple[str, str]:
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(source, "<test cell>", "exec"), namespace)
    except Exception as error:  # noqa: BLE001 - any failure of the student's code counts as failing
        return "fail", f"{type(error).__name__}: {error}"
    return "pass", ""


def run_with_mistake(exercise: str, question: str, edits) -> tuple[tuple[str, str], tuple[str, str]]:
    """Run the edited solution's cells up to the question's test; the visible, then the hidden part."""
    nb = nbformat.read(ROOT / "solutions" / f"{exercise}.ipynb", as_version=4)
    namespace: dict = {}
    applied = 0
    for cell in (c for c in nb.cells if c.cell_type == "code"):
        source = cell.source
        for old, new in edits:
            applied += source.count(old)
            source = source.replace(old, new)
        if is_test_cell(cell):
            if grade_id(cell) == question:
                visible, rest = source.split("### BEGIN HIDDEN TESTS")
                hidden = rest.split("### END HIDDEN TESTS")[0]
                assert applied >= len(edits), f"the solution changed: update the mistake {edits}"
                return _outcome(visible, namespace), _outcome(hidden, namespace)
            continue
        status, message = _outcome(source, namespace)
        assert status == "pass", f"{exercise}: a cell failed before the test: {message}"
    raise AssertionError(f"{exercise} has no test cell {question!r}")


@pytest.mark.parametrize("exercise, question, mistake, edits", MISTAKES, ids=[m[2] for m in MISTAKES])
def test_the_page_says_what_the_tests_do_with_the_mistake(exercise, question, mistake, edits):
    rows = page_rows(exercise)
    assert (question, mistake) in rows, f"docs/exercises/{exercise}.md has no row for {mistake!r}"
    page_visible, page_hidden = rows[(question, mistake)]
    (visible, _), (hidden, message) = run_with_mistake(exercise, question, edits)
    assert visible == page_visible, f"visible tests {visible}, the page says {page_visible}"
    assert hidden == "fail", "the hidden tests let this mistake through"
    quoted = re.findall(r"`([^`]+)`", page_hidden)
    assert quoted and all(q in message for q in quoted), f"the grader says {message!r}; the page quotes {quoted}"


@pytest.mark.parametrize("exercise", sorted({m[0] for m in MISTAKES}))
def test_every_row_on_the_page_is_checked(exercise):
    listed = {(m[1], m[2]) for m in MISTAKES if m[0] == exercise}
    assert set(page_rows(exercise)) == listed


def test_every_exercise_has_a_page():
    exercises = sorted(p.stem for p in (ROOT / "exercises").glob("*.ipynb"))
    missing = [name for name in exercises if not (PAGES / f"{name}.md").is_file()]
    assert not missing, f"write docs/exercises/<name>.md for {missing} (see docs/exercises/index.md)"
