"""TrainingCurveDisplay: the figure, its lines' data, labels and legend, and
the estimators (and wrappers) it reads, drawn headless."""

import sys

import numpy as np
import pytest
from sklearn.compose import TransformedTargetRegressor
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm.inspection import TrainingCurveDisplay
from sklstm.preprocessing import SequenceScaler

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _data(n=40, classes=False):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 6, 2))
    y = X[:, :, 0].sum(axis=1)
    return X, (y > 0).astype(int) if classes else y


def _legend_texts(display):
    legend = (display.score_ax_ or display.ax_).get_legend()
    return [text.get_text() for text in legend.get_texts()]


@pytest.fixture(scope="module")
def classifier_with_validation():
    X, y = _data(classes=True)
    return LSTMClassifier(hidden_layer_sizes=3, max_iter=6, tol=None, random_state=0).fit(
        X[:30], y[:30], X_val=X[30:], y_val=y[30:])


def test_from_estimator_with_validation(classifier_with_validation):
    model = classifier_with_validation
    display = TrainingCurveDisplay.from_estimator(model)
    assert isinstance(display.figure_, matplotlib.figure.Figure)
    assert display.figure_ is display.ax_.figure
    assert len(display.lines_) == 3
    expected = [model.loss_curve_, model.validation_loss_curve_, model.validation_scores_]
    for line, curve in zip(display.lines_, expected):
        np.testing.assert_array_equal(line.get_xdata(), np.arange(1, 7))
        np.testing.assert_allclose(line.get_ydata(), curve)
    # The losses on the left axes, the score on its twin.
    assert display.lines_[0].axes is display.ax_
    assert display.lines_[1].axes is display.ax_
    assert display.lines_[2].axes is display.score_ax_
    assert display.score_ax_.get_shared_x_axes().joined(display.score_ax_, display.ax_)
    assert display.ax_.get_xlabel() == "epoch"
    assert display.ax_.get_ylabel() == "log-loss"
    assert display.score_ax_.get_ylabel() == "validation accuracy"
    assert display.ax_.get_title() == "LSTMClassifier"
    assert _legend_texts(display) == ["training loss", "validation loss",
                                      "validation accuracy"]
    display.figure_.canvas.draw()  # renders headless


def test_from_estimator_without_validation():
    X, y = _data()
    model = LSTMRegressor(hidden_layer_sizes=3, max_iter=4, tol=None,
                          random_state=0).fit(X, y)
    assert model.validation_scores_ is None
    display = TrainingCurveDisplay.from_estimator(model, name="sine")
    assert len(display.lines_) == 1
    assert display.score_ax_ is None
    assert display.figure_.axes == [display.ax_]
    np.testing.assert_array_equal(display.lines_[0].get_xdata(), [1, 2, 3, 4])
    np.testing.assert_allclose(display.lines_[0].get_ydata(), model.loss_curve_)
    assert display.ax_.get_ylabel() == "half squared error"
    assert display.ax_.get_title() == "sine"
    assert _legend_texts(display) == ["training loss"]


# Five epochs are too few to stop early: the warning says so, as it should.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_early_stopping_curves():
    X, y = _data(n=60)
    model = LSTMRegressor(hidden_layer_sizes=3, max_iter=5, early_stopping=True,
                          random_state=0).fit(X, y)
    display = TrainingCurveDisplay.from_estimator(model)
    assert display.score_ax_.get_ylabel() == "validation R^2"
    np.testing.assert_allclose(display.lines_[2].get_ydata(), model.validation_scores_)
    assert len(display.lines_[2].get_xdata()) == model.n_iter_


def test_ax_passed_in_is_used(classifier_with_validation):
    fig, (left, right) = plt.subplots(1, 2)
    display = TrainingCurveDisplay.from_estimator(classifier_with_validation, ax=right)
    assert display.ax_ is right
    assert display.figure_ is fig
    assert not left.lines
    assert display.lines_[0] in right.lines


def test_plot_returns_self_and_draws_given_curves():
    display = TrainingCurveDisplay([1.0, 0.5, 0.25, 0.2], loss_name="MSE")
    fig, ax = plt.subplots()
    assert display.plot(ax=ax) is display
    assert display.ax_ is ax
    assert display.ax_.get_ylabel() == "MSE"
    assert display.ax_.get_title() == ""
    # Plotting again, on a new figure, redraws.
    first = display.figure_
    display.plot()
    assert display.figure_ is not first


def test_validation_curves_shorter_are_the_last_epochs():
    # A validation set from a later warm-started fit on.
    display = TrainingCurveDisplay([4.0, 3.0, 2.0, 1.0, 0.5], validation_loss_curve=[2.5, 1.5],
                                   validation_scores=[0.7, 0.8]).plot()
    np.testing.assert_array_equal(display.lines_[1].get_xdata(), [4, 5])
    np.testing.assert_array_equal(display.lines_[2].get_xdata(), [4, 5])
    np.testing.assert_array_equal(display.lines_[2].get_ydata(), [0.7, 0.8])
    assert display.score_ax_.get_ylabel() == "score"


def test_scores_without_validation_loss():
    display = TrainingCurveDisplay([1.0, 0.5], validation_scores=[0.6, 0.9],
                                   score_name="accuracy").plot()
    assert [line.get_label() for line in display.lines_] == ["training loss", "accuracy"]
    assert display.lines_[1].axes is display.score_ax_


