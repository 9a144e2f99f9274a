"""Fits at learning rates far too high: how many does sklstm catch?

    python benchmarks/divergence_sweep.py [--json PATH]

Issue 8, item 4.3: 144 fits, learning rates 10 and 1e3 x solvers adam, sgd
and rmsprop x float32 and float64 x clip_norm 5 and None x three tasks
(a sine forecast, a noisy regression, a three-class classification) x two
seeds. Each fit either raises (caught: the error names the remedy and the
estimator predicts nothing) or returns a model, which is then scored on the
training data. "Silent garbage" is a returned model scoring below the
trivial predictor (R^2 < 0, or accuracy below the majority class) or
predicting non-finite values.

Before the fix (commit 2564ce5): 16 caught (all still predicting NaN after
the error), 112 silent garbage, 16 returned at chance level. After: 144
caught, none predicting (benchmarks/results/divergence_issue8.json).
"""

import argparse
import itertools
import json
import time
import warnings

import numpy as np
from sklearn.exceptions import NotFittedError

from sklstm import LSTMClassifier, LSTMRegressor

LEARNING_RATES = (10.0, 1e3)
SOLVERS = ("adam", "sgd", "rmsprop")
DTYPES = ("float32", "float64")
CLIP_NORMS = (5.0, None)
SEEDS = (0, 1)


def sine(seed):
    rng = np.random.RandomState(seed)
    series = np.sin(np.arange(400) * 2 * np.pi / 50 + rng.uniform(0, 6))
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], 10)
    return LSTMRegressor, X, series[10:]


def noisy_regression(seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(300, 12, 2))
    return LSTMRegressor, X, X[:, :, 0].sum(axis=1) + 0.1 * rng.normal(size=300)


def classification(seed):
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(300, 12, 2))
    return LSTMClassifier, X, np.digitize(X[:, 0, 0], [-0.5, 0.5])


TASKS = {"sine": sine, "noisy_regression": noisy_regression,
         "classification": classification}


def trivial_score(estimator, y):
    if estimator is LSTMRegressor:
        return 0.0
    return np.bincount(y).max() / len(y)


def run_one(task, seed, learning_rate, solver, dtype, clip_norm):
    estimator, X, y = TASKS[task](seed)
    model = estimator(hidden_layer_sizes=8, learning_rate_init=learning_rate,
                      solver=solver, dtype=dtype, clip_norm=clip_norm, max_iter=30,
                      random_state=seed)
    record = dict(task=task, seed=seed, learning_rate=learning_rate, solver=solver,
                  dtype=dtype, clip_norm=clip_norm)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model.fit(X, y)
        except ValueError as error:
            record.update(outcome="caught", message=str(error).splitlines()[0])
            try:
                model.predict(X)
                record["predicts_after_error"] = True
            except NotFittedError:
                record["predicts_after_error"] = False
            return record
    record["warnings"] = sorted({type(w.message).__name__ for w in caught})
    prediction = model.predict(X)
    finite = bool(np.all(np.isfinite(prediction)))
    score = float(model.score(X, y)) if finite else float("nan")
    garbage = not finite or score < trivial_score(estimator, y)
    record.update(outcome="silent garbage" if garbage else "returned", score=score,
                  final_loss=float(model.loss_), finite=finite)
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", help="write the records there")
    args = parser.parse_args()
    start = time.perf_counter()
    records = [run_one(*combination) for combination in itertools.product(
        TASKS, SEEDS, LEARNING_RATES, SOLVERS, DTYPES, CLIP_NORMS)]
    outcomes = {}
    for record in records:
        outcomes[record["outcome"]] = outcomes.get(record["outcome"], 0) + 1
    print(f"{len(records)} fits in {time.perf_counter() - start:.0f} s: {outcomes}")
    leaked = sum(r.get("predicts_after_error", False) for r in records)
    print(f"models that still predict after the error: {leaked}")
    for record in records:
        if record["outcome"] != "caught":
            print(record)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(records, f, indent=1)


if __name__ == "__main__":
    main()
