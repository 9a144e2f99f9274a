"""Do the training defaults work? Defaults against the best of a small grid.

    python benchmarks/bench_defaults.py [--quick] [--seeds N] [--tasks a,b]
                                        [--json PATH]

Issue 11 ("Defaults that work"): on every task, the estimator's defaults
should score within 0.02 accuracy (classification) or 10 % of the test loss
(regression: MSE, or MSE relative to persistence) of the best setting of a
small grid over the learning rate and the number of epochs.

What a task may set, and what it may not
----------------------------------------
A task fixes what a user chooses for the problem: the data and its
preprocessing (scaling fitted on the training part, the tokenizer), the model
(``hidden_layer_sizes``, ``embedding_dim``) and, where the seed example sets
it, ``batch_size``. It never sets what is under test: ``learning_rate_init``,
``max_iter``, ``tol``, ``n_iter_no_change``, ``early_stopping``,
``clip_norm``, the solver. Tasks that define no model get the default
``hidden_layer_sizes``.

Columns
-------
- **defaults**: ``fit`` with the task's arguments only (and ``random_state``,
  ``n_jobs=1``).
- **grid**: ``learning_rate_init`` in {1e-3, 3e-3, 1e-2} x ``max_iter`` in
  {50, 100, 200} with ``tol=None`` (exactly that many epochs). The best
  setting is the one of the best mean over the seeds.
- **candidates**: settings the estimators may adopt as defaults (patience,
  an absolute or a relative ``tol``, ``learning_rate_init``, ``max_iter``,
  ``early_stopping``).

"price" and "price_es" are the same data: the returns of a random walk hold
no signal, so any training past the first epochs fits noise (the score of
persistence is 1); "price_es" is the example's setup, with early stopping on
the last 10 % of the training windows, which a forecasting user sets.
The best of the grid is the best of nine noisy means: for sine (whose test
MSE goes up and down by a factor 3 between epochs with ``batch_size=1``) and
ArrowHead (which no setting learns) it is an optimistic target.

One training run per task, seed and learning rate gives all of them: the run
goes epoch by epoch with ``warm_start=True, max_iter=1, tol=None``, which is
bit-identical to one long fit (the script checks it), and each stopping rule
watches the loss curve and scores the model at the epoch where it would have
stopped. With Adam the stopping rule does not change the training, so a rule
that stops at epoch k gives exactly the model of ``fit`` stopped there. The
defaults are also fitted for real, and their epochs and score compared with
their emulated rule (``emulation_ok`` in the JSON). A relative ``tol`` is a
rule the estimators do not have (yet): it is evaluated this way only, and
not on tasks with early stopping ("n/a"). Candidates with early stopping are
fitted for real, as are all the columns of a task that sets it.

Measured on 2 vCPUs, n_jobs=1: about 5 minutes for 3 seeds of the 10 tasks,
1 minute with --quick (benchmarks/results/defaults_baseline.json).
"""

import argparse
import json
import platform
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.exceptions import ConvergenceWarning

import sklstm
from sklstm import LSTMClassifier, LSTMRegressor
from sklstm.preprocessing import SequenceScaler, SequenceTokenizer

LEARNING_RATES = (1e-3, 3e-3, 1e-2)
BUDGETS = (50, 100, 200)
ACCURACY_MARGIN = 0.02  # issue 11's target, classification
LOSS_MARGIN = 0.10      # and regression: 10 % of the best loss

# The estimators' current defaults, as a stopping rule (scikit-learn MLP's:
# stop when the loss has not improved by an absolute tol for more than
# n_iter_no_change epochs).
CURRENT = dict(learning_rate_init=1e-3, tol=1e-4, relative=False,
               n_iter_no_change=10, max_iter=200)

