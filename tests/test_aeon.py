"""sklstm.aeon: aeon's estimator checks, its data layout, real data."""

import inspect
import sys

import numpy as np
import pytest

pytest.importorskip("aeon")

from aeon.testing.estimator_checking import parametrize_with_checks  # noqa: E402
from aeon.testing.estimator_checking._yield_multithreading_checks import (  # noqa: E402
    check_estimator_multithreading,
)
from aeon.testing.testing_data import _get_datatypes_for_estimator  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402

from sklstm import LSTMClassifier, LSTMRegressor  # noqa: E402
from sklstm.aeon import AeonLSTMClassifier, AeonLSTMRegressor  # noqa: E402

# The checks' configurations train a few epochs on tiny data, which ends
# with scikit-learn's ConvergenceWarning by design.
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@parametrize_with_checks([AeonLSTMClassifier, AeonLSTMRegressor])
def test_aeon_estimator_checks(check):
    check()


@pytest.mark.parametrize("cls", [AeonLSTMClassifier, AeonLSTMRegressor])
def test_multithreading_check(cls):
    # aeon runs this check only with its --enablethreading flag: n_jobs=2
    # must give the results of n_jobs=1.
    for estimator in cls._create_test_instance(return_first=False):
        for datatype in _get_datatypes_for_estimator(estimator):
            check_estimator_multithreading(estimator, datatype)


@pytest.mark.parametrize("cls, plain", [(AeonLSTMClassifier, LSTMClassifier),
                                        (AeonLSTMRegressor, LSTMRegressor)])
def test_parameters_mirror_the_plain_estimator(cls, plain):
    mirrored = inspect.signature(cls.__init__).parameters
    original = inspect.signature(plain.__init__).parameters
    # One target per series: no per-step outputs.
    assert list(mirrored) == [name for name in original if name != "return_sequences"]
    for name, parameter in original.items():
        if name == "return_sequences":
            continue
        expected = 1 if name == "n_jobs" else parameter.default  # aeon's convention
        assert mirrored[name].default == expected, name
        assert mirrored[name].kind == parameter.kind, name
    model = cls(8, max_iter=3)
    assert model.hidden_layer_sizes == 8 and model.max_iter == 3
    with pytest.raises(TypeError):
        cls(8, 3)  # keyword-only, as in the plain estimator
    with pytest.raises(TypeError):
        cls(return_sequences=True)


def _panel(n=40, channels=3, length=20, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, channels, length))
    # Channel 1's mean over time decides the class: a model that read the
    # channels as time steps would see it as one feature among 20.
    return X, np.where(X[:, 1, :].mean(axis=1) > 0, "a", "b")


def test_classifier_is_the_plain_estimator_on_transposed_data():
    X, y = _panel()
    params = dict(hidden_layer_sizes=6, max_iter=30, random_state=0, n_jobs=1)
    clf = AeonLSTMClassifier(**params).fit(X, y)
    plain = LSTMClassifier(**params).fit(X.transpose(0, 2, 1), y)
    np.testing.assert_array_equal(clf.predict_proba(X),
                                  plain.predict_proba(X.transpose(0, 2, 1)))
    np.testing.assert_array_equal(clf.classes_, ["a", "b"])
    assert clf.estimator_.n_features_in_ == 3
    assert clf.estimator_.n_timesteps_in_ == 20


def test_unequal_lengths_are_sequences_of_their_own_lengths():
    X, y = _panel()
    lengths = np.random.RandomState(1).randint(8, 21, size=len(X))
    collection = [x[:, :n] for x, n in zip(X, lengths)]  # (n_channels, n_timepoints_i)
    params = dict(hidden_layer_sizes=5, max_iter=10, random_state=0)
    reg = AeonLSTMRegressor(**params).fit(collection, lengths / 20.0)
    plain = LSTMRegressor(**params).fit([x.T for x in collection], lengths / 20.0)
    np.testing.assert_array_equal(reg.predict(collection),
                                  plain.predict([x.T for x in collection]))
    assert reg.estimator_.n_timesteps_in_ is None
    # A collection of other lengths predicts too.
    assert reg.predict([x[:, :5] for x in collection[:3]]).shape == (3,)


def test_channels_must_match_fit():
    X, y = _panel()
    clf = AeonLSTMClassifier(hidden_layer_sizes=4, max_iter=2, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="number of channels"):
        clf.predict(X[:, :2])


def test_grid_search():
    X, y = _panel()
    search = GridSearchCV(AeonLSTMClassifier(max_iter=5, random_state=0),
                          {"hidden_layer_sizes": [3, 6], "bidirectional": [False, True]},
                          cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.is_fitted
    assert search.best_estimator_.hidden_layer_sizes in (3, 6)


def test_basic_motions_accuracy():
    # aeon ships BasicMotions (4 classes, 6 channels, 100 steps). Measured
    # with these parameters (seeds 0, 1, 2): accuracy 1.00, 0.95, 1.00, the
    # same as the plain estimator on the transposed arrays, and 0.60-0.73
    # for the plain estimator fed aeon's arrays as they are.
    from aeon.datasets import load_basic_motions

    X, y = load_basic_motions(split="train")
    X_test, y_test = load_basic_motions(split="test")
    clf = AeonLSTMClassifier(hidden_layer_sizes=32, learning_rate_init=0.003,
                             n_iter_no_change=50, max_iter=300, random_state=0)
    assert clf.fit(X, y).score(X_test, y_test) >= 0.85


def test_missing_aeon_names_the_extra(monkeypatch):
    monkeypatch.delitem(sys.modules, "sklstm.aeon")
    monkeypatch.setitem(sys.modules, "aeon.classification", None)
    with pytest.raises(ImportError, match=r"pip install 'sklstm\[aeon\]'"):
        import sklstm.aeon  # noqa: F401


def test_docstring_examples():
    import doctest

    import sklstm.aeon
    result = doctest.testmod(sklstm.aeon, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
