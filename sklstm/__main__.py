"""A demonstration of sklstm on two small tasks.

1. Forecasting: predict the next value of a sine wave from the last 10 values.
2. Sequence classification: tell sine, square and sawtooth waves of random
   frequency and phase apart, in noise.

Each prints its score and fit time.
"""
# The docstring is also the text of --help: plain text, no reST markup.

import argparse
import time
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning

from . import LSTMClassifier, LSTMRegressor, show_config


def sine_forecasting(random_state):
    series = np.sin(np.arange(1000) * 2 * np.pi / 50)
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], 10)
    y = series[10:]
    split = 800  # train on the past, test on the future
    model = LSTMRegressor(hidden_layer_sizes=4, solver="adam", batch_size=1,
                          random_state=random_state)
    start = time.perf_counter()
    model.fit(X[:split], y[:split])
    seconds = time.perf_counter() - start
    mse = np.mean((model.predict(X[split:]) - y[split:]) ** 2)
    print("Forecasting: next value of sin(2 pi t / 50) from the last 10 values")
    print(f"  LSTM(4 units), Adam, batch_size=1: {model.n_iter_} epochs in "
          f"{seconds:.2f} s ({1e6 * seconds / (model.n_iter_ * split):.1f} us per step)")
    print(f"  test MSE on the last {len(y) - split} windows: {mse:.2e}")


def waveforms(n_samples, n_timesteps, rng):
    """Sine, square and sawtooth waves with random frequency, phase and noise."""
    t = np.arange(n_timesteps)
    freq = rng.uniform(1 / 25, 1 / 8, size=(n_samples, 1))
    phase = rng.uniform(0, 1, size=(n_samples, 1))
    cycle = (t * freq + phase) % 1.0
    kind = rng.randint(0, 3, size=n_samples)
    waves = np.stack([np.sin(2 * np.pi * cycle), np.sign(cycle - 0.5),
                      2 * cycle - 1])[kind, np.arange(n_samples)]
    X = waves + rng.normal(scale=0.3, size=waves.shape)
    return X[:, :, np.newaxis], np.array(["sine", "square", "sawtooth"])[kind]


def waveform_classification(random_state):
    rng = np.random.RandomState(random_state)
    X, y = waveforms(2000, 50, rng)
    model = LSTMClassifier(hidden_layer_sizes=16, learning_rate_init=0.01,
                           max_iter=60, random_state=random_state)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X[:1500], y[:1500])
    seconds = time.perf_counter() - start
    print("Classification: sine, square or sawtooth, 50 noisy steps")
    print(f"  LSTM(16 units), Adam: {model.n_iter_} epochs on 1500 sequences in "
          f"{seconds:.2f} s")
    print(f"  test accuracy on 500 sequences: {model.score(X[1500:], y[1500:]):.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sklstm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="random_state of both models")
    args = parser.parse_args(argv)
    show_config()
    print()
    sine_forecasting(args.seed)
    print()
    waveform_classification(args.seed)


if __name__ == "__main__":
    main()
