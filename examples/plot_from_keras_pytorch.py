"""
===============================
From Keras or PyTorch to sklstm
===============================

The same model three ways: an LSTM of 16 units and a softmax layer that tell
sine, square and sawtooth waves apart (50 noisy steps of random frequency and
phase, the task of ``python -m sklstm``), trained with Adam at a learning rate
of 0.01, gradients clipped to a norm of 5, minibatches of 32, for 20 epochs.

**Keras**::

    model = keras.Sequential([
        keras.Input(shape=(50, 1)),
        keras.layers.LSTM(16),
        keras.layers.Dense(3, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01, clipnorm=5.0),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(X_train, y_train_ids, batch_size=32, epochs=20)
    probabilities = model.predict(X_test)

**sklstm** takes the labels as they are (strings here), encodes them, and
needs no input shape, output size or loss: they come from the data.
``alpha=0`` switches off the small L2 penalty that sklstm applies by default
(scikit-learn MLP's ``alpha``) and Keras does not; clipping at a norm of 5 is
sklstm's default (``clip_norm=5.0``), since at learning rates like this one
unclipped runs sometimes spike. The weight
initialization is Keras' (Glorot-uniform input weights, orthogonal recurrent
weights, forget-gate bias 1). The PyTorch version follows below; it runs when
PyTorch is installed.
"""

# %%
# The data
# --------
import time
import warnings

import matplotlib.pyplot as plt
import numpy as np
from sklearn.exceptions import ConvergenceWarning

from sklstm import LSTMClassifier
from sklstm.interop import to_torch_state_dict

rng = np.random.RandomState(0)
t = np.arange(50)
frequency = rng.uniform(1 / 25, 1 / 8, size=(2000, 1))
cycle = (t * frequency + rng.uniform(0, 1, size=(2000, 1))) % 1.0
kind = rng.randint(0, 3, size=2000)
waves = np.stack([np.sin(2 * np.pi * cycle), np.sign(cycle - 0.5), 2 * cycle - 1])
X = (waves[kind, np.arange(2000)] + rng.normal(scale=0.3, size=(2000, 50)))[:, :, None]
y = np.array(["sine", "square", "sawtooth"])[kind]
X_train, y_train, X_test, y_test = X[:1500], y[:1500], X[1500:], y[1500:]

# %%
# sklstm
# ------
model = LSTMClassifier(hidden_layer_sizes=16, learning_rate_init=0.01, batch_size=32,
                       max_iter=20, n_iter_no_change=20, alpha=0.0, random_state=0)
start = time.perf_counter()
with warnings.catch_warnings():
    # 20 epochs as Keras' epochs=20: fit would warn that it stopped at max_iter.
    warnings.simplefilter("ignore", ConvergenceWarning)
    model.fit(X_train, y_train)
sklstm_seconds = time.perf_counter() - start
print(f"sklstm: {sklstm_seconds:.2f} s, test accuracy {model.score(X_test, y_test):.3f}")
print("classes:", model.classes_)

# %%
# PyTorch
# -------
# The module is the one of :mod:`sklstm.interop`'s documentation; the
# training loop is what ``fit`` runs. PyTorch's ``nn.LSTM`` initializes
# differently (uniform weights, two biases per gate) and its cross-entropy
# takes the logits, which is why the softmax is not part of the module.
# PyTorch runs on one thread, its fastest setting for models this small on
# this machine (see the user guide's :ref:`speed`).
try:
    import torch
except ImportError:
    torch = None


def make_torch_model(n_features, hidden_size, n_classes):
    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm_layers = torch.nn.ModuleList(
                [torch.nn.LSTM(n_features, hidden_size, batch_first=True)])
            self.output = torch.nn.Linear(hidden_size, n_classes)

        def forward(self, x):
            for lstm in self.lstm_layers:
                x, (h_n, _) = lstm(x)
            return self.output(h_n[-1])  # logits

    return Model()


