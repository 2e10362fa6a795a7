"""Sphinx configuration of the course site: `make book` writes it to _build/html.

The site is built from the notebooks as committed, with their saved outputs; nothing is executed.
It builds and reads offline: sphinx-book-theme ships its assets, sphinx-mathjax-offline ships
MathJax, and widgets are drawn from their saved state (_ext/static_widgets.py).
lessons/ and exercise_notebooks/ are links to the repository's notebooks/ and exercises/.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

project = "seqlab"
author = "the seqlab authors"
copyright = "the seqlab authors; sunspot data: WDC-SILSO, Royal Observatory of Belgium, Brussels (CC BY-NC 4.0)"

extensions = ["myst_nb", "sphinx-mathjax-offline", "static_widgets", "learning_goals"]
# lessons/data and lessons/results hold the committed results the lessons read, not pages
exclude_patterns = ["_build", "**/.ipynb_checkpoints", "_ext", "lessons/data", "lessons/results"]
# a ```csv block is shown as plain text; pages outside the toctrees (e.g. a glossary the lessons link
# to) are still built and reachable by their links
suppress_warnings = ["misc.highlighting_failure", "toc.not_included"]

# notebooks: render what was saved, never run them
nb_execution_mode = "off"
nb_ipywidgets_js = {}  # no widget JavaScript from a CDN; static_widgets draws the saved views
myst_enable_extensions = ["dollarmath", "amsmath"]  # the notebooks write math as $...$ and $$...$$
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = "seqlab: sequence models, hands on"
html_static_path = ["_static"]
html_css_files = ["seqlab.css"]
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
}
html_last_updated_fmt = None