# Candidate defaults; each is evaluated as a stopping rule on the same runs.
CANDIDATES = {
    "patience 50, lr 3e-3": dict(learning_rate_init=3e-3, tol=1e-4, relative=False,
                                 n_iter_no_change=50, max_iter=200),
    "rel tol 1e-3, patience 50, lr 3e-3": dict(
        learning_rate_init=3e-3, tol=1e-3, relative=True, n_iter_no_change=50,
        max_iter=200),
    "tol=None, 300 epochs, lr 3e-3": dict(learning_rate_init=3e-3, tol=None,
                                          relative=False, n_iter_no_change=10,
                                          max_iter=300),
    # Fitted for real: early stopping holds data out and restores the best
    # epoch, which no rule on the training loss can emulate.
    "early stopping, patience 50, lr 3e-3, 300 epochs": dict(
        learning_rate_init=3e-3, tol=1e-4, relative=False, n_iter_no_change=50,
        max_iter=300, early_stopping=True),
}


# -- tasks ----------------------------------------------------------------------

@dataclass
class Data:
    X_train: object
    y_train: object
    X_test: object
    y_test: object
    extra: dict = field(default_factory=dict)


@dataclass
class Task:
    """A data set, the arguments a user sets for it, and a test score."""
    name: str
    description: str
    metric: str                # "accuracy" (higher is better) or a loss
    estimator_class: type
    model: dict                # the task's own arguments
    data: object               # () -> Data
    score: object = None       # (estimator, Data) -> float; None: the metric

    @property
    def emulated(self):
        """Whether one run per learning rate gives every column: not with
        early stopping, whose fits hold data out and restore the best epoch."""
        return not self.model.get("early_stopping", False)

    @property
    def higher_is_better(self):
        return self.metric == "accuracy"

    def estimator(self, **params):
        return self.estimator_class(**{**self.model, "n_jobs": 1, **params})

    def evaluate(self, estimator, data):
        if self.score is not None:
            return float(self.score(estimator, data))
        predicted = estimator.predict(data.X_test)
        if self.metric == "accuracy":
            return float(np.mean(predicted == data.y_test))
        return float(np.mean((predicted - data.y_test) ** 2))


def sine_data():
    """README's example: next value of a sine wave from the last 10; train on
    the first 800 windows, test on the 190 after them."""
    series = np.sin(np.arange(1000) * 2 * np.pi / 50)
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], 10)
    y = series[10:]
    return Data(X[:800], y[:800], X[800:], y[800:])


def memory_data():
    """tests/test_estimators.py's first_step_task(1200, 20): the class is the
    sign of the first of 20 noise values."""
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1200, 20, 1))
    y = np.where(X[:, 0, 0] > 0, "positive", "negative")
    return Data(X[:1000], y[:1000], X[1000:], y[1000:])


def price_data():
    """examples/plot_random_walk_forecast.py: a geometric random walk with
    drift, 2000 days, the first 1500 for training. The model reads the last
    20 log-returns (scaled by their training standard deviation) and predicts
    the next; the score is the MSE of the next-day price so predicted over
    that of persistence (today's price): 1 is persistence, and the best
    possible is about 1, since the returns are noise."""
    rng = np.random.RandomState(42)
    n_days, split, look_back = 2000, 1500, 20
    log_returns = 0.0003 + 0.01 * rng.standard_normal(n_days - 1)
    price = 100 * np.exp(np.r_[0, np.cumsum(log_returns)])
    r = np.diff(np.log(price))
    X = np.lib.stride_tricks.sliding_window_view(r[:-1], look_back)[..., None]
    y = r[look_back:]
    n_train = split - 1 - look_back
    scale = r[:split - 1].std()
    today = price[split - 1:-1]
    return Data(X[:n_train] / scale, y[:n_train] / scale, X[n_train:] / scale,
                y[n_train:] / scale,
                extra=dict(scale=scale, today=today, true_price=price[split:]))


