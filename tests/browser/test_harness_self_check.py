"""The harness can fail: a notebook with known defects must be reported, a sound one must pass.

The notebook is built in the server's temporary root (never in the repository). Its sound UI
has a live slider and dropdown redrawing a matplotlib plot, and a no-live slider applied by a
run button. Its defects: a callback that raises on the second move (inside ``with out:``), a
checkbox that changes nothing, a slider whose callback redraws the same output, a callback
that raises outside any Output (only JupyterLab's log console shows it), a control outside any
``.seqlab-ui``, a description cut short on screen, a UI that shows nothing until a control
moves, and a cell that raises. A disabled control is noted, not failed.
"""

from __future__ import annotations

import nbformat
import pytest

from lab_page import check_notebook

pytestmark = [pytest.mark.browser, pytest.mark.timeout(600)]

SOUND_UI = '''
import ipywidgets as widgets, matplotlib.pyplot as plt, numpy as np

def wave_ui():
    freq = widgets.IntSlider(value=3, min=1, max=10, description="freq")
    kind = widgets.Dropdown(options=["sin", "cos"], description="kind")
    amp = widgets.FloatSlider(value=1.0, min=0.5, max=3.0, step=0.5, description="amp")
    amp.add_class("seqlab-no-live")
    run = widgets.Button(description="Run")
    run.add_class("seqlab-run")
    out = widgets.Output()

    def draw(*_):
        with out:
            out.clear_output(wait=True)
            t = np.linspace(0, 1, 200)
            wave = np.sin if kind.value == "sin" else np.cos
            fig, ax = plt.subplots(figsize=(4, 2))
            ax.plot(t, amp.value * wave(2 * np.pi * freq.value * t))
            ax.set_ylim(-3.2, 3.2)
            plt.show()
            plt.close(fig)

    freq.observe(draw, "value")
    kind.observe(draw, "value")
    run.on_click(draw)
    box = widgets.VBox([widgets.HBox([freq, kind]), widgets.HBox([amp, run]), out])
    box.add_class("seqlab-ui")
    draw()
    return box

wave_ui()
'''

BROKEN_UI = '''
def broken_ui():
    count = widgets.IntSlider(value=2, min=0, max=10, description="count")
    frozen = widgets.Checkbox(value=False, description="frozen")  # observed by nothing
    greyed = widgets.Dropdown(options=["x", "y"], description="greyed", disabled=True)
    loud = widgets.Dropdown(options=["a", "b", "c"], description="loud and far too long to fit")
    ignored = widgets.IntSlider(value=5, min=0, max=10, description="ignored")  # redraws the same
    out = widgets.Output()
    calls = []

    def show(change):
        with out:
            calls.append(change["new"])
            if len(calls) == 2:
                raise ValueError("second move breaks")
            out.clear_output(wait=True)
            print("count =", count.value)

    def crash_outside_output(change):
        raise RuntimeError("callback outside with out:")

    def redraw_same(change):
        with out:
            out.clear_output(wait=True)
            print("count =", count.value)

    count.observe(show, "value")
    ignored.observe(redraw_same, "value")
    loud.observe(crash_outside_output, "value")
    with out:
        print("count =", count.value)
    box = widgets.VBox([ignored, count, frozen, greyed, loud, out])
    box.add_class("seqlab-ui")
    return box

def blank_ui():  # draws only once a control moves: a student sees nothing at first
    level = widgets.IntSlider(value=1, min=0, max=5, description="level")
    out = widgets.Output()
    level.observe(lambda change: out.append_stdout(f"level {change['new']}\\n"), "value")
    box = widgets.VBox([level, out])
    box.add_class("seqlab-ui")
    return box

display(broken_ui(), widgets.IntSlider(description="stray"), blank_ui())
'''


def build_notebook(path):
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                       "language": "python"}
    notebook.cells = [nbformat.v4.new_markdown_cell("# Self-check"),
                      nbformat.v4.new_code_cell(SOUND_UI),
                      nbformat.v4.new_code_cell(BROKEN_UI),
                      nbformat.v4.new_code_cell("1 / 0"),
                      nbformat.v4.new_code_cell("print('never runs')")]
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, path)


def test_harness_reports_known_defects_and_passes_sound_ui(lab_page, lab_server, screenshot_dir):
    build_notebook(lab_server.root / "selfcheck" / "defects.ipynb")
    report = check_notebook(lab_page, lab_server, "selfcheck/defects.ipynb", screenshot_dir)
    print(report.summary())
    problems = "\n".join(report.problems())

    assert report.ui_count == 3, problems
    assert any("cell 4 raised ZeroDivisionError" in p for p in report.cell_errors), problems
    assert report.unexecuted_cells == [5], problems
    # the sound UI: live controls moved twice, the first slider also dragged, the no-live
    # slider away and back, each followed by a run; the output changed each time
    sound = [m for m in report.moves if m.startswith("seqlab-ui #1 ")]
    assert len(sound) == 7, problems + "\n" + "\n".join(report.moves)
    assert [m for m in sound if "back to 1.00" in m and "seqlab-run" in m], "\n".join(sound)
    assert sum("mouse drag" in m for m in sound) == 1, "\n".join(sound)
    assert not [p for p in report.widget_problems if p.startswith("seqlab-ui #1 ")], problems
    # the broken UI: each defect named
    assert "seqlab-ui #2 slider 'count' move 2" in problems and "second move breaks" in problems
    assert "seqlab-ui #2 checkbox 'frozen' move 1" in problems and "did not change" in problems
    assert "seqlab-ui #2 slider 'ignored' move 1" in problems  # same output redrawn
    assert "callback outside with out:" in problems  # found in the kernel's log
    assert "outside any .seqlab-ui" in problems
    assert "seqlab-ui #3 shows no output after Run All" in problems
    assert [n for n in report.notes if "cut short" in n] == [
        "seqlab-ui #2: the description 'loud and far too long to fit' is cut short on screen "
        "(widen style={'description_width': ...} or shorten it)"], report.notes
    assert not [n for n in report.notes if "#1" in n], report.notes  # its run is deterministic
    assert "seqlab-ui #2 dropdown 'greyed' move 1: disabled in this state, not moved" in report.notes
    assert report.screenshots and all(path.stat().st_size > 0 for path in report.screenshots)
