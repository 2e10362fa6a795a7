"""One look for every lesson figure: readable in grayscale, safe for colour-blind readers, described in words.

- Colours: the Okabe-Ito palette (Okabe & Ito 2008, "Color Universal Design"), distinguishable
  with the common colour-vision deficiencies. Colour is never the only cue: each series also gets
  its own line style and marker (``series_style``), so a grayscale print still tells them apart.
- Heatmaps: perceptually uniform colormaps whose lightness rises monotonically (viridis for
  [0, 1], cividis for signed values), so a grayscale print keeps their order (``APPROVED_CMAPS``).
- Words: every figure carries a short text description (``describe``/``alt_text``), listing what is
  drawn and which style is which series. In a notebook the figure is shown as an image with that
  text as its alt text and as a caption underneath (for screen readers and grayscale readers).

Every public plotting function in seqlab.plots is wrapped by ``@accessible``: it draws inside
``STYLE`` (matplotlib rc settings), spaces the markers of long lines, and describes the figure.
"""

from __future__ import annotations

import base64
import functools
import html
import io

import matplotlib as mpl
import matplotlib.pyplot as plt
from cycler import cycler
from matplotlib.figure import Figure

__all__ = [
    "APPROVED_CMAPS", "DIVERGING_CMAP", "LINESTYLES", "MARKERS", "OKABE_ITO", "PALETTE", "SEQUENTIAL_CMAP",
    "STYLE", "accessible", "alt_text", "describe", "series_style",
]

OKABE_ITO = {
    "black": "#000000", "orange": "#E69F00", "sky blue": "#56B4E9", "bluish green": "#009E73",
    "yellow": "#F0E442", "blue": "#0072B2", "vermillion": "#D55E00", "reddish purple": "#CC79A7",
}
# order of use: the darker, more distinct colours first; yellow (low contrast on white) last
PALETTE = [OKABE_ITO[c] for c in ("blue", "vermillion", "bluish green", "reddish purple", "orange",
                                   "sky blue", "black", "yellow")]
LINESTYLES = ["-", "--", "-.", ":", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 1)), (0, (6, 2)), (0, (3, 1, 1, 1))]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
LINESTYLE_NAMES = {"-": "solid", "--": "dashed", "-.": "dash-dot", ":": "dotted"}
MARKER_NAMES = {"o": "circles", "s": "squares", "^": "triangles", "D": "diamonds", "v": "down-triangles",
                "P": "plus signs", "X": "crosses", "*": "stars", "x": "x marks", ".": "dots"}

SEQUENTIAL_CMAP, DIVERGING_CMAP = "viridis", "cividis"  # cividis for signed values: still monotone in gray
APPROVED_CMAPS = frozenset({"viridis", "cividis", "magma", "inferno", "plasma", "gray", "Greys",
                            "viridis_r", "cividis_r", "magma_r", "inferno_r", "plasma_r", "gray_r", "Greys_r"})

# the models of the lessons keep one style everywhere (lessons 03-05 and ``seqlab compare``)
NAMED = {name: i for i, name in enumerate(("rnn", "gru", "lstm", "mamba", "persistence", "ar"))}

STYLE = {
    "axes.prop_cycle": cycler(color=PALETTE) + cycler(linestyle=LINESTYLES) + cycler(marker=MARKERS),
    "image.cmap": SEQUENTIAL_CMAP,
    "lines.markersize": 4.5,
    "lines.linewidth": 1.4,
    "legend.fontsize": 8,
    "hatch.linewidth": 0.8,
}
HATCHES = ["", "//", "..", "xx", "\\\\", "oo", "++", "--"]


def series_style(key: str | int) -> dict:
    """Colour, line style and marker for a series: by model name (rnn, gru, lstm, mamba,
    persistence, ar: the same in every figure) or by position. Keys for ``ax.plot``."""
    i = NAMED.get(str(key).split()[0].lower(), key) if isinstance(key, str) else key
    if isinstance(i, str):  # an unknown name: a stable position from its characters
        i = sum(map(ord, i))
    i %= len(PALETTE)
    return {"color": PALETTE[i], "linestyle": LINESTYLES[i], "marker": MARKERS[i]}


def bar_style(key: str | int) -> dict:
    """Colour and hatch for a bar series (bars cannot use line styles): keys for ``ax.bar``."""
    style = series_style(key)
    i = PALETTE.index(style["color"])
    return {"color": style["color"], "hatch": HATCHES[i], "edgecolor": "black", "linewidth": 0.6}


# ----------------------------------------------------------------------------- descriptions


def describe(fig: Figure, summary: str) -> Figure:
    """Attach a text description: ``summary`` (what the figure shows, in a sentence or two),
    followed by what is drawn in each panel and which line style is which series."""
    fig._seqlab_summary = summary.strip()
    return fig