def price_score(estimator, data):
    e = data.extra
    predicted = e["today"] * np.exp(estimator.predict(data.X_test) * e["scale"])
    return (np.mean((predicted - e["true_price"]) ** 2)
            / np.mean((e["today"] - e["true_price"]) ** 2))


def sentiment_data():
    """examples/plot_char_sentiment.py's generated reviews (3000, the first
    2000 for training), as character ids (SequenceTokenizer fitted on the
    training texts)."""
    positive = ["good", "great", "excellent", "wonderful", "lovely", "superb",
                "brilliant", "fantastic", "enjoyable", "delightful"]
    negative = ["bad", "awful", "terrible", "boring", "dreadful", "dull", "poor",
                "horrible", "disappointing", "mediocre"]
    subjects = ["the film", "this movie", "the plot", "the acting", "the soundtrack",
                "the ending", "the cast", "the script", "the pacing", "the dialogue"]
    intensifiers = ["", "very ", "really ", "quite ", "truly ", "rather "]
    rng = np.random.RandomState(0)

    def clause(is_positive, negated):
        adjective = rng.choice(positive if is_positive != negated else negative)
        return (f"{rng.choice(subjects)} {rng.choice(['is', 'was'])} "
                f"{'not ' if negated else ''}{rng.choice(intensifiers)}{adjective}")

    def typo(text):
        i = rng.randint(1, len(text) - 1)
        return [text[:i] + text[i] + text[i:],
                text[:i] + text[i + 1:],
                text[:i - 1] + text[i] + text[i - 1] + text[i + 1:],
                ][rng.randint(3)]

    def review():
        label = rng.randint(2)
        kind = rng.choice(["plain", "negated", "but"], p=[0.6, 0.2, 0.2])
        if kind == "but":
            text = f"{clause(not label, False)} but {clause(label, False)}"
        else:
            text = clause(label, kind == "negated")
        if rng.rand() < 0.3:
            text = typo(text)
        return text, label

    texts, labels = map(np.array, zip(*(review() for _ in range(3000))))
    tokenizer = SequenceTokenizer(level="char").fit(texts[:2000])
    return Data(tokenizer.transform(texts[:2000]), labels[:2000],
                tokenizer.transform(texts[2000:]), labels[2000:])


def aeon_data(name, scale):
    """A UCR/UEA data set bundled with aeon (no download), its own train/test
    split, transposed from aeon's (n_cases, n_channels, n_timepoints) to
    (n_cases, n_timepoints, n_channels); `scale`: standardize each channel
    with the training statistics (the univariate UCR sets come normalized)."""
    def load():
        from aeon.datasets import load_classification

        def one(split):
            X, y = load_classification(name, split=split)
            if isinstance(X, list):
                return [np.ascontiguousarray(x.T) for x in X], y
            return np.ascontiguousarray(X.transpose(0, 2, 1)), y

        (X_train, y_train), (X_test, y_test) = one("train"), one("test")
        if scale:
            scaler = SequenceScaler().fit(X_train)
            X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        return Data(X_train, y_train, X_test, y_test)
    return load


