"""Sphinx configuration for idckit's documentation.

Build (what ``nox -s docs`` runs; warnings are errors, the gallery examples are executed)::

    MPLBACKEND=Agg sphinx-build -W --keep-going -b html docs docs/_build/html

Add ``-D plot_gallery=0`` to render the examples without running them (a fast build).
The build never uses the network: no intersphinx, no remote images, no downloads.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# Examples and autodoc import TensorFlow: keep the build quiet and headless.
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(HERE / "_ext"))

import idckit  # noqa: E402 - after the environment above

# -- Project ---------------------------------------------------------------------------------
project = "idckit"
author = "The idckit developers"
copyright = "The idckit developers"
release = idckit.__version__
version = re.sub(r"(\.dev\d*|rc\d*|a\d*|b\d*)$", "", release)

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "idckit_docs",  # docs/_ext: CLI reference, top-level API table, Markdown changelog
]

templates_path = ["_templates"]
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
root_doc = "index"
default_role = "py:obj"

# -- API reference: autodoc + autosummary + numpydoc -----------------------------------------
# Every public name is listed from the modules' own ``__all__``: see docs/api.rst and the
# templates in docs/_templates/autosummary. Nothing is listed by hand.
autosummary_generate = True
autosummary_ignore_module_all = False  # document exactly what ``__all__`` exports
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_member_order = "bysource"
python_use_unqualified_type_names = True
# Keras base classes use another docstring style: document only what idckit itself wrote.
autodoc_inherit_docstrings = False
python_maximum_signature_line_length = 88
add_module_names = False

numpydoc_show_class_members = False  # the class template lists the members itself
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
# Docstring checks run by docs/_ext/idckit_docs.py with numpydoc's own validator
# (numpydoc.validate), with rules per kind of object that numpydoc_validation_checks cannot
# express: every public function and class needs an Examples section (STYLE.md), methods do
# not, and the Keras protocol methods (call, update_state, get_config...) document their
# parameters in Keras's own reference. Codes: GL08 no docstring, SS01 no summary, SS03 summary
# without a final period, PR01/PR02 parameters missing or unknown, PR07 parameter without a
# description, RT03 return value without a description, EX01 no Examples section. A single
# object can opt out with a ``# numpydoc ignore=CODE`` comment on its ``def``/``class`` line.
numpydoc_validation_checks: set[str] = set()  # numpydoc's own pass: off (see above)
idckit_validation_checks = {"GL08", "SS01", "SS03", "PR01", "PR02", "PR07", "RT03", "EX01"}
idckit_validation_exclude = [r"\.__\w+__$"]  # dunder methods document themselves

# -- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"idckit {release}"
html_theme_options = {
    "logo": {"text": "idckit"},
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 7,
    "secondary_sidebar_items": ["page-toc", "sourcelink"],
}
html_sidebars = {"index": [], "installation": [], "changelog": []}
html_show_sourcelink = True
html_copy_source = True

# -- Gallery (sphinx-gallery) --------------------------------------------------------------
# Files named ``plot_*.py`` are executed during the build (small synthetic data, about a
# minute each on 2 CPU cores) and their figures captured. Any other example file, such as
# ``real_data_recipe.py`` (it needs the real data set and half an hour of training), is shown
# with its code but not executed. Examples are ordered by title ("1. ...", "2. ...").
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": re.escape(os.sep) + "plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "ExampleTitleSortKey",
    # idckit's plots return Figure objects made without pyplot: docs/_ext/idckit_docs.py
    # scrapes those (the last expression of a cell, or a variable); pyplot figures as usual.
    "image_scrapers": ("matplotlib", "idckit_docs.figure_scraper"),
    "matplotlib_animations": False,
    "remove_config_comments": True,
    "capture_repr": ("_repr_html_", "__repr__"),
    # A cell ending in a plot shows the figure, not "<Figure size 640x480 with 2 Axes>".
    "ignore_repr_types": r"matplotlib\.(figure|axes|text|lines)",
    "doc_module": ("idckit",),
    "backreferences_dir": os.path.join("generated", "backreferences"),
    "show_memory": False,
    "download_all_examples": False,
    "abort_on_example_error": False,  # run them all, then fail the build listing every error
    "min_reported_time": 1,
}

# -- idckit_docs ------------------------------------------------------------------------------
# A subcommand that does not import is a warning (an error under -W): the CLI reference must
# list every command in idckit.cli._main.SUBCOMMANDS.
idckit_cli_strict = True
