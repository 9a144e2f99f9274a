"""Training throughput of sklstm against PyTorch, measured in the same run.

    python benchmarks/bench_vs_torch.py [--repeats 5] [--json PATH]

For each shape (batch, timesteps, features, hidden; layers and directions) and
thread count, times one training step (forward, backpropagation through time, Adam update) of an LSTM
with a linear head, float32, on the same data: sklstm through the public
``partial_fit`` (one epoch of 8 minibatches, so its per-epoch validation is
counted), PyTorch through the plainest training loop a user would write.
Prints sequences per second, GFLOP/s (24 B T H (D + H) per layer and
direction) and the
sklstm / PyTorch ratio; medians over repeats. The PyTorch columns are skipped
when torch is not installed.
"""

import argparse
import json
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

from sklstm import LSTMRegressor

SHAPES = {  # name: (batch, timesteps, features, hidden, layers, bidirectional)
    "small": (32, 50, 8, 32, 1, False),
    "medium": (64, 100, 32, 128, 1, False),
    "large": (64, 50, 256, 512, 1, False),
    "bidir-2": (32, 50, 16, 64, 2, True),
}
N_BATCHES = 8


def flops_per_step(batch, timesteps, features, hidden, layers, bidirectional):
    directions = 2 if bidirectional else 1
    widths = [features] + [directions * hidden] * (layers - 1)
    return sum(24 * batch * timesteps * hidden * (width + hidden) * directions
               for width in widths)


def time_sklstm(X, y, batch, hidden, layers, bidirectional, repeats):
    model = LSTMRegressor((hidden,) * layers, bidirectional=bidirectional,
                          batch_size=batch, random_state=0)
    model.partial_fit(X, y)  # warm-up: allocation, first touch
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.partial_fit(X, y)
        times.append((time.perf_counter() - start) / N_BATCHES)
    return float(np.median(times))


def time_torch(torch, X, y, batch, hidden, layers, bidirectional, repeats):
    lstm = torch.nn.LSTM(X.shape[2], hidden, num_layers=layers, batch_first=True,
                         bidirectional=bidirectional)
    head = torch.nn.Linear(hidden * (2 if bidirectional else 1), 1)
    optimizer = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def epoch():
        for start in range(0, len(Xt), batch):
            xb, yb = Xt[start:start + batch], yt[start:start + batch]
            out = head(lstm(xb)[0][:, -1])[:, 0]
            loss = torch.nn.functional.mse_loss(out, yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    epoch()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        epoch()
        times.append((time.perf_counter() - start) / N_BATCHES)
    return float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None

    rows = []
    header = (f"{'shape':8} {'threads':>7} {'sklstm seq/s':>13} {'GFLOP/s':>8} "
              f"{'torch seq/s':>12} {'GFLOP/s':>8} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    for name, (batch, timesteps, features, hidden, layers, bidirectional) in SHAPES.items():
        rng = np.random.RandomState(0)
        X = rng.normal(size=(N_BATCHES * batch, timesteps, features)).astype(np.float32)
        y = X[:, :, 0].mean(axis=1)
        flops = flops_per_step(batch, timesteps, features, hidden, layers, bidirectional)
        for n_threads in (1, 2):
            with threadpool_limits(limits=n_threads, user_api="openmp"):
                ours = time_sklstm(X, y, batch, hidden, layers, bidirectional,
                                   args.repeats)
            theirs = None
            if torch is not None:
                torch.set_num_threads(n_threads)
                theirs = time_torch(torch, X, y, batch, hidden, layers, bidirectional,
                                    args.repeats)
            row = {"shape": name, "batch": batch, "timesteps": timesteps,
                   "features": features, "hidden": hidden, "layers": layers,
                   "bidirectional": bidirectional, "threads": n_threads,
                   "sklstm_seconds_per_step": ours, "torch_seconds_per_step": theirs,
                   "ratio": None if theirs is None else theirs / ours}
            rows.append(row)
            torch_cols = (f"{batch / theirs:12.0f} {flops / theirs / 1e9:8.1f} "
                          f"{theirs / ours:6.2f}" if theirs else f"{'-':>12} {'-':>8} {'-':>6}")
            print(f"{name:8} {n_threads:7d} {batch / ours:13.0f} {flops / ours / 1e9:8.1f} "
                  f"{torch_cols}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.platform(), "processor": platform.processor(),
                       "torch": None if torch is None else torch.__version__,
                       "rows": rows}, f, indent=2)


if __name__ == "__main__":
    main()