def test_warm_start_validation_from_a_later_fit():
    X, y = _data()
    model = LSTMRegressor(hidden_layer_sizes=3, max_iter=3, tol=None, warm_start=True,
                          random_state=0).fit(X, y)
    model.fit(X[:30], y[:30], X_val=X[30:], y_val=y[30:])
    display = TrainingCurveDisplay.from_estimator(model)
    np.testing.assert_array_equal(display.lines_[0].get_xdata(), np.arange(1, 7))
    np.testing.assert_array_equal(display.lines_[1].get_xdata(), [4, 5, 6])


def test_options():
    display = TrainingCurveDisplay([1.0, 0.1, 0.01], validation_scores=[0.1, 0.5, 0.9])
    display.plot(loss_scale="log", line_kw={"linewidth": 3, "marker": "o"})
    assert display.ax_.get_yscale() == "log"
    assert all(line.get_linewidth() == 3 and line.get_marker() == "o"
               for line in display.lines_)
    with pytest.raises(ValueError, match="loss_scale"):
        display.plot(loss_scale="logit")


@pytest.mark.parametrize("kwargs, match", [
    ({"loss_curve": []}, "empty"),
    ({"loss_curve": [1.0], "validation_scores": [0.5, 0.6]}, "validation_scores has 2"),
    ({"loss_curve": [1.0], "validation_loss_curve": [0.5, 0.6]},
     "validation_loss_curve has 2"),
])
def test_invalid_curves(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainingCurveDisplay(kwargs.pop("loss_curve"), **kwargs).plot()


@pytest.mark.parametrize("estimator", [
    LSTMRegressor(),
    LSTMClassifier(),
    make_pipeline(SequenceScaler(), LSTMRegressor()),
    TransformedTargetRegressor(regressor=LSTMRegressor()),
    GridSearchCV(LSTMRegressor(), {"alpha": [1e-4]}),
], ids=["regressor", "classifier", "pipeline", "transformed_target", "search"])
def test_unfitted_raises_not_fitted(estimator):
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(estimator)
    assert not plt.get_fignums()  # no empty figure left behind


def test_wrapped_estimators():
    X, y = _data()
    params = {"hidden_layer_sizes": 2, "max_iter": 3, "tol": None, "random_state": 0}
    pipeline = make_pipeline(SequenceScaler(), LSTMRegressor(**params)).fit(X, y)
    display = TrainingCurveDisplay.from_estimator(pipeline)
    np.testing.assert_allclose(display.lines_[0].get_ydata(), pipeline[-1].loss_curve_)
    assert display.ax_.get_title() == "LSTMRegressor"

    wrapped = TransformedTargetRegressor(
        regressor=make_pipeline(SequenceScaler(), LSTMRegressor(**params)),
        func=np.tanh, inverse_func=np.arctanh, check_inverse=False).fit(X, y / 10)
    display = TrainingCurveDisplay.from_estimator(wrapped)
    np.testing.assert_allclose(display.lines_[0].get_ydata(),
                               wrapped.regressor_[-1].loss_curve_)

    search = GridSearchCV(LSTMRegressor(**params), {"alpha": [1e-4, 1e-3]}, cv=2).fit(X, y)
    display = TrainingCurveDisplay.from_estimator(search)
    np.testing.assert_allclose(display.lines_[0].get_ydata(),
                               search.best_estimator_.loss_curve_)


def test_aeon_wrapper():
    pytest.importorskip("aeon")
    from sklstm.aeon import AeonLSTMClassifier

    X, y = _data(classes=True)
    clf = AeonLSTMClassifier(hidden_layer_sizes=2, max_iter=3, tol=None, random_state=0)
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(clf)
    clf.fit(X.transpose(0, 2, 1), y)
    display = TrainingCurveDisplay.from_estimator(clf)
    np.testing.assert_allclose(display.lines_[0].get_ydata(), clf.estimator_.loss_curve_)
    assert display.ax_.get_ylabel() == "log-loss"


def test_sktime_wrapper():
    pytest.importorskip("sktime")
    import pandas as pd

    from sklstm.sktime import LSTMForecaster

    forecaster = LSTMForecaster(window_length=5, hidden_layer_sizes=2, max_iter=3, tol=None,
                                random_state=0)
    with pytest.raises(NotFittedError):
        TrainingCurveDisplay.from_estimator(forecaster)
    forecaster.fit(pd.Series(np.sin(np.arange(60) / 3.0)))
    display = TrainingCurveDisplay.from_estimator(forecaster)
    np.testing.assert_allclose(display.lines_[0].get_ydata(),
                               forecaster.estimator_.loss_curve_)


def test_not_an_sklstm_estimator():
    X, y = _data()
    with pytest.raises(TypeError, match="got Ridge"):
        TrainingCurveDisplay.from_estimator(Ridge().fit(X[:, :, 0], y))


@pytest.mark.parametrize("loss, name", [
    ("absolute_error", "absolute error"), ("huber", "Huber loss"),
    ("quantile", "pinball loss (quantile 0.9)")])
def test_loss_names(loss, name):
    X, y = _data(n=20)
    model = LSTMRegressor(hidden_layer_sizes=2, max_iter=2, tol=None, loss=loss,
                          quantile=0.9 if loss == "quantile" else None,
                          random_state=0).fit(X, y)
    display = TrainingCurveDisplay.from_estimator(model)
    assert display.ax_.get_ylabel() == name


def test_without_matplotlib(monkeypatch, classifier_with_validation):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails
    with pytest.raises(ImportError, match="TrainingCurveDisplay.from_estimator requires "
                                          "matplotlib"):
        TrainingCurveDisplay.from_estimator(classifier_with_validation)
    with pytest.raises(ImportError, match="TrainingCurveDisplay.plot requires matplotlib"):
        TrainingCurveDisplay([1.0]).plot()