def _line_words(line) -> str:
    ls = line.get_linestyle()
    words = [] if ls in ("None", "", " ") else [LINESTYLE_NAMES.get(ls, "patterned") + " line"]
    marker = line.get_marker()
    if marker not in (None, "None", "", " "):
        words.append(MARKER_NAMES.get(marker, "markers"))
    return " with ".join(words) if words else "line"


def _panel_words(ax) -> str:
    parts = []
    title = ax.get_title() or ax.get_title("left")
    what = f"'{title}'" if title else "a panel"
    xlabel, ylabel = ax.get_xlabel(), ax.get_ylabel()
    if xlabel and ylabel:
        what += f" ({ylabel} against {xlabel})"
    elif xlabel or ylabel:
        what += f" ({xlabel or ylabel})"
    parts.append(what)
    lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    if lines:
        parts.append("; ".join(f"{ln.get_label()}: {_line_words(ln)}" for ln in lines))
    if ax.get_images():
        cmap = ax.get_images()[0].get_cmap().name
        lo, hi = ax.get_images()[0].get_clim()
        parts.append(f"heatmap ({cmap}: dark = {lo:.3g}, light = {hi:.3g})")
    return ": ".join(parts[:1]) + (" - " + ". ".join(parts[1:]) if parts[1:] else "")


def alt_text(fig: Figure) -> str:
    """The figure's description: its summary, then one sentence per panel (titles, axes, line styles)."""
    axes = [ax for ax in fig.get_axes() if ax.get_visible() and ax.get_label() != "<colorbar>"]
    panels = [_panel_words(ax) for ax in axes if ax.has_data()]
    text = getattr(fig, "_seqlab_summary", "")
    if panels:
        text += (" " if text else "") + ("Panels: " if len(panels) > 1 else "Panel: ") + " | ".join(panels) + "."
    return text


# ----------------------------------------------------------------------------- the decorator


def _space_markers(fig: Figure, max_markers: int = 16) -> None:
    """Lines with many points keep their markers, about ``max_markers`` of them, evenly spaced and
    staggered from line to line (so that overlapping lines still show each marker)."""
    for ax in fig.get_axes():
        lines = [ln for ln in ax.get_lines() if ln.get_marker() not in (None, "None", "", " ")]
        for i, line in enumerate(lines):
            n = len(line.get_xdata())
            if n > max_markers and line.get_markevery() is None:
                step = max(1, n // max_markers)
                line.set_markevery((i * step // len(lines), step))


def accessible(plot_function):
    """Wrap a function that returns a Figure: draw it inside STYLE, space the markers of long
    lines, and make sure it carries a description (its own summary, else the generated one)."""

    @functools.wraps(plot_function)
    def wrapper(*args, **kwargs):
        with mpl.rc_context(STYLE):
            fig = plot_function(*args, **kwargs)
        if not isinstance(fig, Figure):
            raise TypeError(f"{plot_function.__name__} must return a matplotlib Figure, got {type(fig).__name__}")
        _space_markers(fig)
        fig._seqlab_accessible = True
        _register_with_ipython()  # now, after pyplot has loaded the notebook's backend and its formatters
        return fig

    wrapper.accessible = True
    return wrapper


# ----------------------------------------------------------------------------- notebooks


def _figure_html(fig: Figure) -> str | None:
    """The figure as an <img> with its description as alt text and as a caption (IPython's text/html)."""
    if not getattr(fig, "_seqlab_accessible", False):
        return None  # not one of ours: IPython shows it as usual
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    png = base64.b64encode(buffer.getvalue()).decode("ascii")
    text = html.escape(alt_text(fig), quote=True)
    return (f'<figure style="margin: 0"><img src="data:image/png;base64,{png}" alt="{text}"/>'
            f'<figcaption style="font-size: 0.85em; color: #333"><b>Figure.</b> {text}</figcaption></figure>')


def _register_with_ipython() -> None:
    """In a notebook, show described figures as HTML (image + alt text + caption) instead of a bare PNG."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is None:
        return
    formatters = shell.display_formatter.formatters
    if Figure not in formatters["text/html"].type_printers:
        formatters["text/html"].for_type(Figure, _figure_html)
    png = formatters["image/png"]
    previous = png.lookup_by_type(Figure) if Figure in png.type_printers else None
    if previous is not None and not getattr(previous, "_seqlab", False):
        def png_unless_described(fig):  # the HTML already holds the image: do not store it twice
            return None if getattr(fig, "_seqlab_accessible", False) else previous(fig)

        png_unless_described._seqlab = True
        png.for_type(Figure, png_unless_described)


_register_with_ipython()