TASKS = {task.name: task for task in [
    Task("sine", "README: sine next value, LSTMRegressor(4, batch_size=1)",
         "test MSE", LSTMRegressor, dict(hidden_layer_sizes=4, batch_size=1),
         sine_data),
    Task("memory", "sign of the first of 20 steps, LSTMClassifier(16)",
         "accuracy", LSTMClassifier, dict(hidden_layer_sizes=16), memory_data),
    Task("price", "random-walk returns, LSTMRegressor((32, 16))",
         "MSE / persistence", LSTMRegressor, dict(hidden_layer_sizes=(32, 16)),
         price_data, price_score),
    Task("price_es", "the same, early_stopping=True, validation_holdout='last'",
         "MSE / persistence", LSTMRegressor,
         dict(hidden_layer_sizes=(32, 16), early_stopping=True,
              validation_holdout="last"), price_data, price_score),
    Task("sentiment", "char-level reviews, LSTMClassifier(32, embedding_dim=16)",
         "accuracy", LSTMClassifier, dict(hidden_layer_sizes=32, embedding_dim=16),
         sentiment_data),
    Task("GunPoint", "UCR, 50 train x 150 steps", "accuracy", LSTMClassifier, {},
         aeon_data("GunPoint", scale=False)),
    Task("ItalyPowerDemand", "UCR, 67 train x 24 steps", "accuracy", LSTMClassifier,
         {}, aeon_data("ItalyPowerDemand", scale=False)),
    Task("ArrowHead", "UCR, 36 train x 251 steps, 3 classes", "accuracy",
         LSTMClassifier, {}, aeon_data("ArrowHead", scale=False)),
    Task("BasicMotions", "UEA, 40 train x 100 steps x 6 channels, 4 classes",
         "accuracy", LSTMClassifier, {}, aeon_data("BasicMotions", scale=True)),
    Task("JapaneseVowels", "UEA, 270 train, 7-29 steps x 12 channels, 9 classes",
         "accuracy", LSTMClassifier, {}, aeon_data("JapaneseVowels", scale=True)),
]}
QUICK_TASKS = ("sine", "memory", "price", "GunPoint", "BasicMotions",
               "ItalyPowerDemand")


# -- stopping rules -------------------------------------------------------------

class StoppingRule:
    """scikit-learn MLP's rule, as the estimators apply it to the training
    loss: count the epochs whose loss is not below the best so far by more
    than tol (absolute, or times the best loss when `relative`; tol=None
    never stops), stop when the count exceeds n_iter_no_change, or after
    max_iter epochs."""

    def __init__(self, tol, relative, n_iter_no_change, max_iter, **_):
        if _.get("early_stopping"):
            raise ValueError("early stopping cannot be emulated on one run")
        self.tol, self.relative = tol, relative
        self.n_iter_no_change, self.max_iter = n_iter_no_change, max_iter
        self.best, self.count = np.inf, 0

    def stops_after(self, epoch, loss):
        """Whether training stops after `epoch` (1-based) with this loss."""
        if self.tol is not None:
            margin = self.tol * self.best if self.relative else self.tol
            if np.isfinite(self.best) and loss > self.best - margin:
                self.count += 1
            else:
                self.count = 0
            self.best = min(self.best, loss)
            if self.count > self.n_iter_no_change:
                return True
        return epoch >= self.max_iter


def run(task, data, seed, learning_rate, rules, checkpoints):
    """Train epoch by epoch; score at the checkpoints and where each rule
    stops. Returns {checkpoint or rule name: (epoch, score)}, the loss curve."""
    estimator = task.estimator(learning_rate_init=learning_rate, tol=None,
                               max_iter=1, warm_start=True, random_state=seed)
    rules = {name: StoppingRule(**rule) for name, rule in rules.items()}
    epochs = max([*checkpoints, *(rule.max_iter for rule in rules.values())])
    results, pending = {}, set(rules)
    for epoch in range(1, epochs + 1):
        estimator.fit(data.X_train, data.y_train)
        loss = estimator.loss_curve_[-1]
        stopping = {name for name in pending if rules[name].stops_after(epoch, loss)}
        if stopping or epoch in checkpoints:
            score = task.evaluate(estimator, data)
            for name in stopping:
                results[name] = (epoch, score)
            if epoch in checkpoints:
                results[epoch] = (epoch, score)
        pending -= stopping
    return results, list(map(float, estimator.loss_curve_))


def fit_quietly(task, data, **params):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return task.estimator(**params).fit(data.X_train, data.y_train)


def run_real(task, data, seed, learning_rate, rules, checkpoints):
    """run()'s results from one fit per checkpoint and rule (relative tol,
    which the estimators lack, excluded)."""
    results = {}
    for budget in checkpoints:
        estimator = fit_quietly(task, data, learning_rate_init=learning_rate,
                                tol=None, max_iter=budget, random_state=seed)
        results[budget] = (estimator.n_iter_, task.evaluate(estimator, data))
    for name, rule in rules.items():
        if rule["relative"]:
            continue
        results[name] = fit_rule(task, data, seed, rule)
    return results, list(map(float, estimator.loss_curve_))


