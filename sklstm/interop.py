"""Weights to and from PyTorch's ``state_dict`` layout, as plain numpy arrays.

The layout is that of this PyTorch module, so anyone can rebuild a fitted
sklstm model in PyTorch (torch is not needed to call these functions)::

    class Model(torch.nn.Module):
        def __init__(self, n_features, hidden_sizes, n_outputs):
            super().__init__()
            sizes = [n_features, *hidden_sizes]
            self.lstm_layers = torch.nn.ModuleList(
                torch.nn.LSTM(sizes[i], sizes[i + 1], batch_first=True)
                for i in range(len(hidden_sizes)))
            self.dense_layers = torch.nn.ModuleList()
            self.output = torch.nn.Linear(sizes[-1], n_outputs)

        def forward(self, x):
            for lstm in self.lstm_layers:
                x, _ = lstm(x)
            return self.output(x[:, -1])

The output is before the link function: apply ``sigmoid`` (two classes) or
``softmax`` (more) for a classifier's probabilities.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted


def to_torch_state_dict(estimator):
    """The fitted weights of ``estimator`` keyed as a PyTorch ``state_dict``.

    Parameters
    ----------
    estimator : LSTMRegressor or LSTMClassifier
        A fitted estimator.

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
    >>> model = LSTMRegressor(hidden_layer_sizes=4, max_iter=1).fit(X, y[:, 0, 0])
    >>> {k: v.shape for k, v in to_torch_state_dict(model).items()}
    ... # doctest: +NORMALIZE_WHITESPACE
    {'lstm_layers.0.weight_ih_l0': (16, 3), 'lstm_layers.0.weight_hh_l0': (16, 4),
     'lstm_layers.0.bias_ih_l0': (16,), 'lstm_layers.0.bias_hh_l0': (16,),
     'output.weight': (1, 4), 'output.bias': (1,)}
    """
    check_is_fitted(estimator, "_params")
    state = {}
    for l, layer in enumerate(estimator.lstm_weights_):
        prefix = f"lstm_layers.{l}."
        state[prefix + "weight_ih_l0"] = layer["weight_ih"].copy()
        state[prefix + "weight_hh_l0"] = layer["weight_hh"].copy()
        state[prefix + "bias_ih_l0"] = layer["bias"].copy()
        state[prefix + "bias_hh_l0"] = np.zeros_like(layer["bias"])
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
    >>> a = LSTMRegressor(hidden_layer_sizes=4, max_iter=1, random_state=0).fit(X, y[:, 0, 0])
    >>> b = LSTMRegressor(hidden_layer_sizes=4, max_iter=1, random_state=1).fit(X, y[:, 0, 0])
    >>> np.array_equal(from_torch_state_dict(b, to_torch_state_dict(a)).predict(X), a.predict(X))
    True
    """
    check_is_fitted(estimator, "_params")
    state = {key: _to_numpy(value) for key, value in state.items()}
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
    for l, layer in enumerate(estimator.lstm_weights_):
        prefix = f"lstm_layers.{l}."
        layer["weight_ih"][...] = state[prefix + "weight_ih_l0"]
        layer["weight_hh"][...] = state[prefix + "weight_hh_l0"]
        layer["bias"][...] = state[prefix + "bias_ih_l0"] + state[prefix + "bias_hh_l0"]
    estimator.coefs_[-1][...] = state["output.weight"].T
    estimator.intercepts_[-1][...] = state["output.bias"]
    return estimator


def _to_numpy(value):
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return np.asarray(value, dtype=np.float64)
