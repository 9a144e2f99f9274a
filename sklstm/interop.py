"""Weights to and from PyTorch's ``state_dict`` layout, as plain numpy arrays.

The layout is that of this PyTorch module, which computes what a fitted
sklstm model does (torch is not needed to call these functions)::

    import torch


    class Model(torch.nn.Module):
        # sklstm's network: LSTM layers, dense layers, an output layer.

        def __init__(self, n_features, hidden_sizes, n_outputs, *, bidirectional=False,
                     dense_sizes=(), activation="relu", return_sequences=False,
                     vocab_size=0, embedding_dim=0):
            super().__init__()
            if embedding_dim:
                self.embedding = torch.nn.Embedding(vocab_size, embedding_dim)
            directions = 2 if bidirectional else 1
            widths = [embedding_dim or n_features] + [directions * h for h in hidden_sizes]
            self.lstm_layers = torch.nn.ModuleList(
                torch.nn.LSTM(widths[i], h, batch_first=True, bidirectional=bidirectional)
                for i, h in enumerate(hidden_sizes))
            sizes = [widths[-1], *dense_sizes]
            self.dense_layers = torch.nn.ModuleList(
                torch.nn.Linear(sizes[i], sizes[i + 1]) for i in range(len(dense_sizes)))
            self.output = torch.nn.Linear(sizes[-1], n_outputs)
            self.activation = {"relu": torch.relu, "tanh": torch.tanh,
                               "logistic": torch.sigmoid,
                               "identity": torch.nn.Identity()}[activation]
            self.return_sequences = return_sequences

        def forward(self, x):
            # x: floats of shape (n, T, n_features), or token ids (n, T) with
            # an embedding. Returns the outputs before the link function,
            # (n, n_outputs), or (n, T, n_outputs) per step.
            if hasattr(self, "embedding"):
                x = self.embedding(x)
            for lstm in self.lstm_layers:
                x, (h_n, _) = lstm(x)
            if not self.return_sequences:
                # The final states of the top layer: forward after the last
                # step, reverse after the first (h_n, not x[:, -1]).
                x = torch.cat(list(h_n), dim=-1)
            for dense in self.dense_layers:
                x = self.activation(dense(x))
            return self.output(x)

The arguments are the estimator's: ``hidden_layer_sizes``,
``bidirectional``, ``dense_layer_sizes``, ``activation``,
``return_sequences``, ``embedding_dim`` and ``vocabulary_size_``; the outputs
are the targets of a regressor, one for two classes (``P(classes_[1])``
after a sigmoid) or one per class (softmax) for a classifier. For a
classifier fitted on sequences ``X`` of shape (n, T, 3) with
``hidden_layer_sizes=(8, 4), bidirectional=True``::

    n_classes = len(estimator.classes_)
    model = Model(3, (8, 4), 1 if n_classes == 2 else n_classes, bidirectional=True)
    model.load_state_dict({name: torch.from_numpy(weights)
                           for name, weights in to_torch_state_dict(estimator).items()})
    with torch.no_grad():
        raw = model(torch.from_numpy(X).float())
    proba = torch.sigmoid(raw)  # P(classes_[1]); torch.softmax(raw, -1) for more

Sequences of different lengths run one at a time (a batch of one), or packed
with ``torch.nn.utils.rnn.pack_sequence`` in a ``forward`` that reads the
packed outputs. Peephole connections and activations other than PyTorch's
(sigmoid gates, tanh cell) have no ``nn.LSTM`` counterpart: export such
models with :func:`sklstm.onnx.to_onnx`.
"""

from collections.abc import Mapping

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._estimators import BaseLSTM


def to_torch_state_dict(estimator):
    """The fitted weights of ``estimator`` keyed as a PyTorch ``state_dict``.

    Parameters
    ----------
    estimator : LSTMRegressor or LSTMClassifier
        A fitted estimator without peephole connections.

    Returns
    -------
    state : dict of str to ndarray
        Copies of the weights. sklstm has one bias per gate where PyTorch has
        two: ``bias_ih`` holds it and ``bias_hh`` is zero.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMRegressor
    >>> from sklstm.interop import to_torch_state_dict
    >>> X, y = np.random.RandomState(0).normal(size=(2, 20, 5, 3))
    >>> model = LSTMRegressor(hidden_layer_sizes=4).partial_fit(X, y[:, 0, 0])  # one epoch
    >>> {k: v.shape for k, v in to_torch_state_dict(model).items()}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'lstm_layers.0.weight_ih_l0': (16, 3), 'lstm_layers.0.weight_hh_l0': (16, 4),
     'lstm_layers.0.bias_ih_l0': (16,), 'lstm_layers.0.bias_hh_l0': (16,),
     'output.weight': (1, 4), 'output.bias': (1,)}
    """
    _check_estimator(estimator)
    network = estimator._network
    if network.peephole:
        raise ValueError("PyTorch's nn.LSTM has no peephole connections: a model "
                         "with peephole=True has no state_dict counterpart.")
    if (network.gate_activation, network.cell_activation) != ("sigmoid", "tanh"):
        raise ValueError("PyTorch's nn.LSTM has sigmoid gates and a tanh cell only; "
                         f"this model has {network.gate_activation} gates and a "
                         f"{network.cell_activation} cell.")
    state = {}
    if network.embedding_dim:
        state["embedding.weight"] = estimator.embedding_.copy()
    for l, layer in enumerate(estimator.lstm_weights_):
        for d, weights in enumerate(layer):
            suffix = "_l0_reverse" if d else "_l0"
            prefix = f"lstm_layers.{l}."
            state[prefix + "weight_ih" + suffix] = weights["weight_ih"].copy()
            state[prefix + "weight_hh" + suffix] = weights["weight_hh"].copy()
            state[prefix + "bias_ih" + suffix] = weights["bias"].copy()
            state[prefix + "bias_hh" + suffix] = np.zeros_like(weights["bias"])
    for j, (coef, intercept) in enumerate(zip(estimator.coefs_[:-1],
                                              estimator.intercepts_[:-1])):
        state[f"dense_layers.{j}.weight"] = coef.T.copy()
        state[f"dense_layers.{j}.bias"] = intercept.copy()
    state["output.weight"] = estimator.coefs_[-1].T.copy()
    state["output.bias"] = estimator.intercepts_[-1].copy()
    return state


