"""Sphinx extension: show a notebook's ipywidgets as their saved view, without a kernel or a CDN.

A lesson saves each widget's state in its metadata (sliders, dropdowns, and the figure its Output
widget last showed). ipywidgets' own HTML renderer would fetch JavaScript from a CDN, which an offline
build and an offline reader do not have. Before myst-nb parses a notebook, this replaces each widget
view output by static HTML drawn from that state: the figure and text as saved, the controls drawn
disabled, and a note that moving them needs a running kernel (JupyterLab or Colab).
"""

from __future__ import annotations

import html
import json

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
NOTE = ("Saved view of an interactive widget. Its controls need a running kernel: open this notebook "
        "in Colab (badge at the top) or in JupyterLab (<code>make lab</code>) to move them.")
CONTROLS = ("Slider", "Dropdown", "Button", "Checkbox", "Text", "Select", "RadioButtons", "ToggleButtons")


class _Renderer:
    def __init__(self, models: dict):
        self.models = models
        self.controls = 0

    def render(self, model_id: str) -> str:
        model = self.models.get(model_id)
        if model is None:
            return '<span class="seqlab-widget-missing">(widget state not saved)</span>'
        name, state = model.get("model_name", ""), model.get("state", {})
        layout = self.models.get(str(state.get("layout", "")).removeprefix("IPY_MODEL_"), {}).get("state", {})
        if layout.get("display") == "none" or layout.get("visibility") == "hidden":
            return ""
        if any(control in name for control in CONTROLS):
            self.controls += 1
        kind = name.removesuffix("Model")
        method = getattr(self, f"_{kind}", None)
        if method is None:
            method = self._Box if "children" in state else self._other
        return method(state, kind)

    def _children(self, state: dict) -> str:
        return "".join(self.render(str(child).removeprefix("IPY_MODEL_")) for child in state.get("children", []))

    def _Box(self, state, kind):
        direction = "row" if kind.startswith("H") else "column"
        return f'<div class="seqlab-widget-box" style="display:flex;flex-direction:{direction};gap:0.5em;' \
               f'flex-wrap:wrap">{self._children(state)}</div>'

    _HBox = _VBox = _GridBox = _Box

    def _Output(self, state, kind):
        parts = []
        for output in state.get("outputs", []):
            if output.get("output_type") == "stream":
                parts.append(f"<pre>{html.escape(_text(output.get('text', '')))}</pre>")
                continue
            data = output.get("data", {})
            if "image/png" in data:
                parts.append(f'<img alt="saved figure" src="data:image/png;base64,{_text(data["image/png"]).strip()}"/>')
            elif "text/html" in data:
                parts.append(_text(data["text/html"]))
            elif "text/plain" in data:
                parts.append(f"<pre>{html.escape(_text(data['text/plain']))}</pre>")
        return f'<div class="seqlab-widget-output">{"".join(parts)}</div>'

    def _HTML(self, state, kind):
        return f'<span class="seqlab-widget-html">{_label(state)}{state.get("value", "")}</span>'

    _HTMLMath = _Label = _HTML

    def _slider(self, state, kind):
        value = state.get("value")
        shown = "–".join(map(str, value)) if isinstance(value, list) else value
        bound = value[0] if isinstance(value, list) else value
        if kind == "FloatLogSlider":  # min, max are exponents of base
            base = state.get("base", 10)
            lo, hi, position = base ** state.get("min", 0), base ** state.get("max", 1), bound
        else:
            lo, hi, position = state.get("min", 0), state.get("max", 100), bound
        return (f'<label class="seqlab-widget-control">{_label(state)}'
                f'<input type="range" disabled min="{lo}" max="{hi}" step="any" value="{position}"/> '
                f"<output>{html.escape(str(shown))}</output></label>")

    _FloatSlider = _IntSlider = _FloatLogSlider = _IntRangeSlider = _FloatRangeSlider = _slider
    _SelectionSlider = _slider

    def _Dropdown(self, state, kind):
        labels, index = state.get("_options_labels", []), state.get("index")
        options = "".join(f'<option{" selected" if i == index else ""}>{html.escape(str(label))}</option>'
                          for i, label in enumerate(labels))
        return f'<label class="seqlab-widget-control">{_label(state)}<select disabled>{options}</select></label>'

    _Select = _RadioButtons = _ToggleButtons = _Dropdown

    def _Button(self, state, kind):
        return f'<button disabled>{html.escape(state.get("description", ""))}</button>'

    def _progress(self, state, kind):
        return f'<progress value="{state.get("value", 0)}" max="{state.get("max", 100)}"></progress>'

    _FloatProgress = _IntProgress = _progress

    def _Checkbox(self, state, kind):
        checked = " checked" if state.get("value") else ""
        return f'<label class="seqlab-widget-control"><input type="checkbox" disabled{checked}/> ' \
               f'{html.escape(state.get("description", ""))}</label>'

    def _other(self, state, kind):
        value = state.get("value")
        shown = f" = {html.escape(str(value))}" if value is not None else ""
        return f'<span class="seqlab-widget-other">{_label(state)}[{html.escape(kind)}{shown}]</span>'


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _label(state: dict) -> str:
    description = state.get("description", "")
    return f"<span class=\"seqlab-widget-label\">{html.escape(description)}</span> " if description else ""


def render_widget_view(model_id: str, models: dict) -> str:
    """Static HTML for the widget ``model_id`` from the saved ``models`` (model id -> saved model)."""
    renderer = _Renderer(models)
    body = renderer.render(model_id)
    note = f'<p class="seqlab-widget-note">{NOTE}</p>' if renderer.controls else ""
    return f'<div class="seqlab-static-widget">{note}{body}</div>'


def static_widgets(notebook: dict) -> dict:
    """The notebook (as JSON) with every widget view replaced by its saved view in text/html, and
    the widget state removed (so nothing tries to load the widget JavaScript)."""
    widgets = notebook.get("metadata", {}).pop("widgets", {})
    models = widgets.get(WIDGET_STATE, {}).get("state", {})
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            view = data.pop(WIDGET_VIEW, None)
            if view is not None:
                data["text/html"] = render_widget_view(view.get("model_id", ""), models)
    return notebook


def _on_source_read(app, docname: str, source: list[str]) -> None:
    if str(app.env.doc2path(docname)).endswith(".ipynb"):
        source[0] = json.dumps(static_widgets(json.loads(source[0])))


def setup(app):
    app.connect("source-read", _on_source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
