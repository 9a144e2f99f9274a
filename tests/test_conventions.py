"""scikit-learn's and pandas' conventions: input attributes and feature names,
the one-sequence hint, sample weights as repetitions, and predictions that
do not depend on the other sequences of the batch."""

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import ConvergenceWarning

from sklstm import LSTMClassifier, LSTMRegressor, forecast
from sklstm._validation import SequenceData
from sklstm.interop import from_torch_state_dict, to_torch_state_dict
from sklstm.preprocessing import SlidingWindow


def quiet_fit(estimator, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **fit_params)


@pytest.fixture
def lags():
    """A DataFrame of lags, one column per timestep, and its targets."""
    rng = np.random.RandomState(0)
    X = pd.DataFrame(rng.normal(size=(40, 5)), columns=[f"lag_{i}" for i in range(5)])
    return X, X.sum(axis=1).to_numpy()


# -- input attributes and feature names -----------------------------------------

@pytest.mark.parametrize("Estimator", [LSTMRegressor, LSTMClassifier])
def test_dataframe_columns_are_recorded(Estimator, lags):
    X, y = lags
    y = y if Estimator is LSTMRegressor else y > 0
    model = quiet_fit(Estimator(4, max_iter=2, random_state=0), X, y)
    np.testing.assert_array_equal(model.feature_names_in_, X.columns)
    assert model.n_features_in_ == 5
    # The DataFrame and its values give the same model and predictions.
    plain = quiet_fit(Estimator(4, max_iter=2, random_state=0), X.to_numpy(), y)
    assert not hasattr(plain, "feature_names_in_")
    np.testing.assert_array_equal(model.predict(X), plain.predict(X.to_numpy()))


def test_reordered_or_renamed_columns_are_rejected(lags):
    X, y = lags
    model = quiet_fit(LSTMRegressor(4, max_iter=2), X, y)
    with pytest.raises(ValueError, match="Feature names must be in the same order"):
        model.predict(X[X.columns[::-1]])
    with pytest.raises(ValueError, match="Feature names unseen at fit time:\n- speed"):
        model.predict(X.rename(columns={"lag_0": "speed"}))
    with pytest.raises(ValueError, match="Feature names unseen at fit time"):
        model.score(X.rename(columns={"lag_0": "speed"}), y)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        model.predict(X.to_numpy())
    unnamed = quiet_fit(LSTMRegressor(4, max_iter=2), X.to_numpy(), y)
    with pytest.warns(UserWarning, match="X has feature names, but LSTMRegressor "
                                         "was fitted without feature names"):
        unnamed.predict(X)


def test_n_features_in_for_2d_3d_and_ragged_X():
    rng = np.random.RandomState(0)
    y = rng.normal(size=6)
    table = quiet_fit(LSTMRegressor(4, max_iter=1), rng.normal(size=(6, 7)), y)
    assert (table.n_features_in_, table.n_timesteps_in_, table._n_timesteps_2d) == (7, 7, 7)
    cube = quiet_fit(LSTMRegressor(4, max_iter=1), rng.normal(size=(6, 7, 3)), y)
    assert (cube.n_features_in_, cube.n_timesteps_in_, cube._n_timesteps_2d) == (3, 7, None)
    ragged = [rng.normal(size=(n, 2)) for n in (3, 5, 4, 6, 2, 7)]
    lists = quiet_fit(LSTMRegressor(4, max_iter=1), ragged, y)
    assert (lists.n_features_in_, lists.n_timesteps_in_) == (2, None)
    assert lists._n_timesteps_2d is None
    # What predict accepts follows: a table keeps its columns (sklearn's
    # message), while sequences of another length go as 3D X or a list.
    with pytest.raises(ValueError, match="X has 6 features, but LSTMRegressor is "
                                         "expecting 7 features as input"):
        table.predict(rng.normal(size=(2, 6)))
    assert table.predict(rng.normal(size=(2, 6, 1))).shape == (2,)
    assert cube.predict(rng.normal(size=(2, 9, 3))).shape == (2,)
    with pytest.raises(ValueError, match="X has 2 features per timestep, but "
                                         "LSTMRegressor is expecting 3"):
        cube.predict(rng.normal(size=(2, 9, 2)))


def test_forecast_and_interop_after_fitting_on_2d_X():
    series = np.sin(np.arange(300) * 2 * np.pi / 50)
    X, y = SlidingWindow(look_back=10).fit(series).to_supervised(series)
    X2 = X[:, :, 0]
    model = quiet_fit(LSTMRegressor(8, batch_size=8, max_iter=20, random_state=0), X2, y)
    assert model.n_features_in_ == 10
    future = forecast(model, series, steps=5)
    # forecast feeds the model 2D windows of the training columns.
    window = series[-10:][np.newaxis]
    assert future[0] == model.predict(window)[0]
    other = quiet_fit(LSTMRegressor(8, max_iter=1, random_state=1), X2, y)
    from_torch_state_dict(other, to_torch_state_dict(model))
    np.testing.assert_array_equal(other.predict(X2), model.predict(X2))


# -- a 2D X meant as one sequence -------------------------------------------------

