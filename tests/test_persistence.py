"""Saving and loading models: pickle and skops round trips, the recorded
version, and the checks that keep a corrupt state away from the engine."""

import copy
import doctest
import os
import pickle
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.exceptions import InconsistentVersionWarning as SklearnVersionWarning
from sklearn.pipeline import make_pipeline

import sklstm
import sklstm.exceptions
from sklstm import LSTMClassifier, LSTMRegressor, forecast
from sklstm._network import Network
from sklstm._optimizers import Optimizer
from sklstm.exceptions import InconsistentVersionWarning
from sklstm.preprocessing import SequenceScaler, SequenceTokenizer, SlidingWindow

try:
    import skops.io as skops_io
except ImportError:  # a test extra: the pickle tests run without it
    skops_io = None

needs_skops = pytest.mark.skipif(skops_io is None, reason="needs skops (the test extras)")
PERSIST = ["pickle", pytest.param("skops", marks=needs_skops)]

REPO = Path(__file__).resolve().parents[1]
REGRESSOR = "sklstm._estimators.LSTMRegressor"
CLASSIFIER = "sklstm._estimators.LSTMClassifier"


def quiet_fit(estimator, X, y, **fit_params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y, **fit_params)


def sequences(n=40, T=6, D=2, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, T, D))
    return X, X[:, -1, 0] - X[:, 0, 1]


def ragged(n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = [rng.normal(size=(t, 2)) for t in rng.randint(3, 12, size=n)]
    return X, np.array([x[-1, 0] + x[0, 1] for x in X])


def tokens(n=40, seed=0):
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 9, size=(n, 7))
    return X, np.where(X[:, 0] > 4, "high", "low")


def _regression(**params):
    X, y = sequences()
    params = {"hidden_layer_sizes": 4, "max_iter": 3, "random_state": 0, **params}
    return LSTMRegressor(**params), X, y


def _classification(n_classes=2, **params):
    X, y = sequences()
    labels = np.digitize(y, np.quantile(y, np.linspace(0, 1, n_classes + 1)[1:-1]))
    params = {"hidden_layer_sizes": 4, "max_iter": 3, "random_state": 0, **params}
    return LSTMClassifier(**params), X, labels


def _two_outputs():
    model, X, y = _regression()
    return model, X, np.column_stack([y, -y])


def _per_step(estimator_class):
    X, _ = sequences()
    Y = np.cumsum(X[:, :, 0], axis=1)
    y = Y if estimator_class is LSTMRegressor else (Y > 0).astype(int)
    return estimator_class(4, max_iter=3, random_state=0, return_sequences=True), X, y


# Every kind of fitted model: (estimator, X, y), all continue with partial_fit.
CASES = {
    "regressor": lambda: _regression(),
    "regressor-float64": lambda: _regression(dtype="float64"),
    "regressor-bidirectional-peephole-dense": lambda: _regression(
        bidirectional=True, peephole=True, dense_layer_sizes=(5, 3), activation="tanh"),
    "regressor-stacked-sgd": lambda: _regression(hidden_layer_sizes=(4, 3), solver="sgd",
                                                 learning_rate="invscaling"),
    "regressor-rmsprop-dropout": lambda: _regression(solver="rmsprop", dropout=0.2,
                                                     recurrent_dropout=0.2),
    "regressor-two-outputs": _two_outputs,
    "regressor-return-sequences": lambda: _per_step(LSTMRegressor),
    "regressor-ragged": lambda: (LSTMRegressor(4, max_iter=3, random_state=0), *ragged()),
    "regressor-warm-start": lambda: _regression(warm_start=True),
    "classifier-binary": lambda: _classification(),
    "classifier-multiclass-float64": lambda: _classification(3, dtype="float64"),
    "classifier-return-sequences": lambda: _per_step(LSTMClassifier),
    "classifier-embedding": lambda: (LSTMClassifier(4, embedding_dim=3, max_iter=3,
                                                    random_state=0), *tokens()),
    "classifier-class-weight": lambda: _classification(class_weight="balanced"),
}


def fitted(case):
    estimator, X, y = CASES[case]()
    return quiet_fit(estimator, X, y), X, y


