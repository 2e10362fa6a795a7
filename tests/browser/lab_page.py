"""Drive one notebook in JupyterLab like a student: Run All, then move every widget.

``check_notebook`` opens a notebook, clears its outputs, runs all cells from the Run menu, waits
until the kernel stays idle, saves, and reads the saved notebook back through the contents API
to list error outputs and cells without an execution count. It then finds every ``.seqlab-ui``
container and moves each control (live ones twice, the first slider of a UI also by mouse drag,
no-live ones twice, away and back, each followed by the run button), asserting after each move that the UI's output
(everything in the container except the controls: Output widgets, images, HTML, labels) changed,
and that no traceback appeared: in the UI, on the kernel's iopub channel, or in the kernel's log.

Widget convention (see the course brief): ``seqlab-ui`` on each UI's outer container; controls
redraw live unless they carry ``seqlab-no-live``, in which case the ``seqlab-run`` button of the
same UI redraws. A widget with class ``seqlab-volatile`` (e.g. a Label showing a run's time) is
left out of the comparison, so that a timing does not pass for an effect of the control.
Waiting is event-based: a hook on the notebook's session context counts the kernel's busy
phases and records when its status last changed.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from lab_js import (CLOSE_ALL_JS, ERRORS_IN_UI_JS, OUTPUT_OF_UI_JS, PANEL, RUN_ALL_DONE_JS,
                    SCAN_JS, SETTLED_JS, STATUS_HOOK_JS, WIDGET_RENDER_ERRORS_JS)
from notebook_report import REPORTS, NotebookReport
from widget_moves import control_value, drag_slider, move_control, restore_control

RUN_ALL_TIMEOUT_S = 240
MOVE_TIMEOUT_S = 60  # a callback must finish well within this (the brief asks for ~10 s)
QUIET_MS = 500  # widget messages can make the kernel busy again right after it reports idle
MOVES_PER_CONTROL = 2
# a no-live control is moved twice, each time followed by a run: away from its value, then back,
# so that every later control of the UI is moved from the UI's default state (a model dropdown
# left on "mamba" would otherwise leave dropout disabled for the rest of the UI)
NO_LIVE_MOVES = 2
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class LabNotebook:
    """One notebook open in JupyterLab in ``page``, served by ``lab`` (a ``LabServer``)."""

    def __init__(self, page, lab, path: str, shots: Path):
        self.page, self.lab, self.path, self.shots = page, lab, path, shots
        self.report = NotebookReport(path)
        self._original = None  # a no-live control's value before its first move
        self._log_offset = lab.log_size()
        self._name = Path(path).stem

    # -- opening and running ----------------------------------------------------------------
    def open(self) -> None:
        """Open the notebook in the page's JupyterLab (loading JupyterLab first if needed)."""
        page = self.page
        start = time.monotonic()
        if not page.evaluate("() => typeof window.jupyterapp === 'object'"):
            page.goto(self.lab.lab_url(self.path))  # loads JupyterLab with this notebook open
        else:  # JupyterLab already loaded by an earlier test: open like File > Open
            page.evaluate("""(path) => window.jupyterapp.commands.execute(
                'docmanager:open', {path, factory: 'Notebook'})""", self.path)
        page.wait_for_selector(f"{PANEL} .jp-Cell", timeout=90_000)
        self.report.seconds["notebook shown"] = time.monotonic() - start
        # the kernel has started when the session context knows a kernel that is idle
        page.wait_for_function(
            """() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                       const k = w && w.sessionContext && w.sessionContext.session
                                 && w.sessionContext.session.kernel;
                       return (k && k.status === 'idle')
                              || document.querySelector('.jp-Dialog') !== null; }""",
            timeout=90_000, polling=200)
        dialog = page.query_selector(".jp-Dialog")
        if dialog is not None:
            raise AssertionError(f"{self.path}: a dialog opened instead of a kernel "
                                 f"(kernelspec not found?): {dialog.inner_text()[:500]}")
        page.evaluate(STATUS_HOOK_JS)
        page.evaluate("() => window.jupyterapp.commands.execute('application:toggle-left-area')"
                      if page.query_selector("#jp-left-stack:not(.lm-mod-hidden)") else "() => 0")

    def _menu(self, menu: str, item: str) -> None:
        """Click ``menu`` in the menu bar, then ``item``, as a person would."""
        self.page.click(f".lm-MenuBar-itemLabel:text-is('{menu}')")
        self.page.click(f".lm-Menu-item:has(.lm-Menu-itemLabel:text-is('{item}'))")

    def run_all(self) -> None:
        """Clear all outputs, Run All Cells, and wait until every cell ran and the kernel rests."""
        start = time.monotonic()
        self._menu("Edit", "Clear Outputs of All Cells")
        since = self.page.evaluate("() => window.__seqlab.busyCount")
        self._menu("Run", "Run All Cells")
        try:
            self.page.wait_for_function(RUN_ALL_DONE_JS, arg=[since, 1000],
                                        timeout=RUN_ALL_TIMEOUT_S * 1000, polling=200)
        except Exception as error:  # noqa: BLE001 - reported with the prompts still pending
            pending = self.page.evaluate(
                f"""() => Array.from(document.querySelectorAll('{PANEL} .jp-CodeCell .jp-InputPrompt'))
                    .map((p, i) => [i, p.textContent]).filter(([i, t]) => t.includes('*'))""")
            self.screenshot("run-all-timeout")
            raise AssertionError(f"{self.path}: Run All did not finish within {RUN_ALL_TIMEOUT_S} s; "
                                 f"code cells still pending [index, prompt]: {pending}") from error
        # widget views render after the kernel is idle: wait until the page stops changing
        self._wait_dom_stable()
        self.report.seconds["run all"] = time.monotonic() - start

    def _wait_dom_stable(self, quiet_ms: int = 500, timeout_s: float = 30) -> None:
        digest = f"() => document.querySelector('{PANEL} .jp-Notebook').innerHTML.length"
        last, stable_since = None, time.monotonic()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            now = self.page.evaluate(digest)
            if now != last:
                last, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since >= quiet_ms / 1000:
                return
            time.sleep(0.1)

    def save_and_check_cells(self) -> None:
        """Save, read the notebook back from the server, record error outputs and unrun cells."""
        self.page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        self.page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=30_000)
        notebook = self.lab.notebook_json(self.path)
        for number, cell in enumerate(notebook["cells"], start=1):
            if cell["cell_type"] != "code":
                continue
            if cell.get("execution_count") is None:
                self.report.unexecuted_cells.append(number)
            for output in cell.get("outputs", []):
                if output["output_type"] == "error":
                    self.report.cell_errors.append(
                        f"cell {number} raised {output['ename']}: {output['evalue'][:300]}"
                        f"  (source starts: {_first_line(cell['source'])!r})")
                elif output["output_type"] == "stream" and output.get("name") == "stderr" \
                        and "Traceback (most recent call last)" in _text(output["text"]):
                    self.report.cell_errors.append(
                        f"cell {number} printed a traceback to stderr: "
                        f"{_text(output['text'])[-300:]}")
        for text in self.page.evaluate(WIDGET_RENDER_ERRORS_JS):
            self.report.widget_problems.append(f"a widget did not render in JupyterLab: {text}")
        self._log_offset = self._check_kernel_log("Run All", self._log_offset)

    # -- widgets ----------------------------------------------------------------------------------
    def check_widgets(self) -> None:
        """Move every control of every .seqlab-ui twice; each move must change the UI's output."""
        start = time.monotonic()
        scan = self.page.evaluate(SCAN_JS)
        self.report.ui_count = len(scan["uis"])
        for stray in scan["stray"]:
            self.report.widget_problems.append(
                f"a control outside any .seqlab-ui container ({stray}): the convention asks for "
                f"box.add_class('seqlab-ui') on each UI's outer container")
        for ui in scan["uis"]:
            self._check_ui(ui)
        self.report.seconds["widgets"] = time.monotonic() - start

    def _check_ui(self, ui: dict) -> None:
        i, where = ui["index"], f"seqlab-ui #{ui['index'] + 1}"
        locator = self.page.locator(f'[data-seqlab-ui="{i}"]')
        if not ui["visible"]:
            self.report.widget_problems.append(f"{where} is not visible (zero size)")
            return
        locator.scroll_into_view_if_needed()
        if not ui["controls"]:
            self.report.widget_problems.append(f"{where} has no control the suite can move")
        for kind in ui["unsupported"]:
            self.report.widget_problems.append(
                f"{where}: the suite cannot move this control yet ({kind}); extend tests/browser/lab_page.py")
        for label in ui["truncated"]:
            self.report.notes.append(f"{where}: the description {label!r} is cut short on screen "
                                     f"(widen style={{'description_width': ...}} or shorten it)")
        for error in self.page.evaluate(ERRORS_IN_UI_JS, i):
            self.report.widget_problems.append(f"{where} shows an error after Run All: {error.strip()[-500:]}")
        if ui["runButtons"] == 0 and not _shows_something(self.page.evaluate(OUTPUT_OF_UI_JS, i)):
            self.report.widget_problems.append(f"{where} shows no output after Run All")
        if ui["runButtons"] and any(c["noLive"] for c in ui["controls"]):
            self._baseline_run(ui, where)
        for control in ui["controls"]:
            if not control["visible"]:
                self.report.widget_problems.append(f"{where} {control['label']} is hidden; not moved")
                continue
            if control["noLive"] and ui["runButtons"] == 0:
                self.report.widget_problems.append(
                    f"{where} {control['label']} is seqlab-no-live but the UI has no seqlab-run button")
                continue
            dragged = any(m.startswith(f"{where} ") and "mouse drag" in m for m in self.report.moves)
            moves = MOVES_PER_CONTROL + (control["kind"] == "slider" and not dragged)
            if control["noLive"]:
                moves = NO_LIVE_MOVES
            for move in range(moves):  # the first slider of a UI is also dragged with the mouse
                try:
                    if not self._move_and_check(ui, control, move, where):
                        break  # one failure per control is enough to report
                except Exception as error:  # noqa: BLE001 - e.g. a disabled control times out
                    self.report.widget_problems.append(
                        f"{where} {control['label']} move {move + 1}: could not operate it: "
                        f"{str(error).splitlines()[0][:300]}")
                    break
        self.screenshot(f"ui{i + 1}", locator)

    def _baseline_run(self, ui: dict, where: str) -> None:
        """Click the run button once with the parameters as they are, so that each no-live
        move is compared with a run of the old parameters, not with an empty output."""
        i, page = ui["index"], self.page
        before = page.evaluate(OUTPUT_OF_UI_JS, i)
        since = page.evaluate("() => [window.__seqlab.busyCount, performance.now()]")
        sent_before = page.evaluate("() => window.__seqlab.errors.length")
        page.locator(f'[data-seqlab-run="{i}"]').first.click()
        if not self._settle(since):
            self.report.widget_problems.append(
                f"{where} seqlab-run button: the kernel was still busy after {MOVE_TIMEOUT_S} s")
        elif _shows_something(before) and page.evaluate(OUTPUT_OF_UI_JS, i) != before:
            self.report.notes.append(
                f"{where}: a second run with the same parameters shows a different output (a "
                f"timing or unseeded randomness?), so 'output changed' after a no-live move does "
                f"not prove that the control has an effect (show timings in a widget with class "
                f"seqlab-volatile)")
        errors = page.evaluate(f"() => window.__seqlab.errors.slice({sent_before})")
        if errors:
            self.report.widget_problems.append(
                f"{where} seqlab-run button (parameters unchanged): a callback raised: "
                f"{ANSI.sub('', errors[-1]).strip()[-500:]}")

    def _move_and_check(self, ui: dict, control: dict, move: int, where: str) -> bool:
        i, page = ui["index"], self.page
        what = f"{where} {control['label']} move {move + 1}"
        before = page.evaluate(OUTPUT_OF_UI_JS, i)
        errors_before = page.evaluate(ERRORS_IN_UI_JS, i)
        since = page.evaluate("() => [window.__seqlab.busyCount, performance.now()]")
        sent_before = page.evaluate("() => window.__seqlab.errors.length")
        element = page.locator(f'[data-seqlab-control="{control["id"]}"]')
        if element.evaluate("el => el.matches(':disabled') || el.querySelector(':disabled') !== null"):
            # a UI may disable a control that has no effect in its current state (e.g. dropout
            # for a one-layer model): that is the honest way, so it is noted, not failed
            self.report.notes.append(f"{what}: disabled in this state, not moved")
            return False
        if move >= MOVES_PER_CONTROL:
            change = drag_slider(self.page, element)
        elif control["noLive"] and move == 1:
            change = restore_control(control["kind"], element, self._original)
        else:
            self._original = control_value(control["kind"], element)
            change = move_control(control["kind"], element)
        if change is None:
            self.report.widget_problems.append(f"{what}: could not move it (no other value to pick)")
            return False
        if control["noLive"]:
            self._settle(since)
            since = page.evaluate("() => [window.__seqlab.busyCount, performance.now()]")
            page.locator(f'[data-seqlab-run="{i}"]').first.click()
            change += ", then clicked the seqlab-run button"
        started = time.monotonic()
        if not self._settle(since):
            self.report.widget_problems.append(
                f"{what} ({change}): the kernel was still busy after {MOVE_TIMEOUT_S} s")
            return False
        after = page.evaluate(OUTPUT_OF_UI_JS, i)
        if control["noLive"]:  # each run is costly and its result worth seeing
            self.screenshot(f"ui{i + 1}-{control['id'].split('.')[1]}-"
                            f"{re.sub(r'[^a-z0-9]+', '-', control['label'].lower()).strip('-')}",
                            page.locator(f'[data-seqlab-ui="{i}"]'))
        errors = [e for e in page.evaluate(ERRORS_IN_UI_JS, i) if e not in errors_before]
        errors += [ANSI.sub("", e) for e in
                   page.evaluate(f"() => window.__seqlab.errors.slice({sent_before})")]
        self._log_offset = self._check_kernel_log(what, self._log_offset)
        ok = True
        if errors:
            self.report.widget_problems.append(
                f"{what} ({change}): a callback raised (in the UI, or only in the log console): {errors[-1].strip()[-500:]}")
            ok = False
        if after == before:
            self.report.widget_problems.append(f"{what} ({change}): the UI's output did not change")
            ok = False
        if ok:
            if move >= MOVES_PER_CONTROL:  # how a live slider feels when dragged (not asserted)
                trips = page.evaluate("() => window.__seqlab.busyCount") - since[0]
                change += (f"; {trips} kernel round trips, settled "
                           f"{time.monotonic() - started:.1f} s after the drag")
            self.report.moves.append(f"{what}: {change}: output changed")
        return ok

    def _settle(self, since: list) -> bool:
        """Wait until the kernel went busy after ``since`` (or 3 s passed) and stayed idle."""
        try:
            self.page.wait_for_function(SETTLED_JS, arg=[since[0], since[1], QUIET_MS, 3000],
                                        timeout=MOVE_TIMEOUT_S * 1000, polling=100)
        except Exception:  # noqa: BLE001 - a playwright TimeoutError
            return False
        self._wait_dom_stable(quiet_ms=200, timeout_s=10)
        return True

    # -- evidence -------------------------------------------------------------------------------
    def _check_kernel_log(self, what: str, offset: int) -> int:
        """Tracebacks the kernel wrote to its stderr (e.g. a callback outside ``with out:``)."""
        text = self.lab.log_since(offset)
        for block in re.split(r"\n(?=\[[A-Z] )", text):
            if "Traceback (most recent call last)" in block or "Exception in comm_msg" in block:
                self.report.widget_problems.append(
                    f"after {what}: the kernel logged a traceback: {block.strip()[-700:]}")
        return offset + len(text.encode())

    def full_screenshot(self, tag: str) -> Path:
        """The whole notebook in one image: the window is made as tall as the notebook."""
        page, size = self.page, self.page.viewport_size
        height = page.evaluate(f"""() => {{
            const nb = document.querySelector('{PANEL} .jp-WindowedPanel-outer')
                       || document.querySelector('{PANEL} .jp-Notebook');
            return nb.scrollHeight; }}""")
        page.set_viewport_size({"width": size["width"], "height": min(max(height + 200, 600), 12000)})
        try:
            page.evaluate(f"() => document.querySelector('{PANEL} .jp-WindowedPanel-outer')?.scrollTo(0, 0)")
            return self.screenshot(tag)
        finally:
            page.set_viewport_size(size)

    def screenshot(self, tag: str, locator=None) -> Path:
        path = self.shots / f"{self._name}-{tag}.png"
        try:
            (locator or self.page).screenshot(path=str(path), timeout=15_000)
            self.report.screenshots.append(path)
        except Exception as error:  # noqa: BLE001 - a missing screenshot must not hide a result
            self.report.widget_problems.append(f"screenshot {tag} failed: {error}")
        return path