@pytest.mark.parametrize("Estimator", [LSTMRegressor, LSTMClassifier])
def test_one_sequence_passed_as_2d_X_gets_the_remedy(Estimator):
    sequence = np.random.RandomState(0).normal(size=(500, 3))
    with pytest.raises(ValueError, match=r"inconsistent numbers of samples: \[500, 1\]"
                                         r".* one multivariate sequence of shape "
                                         r"\(n_timesteps, n_features\) is X\[np.newaxis\]"):
        Estimator(4).fit(sequence, [1])
    # The remedy works (a classifier needs two classes, hence two sequences).
    if Estimator is LSTMRegressor:
        model = quiet_fit(Estimator(4, max_iter=1), sequence[np.newaxis], [1.0])
    else:
        model = quiet_fit(Estimator(4, max_iter=1),
                          np.stack([sequence, -sequence]), [0, 1])
    assert model.n_features_in_ == 3
    # predict and score tell it too.
    with pytest.raises(ValueError, match=r"is X\[np.newaxis\]"):
        model.predict(sequence)
    with pytest.raises(ValueError, match=r"is X\[np.newaxis\]"):
        model.score(sequence, [1])
    # Several targets for a 2D X are sequences of one feature: no such hint.
    with pytest.raises(ValueError, match=r"samples: \[500, 2\]\.$"):
        Estimator(4).fit(sequence, [0, 1])


# -- sample weights --------------------------------------------------------------

def _weighted_and_repeated(n_features=4):
    rng = np.random.RandomState(42)
    X = rng.uniform(size=(15, 6, n_features))
    y = X[:, :, 0].sum(axis=1)
    weights = rng.randint(0, 4, size=15)
    return X, y, weights, X.repeat(weights, axis=0), y.repeat(weights)


def test_weights_are_repetitions_in_the_loss_and_its_l2_term():
    """The minibatch loss and gradient, L2 term included, with integer weights
    are those of the samples repeated, zero weights those of removed samples
    (with the L2 term divided by the batch size this failed)."""
    X, y, weights, X_rep, y_rep = _weighted_and_repeated()
    model = quiet_fit(LSTMRegressor(5, max_iter=1, dtype="float64", random_state=0), X, y)
    net, params = model._network, model._params
    loss_w, grad_w = net.loss_gradient(params, SequenceData.from_array(X), y[:, None],
                                       weights.astype(float), alpha=0.7)
    loss_r, grad_r = net.loss_gradient(params, SequenceData.from_array(X_rep),
                                       y_rep[:, None], alpha=0.7)
    np.testing.assert_allclose(loss_w, loss_r, rtol=1e-13)
    np.testing.assert_allclose(grad_w, grad_r, rtol=1e-11, atol=1e-14)


def test_fit_with_weights_is_fit_on_repetitions():
    """The data fit in one minibatch (batch_size="auto"): weights and
    repetitions give the same model up to float64 rounding."""
    X, y, weights, X_rep, y_rep = _weighted_and_repeated()
    params = dict(hidden_layer_sizes=8, max_iter=30, alpha=0.1, dtype="float64",
                  random_state=0)
    weighted = quiet_fit(LSTMRegressor(**params), X, y, sample_weight=weights)
    repeated = quiet_fit(LSTMRegressor(**params), X_rep, y_rep)
    np.testing.assert_allclose(weighted.predict(X), repeated.predict(X), rtol=1e-10)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-10)


# -- batch invariance ------------------------------------------------------------

def _outputs(model, X):
    """Everything predicted for X, per sequence."""
    outputs = [model.predict(X), model.transform(X)]
    if hasattr(model, "predict_proba"):
        outputs.append(model.predict_proba(X))
    return outputs


def _assert_batch_invariant(model, X, assert_equal):
    """Each sequence's outputs are the same alone, in a permuted batch and in
    subsets of any size (the chunks of 64 included) as in the whole batch."""
    rng = np.random.RandomState(0)
    whole = _outputs(model, X)
    n = len(X)
    batches = [[i] for i in range(0, n, 7)] + [rng.permutation(n)]
    batches += [rng.permutation(n)[:size] for size in (2, 3, 17, 63, 65)]
    for batch in batches:
        part = [X[i] for i in batch] if isinstance(X, list) else X[batch]
        for got, expected in zip(_outputs(model, part), whole):
            assert_equal(got, expected[batch])


def _models_and_data(Estimator, dtype, ragged, **params):
    rng = np.random.RandomState(1)
    if ragged:
        X = [rng.normal(size=(rng.randint(1, 25), 3)) for _ in range(130)]
        first = np.array([s[0, 0] for s in X])
    else:
        X = rng.normal(size=(130, 12, 3))
        first = X[:, 0, 0]
    y = first if Estimator is LSTMRegressor else first > 0
    model = quiet_fit(Estimator(max_iter=3, random_state=0, dtype=dtype, **params), X, y)
    return model, X


@pytest.mark.parametrize("ragged", [False, True], ids=["equal_lengths", "ragged"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("Estimator", [LSTMRegressor, LSTMClassifier])
@pytest.mark.parametrize("params", [
    dict(hidden_layer_sizes=16),
    dict(hidden_layer_sizes=16, bidirectional=True, peephole=True,
         dense_layer_sizes=8, dropout=0.1, recurrent_dropout=0.1),
], ids=["plain", "family"])
def test_predictions_do_not_depend_on_the_batch(Estimator, dtype, ragged, params):
    """Exactly: the architectures of scikit-learn's checks, whose order and
    subset invariance checks ask for rtol=1e-7."""
    model, X = _models_and_data(Estimator, dtype, ragged, **params)
    _assert_batch_invariant(model, X, np.testing.assert_array_equal)


@pytest.mark.parametrize("ragged", [False, True], ids=["equal_lengths", "ragged"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("params", [
    dict(hidden_layer_sizes=128, dense_layer_sizes=33),
    dict(hidden_layer_sizes=(16, 8), bidirectional=True),
], ids=["wide", "stacked"])
def test_other_models_do_not_depend_on_the_batch_either(params, dtype, ragged):
    """Exactly, for other layer sizes too: the packed kernel sums each output
    in one order whatever the number of rows (under OpenBLAS, which picks its
    kernel by matrix size, these differed by a few roundings)."""
    model, X = _models_and_data(LSTMRegressor, dtype, ragged, **params)
    _assert_batch_invariant(model, X, np.testing.assert_array_equal)
