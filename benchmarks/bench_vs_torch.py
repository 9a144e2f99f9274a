"""sklstm against PyTorch, measured in the same run.

    python benchmarks/bench_vs_torch.py [--repeats 5] [--json PATH] [--shapes small ...]

For each shape (batch, timesteps, features, hidden; layers and directions) and
thread count, times one training step (forward, backpropagation through time, Adam update) of an LSTM
with a linear head, float32, on the same data: sklstm through the public
``partial_fit`` (one epoch of 8 minibatches, so its per-epoch validation is
counted), PyTorch through the plainest training loop a user would write.
Prints sequences per second, GFLOP/s (24 B T H (D + H) per layer and
direction), its share of the sgemm rate and the sklstm / PyTorch ratio;
medians over repeats, the two libraries' repeats interleaved so that a
change in the machine's load falls on both. Then the
sgemm rate of the BLAS the engine calls, inference (one sequence's latency
and 1024 sequences' throughput), the README's sine task at batch size 1, and
float64 training. The PyTorch columns are skipped when torch is not
installed.
"""

import argparse
import io
import json
import platform
import time

import numpy as np
from threadpoolctl import threadpool_limits

import sklstm
from sklstm import LSTMRegressor

SHAPES = {  # name: (batch, timesteps, features, hidden, layers, bidirectional)
    "small": (32, 50, 8, 32, 1, False),
    "medium": (64, 100, 32, 128, 1, False),
    "large": (64, 50, 256, 512, 1, False),
    "bidir-2": (32, 50, 16, 64, 2, True),
}
N_BATCHES = 8


