"""
Deployment: ONNX export and onnxruntime
=======================================

A fitted sklstm model leaves Python as an ONNX model, built on ONNX's own
``LSTM`` operator, which `onnxruntime <https://onnxruntime.ai>`_ runs from
Python, C++, C#, Java or JavaScript without sklstm or scikit-learn.

Here a forecaster with peephole connections and hard-sigmoid gates, a model
that PyTorch's ``nn.LSTM`` cannot hold, learns the next value of a noisy
sine wave; we export it with :func:`sklstm.onnx.to_onnx`, run it in
onnxruntime on sequences of another length, ragged ones included, and
compare with ``predict``. It needs ``pip install 'sklstm[onnx]'``.
"""

# %%
# Fit a forecaster
# ----------------
# Windows of the last 20 values of the series, the next value as the target.
import matplotlib.pyplot as plt
import numpy as np
import onnxruntime

from sklstm import LSTMRegressor
from sklstm.onnx import pad_sequences, to_onnx
from sklstm.preprocessing import SlidingWindow

rng = np.random.RandomState(0)
t = np.arange(1200)
series = np.sin(2 * np.pi * t / 50) + 0.1 * rng.normal(size=t.size)
X, y = SlidingWindow(look_back=20).fit(series).to_supervised(series)
X_train, y_train, X_test = X[:900], y[:900], X[900:]

model = LSTMRegressor(hidden_layer_sizes=16, peephole=True,
                      recurrent_activation="hard_sigmoid", random_state=0)
model.fit(X_train, y_train)
print(f"{model.n_iter_} epochs; R^2 on the last {len(X_test)} windows: "
      f"{model.score(X_test, y[900:]):.3f}")

# %%
# Export and run in onnxruntime
# -----------------------------
# The ONNX model takes ``X`` of shape (N, T, 1) with any batch size and
# length. Save it with ``onnx_model.SerializeToString()`` (or ``onnx.save``);
# onnxruntime loads the bytes or the file.
onnx_model = to_onnx(model)
print("operators:", sorted({node.op_type for node in onnx_model.graph.node}))
session = onnxruntime.InferenceSession(onnx_model.SerializeToString(),
                                       providers=["CPUExecutionProvider"])
(onnx_pred,) = session.run(None, {"X": X_test.astype(np.float32)})
sklstm_pred = model.predict(X_test)
print(f"largest difference from predict: {np.abs(onnx_pred - sklstm_pred).max():.2e}")

# %%
# Longer windows, and windows of different lengths
# ------------------------------------------------
# A model exported with ``sequence_lens=True`` takes a zero-padded batch and
# the length of each sequence: each prediction is the one ``predict`` gives
# the unpadded sequence.
windows = [series[900 + i - n:900 + i, np.newaxis] for i, n in
           enumerate(rng.randint(10, 60, size=200))]
X_padded, lengths = pad_sequences(windows)
session = onnxruntime.InferenceSession(
    to_onnx(model, sequence_lens=True).SerializeToString(),
    providers=["CPUExecutionProvider"])
(ragged_pred,) = session.run(None, {"X": X_padded, "sequence_lens": lengths})
print(f"windows of {lengths.min()} to {lengths.max()} steps, largest difference "
      f"from predict: {np.abs(ragged_pred - model.predict(windows)).max():.2e}")

# %%
# Both predictions
# ----------------
# The two curves lie on top of each other; the lower panel shows their
# difference, at the float32 rounding of the two runtimes.
fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 5), sharex=True,
                                  height_ratios=[3, 1])
steps = t[920:920 + len(X_test)]
top.plot(steps, y[900:], color="0.7", label="series")
top.plot(steps, sklstm_pred, lw=2, label="sklstm predict")
top.plot(steps, onnx_pred, "--", lw=2, label="onnxruntime")
top.set_ylabel("next value")
top.set_ylim(-1.5, 1.8)
top.legend(loc="upper center", ncol=3)
bottom.plot(steps, onnx_pred - sklstm_pred, color="C3")
bottom.set_ylabel("difference")
bottom.set_xlabel("time step")
bottom.ticklabel_format(axis="y", style="sci", scilimits=(0, 0))
fig.suptitle("One-step forecasts: sklstm and its ONNX export")
fig.tight_layout()
plt.show()
