"""PyTorch as the oracle: the same weights in torch.nn.LSTM + nn.Linear give
the same outputs and the same gradients of every parameter."""

import numpy as np
import pytest

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm.interop import from_torch_state_dict, to_torch_state_dict

torch = pytest.importorskip("torch")


class TorchModel(torch.nn.Module):
    """The module whose state_dict layout sklstm.interop speaks."""

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


def _torch_twin(estimator, torch_dtype):
    net = estimator._network
    model = TorchModel(net.n_inputs, net.hidden_sizes, net.n_outputs).to(torch_dtype)
    state = {k: torch.tensor(v, dtype=torch_dtype)
             for k, v in to_torch_state_dict(estimator).items()}
    model.load_state_dict(state)
    return model


def _torch_loss(estimator, raw, Y, model, alpha):
    """sklstm's losses, written in torch."""
    if isinstance(estimator, LSTMRegressor):
        loss = 0.5 * ((raw - Y) ** 2).mean()
    elif raw.shape[1] == 1:
        loss = torch.nn.functional.binary_cross_entropy_with_logits(raw, Y)
    else:
        loss = torch.nn.functional.cross_entropy(raw, Y.argmax(dim=1))
    weights = [p for name, p in model.named_parameters() if "weight" in name]
    penalty = sum((w ** 2).sum() for w in weights)
    return loss + 0.5 * alpha * penalty / raw.shape[0]


def _gradient_by_torch_name(network, grad):
    """Our flat gradient keyed as torch names the parameters, written here
    independently of sklstm.interop."""
    named = {"output.weight": network.view(grad, "weight", "out"),
             "output.bias": network.view(grad, "bias", "out")}
    for l in range(len(network.hidden_sizes)):
        named[f"lstm_layers.{l}.weight_ih_l0"] = network.view(grad, "weight_ih", l)
        named[f"lstm_layers.{l}.weight_hh_l0"] = network.view(grad, "weight_hh", l)
        # sklstm's single bias per gate receives the gradient of each of
        # torch's two.
        named[f"lstm_layers.{l}.bias_ih_l0"] = network.view(grad, "bias", l)
        named[f"lstm_layers.{l}.bias_hh_l0"] = network.view(grad, "bias", l)
    return named


CASES = [
    # (hidden sizes, n_samples, n_timesteps, n_features)
    ((8,), 1, 1, 3),
    ((8,), 5, 12, 3),
    ((6, 5), 40, 7, 4),
    ((4, 7, 3), 17, 3, 2),
]


@pytest.mark.parametrize("dtype, rtol, atol", [
    ("float64", 1e-6, 1e-10), ("float32", 1e-4, 1e-5)])
@pytest.mark.parametrize("kind", ["regression", "binary", "multiclass"])
@pytest.mark.parametrize("hidden_sizes, n_samples, n_timesteps, n_features", CASES)
def test_outputs_and_gradients_equal_torch(hidden_sizes, n_samples, n_timesteps,
                                           n_features, kind, dtype, rtol, atol):
    rng = np.random.RandomState(n_samples + len(hidden_sizes))
    X = rng.normal(size=(n_samples, n_timesteps, n_features))
    # One epoch sets the shapes; the noise then moves the weights away from
    # their structured initial values.
    if kind == "regression":
        y = rng.normal(size=(n_samples, 2))
        estimator = LSTMRegressor(hidden_sizes, random_state=0, dtype=dtype)
        estimator.partial_fit(X, y)
    else:
        n_classes = 2 if kind == "binary" else 3
        y = np.arange(n_samples) % n_classes
        estimator = LSTMClassifier(hidden_sizes, random_state=0, dtype=dtype)
        estimator.partial_fit(X, y, classes=np.arange(n_classes))
    estimator._params += rng.normal(scale=0.1, size=estimator._params.shape).astype(dtype)
    torch_dtype = torch.float64 if dtype == "float64" else torch.float32
    model = _torch_twin(estimator, torch_dtype)

    Xd = np.ascontiguousarray(X, dtype=dtype)
    Y = estimator._encode_targets(y, reset=False)
    alpha = 0.05
    loss, grad = estimator._network.loss_gradient(estimator._params, Xd, Y, alpha)

    raw = model(torch.tensor(Xd))
    expected_loss = _torch_loss(estimator, raw, torch.tensor(Y), model, alpha)
    expected_loss.backward()

    np.testing.assert_allclose(estimator._forward(X), raw.detach().numpy(),
                               rtol=rtol, atol=atol)
    np.testing.assert_allclose(loss, expected_loss.item(), rtol=rtol, atol=atol)
    ours = _gradient_by_torch_name(estimator._network, grad)
    assert sorted(ours) == sorted(name for name, _ in model.named_parameters())
    for name, param in model.named_parameters():
        np.testing.assert_allclose(ours[name], param.grad.numpy(), rtol=rtol,
                                   atol=atol, err_msg=name)


def test_classifier_probabilities_equal_torch():
    rng = np.random.RandomState(0)
    X = rng.normal(size=(30, 9, 2))
    y = rng.randint(0, 3, size=30)
    clf = LSTMClassifier((5, 4), random_state=0, dtype="float64").partial_fit(
        X, y, classes=[0, 1, 2])
    model = _torch_twin(clf, torch.float64)
    expected = torch.softmax(model(torch.tensor(X)), dim=1).detach().numpy()
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-10)


def test_weights_from_torch_predict_as_torch():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(12, 6, 3))
    reg = LSTMRegressor((4, 4), random_state=0, dtype="float64")
    reg.partial_fit(X, rng.normal(size=12))
    torch.manual_seed(0)
    model = TorchModel(3, (4, 4), 1).double()
    from_torch_state_dict(reg, model.state_dict())
    expected = model(torch.tensor(X)).detach().numpy().ravel()
    np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-10)