def from_torch_state_dict(estimator, state):
    """Load weights in PyTorch's ``state_dict`` layout into ``estimator``.

    Parameters
    ----------
    estimator : LSTMRegressor or LSTMClassifier
        A fitted estimator with the same architecture as the weights (fit it
        once, even for one epoch, to set its shapes and classes).
    state : dict of str to array-like
        Keyed as :func:`to_torch_state_dict` returns; torch tensors are
        accepted (they are converted with ``numpy()``). The two PyTorch biases
        of each gate are summed.

    Returns
    -------
    estimator : the same estimator, with the new weights.

    Examples
    --------
    >>> import numpy as np
    >>> from sklstm import LSTMRegressor
    >>> from sklstm.interop import from_torch_state_dict, to_torch_state_dict
    >>> X, y = np.random.RandomState(0).normal(size=(2, 20, 5, 3))
    >>> a = LSTMRegressor(hidden_layer_sizes=4, random_state=0).partial_fit(X, y[:, 0, 0])
    >>> b = LSTMRegressor(hidden_layer_sizes=4, random_state=1).partial_fit(X, y[:, 0, 0])
    >>> np.array_equal(from_torch_state_dict(b, to_torch_state_dict(a)).predict(X), a.predict(X))
    True
    """
    _check_estimator(estimator)
    if not isinstance(state, Mapping):
        raise TypeError(f"state must be a dict of str to arrays, as a PyTorch "
                        f"state_dict; got {type(state).__name__}.")
    state = {key: _to_numpy(key, value) for key, value in state.items()}
    expected = to_torch_state_dict(estimator)
    missing = sorted(set(expected) - set(state))
    extra = sorted(set(state) - set(expected))
    if missing or extra:
        raise ValueError(f"state does not match the estimator's architecture: "
                         f"missing keys {missing}, unexpected keys {extra}.")
    for key, value in state.items():
        if value.shape != expected[key].shape:
            raise ValueError(f"{key} has shape {value.shape}, the estimator "
                             f"expects {expected[key].shape}.")
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{key} contains NaN or infinity.")
    if "embedding.weight" in state:
        estimator.embedding_[...] = state["embedding.weight"]
    for l, layer in enumerate(estimator.lstm_weights_):
        for d, weights in enumerate(layer):
            suffix = "_l0_reverse" if d else "_l0"
            prefix = f"lstm_layers.{l}."
            weights["weight_ih"][...] = state[prefix + "weight_ih" + suffix]
            weights["weight_hh"][...] = state[prefix + "weight_hh" + suffix]
            weights["bias"][...] = (state[prefix + "bias_ih" + suffix]
                                    + state[prefix + "bias_hh" + suffix])
    for j, (coef, intercept) in enumerate(zip(estimator.coefs_[:-1],
                                              estimator.intercepts_[:-1])):
        coef[...] = state[f"dense_layers.{j}.weight"].T
        intercept[...] = state[f"dense_layers.{j}.bias"]
    estimator.coefs_[-1][...] = state["output.weight"].T
    estimator.intercepts_[-1][...] = state["output.bias"]
    return estimator


def _check_estimator(estimator):
    if not isinstance(estimator, BaseLSTM):
        raise TypeError(f"estimator must be an LSTMRegressor or LSTMClassifier; got "
                        f"{type(estimator).__name__}.")
    check_is_fitted(estimator, "_params")


def _to_numpy(key, value):
    """A state entry as a float64 array. Only real numbers are weights: a
    complex value would lose its imaginary part, and bools, strings and
    other objects are a mistake."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    array = np.asarray(value)
    if array.dtype.kind not in "iuf":
        raise TypeError(f"{key} holds {array.dtype} values ({type(value).__name__}); "
                        f"weights must be real numbers.")
    return array.astype(np.float64)
