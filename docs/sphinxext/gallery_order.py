"""The order of the example gallery: a reader's path through the examples.

sphinx-gallery sorts the examples of a gallery with a key like this one
(``within_subsection_order`` in conf.py). Examples not listed here, such as a
new ``examples/plot_*.py``, follow the listed ones in file-name order, so that
the gallery picks up every example without a change here.
"""

ORDER = [
    "plot_sine_forecast.py",
    "plot_binary_classification.py",
    "plot_sensor_classification.py",
    "plot_char_sentiment.py",
    "plot_random_walk_forecast.py",
    "plot_grid_search_time_series.py",
    "plot_from_keras_pytorch.py",
    "plot_onnx_export.py",
]


class ExampleOrder:
    """Sort key: the position in ORDER, then the file name."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        if filename in ORDER:
            return (0, ORDER.index(filename), "")
        return (1, 0, filename)

    def __repr__(self):
        # Sphinx compares configurations by their repr between builds: a
        # stable one keeps the gallery from being rebuilt for nothing.
        return f"<{type(self).__name__}>"
