"""Sphinx configuration of the sk_gradopt documentation.

Build with ``sphinx-build -W -b html docs docs/_build/html`` (warnings are
errors); sphinx-gallery runs the scripts of ``examples/`` while building, and
``sphinx-build -b doctest docs docs/_build/doctest`` runs the ``>>>``
examples of the pages and of the docstrings.
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if os.path.isdir(os.path.join(ROOT, "sk_gradopt")):
    sys.path.insert(0, ROOT)  # a checkout: document its sources
sys.path.insert(0, HERE)  # gallery_order

os.environ.setdefault("MPLBACKEND", "Agg")  # the examples and doctests draw off-screen

import sk_gradopt

project = "sk_gradopt"
author = "the sk_gradopt developers"
copyright = "the sk_gradopt developers, BSD-3-Clause"
release = sk_gradopt.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

exclude_patterns = ["_build", "Thumbs.db", ".DS_Store"]
root_doc = "index"
# scikit-learn's theme: a wide column, so that code lines are not cut off
html_theme = "pydata_sphinx_theme"
html_title = f"sk_gradopt {release}"
html_static_path = ["_static"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}

# MathJax from _static/mathjax/ (see its README), not from a CDN: the pages
# render their formulas without network access
mathjax_path = "mathjax/tex-chtml-full.js"

# autodoc + numpydoc: the API page lists the members it shows
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# doctest: the ``>>>`` blocks of the pages and of the docstrings
doctest_global_setup = "import matplotlib\nmatplotlib.use('Agg')\n"

# sphinx-gallery: runs every examples/plot_*.py while building
sphinx_gallery_conf = {
    "examples_dirs": os.path.join(ROOT, "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "abort_on_example_error": True,
    "download_all_examples": False,
    "remove_config_comments": True,
    # a newcomer's path, the quick start first (docs/gallery_order.py)
    "within_subsection_order": "gallery_order.GalleryOrder",
}
