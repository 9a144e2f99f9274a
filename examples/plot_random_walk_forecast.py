"""
===============================================================
A stacked LSTM on a price series, against the persistence model
===============================================================

A common first project: train an LSTM on past prices to predict tomorrow's.
Here the prices are a geometric random walk with drift, the textbook model
of a stock price: each day's log-return is the drift plus independent noise,

.. math:: \\log p_{t+1} = \\log p_t + \\mu + \\sigma \\varepsilon_t,
   \\qquad \\varepsilon_t \\sim \\mathcal{N}(0, 1),

with :math:`\\mu = 0.0003` and :math:`\\sigma = 0.01` (a 1 % daily move).
The baseline is *persistence*: tomorrow's price is today's. We compare a
stacked LSTM, ``hidden_layer_sizes=(32, 16)``, trained two ways: on windows
of prices, and on windows of returns.
"""

# %%
# The series
# ----------
# 2000 days; the first 1500 train the models, the last 500 test them.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklstm import LSTMRegressor
from sklstm.preprocessing import SequenceScaler, SlidingWindow

rng = np.random.RandomState(42)
n_days, split, look_back = 2000, 1500, 20
log_returns = 0.0003 + 0.01 * rng.standard_normal(n_days - 1)
price = 100 * np.exp(np.r_[0, np.cumsum(log_returns)])
print(f"training prices {price[:split].min():.0f} to {price[:split].max():.0f}, "
      f"test prices {price[split:].min():.0f} to {price[split:].max():.0f}")


def rmse(predicted, true):
    return float(np.sqrt(np.mean((predicted - true) ** 2)))


# %%
# On prices
# ---------
# Windows of 20 prices and the next one, the inputs scaled by a
# :class:`~sklstm.preprocessing.SequenceScaler` and the targets by a
# ``TransformedTargetRegressor``, as the user guide's :ref:`scaling` asks.
# Early stopping holds out the *last* 10 % of the training windows
# (``validation_holdout="last"``): a random hold-out would let the model see
# the future of its validation days.
X, y = SlidingWindow(look_back).fit(price).to_supervised(price)
n_train = split - look_back  # windows whose target is a training day
stacked = dict(hidden_layer_sizes=(32, 16), max_iter=200, early_stopping=True,
               validation_holdout="last", random_state=0)
on_prices = TransformedTargetRegressor(
    make_pipeline(SequenceScaler(), LSTMRegressor(**stacked)),
    transformer=StandardScaler())
on_prices.fit(X[:n_train], y[:n_train])
predicted_from_prices = on_prices.predict(X[n_train:])
persistence = X[n_train:, -1, 0]  # today's price
true_price = y[n_train:]
print(f"persistence RMSE:         {rmse(persistence, true_price):.2f}")
print(f"LSTM on prices RMSE:      {rmse(predicted_from_prices, true_price):.2f}")

# %%
# The model on prices fails on the test period: most prices there are higher
# than any it was trained on, and a network of bounded units (``tanh``,
# ``sigmoid``) cannot extrapolate beyond the range it has seen. Scaling does
# not help, since the scaler is fitted on the training prices too.
#
# On returns
# ----------
# A random walk is stationary in its increments: the returns of the test
# period look like those of the training period. We predict tomorrow's
# log-return from the last 20, scaled to unit variance, and turn it into a
# price. ``fit`` warns that the loss stayed near its first value: rightly,
# as we will see.
r = np.diff(np.log(price))  # r[i] moves price[i] to price[i + 1]
Xr, yr = SlidingWindow(look_back).fit(r).to_supervised(r)
n_train_r = split - 1 - look_back
scale = r[:split - 1].std()
on_returns = LSTMRegressor(**stacked)
on_returns.fit(Xr[:n_train_r] / scale, yr[:n_train_r] / scale)
predicted_return = on_returns.predict(Xr[n_train_r:]) * scale
today = price[split - 1:-1]
predicted_from_returns = today * np.exp(predicted_return)
drift = today * np.exp(r[:split - 1].mean())  # persistence plus the mean return
print(f"LSTM on returns RMSE:     {rmse(predicted_from_returns, true_price):.2f}")
print(f"persistence + drift RMSE: {rmse(drift, true_price):.2f}")
test_returns = yr[n_train_r:]
r2 = 1 - np.sum((test_returns - predicted_return) ** 2) / np.sum(
    (test_returns - test_returns.mean()) ** 2)
print(f"R^2 of the predicted returns: {r2:.3f}")

# %%
fig, axes = plt.subplot_mosaic([["top", "top"], ["zoom", "scatter"]], figsize=(9, 7.5),
                               layout="constrained")
top, zoom, scatter = axes["top"], axes["zoom"], axes["scatter"]
top.plot(np.arange(split), price[:split], color="0.6", label="training prices")
top.plot(np.arange(split, n_days), price[split:], color="k", label="test prices")
top.plot(np.arange(split, n_days), predicted_from_prices, color="C3",
         label=f"LSTM on prices (RMSE {rmse(predicted_from_prices, true_price):.1f})")
top.set(xlabel="day", ylabel="price", title="Next-day forecasts over the test period")
top.legend(loc="upper left")
days = np.arange(n_days - 60, n_days)
zoom.plot(days, price[-60:], "k.-", label="truth")
zoom.plot(days, persistence[-60:], color="C0",
          label=f"persistence ({rmse(persistence, true_price):.2f})")
zoom.plot(days, predicted_from_returns[-60:], color="C1", ls="--",
          label=f"LSTM on returns ({rmse(predicted_from_returns, true_price):.2f})")
zoom.set(xlabel="day", ylabel="price", title="The last 60 days")
zoom.legend(fontsize="small")
scatter.scatter(100 * test_returns, 100 * predicted_return, s=6, alpha=0.5)
scatter.axhline(0, color="k", lw=0.5)
scatter.axvline(0, color="k", lw=0.5)
scatter.set(xlabel="true return (%)", ylabel="predicted return (%)",
            title=f"Returns, R$^2$ = {r2:.3f}", xlim=(-3.5, 3.5), ylim=(-3.5, 3.5))
plt.show()

# %%
# Why persistence is hard to beat
# -------------------------------
# In a random walk tomorrow's move is independent of every past price: the
# best forecast of tomorrow's price is today's times the mean growth, and its
# error is the move itself, about 1 % of the price, whatever the model. The
# LSTM on returns learns this: its predicted returns (bottom right) lie on a
# flat line at about the mean daily return of the training period, its R²
# on the returns is about zero, and its price forecasts (bottom left)
# lie on top of persistence, with the same error. That is the right answer,
# not a failure to train, and so is the warning ``fit`` gave: the loss stayed
# at its first value because there is nothing to learn. A model whose
# forecasts look like the true price shifted by one day has learnt
# persistence; to claim more, compare with persistence on the same test days,
# and look for structure in the returns (autocorrelation, volatility, other
# series) before reaching for an LSTM. The model on prices shows the other
# lesson: a network extrapolates badly, so feed it inputs whose range does not
# drift (returns, or windows divided by their last value).
