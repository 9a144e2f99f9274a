"""Sphinx configuration of the sklstm documentation.

Build it from the repository's root after an editable install, with warnings
as errors::

    pip install -e '.[docs]'
    python -m sphinx -W --keep-going -b html docs docs/_build/html

There is no intersphinx: the build runs offline.
"""

project = "sklstm"
author = "the sklstm developers"
extensions = ["sphinx.ext.autodoc", "numpydoc"]
# The class docstrings' Attributes sections list the fitted attributes, and
# autodoc documents the methods: numpydoc's member tables would repeat both.
numpydoc_show_class_members = False
# The methods users call, wherever in sklstm's class hierarchy they are
# defined (fit, predict, score, transform ...); _skip_foreign_members keeps
# out the ones scikit-learn's base classes bring.
autodoc_default_options = {"members": True, "inherited-members": True}
html_theme = "alabaster"


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Skip the class members that sklstm does not define.

    scikit-learn's base classes and mixins bring get_params, set_output,
    fit_transform, metadata routing's set_{method}_request and more: they are
    documented in scikit-learn's reference, and their docstrings cross-refer
    to labels of scikit-learn's docs that do not exist here. Fitted
    attributes (names ending in "_") are in the Attributes sections.
    """
    if what != "class":
        return None
    function = getattr(obj, "fget", obj)  # a property documents its getter
    module = getattr(function, "__module__", None) or ""
    if not module.startswith("sklstm") or name.endswith("_"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