def skops_round_trip(obj, tmp_path):
    """Dump to a file, check that skops asks to trust sklstm's types only, and
    load trusting exactly those."""
    path = tmp_path / "model.skops"
    skops_io.dump(obj, path)
    untrusted = skops_io.get_untrusted_types(file=path)
    assert all(name.startswith("sklstm.") for name in untrusted), untrusted
    return skops_io.load(path, trusted=untrusted), untrusted


def round_trip(obj, persist, tmp_path):
    if persist == "pickle":
        return pickle.loads(pickle.dumps(obj))
    return skops_round_trip(obj, tmp_path)[0]


def assert_same(a, b, where="state"):
    """Two states (nested dicts, lists, arrays, random states) are equal."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for key in a:
            assert_same(a[key], b[key], f"{where}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert type(a) is type(b) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same(x, y, f"{where}[{i}]")
    elif isinstance(a, np.ndarray):
        assert isinstance(b, np.ndarray) and a.dtype == b.dtype, where
        np.testing.assert_array_equal(a, b, err_msg=where)
    elif isinstance(a, np.random.RandomState):
        assert_same(a.get_state(legacy=False), b.get_state(legacy=False), where)
    elif hasattr(a, "get_params"):
        assert type(a) is type(b), where
        assert_same(a.__getstate__(), b.__getstate__(), where)
    else:
        assert type(a) is type(b) and (a == b or a != a and b != b), where


# -- round trips ----------------------------------------------------------------

@pytest.mark.parametrize("persist", PERSIST)
@pytest.mark.parametrize("case", CASES)
def test_round_trip_predicts_and_trains_on_identically(case, persist, tmp_path):
    model, X, y = fitted(case)
    restored = round_trip(model, persist, tmp_path)
    assert type(restored) is type(model)
    assert_same(restored.__getstate__(), model.__getstate__())
    outputs = ["predict", "transform"] + (["predict_proba"] if hasattr(model, "classes_")
                                          else [])
    for method in outputs:
        expected, got = getattr(model, method)(X), getattr(restored, method)(X)
        if isinstance(expected, list):
            expected, got = np.concatenate(expected), np.concatenate(got)
        np.testing.assert_array_equal(got, expected, err_msg=method)
    # The optimizer state, the step count and the random state came along:
    # training goes on as it would have without the round trip.
    for estimator in (model, restored):
        estimator.partial_fit(X, y)
        estimator.partial_fit(X, y)
    np.testing.assert_array_equal(restored._params, model._params)
    np.testing.assert_array_equal(restored._optimizer.state_1, model._optimizer.state_1)
    assert restored.loss_curve_ == model.loss_curve_


@pytest.mark.parametrize("persist", PERSIST)
def test_round_trip_continues_a_warm_start_fit_identically(persist, tmp_path):
    model, X, y = fitted("regressor-warm-start")
    restored = round_trip(model, persist, tmp_path)
    quiet_fit(model, X, y)
    quiet_fit(restored, X, y)
    assert restored.n_iter_ == model.n_iter_ == 6
    np.testing.assert_array_equal(restored._params, model._params)


@pytest.mark.parametrize("persist", PERSIST)
def test_round_trip_of_an_early_stopping_model(persist, tmp_path):
    estimator, X, y = _classification(early_stopping=True, max_iter=6)
    model = quiet_fit(estimator, X, y)
    restored = round_trip(model, persist, tmp_path)
    assert restored.best_loss_ is None
    assert restored.validation_scores_ == model.validation_scores_
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))


@pytest.mark.parametrize("persist", PERSIST)
def test_round_trip_of_an_unfitted_model(persist, tmp_path):
    model = LSTMClassifier(7, bidirectional=True, class_weight={0: 2.0, 1: 1.0})
    restored = round_trip(model, persist, tmp_path)
    assert restored.get_params() == model.get_params()
    assert not hasattr(restored, "_params")
    X, y = _classification()[1:]
    assert quiet_fit(restored, X, y).predict(X).shape == y.shape


def test_deepcopy_is_an_independent_model():
    model, X, _ = fitted("regressor")
    twin = copy.deepcopy(model)
    np.testing.assert_array_equal(twin.predict(X), model.predict(X))
    twin.coefs_[-1][:] = 0
    assert not np.array_equal(twin.predict(X), model.predict(X))


def scaled_pipeline():
    X, y = ragged()
    X = [100 * x + 5 for x in X]
    pipeline = make_pipeline(SequenceScaler(), LSTMRegressor(4, max_iter=3, random_state=0))
    return quiet_fit(pipeline, X, y), X


def tokenized_pipeline():
    texts = ["the cat sat", "a dog ran", "the dog sat down", "a cat", "cats and dogs"] * 8
    labels = ["cat" if "cat" in text else "dog" for text in texts]
    pipeline = make_pipeline(SequenceTokenizer(), LSTMClassifier(
        4, embedding_dim=3, max_iter=3, random_state=0))
    # Predicted also on words never seen (the tokenizer's unknown token).
    return quiet_fit(pipeline, texts, labels), texts + ["an unseen word", "cat"]


@pytest.mark.parametrize("persist", PERSIST)
@pytest.mark.parametrize("make", [scaled_pipeline, tokenized_pipeline])
def test_pipelines_with_the_preprocessing_round_trip(make, persist, tmp_path):
    pipeline, X = make()
    restored = round_trip(pipeline, persist, tmp_path)
    for step, restored_step in zip(pipeline, restored):
        assert_same(restored_step.__getstate__(), step.__getstate__())
    np.testing.assert_array_equal(restored.predict(X), pipeline.predict(X))
    if hasattr(pipeline, "predict_proba"):
        np.testing.assert_array_equal(restored.predict_proba(X), pipeline.predict_proba(X))


@pytest.mark.parametrize("persist", PERSIST)
def test_sliding_window_and_forecast_after_a_round_trip(persist, tmp_path):
    series = np.sin(np.arange(120) * 2 * np.pi / 25)
    window = SlidingWindow(look_back=8).fit(series)
    X, y = window.to_supervised(series)
    model = quiet_fit(LSTMRegressor(4, max_iter=3, random_state=0), X, y)
    window_back = round_trip(window, persist, tmp_path)
    model_back = round_trip(model, persist, tmp_path)
    for got, expected in zip(window_back.to_supervised(series), (X, y)):
        np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(forecast(model_back, series, steps=5),
                                  forecast(model, series, steps=5))


@needs_skops
def test_skops_untrusted_types_are_sklstms_own_and_named_in_the_readme(tmp_path):
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Saving models"):]
    section = section[:section.find("\n## ", 1)]
    found = set()
    objects = [fitted(case)[0] for case in CASES]
    objects += [scaled_pipeline()[0], tokenized_pipeline()[0],
                SlidingWindow(3).fit(np.arange(10.0))]
    for obj in objects:
        _, untrusted = skops_round_trip(obj, tmp_path)
        found.update(untrusted)
    # What a fitted estimator holds beyond its own class is plain data skops
    # trusts already (arrays, numpy's RandomState, str-keyed dicts, ...).
    assert found == {REGRESSOR, CLASSIFIER, "sklstm.preprocessing.SequenceScaler",
                     "sklstm.preprocessing.SequenceTokenizer",
                     "sklstm.preprocessing.SlidingWindow"}
    for name in found:
        assert f"`{name}`" in section, name
    for case, name in (("regressor", REGRESSOR), ("classifier-binary", CLASSIFIER)):
        data = skops_io.dumps(fitted(case)[0])
        assert skops_io.get_untrusted_types(data=data) == [name]


# -- versions -------------------------------------------------------------------

def dump_state(model, state, persist, monkeypatch):
    """`model` saved with `state` in place of its own (pickle bytes or the
    bytes of a skops file), as another version or a corrupt file has it."""
    with monkeypatch.context() as patch:
        patch.setattr(type(model), "__getstate__", lambda self: state)
        return pickle.dumps(model) if persist == "pickle" else skops_io.dumps(model)


def load(data, persist):
    if persist == "pickle":
        return pickle.loads(data)
    return skops_io.loads(data, trusted=skops_io.get_untrusted_types(data=data))


@pytest.mark.parametrize("persist", PERSIST)
def test_loading_a_model_of_another_version_warns(persist, monkeypatch):
    model, X, _ = fitted("classifier-binary")
    data = dump_state(model, {**model.__getstate__(), "_sklstm_version": "0.0.1"},
                      persist, monkeypatch)
    with pytest.warns(InconsistentVersionWarning) as caught:
        restored = load(data, persist)
    warning = caught[0].message
    assert isinstance(warning, SklearnVersionWarning)  # sklearn's filters apply
    assert warning.estimator_name == "LSTMClassifier"
    assert warning.original_sklstm_version == "0.0.1"
    assert warning.current_sklstm_version == sklstm.__version__
    assert warning.original_sklearn_version == warning.current_sklearn_version \
        == sklearn.__version__
    assert re.search(r"from sklstm 0\.0\.1 .* when using sklstm " +
                     re.escape(sklstm.__version__), str(warning))
    # The warning changes nothing in the model.
    np.testing.assert_array_equal(restored.predict_proba(X), model.predict_proba(X))

    data = dump_state(model, {**model.__getstate__(), "_sklearn_version": "1.0"},
                      persist, monkeypatch)
    with pytest.warns(InconsistentVersionWarning, match=r"scikit-learn 1\.0\)"):
        load(data, persist)

    unversioned = {k: v for k, v in model.__getstate__().items() if k != "_sklstm_version"}
    with pytest.warns(InconsistentVersionWarning, match="from sklstm unknown"):
        load(dump_state(model, unversioned, persist, monkeypatch), persist)


@pytest.mark.parametrize("persist", PERSIST)
def test_loading_a_model_of_this_version_does_not_warn(persist):
    model = fitted("regressor")[0]
    data = pickle.dumps(model) if persist == "pickle" else skops_io.dumps(model)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SklearnVersionWarning)
        load(data, persist)
    assert "_sklstm_version" not in vars(load(data, persist))


def test_a_version_filter_refuses_other_versions(monkeypatch):
    model = fitted("regressor")[0]
    data = dump_state(model, {**model.__getstate__(), "_sklstm_version": "9.9"}, "pickle",
                      monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SklearnVersionWarning)
        with pytest.raises(InconsistentVersionWarning):
            pickle.loads(data)


def test_warning_docstring_example():
    result = doctest.testmod(sklstm.exceptions, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# -- corrupt states ---------------------------------------------------------------

DELETE = object()


def replace(*changes):
    """A corruption: the state with the values at dotted paths (such as
    "_optimizer.state_1") replaced by make(old value), or deleted."""
    def corrupt(state):
        state = copy.copy(state)
        for path, make in zip(changes[::2], changes[1::2]):
            *parents, last = path.split(".")
            inner = state
            for name in parents:
                inner[name] = copy.copy(inner[name])
                inner = inner[name]
            value = make(inner.get(last))
            if value is DELETE:
                del inner[last]
            else:
                inner[last] = value
        return state
    return corrupt


def shorter(array):
    return array[:10].copy()


def constant(value):
    return lambda old: value


# Each corruption: (model case, corruption, message fragment).
CORRUPTIONS = {
    "params-shorter": ("regressor", replace("_params", shorter),
                       "parameter vector has 10 values, but the network's layout needs"),
    "params-longer": ("regressor", replace("_params", lambda p: np.r_[p, 0]),
                      "parameter vector has"),
    "params-2d": ("regressor", replace("_params", lambda p: p[None]), "must be a 1D array"),
    "params-int": ("regressor", replace("_params", lambda p: p.astype(int)),
                   "float32 or float64"),
    "params-other-dtype": ("regressor", replace("_params", lambda p: p.astype(np.float64)),
                           "differ in ['dtype']"),
    "network-missing": ("regressor", replace("_network", constant(DELETE)), "'_network'"),
    "adam-moment-shorter": ("regressor", replace("_optimizer.state_1", shorter),
                            "adam optimizer's state_1 must have shape"),
    "adam-second-moment-shorter": ("regressor", replace("_optimizer.state_2", shorter),
                                   "adam optimizer's state_2 must have shape"),
    "sgd-velocity-other-dtype": ("regressor-stacked-sgd",
                                 replace("_optimizer.state_1", lambda a: a.astype(float)),
                                 "sgd optimizer's state_1 must have shape"),
    "optimizer-step-empty": ("regressor",
                             replace("_optimizer.step", constant(np.zeros(0, dtype=int))),
                             "step must have shape (1,)"),
    "optimizer-unknown-solver": ("regressor", replace("_optimizer.name", constant("lbfgs")),
                                 "not that of one of sklstm's solvers"),
    "network-other-size": ("regressor", replace("_network.hidden_sizes", constant((5,))),
                           "parameter vector has"),
    "network-negative-sizes": ("regressor",
                               replace("_network.hidden_sizes", constant((-4, -4))),
                               "must be >= 1"),
    # Exact sizes: a product of sizes cannot wrap around to the vector's.
    "network-huge-size": ("regressor",
                          replace("_network.hidden_sizes", constant((2 ** 31,))),
                          "more than sklstm can address"),
    "network-large-size": ("regressor",
                           replace("_network.hidden_sizes", constant((2 ** 20,))),
                           # 4H(H + D + 1) + H + 1 parameters for H = 2**20 units, D = 2 inputs.
                           f"but the network's layout needs {4 * 2**20 * (2**20 + 3) + 2**20 + 1}"),
    "network-unknown-activation": ("regressor", replace("_network.cell_activation",
                                                        constant("softsign")),
                                   "cell_activation"),
    "network-unknown-argument": ("regressor", replace("_network.layout", constant([0])),
                                 "layout"),
    "network-loss": ("regressor", replace("_network.loss", constant(1)), "loss code 1"),
    "architecture-differs": ("regressor-bidirectional-peephole-dense",
                             replace("_fitted_architecture.peephole", constant(False)),
                             "differ in ['peephole']"),
    "vocabulary-beyond-embedding": ("classifier-embedding",
                                    replace("vocabulary_size_", constant(1000)),
                                    "vocabulary_size_ is 1000, but the embedding has"),
    "classes-beyond-binarizer": ("classifier-binary",
                                 replace("classes_", constant(np.array([0, 1, 2]))),
                                 "classes_ and the label binarizer's classes differ"),
    "classes-beyond-outputs": ("classifier-binary",
                               replace("classes_", constant(np.array([0, 1, 2])),
                                       "_label_binarizer",
                                       lambda binarizer: clone(binarizer).fit([0, 1, 2])),
                               "3 classes need 3 outputs, but the network has 1"),
}


@pytest.mark.parametrize("persist", PERSIST)
@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_corrupt_state_is_refused_at_load(corruption, persist, monkeypatch):
    # The error comes from the load itself: if a check were missing, the
    # load would succeed and the test fail here, before any engine call.
    case, corrupt, message = CORRUPTIONS[corruption]
    model = fitted(case)[0]
    data = dump_state(model, corrupt(model.__getstate__()), persist, monkeypatch)
    name = type(model).__name__
    with pytest.raises(ValueError, match=f"Cannot load this {name}") as error:
        load(data, persist)
    assert message in str(error.value)


def run_isolated(code):
    """Run `code` in a fresh interpreter that imports the sklstm under test: a
    segfault there fails the test instead of ending the test run. Returns its
    standard output."""
    env = {**os.environ, "PYTHONPATH": str(Path(sklstm.__file__).parents[1])}
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                            cwd=Path(sklstm.__file__).parents[1], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, (f"exit code {result.returncode}\n{result.stdout}\n"
                                    f"{result.stderr[-3000:]}")
    return result.stdout


# The two states that read and wrote out of bounds before they were checked
# (a NaN prediction, then heap corruption and a segfault on partial_fit), and
# one checked only before the engine reads X: n_features_in_ is the
# estimator's business, the network's input width the engine's.
ISOLATED = {
    "params-shorter-than-the-layout": "model._params = model._params[:10].copy()",
    "adam-moments-of-the-wrong-size": (
        "model._optimizer.state_1 = model._optimizer.state_1[:10].copy(); "
        "model._optimizer.state_2 = model._optimizer.state_2[:10].copy()"),
    "n-features-in-below-the-network-inputs": "model.n_features_in_ = 1",
}


@pytest.mark.parametrize("corruption", ISOLATED)
def test_crash_prone_corruptions_fail_cleanly_in_a_subprocess(corruption):
    X_call = "X[:, :, :1]" if corruption.startswith("n-features") else "X"
    out = run_isolated(f"""
        import pickle, warnings
        import numpy as np
        from sklstm import LSTMRegressor
        warnings.simplefilter("ignore")
        rng = np.random.RandomState(0)
        X = rng.normal(size=(64, 50, 8))
        y = X[:, 0, 0]
        model = LSTMRegressor(64, max_iter=1, random_state=0).fit(X, y)
        {ISOLATED[corruption]}
        for step in ("load", "predict", "partial_fit"):
            try:
                if step == "load":
                    model = pickle.loads(pickle.dumps(model))
                elif step == "predict":
                    model.predict({X_call})
                else:
                    model.partial_fit({X_call}, y)
                print(step, "ok")
            except ValueError as error:
                print(step, "ValueError:", error)
                break
        """)
    last = out.splitlines()[-1]
    if corruption.startswith("n-features"):
        # The estimator checks X against its network, whatever n_features_in_ says.
        assert last.startswith("predict ValueError: X has 1 features per timestep, but "
                               "LSTMRegressor is expecting 8"), out
    else:
        assert last.startswith("load ValueError: Cannot load this LSTMRegressor"), out


def test_engine_calls_check_their_arrays_in_a_subprocess():
    # Network is where the engine's preconditions are checked; called with
    # arrays that disagree with the layout, each entry point raises.
    out = run_isolated("""
        import numpy as np
        from sklstm._network import Network
        from sklstm._optimizers import Optimizer
        from sklstm._validation import SequenceData
        net = Network(3, (16,), 2, 0)
        rng = np.random.RandomState(0)
        params = net.init_params(rng, np.float64)
        data = SequenceData.from_array(rng.normal(size=(4, 5, 3)))
        narrow = SequenceData.from_array(rng.normal(size=(4, 5, 1)))
        Y = np.zeros((4, 2))
        small = Optimizer("adam", 10, np.float64)
        small.configure(momentum=0.9, nesterov=True, beta_1=0.9, beta_2=0.999,
                        epsilon=1e-8, rho=0.9)
        small.learning_rate = 1e-3
        calls = {
            "forward": lambda: net.forward(params[:-1], data),
            "features": lambda: net.features(params, narrow),
            "loss": lambda: net.loss(params, data, Y[:3]),
            "loss_gradient": lambda: net.loss_gradient(params, data, Y, np.ones(3)),
            "train_epoch": lambda: net.train_epoch(
                params, data, Y, None, np.arange(4, dtype=np.intp), 2, small, alpha=0.0,
                clip_norm=0.0, dropout=0.0, recurrent_dropout=0.0, seed=0),
        }
        print(net.n_params)
        for name, call in calls.items():
            try:
                call()
                print(name, "no error")
            except ValueError as error:
                print(name, "ValueError:", error)
        """)
    n_params, *lines = out.splitlines()
    assert len(lines) == 5 and all("ValueError:" in line for line in lines), out
    assert (f"has {int(n_params) - 1} values, but the network's layout needs {n_params}"
            in lines[0])
    assert "reads 3 features per step" in lines[1]
    assert "expected targets of 4 x 2 values, got 6" in lines[2]
    assert "Expected 4 row weights, got 3" in lines[3]
    assert f"state_1 must have shape ({n_params},)" in lines[4]


def test_network_and_optimizer_rebuild_from_their_state():
    net = Network(2, (4, 3), 3, 2, bidirectional=True, peephole=True, dense_sizes=(5,),
                  per_step=True)
    again = Network(**net.config())
    np.testing.assert_array_equal(again.layout, net.layout)
    assert again._slices == net._slices
    assert all(isinstance(name, str) for name in net._slices)
    with pytest.raises(ValueError, match="embedding reads one token id"):
        Network(2, (4,), 1, 0, vocab_size=5, embedding_dim=3)
    with pytest.raises(ValueError, match="1 to 16 LSTM layers"):
        Network(2, (), 1, 0)
    optimizer = Optimizer("rmsprop", net.n_params, np.float32)
    optimizer.configure(momentum=0.5, nesterov=False, beta_1=0.8, beta_2=0.9,
                        epsilon=1e-7, rho=0.95)
    optimizer.learning_rate = 0.01
    restored = Optimizer.from_state(optimizer.state(), net.n_params, np.float32)
    assert_same(restored.state(), optimizer.state())
    assert restored.solver == optimizer.solver
    with pytest.raises(ValueError, match="lacks \\['rho'\\]"):
        Optimizer.from_state({k: v for k, v in optimizer.state().items() if k != "rho"},
                             net.n_params, np.float32)