def train_torch(X, y_ids, n_classes, epochs=20, batch_size=32, learning_rate=0.01):
    torch.manual_seed(0)
    net = make_torch_model(X.shape[2], 16, n_classes)
    optimizer = torch.optim.Adam(net.parameters(), lr=learning_rate)
    loss_function = torch.nn.CrossEntropyLoss()
    X, y_ids = torch.tensor(X, dtype=torch.float32), torch.tensor(y_ids)
    losses = []
    for _ in range(epochs):
        order, total = torch.randperm(len(X)), 0.0
        for batch in order.split(batch_size):
            optimizer.zero_grad()
            loss = loss_function(net(X[batch]), y_ids[batch])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            optimizer.step()
            total += loss.item() * len(batch)
        losses.append(total / len(X))
    return net, losses


if torch is not None:
    y_ids = np.searchsorted(model.classes_, y_train)  # labels as 0, 1, 2
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    start = time.perf_counter()
    net, torch_losses = train_torch(X_train, y_ids, len(model.classes_))
    torch_seconds = time.perf_counter() - start
    torch.set_num_threads(threads)
    with torch.no_grad():
        logits = net(torch.tensor(X_test, dtype=torch.float32))
    accuracy = np.mean(model.classes_[logits.argmax(1).numpy()] == y_test)
    print(f"PyTorch {torch.__version__}: {torch_seconds:.2f} s, "
          f"test accuracy {accuracy:.3f}")

# %%
# The same network
# ----------------
# :func:`~sklstm.interop.to_torch_state_dict` copies sklstm's fitted weights
# into the PyTorch module: both then compute the same probabilities, to
# float32 rounding.
if torch is not None:
    twin = make_torch_model(1, 16, len(model.classes_))
    twin.load_state_dict({k: torch.from_numpy(v) for k, v in
                          to_torch_state_dict(model).items()})
    with torch.no_grad():
        twin_proba = torch.softmax(twin(torch.tensor(X_test, dtype=torch.float32)), 1)
    difference = np.abs(twin_proba.numpy() - model.predict_proba(X_test)).max()
    print(f"largest difference of the probabilities: {difference:.1e}")

# %%
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
epochs = np.arange(1, model.n_iter_ + 1)
ax.plot(epochs, model.loss_curve_, "o-", label=f"sklstm ({sklstm_seconds:.1f} s)")
if torch is not None:
    ax.plot(epochs, torch_losses, "s-", label=f"PyTorch ({torch_seconds:.1f} s)")
ax.set(xlabel="epoch", ylabel="training log-loss", yscale="log",
       title="The same model and training, two libraries")
ax.legend()
plt.show()

# %%
# The translation, parameter by parameter:
#
# ======================================  ======================================
# Keras / PyTorch                         sklstm
# ======================================  ======================================
# ``LSTM(16)`` / ``nn.LSTM(n, 16)``       ``hidden_layer_sizes=16``
# stacked layers                          ``hidden_layer_sizes=(64, 32)``
# ``Bidirectional`` / ``bidirectional``   ``bidirectional=True``
# ``Dense`` layers before the output      ``dense_layer_sizes``, ``activation``
# ``Embedding(n, 16)``                    ``embedding_dim=16``
# ``return_sequences=True``               ``return_sequences=True``
# ``optimizer="adam"``, ``lr``            ``solver="adam"``, ``learning_rate_init``
# ``batch_size``, ``epochs``              ``batch_size``, ``max_iter``
# ``EarlyStopping(patience=10)``          ``early_stopping=True``, ``n_iter_no_change=10``
# ``clipnorm`` / ``clip_grad_norm_``      ``clip_norm``
# ``history.history["loss"]``             ``loss_curve_``
# ``model.predict`` (probabilities)       ``predict_proba``
# ======================================  ======================================
#
# The two training runs do not give the same weights (the initializations and
# the shuffling differ) but the same kind of model: similar loss curves and
# test accuracy. What sklstm adds is the rest of scikit-learn: the estimator
# goes into a ``Pipeline``, ``GridSearchCV`` or ``cross_val_score`` as it is,
# and pickles.