def cpu_model():
    """The CPU's model name (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def flops_per_step(batch, timesteps, features, hidden, layers, bidirectional):
    directions = 2 if bidirectional else 1
    widths = [features] + [directions * hidden] * (layers - 1)
    return sum(24 * batch * timesteps * hidden * (width + hidden) * directions
               for width in widths)


def sklstm_epoch(X, y, batch, hidden, layers, bidirectional, dtype="float32"):
    """One epoch of N_BATCHES training steps through the public partial_fit."""
    model = LSTMRegressor((hidden,) * layers, bidirectional=bidirectional,
                          batch_size=batch, random_state=0, dtype=dtype)
    return lambda: model.partial_fit(X, y)


# Before each timed run, each function runs untimed for this many seconds:
# PyTorch's OpenMP threads spin for about 9 ms after an operation (measured,
# 2 threads) and would take the second CPU from a sklstm run that starts
# right after (sklstm's threads wait passively). A pause would not do: after
# an idle pause this VM runs the next few milliseconds slower (cold caches,
# sleeping threads), which weighs most on the shortest runs.
SETTLE = 0.02


def interleaved(functions, repeats, inner=1):
    """Median seconds of each function (None stays None), their runs
    alternating, each timed run after SETTLE seconds of untimed ones (the
    first of which also warms up allocation and first touch)."""
    times = {k: [] for k, f in functions.items() if f is not None}
    for _ in range(repeats):
        for k in times:
            settle_end = time.perf_counter() + SETTLE
            functions[k]()
            while time.perf_counter() < settle_end:
                functions[k]()
            start = time.perf_counter()
            for _ in range(inner):
                functions[k]()
            times[k].append((time.perf_counter() - start) / inner)
    return {k: float(np.median(times[k])) if k in times else None for k in functions}


def torch_epoch(torch, X, y, batch, hidden, layers, bidirectional):
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

    return epoch


def sgemm_gflops(n_threads, size=2048, repeats=5):
    """The machine's single-precision GEMM rate, through the BLAS the engine
    calls (scipy's), for a square product."""
    from scipy.linalg import blas
    a = np.asfortranarray(np.random.RandomState(0).rand(size, size).astype(np.float32))
    with threadpool_limits(limits=n_threads, user_api="blas"):
        blas.sgemm(1.0, a, a)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            blas.sgemm(1.0, a, a)
            times.append(time.perf_counter() - start)
    return 2 * size ** 3 / float(np.median(times)) / 1e9


def inference(torch, shape, n_threads, repeats):
    """Seconds to predict one sequence (latency) and 1024 sequences."""
    batch, timesteps, features, hidden = shape[:4]
    rng = np.random.RandomState(0)
    X = rng.normal(size=(1024, timesteps, features)).astype(np.float32)
    model = LSTMRegressor(hidden, random_state=0).partial_fit(X[:64], X[:64, 0, 0])
    one = X[:1]
    functions = {"ours_one": lambda: model.predict(one), "ours_many": lambda: model.predict(X),
                 "theirs_one": None, "theirs_many": None}
    if torch is not None:
        lstm = torch.nn.LSTM(features, hidden, batch_first=True)
        head = torch.nn.Linear(hidden, 1)
        Xt, onet = torch.from_numpy(X), torch.from_numpy(one)

        def predict(x):
            with torch.inference_mode():
                return head(lstm(x)[0][:, -1]).numpy()

        functions["theirs_one"] = lambda: predict(onet)
        functions["theirs_many"] = lambda: predict(Xt)
    one_times = interleaved({k: f for k, f in functions.items() if k.endswith("one")},
                            repeats, inner=50)
    many_times = interleaved({k: f for k, f in functions.items() if k.endswith("many")},
                             repeats)
    return ((one_times["ours_one"], many_times["ours_many"]),
            (one_times["theirs_one"], many_times["theirs_many"]))


def seed_task(torch, repeats):
    """Seconds per epoch of the README's sine task: next value from the last
    10, LSTM(4), Adam, batch_size=1, 800 windows; PyTorch through the plainest
    loop a user would write."""
    series = np.sin(np.arange(1000) * 2 * np.pi / 50).astype(np.float32)
    X = np.lib.stride_tricks.sliding_window_view(series[:-1], 10)[:800]
    y = series[10:810]
    model = LSTMRegressor(4, batch_size=1, random_state=0)
    epoch = None
    if torch is not None:
        lstm = torch.nn.LSTM(1, 4, batch_first=True)
        head = torch.nn.Linear(4, 1)
        optimizer = torch.optim.Adam([*lstm.parameters(), *head.parameters()], lr=1e-3)
        Xt = torch.from_numpy(np.ascontiguousarray(X[:, :, None]))
        yt = torch.from_numpy(y)

        def epoch():
            for i in torch.randperm(len(Xt)).tolist():
                out = head(lstm(Xt[i:i + 1])[0][:, -1])[:, 0]
                loss = torch.nn.functional.mse_loss(out, yt[i:i + 1])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()

    times = interleaved({"ours": lambda: model.partial_fit(X, y), "theirs": epoch},
                        max(1, repeats // 2))
    return times["ours"], times["theirs"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--shapes", nargs="+", choices=list(SHAPES), default=list(SHAPES),
                        help="the training shapes to time (default: all)")
    parser.add_argument("--torch-aten", action="store_true",
                        help="run PyTorch's LSTM without oneDNN (its per-op ATen path)")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and args.torch_aten:
        # PyTorch's CPU LSTM trains through oneDNN's fused kernels by default.
        torch.backends.mkldnn.enabled = False

    gemm = {n: sgemm_gflops(n) for n in (1, 2)}
    print(f"sklstm kernels: {sklstm.show_config(file=io.StringIO())['isa']}; CPU: "
          f"{cpu_model()}; torch {None if torch is None else torch.__version__}")
    for n, rate in gemm.items():
        print(f"sgemm (scipy's BLAS, 2048^3), {n} thread(s): {rate:.1f} GFLOP/s")
    print()
    rows = []
    header = (f"{'shape':8} {'threads':>7} {'sklstm seq/s':>13} {'GFLOP/s':>8} "
              f"{'% sgemm':>8} {'torch seq/s':>12} {'GFLOP/s':>8} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    for name in args.shapes:
        batch, timesteps, features, hidden, layers, bidirectional = SHAPES[name]
        rng = np.random.RandomState(0)
        X = rng.normal(size=(N_BATCHES * batch, timesteps, features)).astype(np.float32)
        y = X[:, :, 0].mean(axis=1)
        flops = flops_per_step(batch, timesteps, features, hidden, layers, bidirectional)
        for n_threads in (1, 2):
            functions = {"ours": sklstm_epoch(X, y, batch, hidden, layers, bidirectional),
                         "theirs": None}
            if torch is not None:
                torch.set_num_threads(n_threads)
                functions["theirs"] = torch_epoch(torch, X, y, batch, hidden, layers,
                                                  bidirectional)
            with threadpool_limits(limits=n_threads, user_api="openmp"):
                times = interleaved(functions, args.repeats)
            ours = times["ours"] / N_BATCHES
            theirs = None if times["theirs"] is None else times["theirs"] / N_BATCHES
            row = {"shape": name, "batch": batch, "timesteps": timesteps,
                   "features": features, "hidden": hidden, "layers": layers,
                   "bidirectional": bidirectional, "threads": n_threads,
                   "sklstm_seconds_per_step": ours, "torch_seconds_per_step": theirs,
                   "sklstm_gflops": flops / ours / 1e9,
                   "sgemm_share": flops / ours / 1e9 / gemm[n_threads],
                   "ratio": None if theirs is None else theirs / ours}
            rows.append(row)
            torch_cols = (f"{batch / theirs:12.0f} {flops / theirs / 1e9:8.1f} "
                          f"{theirs / ours:6.2f}" if theirs else f"{'-':>12} {'-':>8} {'-':>6}")
            print(f"{name:8} {n_threads:7d} {batch / ours:13.0f} {flops / ours / 1e9:8.1f} "
                  f"{100 * row['sgemm_share']:7.0f}% {torch_cols}", flush=True)

    print()
    print(f"{'inference':8} {'threads':>7} {'1 seq (us)':>11} {'torch':>9} {'ratio':>6} "
          f"{'1024 seq/s':>11} {'torch':>9} {'ratio':>6}")
    inference_rows = []
    for name in ("small", "medium"):
        for n_threads in (1, 2):
            with threadpool_limits(limits=n_threads, user_api="openmp"):
                if torch is not None:
                    torch.set_num_threads(n_threads)
                (one, many), (t_one, t_many) = inference(torch, SHAPES[name], n_threads,
                                                         args.repeats)
            inference_rows.append({"shape": name, "threads": n_threads,
                                   "sklstm_latency": one, "torch_latency": t_one,
                                   "sklstm_1024": many, "torch_1024": t_many})
            torch_cols = (f"{t_one * 1e6:9.0f} {t_one / one:6.2f} " if t_one else
                          f"{'-':>9} {'-':>6} ")
            torch_many = (f"{1024 / t_many:9.0f} {t_many / many:6.2f}" if t_many else
                          f"{'-':>9} {'-':>6}")
            print(f"{name:8} {n_threads:7d} {one * 1e6:11.0f} {torch_cols}"
                  f"{1024 / many:11.0f} {torch_many}")

    print()
    with threadpool_limits(limits=1, user_api="openmp"):
        if torch is not None:
            torch.set_num_threads(1)
        ours, theirs = seed_task(torch, args.repeats)
    ratio = f"{theirs / ours:.1f}" if theirs else "-"
    print(f"seed task (sine, LSTM(4), batch 1, 1 thread): sklstm {ours:.4f} s/epoch, "
          f"torch {theirs if theirs is None else round(theirs, 3)} s/epoch, ratio {ratio}")

    rng = np.random.RandomState(0)
    batch, timesteps, features, hidden = SHAPES["medium"][:4]
    X64 = rng.normal(size=(N_BATCHES * batch, timesteps, features))
    y64 = X64[:, :, 0].mean(axis=1)
    functions = {"ours": sklstm_epoch(X64, y64, batch, hidden, 1, False, "float64"),
                 "theirs": None}
    if torch is not None:
        torch.set_num_threads(1)
        torch.set_default_dtype(torch.float64)
        functions["theirs"] = torch_epoch(torch, X64, y64, batch, hidden, 1, False)
    with threadpool_limits(limits=1, user_api="openmp"):
        times = interleaved(functions, args.repeats)
    if torch is not None:
        torch.set_default_dtype(torch.float32)
    ours64 = times["ours"] / N_BATCHES
    theirs64 = None if times["theirs"] is None else times["theirs"] / N_BATCHES
    ratio64 = f"{theirs64 / ours64:.2f}" if theirs64 else "-"
    print(f"float64 training, medium, 1 thread: sklstm {batch / ours64:.0f} seq/s, torch "
          f"{'-' if theirs64 is None else round(batch / theirs64)} seq/s, ratio {ratio64}")

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"machine": platform.platform(), "processor": cpu_model(),
                       "isa": sklstm.show_config(file=io.StringIO())["isa"],
                       "torch": None if torch is None else torch.__version__,
                       "training": rows, "sgemm_gflops": gemm,
                       "inference": inference_rows,
                       "seed_task": {"sklstm_seconds_per_epoch": ours,
                                     "torch_seconds_per_epoch": theirs},
                       "float64_medium": {"sklstm_seconds_per_step": ours64,
                                          "torch_seconds_per_step": theirs64}},
                      f, indent=2)


if __name__ == "__main__":
    main()
