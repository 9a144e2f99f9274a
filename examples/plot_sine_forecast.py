"""
=====================================
Forecasting a sine wave, step by step
=====================================

The example of the README: an LSTM of 4 units learns to predict the next
value of a sine wave (period 50) from the 10 values before it. We train on
the first 800 windows and test on the rest in two ways: one step ahead, where
every prediction starts from true values, and 50 steps ahead with
:func:`sklstm.forecast`, where each prediction is fed back as the input of
the next one, so that errors accumulate.
"""

# %%
# Windows of the past and the value that follows
# ----------------------------------------------
# :class:`~sklstm.preprocessing.SlidingWindow` cuts the series into windows
# of ``look_back`` values, shape ``(n_windows, 10, 1)``, each paired with the
# value right after it.
import time

import matplotlib.pyplot as plt
import numpy as np

from sklstm import LSTMRegressor, forecast
from sklstm.preprocessing import SlidingWindow

t = np.arange(1000)
series = np.sin(2 * np.pi * t / 50)
X, y = SlidingWindow(look_back=10).fit(series).to_supervised(series)
print(X.shape, y.shape)

# %%
# Train on the past, test on the future
# -------------------------------------
# The split is in time: every test window comes after the training ones.
# ``batch_size=1`` updates the weights after every window, which on a small
# problem needs fewer epochs than larger minibatches; the epoch runs in
# compiled code, so it stays fast.
split = 800
model = LSTMRegressor(hidden_layer_sizes=4, batch_size=1, random_state=0)
start = time.perf_counter()
model.fit(X[:split], y[:split])
print(f"{model.n_iter_} epochs in {time.perf_counter() - start:.2f} s")

next_value = model.predict(X[split:])
mse = np.mean((next_value - y[split:]) ** 2)
print(f"one step ahead, test MSE: {mse:.1e}")

# %%
# 50 steps ahead
# --------------
# :func:`sklstm.forecast` starts from the last 10 values of the history and
# predicts recursively: each forecast value joins the window of the next
# prediction. We forecast the 50 values after the training period, one period
# of the wave, from the training data alone.
history = series[:split + 10]  # the values the training windows saw
truth = series[split + 10:split + 60]
future = forecast(model, history, steps=50)
print(f"default tol: largest error over 50 steps {np.abs(future - truth).max():.3f}")

# %%
# The fit stopped after a few epochs, with a one-step error already tiny:
# ``tol`` is an absolute improvement of the loss (half the mean squared error),
# and at a loss near ``1e-4`` the default ``tol=1e-4`` asks for more than is
# left to gain. A one-step error invisible in a plot is still too large to be
# fed back 50 times; a smaller ``tol`` trains on.
precise = LSTMRegressor(hidden_layer_sizes=4, batch_size=1, tol=1e-6, random_state=0)
start = time.perf_counter()
precise.fit(X[:split], y[:split])
print(f"tol=1e-6: {precise.n_iter_} epochs in {time.perf_counter() - start:.2f} s")
precise_mse = np.mean((precise.predict(X[split:]) - y[split:]) ** 2)
precise_future = forecast(precise, history, steps=50)
print(f"tol=1e-6: one step ahead, test MSE: {precise_mse:.1e}")
print(f"tol=1e-6: largest error over 50 steps "
      f"{np.abs(precise_future - truth).max():.3f}")

# %%
fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 6.5), layout="constrained")
test_time = t[split + 10:]
top.plot(test_time, y[split:], color="0.7", lw=5, label="truth")
top.plot(test_time, next_value, color="C0", label="one step ahead")
top.set_title(f"Next value from the 10 true values before it (test MSE {mse:.1e})")
top.legend(loc="upper right")
window = slice(split - 40, split + 60)
bottom.plot(t[window], series[window], color="0.7", lw=5, label="truth")
forecast_time = t[split + 10:split + 60]
bottom.plot(forecast_time, future, "C1",
            label=f"recursive, tol=1e-4 ({model.n_iter_} epochs)")
bottom.plot(forecast_time, precise_future, "C2",
            label=f"recursive, tol=1e-6 ({precise.n_iter_} epochs)")
bottom.axvline(split + 9.5, color="k", ls=":", lw=1)
bottom.text(split + 8, -1.05, "forecast starts ", ha="right", va="bottom")
bottom.set_title("50 steps ahead, each prediction fed back as input")
bottom.set_xlabel("t")
bottom.legend(loc="upper left", fontsize="small")
plt.show()

# %%
# One step ahead, both models are as good as the plot can show. Fed their own
# predictions for 50 steps, the model stopped early drifts off the wave, and
# the one trained on follows it closely. Recursive forecasts amplify small
# errors; a model trained to predict several steps at once
# (``SlidingWindow(horizon=h)``, the direct strategy) feeds nothing back. See
# :ref:`forecasting` in the user guide.