def close_notebooks(page) -> bool:
    """Close every tab without saving; False if the page is in a state it cannot close from."""
    try:
        return bool(page.evaluate(CLOSE_ALL_JS))
    except Exception:  # noqa: BLE001 - a crashed or navigating page
        return False


def check_notebook(page, lab, path: str, shots: Path) -> NotebookReport:
    """Open ``path`` (relative to the server root), Run All, check cells, move every widget."""
    notebook = LabNotebook(page, lab, path, shots)
    start = time.monotonic()
    try:
        notebook.open()
        notebook.report.seconds["open"] = time.monotonic() - start
        notebook.run_all()
        notebook.save_and_check_cells()
        notebook.full_screenshot("run-all")
        notebook.check_widgets()
    except AssertionError as error:
        notebook.report.widget_problems.append(str(error))
    except Exception as error:  # noqa: BLE001 - e.g. a Playwright timeout: report it with a picture
        notebook.report.widget_problems.append(
            f"the suite could not go on: {type(error).__name__}: {str(error)[:1000]}")
        notebook.screenshot("stuck")
    notebook.report.seconds["total"] = time.monotonic() - start
    REPORTS.append(notebook.report)
    return notebook.report


def _text(source) -> str:
    return "".join(source) if isinstance(source, list) else source


def _first_line(source) -> str:
    lines = [line for line in _text(source).splitlines() if line.strip()]
    return lines[0][:80] if lines else ""


def _shows_something(html: str | None) -> bool:
    """True if the UI's output HTML holds an image or some visible text."""
    if not html:
        return False
    if "<img" in html or "<svg" in html or "<table" in html or "<canvas" in html:
        return True
    return bool(re.sub(r"<[^>]+>|\s", "", html))
