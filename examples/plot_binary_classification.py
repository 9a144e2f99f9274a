"""
====================================================
Binary sequence classification, the scikit-learn way
====================================================

The usual Keras model for binary classification of sequences::

    model = keras.Sequential([
        keras.Input(shape=(timesteps, n_features)),
        keras.layers.LSTM(32),
        keras.layers.Dense(1, activation="sigmoid"),
    ])
    model.compile(loss="binary_crossentropy", optimizer="rmsprop",
                  metrics=["accuracy"])
    history = model.fit(X_train, y_train, epochs=100,
                        validation_data=(X_val, y_val),
                        callbacks=[keras.callbacks.EarlyStopping(patience=10)])

In sklstm it is one estimator: :class:`~sklstm.LSTMClassifier` with 32 units
has, for two classes, one sigmoid output trained on the binary
cross-entropy, and ``loss_curve_`` and ``validation_loss_curve_`` are Keras'
``history.history["loss"]`` and ``["val_loss"]``.

The task is the *temporal order* problem of Hochreiter & Schmidhuber (1997):
each sequence is 40 random symbols out of four distractors, with a marker,
``X`` or ``Y``, somewhere in the first half and another in the second half.
The label says whether the two markers are the same. The answer depends on
two timesteps far apart and on nothing else, and no linear model can tell
"same" from "different" (it is an exclusive or).
"""

# %%
# The data
# --------
# Symbols are one-hot vectors: ``X`` has shape ``(n_samples, 40, 6)``.
import matplotlib.pyplot as plt
import numpy as np
from sklearn.linear_model import LogisticRegression

from sklstm import LSTMClassifier
from sklstm.inspection import TrainingCurveDisplay

rng = np.random.RandomState(0)
SYMBOLS = np.array(list("abcdXY"))


def temporal_order(n_samples, n_timesteps=40):
    """One-hot sequences of distractors with two markers; 1 if they agree."""
    symbols = rng.randint(0, 4, size=(n_samples, n_timesteps))
    rows = np.arange(n_samples)
    first = rng.randint(4, 6, size=n_samples)
    second = rng.randint(4, 6, size=n_samples)
    symbols[rows, rng.randint(0, n_timesteps // 2, size=n_samples)] = first
    symbols[rows, rng.randint(n_timesteps // 2, n_timesteps, size=n_samples)] = second
    return np.eye(6)[symbols], (first == second).astype(int)


X_train, y_train = temporal_order(3000)
X_val, y_val = temporal_order(500)
X_test, y_test = temporal_order(1000)
print("".join(SYMBOLS[X_train[0].argmax(axis=1)]), "->", y_train[0])
print("".join(SYMBOLS[X_train[2].argmax(axis=1)]), "->", y_train[2])

# %%
# A linear baseline
# -----------------
# A logistic regression on the flattened sequences sees every symbol at every
# position, and still guesses:
flat = LogisticRegression(max_iter=1000).fit(X_train.reshape(len(X_train), -1), y_train)
print(f"logistic regression, test accuracy: "
      f"{flat.score(X_test.reshape(len(X_test), -1), y_test):.3f}")

# %%
# The LSTM
# --------
# ``solver="rmsprop"`` as in the Keras model. ``X_val, y_val`` are scored
# after every epoch, as Keras' ``validation_data``, and training stops when
# the validation score has not improved for ``n_iter_no_change=10`` epochs:
# Keras' ``EarlyStopping`` callback, built in.
model = LSTMClassifier(hidden_layer_sizes=32, solver="rmsprop", max_iter=100,
                       random_state=0)
model.fit(X_train, y_train, X_val=X_val, y_val=y_val)
print(f"LSTM, {model.n_iter_} epochs, test accuracy: {model.score(X_test, y_test):.3f}")
print(f"predict_proba: shape {model.predict_proba(X_test).shape}, "
      f"classes {model.classes_}")

# %%
# The loss curve
# --------------
# :class:`~sklstm.inspection.TrainingCurveDisplay` draws ``loss_curve_`` and
# ``validation_loss_curve_`` (left axis) and ``validation_scores_``, the
# validation accuracy (right axis), against the epochs.
display = TrainingCurveDisplay.from_estimator(model)
display.ax_.axhline(np.log(2), color="k", ls=":", lw=1)
display.ax_.text(1, np.log(2) + 0.01, "log 2: guessing", va="bottom")
display.score_ax_.set_ylim(0.4, 1.02)
plt.show()

# %%
# The curves show what LSTM training often looks like: a plateau at the loss
# of guessing, with the validation accuracy at one half, for a dozen epochs,
# then a sudden drop once the network has learnt to keep the first marker in
# its cell state until the second. Had training stopped on the plateau,
# ``fit`` would have warned that the loss was still near its first value (the
# user guide's :ref:`plateau` section says what to do). The LSTM ends perfect
# on the test set where the linear model stays at chance.