def fit_rule(task, data, seed, rule):
    """A stopping rule the estimators have (absolute tol or None), passed
    explicitly to fit: (epochs, score)."""
    params = {k: v for k, v in rule.items() if k != "relative"}
    estimator = fit_quietly(task, data, random_state=seed, **params)
    return estimator.n_iter_, task.evaluate(estimator, data)


def check_warm_start_is_one_fit(task, data):
    """The premise of run(): epochs run one warm-started fit at a time give
    the loss curve of one fit."""
    one = task.estimator(tol=None, max_iter=6, random_state=0).fit(
        data.X_train, data.y_train)
    stepped = task.estimator(tol=None, max_iter=1, warm_start=True, random_state=0)
    for _ in range(6):
        stepped.fit(data.X_train, data.y_train)
    return one.loss_curve_ == stepped.loss_curve_


# -- the benchmark --------------------------------------------------------------

def summarize(values):
    return {"mean": float(np.mean(values)), "std": float(np.std(values)),
            "values": [float(v) for v in values]}


def within_target(task, score, best):
    if task.higher_is_better:
        return score >= best - ACCURACY_MARGIN
    return score <= best * (1 + LOSS_MARGIN)


def bench_task(task, seeds):
    data = task.data()
    rules = {"current": CURRENT, **CANDIDATES}
    learning_rates = sorted({*LEARNING_RATES,
                             *(rule["learning_rate_init"] for rule in rules.values())})
    by_lr = {lr: [] for lr in learning_rates}
    real = []
    start = time.perf_counter()
    for seed in seeds:
        for lr in learning_rates:
            lr_rules = {name: rule for name, rule in rules.items()
                        if rule["learning_rate_init"] == lr
                        and not rule.get("early_stopping")}
            runner = run if task.emulated else run_real
            results, curve = runner(task, data, seed, lr, lr_rules, BUDGETS)
            for name, rule in rules.items():
                if rule["learning_rate_init"] == lr and rule.get("early_stopping"):
                    results[name] = fit_rule(task, data, seed, rule)
            by_lr[lr].append((results, curve))
        # The defaults, for real: what a user gets.
        estimator = fit_quietly(task, data, random_state=seed)
        real.append((estimator.n_iter_, task.evaluate(estimator, data)))

    def column(name):
        lr = rules[name]["learning_rate_init"]
        if any(name not in results for results, _ in by_lr[lr]):
            return None
        epochs, scores = zip(*(results[name] for results, _ in by_lr[lr]))
        return {**summarize(scores), "epochs": list(epochs),
                "rule": {k: v for k, v in rules[name].items()}}

    grid = []
    for lr in LEARNING_RATES:
        for budget in BUDGETS:
            scores = [results[budget][1] for results, _ in by_lr[lr]]
            grid.append({"learning_rate_init": lr, "max_iter": budget, "tol": None,
                         **summarize(scores)})
    pick = max if task.higher_is_better else min
    best = pick(grid, key=lambda cell: cell["mean"])
    emulated = column("current")
    defaults = {**summarize([score for _, score in real]),
                "epochs": [int(n) for n, _ in real]}
    emulation_ok = (defaults["epochs"] == emulated["epochs"]
                    and np.allclose(defaults["values"], emulated["values"]))
    candidates = {name: column(name) for name in CANDIDATES}
    for entry in [defaults, *filter(None, candidates.values())]:
        entry["gap"] = entry["mean"] - best["mean"]
        entry["within_target"] = bool(within_target(task, entry["mean"], best["mean"]))
    return {
        "task": task.name, "description": task.description, "metric": task.metric,
        "model": {k: v for k, v in task.model.items()},
        "seeds": list(seeds), "defaults": defaults, "grid": grid,
        "best": {k: best[k] for k in ("learning_rate_init", "max_iter", "mean", "std")},
        "candidates": candidates, "emulation_ok": bool(emulation_ok),
        "warm_start_is_one_fit": (bool(check_warm_start_is_one_fit(task, data))
                                  if task.emulated else None),
        # Four significant digits keep the JSON small.
        "loss_curves_lr": {str(lr): [[float(f"{v:.4g}") for v in curve]
                                     for _, curve in by_lr[lr]]
                           for lr in learning_rates},
        "seconds": time.perf_counter() - start,
    }


