"""Sphinx configuration of the sklstm documentation.

Build it from the repository's root after an editable install, with warnings
as errors; the build runs every example of the gallery (under a minute on
the 2-vCPU development machine)::

    pip install -e '.[docs]'
    python -m sphinx -W --keep-going -b html docs docs/_build/html

``-D plot_gallery=0`` builds without running the examples (their pages then
have no output or figures). After removing or renaming an example, delete
the generated docs/auto_examples: sphinx-gallery keeps its old files.

Intersphinx (links to scikit-learn's and numpy's documentation) needs the
network to fetch their inventories, and the build must work offline, where a
failed fetch is a warning and so an error. It is therefore off unless the
environment says the network is there: ``SKLSTM_DOCS_INTERSPHINX=1``.
Without it, references to scikit-learn and numpy names render as plain code.
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "sphinxext"))

project = "sklstm"
author = "the sklstm developers"
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
exclude_patterns = ["_build"]
# A reference to an sklstm name that does not exist is an error (-W); names
# of other libraries stay plain code when intersphinx is off (below).
nitpicky = True
nitpick_ignore_regex = [(r"py:.*", r"(?!sklstm(\.|$)).*")]
# The class docstrings' Attributes sections list the fitted attributes, and
# autodoc documents the methods: numpydoc's member tables would repeat both.
numpydoc_show_class_members = False
# The methods users call, wherever in sklstm's class hierarchy they are
# defined (fit, predict, score, transform ...); _skip_foreign_members keeps
# out the ones scikit-learn's base classes bring.
autodoc_default_options = {"members": True, "inherited-members": True}
# The API index's tables link to the hand-written pages of docs/api; nothing
# is generated.
autosummary_generate = False

html_theme = "pydata_sphinx_theme"
html_title = "sklstm"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
}
html_sidebars = {"index": []}

if os.environ.get("SKLSTM_DOCS_INTERSPHINX") == "1":
    extensions.append("sphinx.ext.intersphinx")
    intersphinx_mapping = {
        "python": ("https://docs.python.org/3", None),
        "numpy": ("https://numpy.org/doc/stable", None),
        "sklearn": ("https://scikit-learn.org/stable", None),
    }

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Every examples/plot_*.py is run and shown, in gallery_order's order.
    "filename_pattern": r"/plot_",
    "within_subsection_order": "gallery_order.ExampleOrder",
    # A failing example fails the build, at its first error.
    "abort_on_example_error": True,
    # "Examples using X" on the API pages (the minigallery directive).
    "doc_module": ("sklstm",),
    "backreferences_dir": "gen_modules/backreferences",
    "reference_url": {"sklstm": None},
    "min_reported_time": 0,
}


# The methods of aeon's and sktime's estimator API that fit, predict and score.
_LIBRARY_METHODS = {"fit", "predict", "predict_proba", "score", "update"}


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Skip the class members that sklstm does not define.

    scikit-learn's base classes and mixins bring get_params, set_output,
    fit_transform, metadata routing's set_{method}_request and more: they are
    documented in scikit-learn's reference, and their docstrings cross-refer
    to labels of scikit-learn's docs that do not exist here. Fitted
    attributes (names ending in "_") are in the Attributes sections.

    The aeon and sktime estimators' methods are their library's base
    classes': of those, the ones that fit, predict and score are documented
    (_LIBRARY_METHODS; a page's ``:exclude-members:`` leaves out the ones its
    estimator lacks), the rest of the API is in their libraries' references.
    """
    if what != "class":
        return None
    function = getattr(obj, "fget", obj)  # a property documents its getter
    module = getattr(function, "__module__", None) or ""
    if module.split(".")[0] in ("aeon", "sktime") and name in _LIBRARY_METHODS:
        return None
    if not module.startswith("sklstm") or name.endswith("_"):
        return True
    return None


# A cross-reference to another library's glossary or labels, :term:`mtype` or
# :ref:`tag reference <panel_tags>`: its text.
_FOREIGN_REFERENCE = re.compile(r":(?:term|ref|doc):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")
# A name with a trailing underscore outside ``literals``, self.classes_, which
# reST reads as a hyperlink reference.
_LITERAL = re.compile(r"(``.*?``)")
_TRAILING_UNDERSCORE = re.compile(r"\b(\w+)_(?!\w)")


def _plain_foreign_references(app, what, name, obj, options, lines):
    """Render the cross-references of aeon's and sktime's docstrings as text.

    They point into their library's documentation, which is not part of this
    build, and would be broken references (errors, with -W); so would a
    fitted attribute's name, ``classes_``, written without backquotes.
    """
    module = getattr(obj, "__module__", None) or ""
    if module.split(".")[0] not in ("aeon", "sktime"):
        return
    text = _FOREIGN_REFERENCE.sub(lambda m: m.group(1) or m.group(2), "\n".join(lines))
    text = "".join(part if part.startswith("``") else _TRAILING_UNDERSCORE.sub(r"\1\\_", part)
                   for part in _LITERAL.split(text))
    lines[:] = text.split("\n")


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    # Before numpydoc's (priority 500) parses the docstrings.
    app.connect("autodoc-process-docstring", _plain_foreign_references, priority=400)
