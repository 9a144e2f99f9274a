"""Plots of a fitted model: the training curves, per epoch.

matplotlib is an optional dependency (``pip install sklstm[plot]``): it is
imported when a figure is drawn, not when this module is.
"""

import numpy as np
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

from ._estimators import BaseLSTM

__all__ = ["TrainingCurveDisplay"]


def _check_matplotlib_support(caller_name):
    """Raise an ImportError that says how to install matplotlib (scikit-learn's
    message; its helper is private)."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as e:
        raise ImportError(
            f"{caller_name} requires matplotlib. You can install matplotlib with "
            "`pip install matplotlib` (or `pip install sklstm[plot]`)") from e


# Where the fitted sklstm estimator sits in the objects users fit around it:
# scikit-learn's searches and TransformedTargetRegressor, and the aeon and
# sktime wrappers of sklstm.aeon and sklstm.sktime (``estimator_``).
_INNER_ESTIMATOR_ATTRIBUTES = ("best_estimator_", "regressor_", "estimator_")


def _find_lstm(estimator):
    """The sklstm estimator that `estimator` is or wraps, checked fitted."""
    while not isinstance(estimator, BaseLSTM):
        if isinstance(estimator, Pipeline):
            estimator = estimator[-1]
            continue
        inner = next((getattr(estimator, name) for name in _INNER_ESTIMATOR_ATTRIBUTES
                      if isinstance(getattr(estimator, name, None), (BaseLSTM, Pipeline))),
                     None)
        if inner is None:
            # An unfitted wrapper has no inner estimator yet: say so as
            # scikit-learn does (NotFittedError), before saying it is not
            # an sklstm model. aeon's and sktime's estimators have a flag
            # instead of scikit-learn's tags, which check_is_fitted needs.
            if getattr(estimator, "is_fitted", None) is False:
                raise NotFittedError(
                    f"This {type(estimator).__name__} instance is not fitted yet. "
                    f"Call 'fit' with appropriate arguments before using "
                    f"TrainingCurveDisplay.from_estimator.")
            check_is_fitted(estimator)
            raise TypeError(
                f"TrainingCurveDisplay.from_estimator needs a fitted LSTMRegressor or "
                f"LSTMClassifier, or a Pipeline, search or wrapper around one; got "
                f"{type(estimator).__name__}.")
        estimator = inner
    check_is_fitted(estimator, "loss_curve_")
    return estimator


def _loss_name(estimator):
    """The name of the loss that ``loss_curve_`` records, for the y axis."""
    if is_classifier(estimator):
        return "log-loss"
    loss = getattr(estimator, "loss", "squared_error")
    if loss == "quantile":
        return f"pinball loss (quantile {estimator.quantile:g})"
    # MLPRegressor's convention: the squared error is halved (see loss_).
    return {"squared_error": "half squared error", "absolute_error": "absolute error",
            "huber": "Huber loss"}.get(loss, str(loss))


class TrainingCurveDisplay:
    """Training curves: the loss of each epoch, and the validation loss and score.

    The training loss and the validation loss share the left y axis; the
    validation score (R^2 or accuracy, higher is better) has its own axis on
    the right. Epochs count from 1. Use :meth:`from_estimator` to plot the
    curves of a fitted estimator; the constructor takes curves recorded
    anywhere (several models' curves on one axes, say).

    Parameters
    ----------
    loss_curve : array-like of shape (n_epochs,)
        The mean training loss of each epoch (``loss_curve_``).

    validation_loss_curve : array-like of shape (n_validation_epochs,), default=None
        The loss on the validation set after each epoch
        (``validation_loss_curve_``). When shorter than `loss_curve`, it is
        that of the last epochs: a validation set given from a later call of
        ``fit`` with ``warm_start=True`` or ``partial_fit`` on.

    validation_scores : array-like of shape (n_validation_epochs,), default=None
        The score on the validation set after each epoch
        (``validation_scores_``), aligned as `validation_loss_curve`.

    loss_name : str, default=None
        The name of the loss, for the left y axis; None: "loss".

    score_name : str, default=None
        The name of the score, for the right y axis; None: "score".

    name : str, default=None
        The model's name, the axes' title; None: no title.

    Attributes
    ----------
    ax_ : matplotlib Axes
        The axes of the losses.

    score_ax_ : matplotlib Axes or None
        The twin axes (shared x axis) of the validation score; None without
        validation scores.

    figure_ : matplotlib Figure
        The figure of the axes.

    lines_ : list of matplotlib Line2D
        The training loss, then the validation loss and the validation score
        when there are.

    See Also
    --------
    sklearn.model_selection.LearningCurveDisplay : Scores against the number
        of training samples.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> from sklstm import LSTMClassifier
    >>> from sklstm.inspection import TrainingCurveDisplay
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 5, 1))
    >>> y = (X[:, 0, 0] > 0).astype(int)
    >>> model = LSTMClassifier(hidden_layer_sizes=4, max_iter=5, tol=None,
    ...                        random_state=0).fit(X[:40], y[:40], X_val=X[40:], y_val=y[40:])
    >>> display = TrainingCurveDisplay.from_estimator(model)
    >>> [len(line.get_xdata()) for line in display.lines_]
    [5, 5, 5]
    >>> display.ax_.get_ylabel(), display.score_ax_.get_ylabel()
    ('log-loss', 'validation accuracy')
    >>> plt.close(display.figure_)
    """

    def __init__(self, loss_curve, *, validation_loss_curve=None, validation_scores=None,
                 loss_name=None, score_name=None, name=None):
        self.loss_curve = loss_curve
        self.validation_loss_curve = validation_loss_curve
        self.validation_scores = validation_scores
        self.loss_name = loss_name
        self.score_name = score_name
        self.name = name

    def _curves(self):
        """The curves as float arrays, each with its epochs (from 1)."""
        loss = np.asarray(self.loss_curve, dtype=float).reshape(-1)
        if loss.size == 0:
            raise ValueError("loss_curve is empty: there is no epoch to plot.")
        curves = {"loss": (np.arange(1, loss.size + 1), loss)}
        for key, parameter, values in (
                ("validation_loss", "validation_loss_curve", self.validation_loss_curve),
                ("validation_score", "validation_scores", self.validation_scores)):
            if values is None:
                continue
            values = np.asarray(values, dtype=float).reshape(-1)
            if values.size > loss.size:
                raise ValueError(
                    f"{parameter} has {values.size} epochs, more than the "
                    f"{loss.size} of loss_curve.")
            if values.size:
                curves[key] = (np.arange(loss.size - values.size + 1, loss.size + 1),
                               values)
        return curves

    def plot(self, ax=None, *, name=None, loss_scale="linear", line_kw=None):
        """Plot the curves.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            The axes to plot the losses on (the score gets a twin axes of
            it); None: a new figure and axes.

        name : str, default=None
            The axes' title; None: the display's `name`.

        loss_scale : {"linear", "log"}, default="linear"
            The scale of the loss axis: "log" shows the late epochs of a loss
            that falls by orders of magnitude.

        line_kw : dict, default=None
            Keyword arguments of matplotlib's ``plot``, for every line (over
            the display's colors and styles).

        Returns
        -------
        display : TrainingCurveDisplay
            This display, with ``ax_``, ``score_ax_``, ``figure_`` and
            ``lines_``.
        """
        _check_matplotlib_support(f"{type(self).__name__}.plot")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator

        if loss_scale not in ("linear", "log"):
            raise ValueError(f'loss_scale must be "linear" or "log"; got {loss_scale!r}.')
        curves = self._curves()
        if ax is None:
            _, ax = plt.subplots()
        line_kw = {} if line_kw is None else dict(line_kw)
        score_label = self.score_name or "score"
        styles = {"loss": ("training loss", {"color": "C0"}),
                  "validation_loss": ("validation loss", {"color": "C1"}),
                  "validation_score": (score_label, {"color": "C2", "linestyle": "--"})}

        self.score_ax_ = ax.twinx() if "validation_score" in curves else None
        self.lines_ = []
        for key, (epochs, values) in curves.items():
            label, style = styles[key]
            target = self.score_ax_ if key == "validation_score" else ax
            (line,) = target.plot(epochs, values, **{"label": label, **style, **line_kw})
            self.lines_.append(line)

        ax.set_xlabel("epoch")
        ax.set_ylabel(self.loss_name or "loss")
        ax.set_yscale(loss_scale)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if self.score_ax_ is not None:
            self.score_ax_.set_ylabel(score_label)
        name = self.name if name is None else name
        if name is not None:
            ax.set_title(name)
        # One legend for both axes, on the twin axes, which is drawn on top.
        (self.score_ax_ or ax).legend(handles=self.lines_, loc="best")

        self.ax_ = ax
        self.figure_ = ax.figure
        return self

    @classmethod
    def from_estimator(cls, estimator, *, ax=None, name=None, loss_scale="linear",
                       line_kw=None):
        """Plot the training curves of a fitted estimator.

        Reads ``loss_curve_``, ``validation_loss_curve_`` and
        ``validation_scores_`` (the validation curves when the estimator was
        fitted with ``early_stopping=True`` or ``X_val``).

        Parameters
        ----------
        estimator : LSTMRegressor, LSTMClassifier or an object around one
            A fitted sklstm estimator, or a Pipeline whose last step is one, a
            fitted search (``best_estimator_``), a TransformedTargetRegressor
            (``regressor_``), or an sklstm.aeon or sklstm.sktime wrapper
            (``estimator_``).

        ax : matplotlib Axes, default=None
            The axes to plot on; None: a new figure and axes.

        name : str, default=None
            The axes' title; None: the estimator's class name.

        loss_scale : {"linear", "log"}, default="linear"
            The scale of the loss axis.

        line_kw : dict, default=None
            Keyword arguments of matplotlib's ``plot``, for every line.

        Returns
        -------
        display : TrainingCurveDisplay
            The display, plotted.

        Raises
        ------
        NotFittedError
            If the estimator is not fitted.
        """
        _check_matplotlib_support(f"{cls.__name__}.from_estimator")
        model = _find_lstm(estimator)
        display = cls(
            model.loss_curve_, validation_loss_curve=model.validation_loss_curve_,
            validation_scores=model.validation_scores_, loss_name=_loss_name(model),
            score_name="validation accuracy" if is_classifier(model) else "validation R^2",
            name=type(model).__name__ if name is None else name)
        return display.plot(ax=ax, loss_scale=loss_scale, line_kw=line_kw)