def fmt(task_result, value, std=None):
    if task_result["metric"] == "accuracy":
        text = f"{value:.3f}"
        return text if std is None else f"{text} ± {std:.3f}"
    text = f"{value:.3g}"
    return text if std is None else f"{text} ± {std:.2g}"


def cell(result, entry):
    if entry is None:
        return "n/a"
    mark = "✓" if entry["within_target"] else "✗"
    epochs = f"{np.mean(entry['epochs']):.0f} ep"
    return f"{fmt(result, entry['mean'], entry['std'])} ({epochs}) {mark}"


def table(results):
    names = list(CANDIDATES)
    head = ["task", "metric", "defaults", "best of grid (lr, epochs)", "gap",
            *names]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        best = r["best"]
        row = [r["task"], r["metric"], cell(r, r["defaults"]),
               f"{fmt(r, best['mean'], best['std'])} "
               f"({best['learning_rate_init']:g}, {best['max_iter']})",
               fmt(r, r["defaults"]["gap"]),
               *(cell(r, r["candidates"][name]) for name in names)]
        lines.append("| " + " | ".join(row) + " |")
    met = {"defaults": sum(r["defaults"]["within_target"] for r in results)}
    for name in names:
        met[name] = sum(bool(r["candidates"][name]
                             and r["candidates"][name]["within_target"])
                        for r in results)
    lines.append("")
    lines.append("Within target: " + "; ".join(f"{name} {n}/{len(results)}"
                                               for name, n in met.items()))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"1 seed, the tasks {', '.join(QUICK_TASKS)}")
    parser.add_argument("--seeds", type=int, default=None,
                        help="number of seeds (default 3, 1 with --quick)")
    parser.add_argument("--tasks", default=None,
                        help="comma-separated task names: " + ", ".join(TASKS))
    parser.add_argument("--json", default=None, help="save the results there")
    args = parser.parse_args()
    names = (args.tasks.split(",") if args.tasks
             else QUICK_TASKS if args.quick else list(TASKS))
    unknown = set(names) - set(TASKS)
    if unknown:
        parser.error(f"unknown tasks {sorted(unknown)}; choose among {list(TASKS)}")
    seeds = range(args.seeds or (1 if args.quick else 3))
    start = time.perf_counter()
    results = []
    for name in names:
        result = bench_task(TASKS[name], seeds)
        print(f"{name}: {result['seconds']:.0f} s, emulation "
              f"{'ok' if result['emulation_ok'] else 'MISMATCH'}", flush=True)
        results.append(result)
    print()
    print(table(results))
    total = time.perf_counter() - start
    print(f"\n{len(seeds)} seeds, {total:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"benchmark": "bench_defaults", "sklstm": sklstm.__version__,
                       "python": platform.python_version(),
                       "machine": platform.machine(), "seconds": total,
                       "current_defaults": CURRENT, "candidates": CANDIDATES,
                       "grid": {"learning_rate_init": LEARNING_RATES,
                                "max_iter": BUDGETS, "tol": None},
                       "target": {"accuracy": ACCURACY_MARGIN, "loss": LOSS_MARGIN},
                       "results": results}, f, indent=1)


if __name__ == "__main__":
    main()
