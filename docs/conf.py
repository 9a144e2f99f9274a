"""Sphinx configuration of the sklstm documentation."""

project = "sklstm"
author = "the sklstm developers"
extensions = ["sphinx.ext.autodoc", "numpydoc"]
numpydoc_show_class_members = False
html_theme = "alabaster"
