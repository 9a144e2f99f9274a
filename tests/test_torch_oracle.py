"""PyTorch as the oracle: the same weights in nn.Embedding, nn.LSTM and
nn.Linear give the same outputs and the same gradients of every parameter."""

import numpy as np
import pytest

from sklstm import LSTMClassifier, LSTMRegressor
from sklstm.interop import from_torch_state_dict, to_torch_state_dict

torch = pytest.importorskip("torch")

VOCAB_SIZE = 11


class TorchModel(torch.nn.Module):
    """The module whose state_dict layout sklstm.interop speaks."""

    def __init__(self, n_features, hidden_sizes, n_outputs, *, bidirectional=False,
                 dense_sizes=(), activation="relu", per_step=False, vocab_size=0,
                 embedding_dim=0):
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
                           "logistic": torch.sigmoid, "identity": lambda x: x}[activation]
        self.per_step = per_step

    def forward(self, x):
        if hasattr(self, "embedding"):
            x = self.embedding(x[..., 0].long())
        for lstm in self.lstm_layers:
            x, (h_n, _) = lstm(x)
        # Per step: every output. Else the final states: forward after the
        # last step, reverse after the first (h_n, not x[:, -1]).
        x = x if self.per_step else torch.cat(list(h_n), dim=-1)
        for dense in self.dense_layers:
            x = self.activation(dense(x))
        return self.output(x)


def _torch_twin(estimator, torch_dtype):
    net = estimator._network
    model = TorchModel(
        net.n_inputs, net.hidden_sizes, net.n_outputs,
        bidirectional=net.n_directions == 2, dense_sizes=net.dense_sizes,
        activation=net.dense_activation, per_step=net.per_step,
        vocab_size=net.vocab_size, embedding_dim=net.embedding_dim).to(torch_dtype)
    state = {k: torch.tensor(v, dtype=torch_dtype)
             for k, v in to_torch_state_dict(estimator).items()}
    model.load_state_dict(state)
    return model


def _torch_loss(estimator, raw, Y, model, alpha, n_samples):
    """sklstm's losses, written in torch: means over samples (and steps)."""
    K = raw.shape[-1]
    raw, Y = raw.reshape(-1, K), Y.reshape(-1, K)
    if isinstance(estimator, LSTMRegressor):
        if estimator.loss == "absolute_error":
            loss = torch.nn.L1Loss()(raw, Y)
        elif estimator.loss == "huber":
            loss = torch.nn.HuberLoss(delta=estimator.huber_delta)(raw, Y)
        elif estimator.loss == "quantile":
            # The pinball loss, written out: q per unit of a prediction below
            # the target, 1 - q above.
            q, residual = estimator.quantile, Y - raw
            loss = torch.maximum(q * residual, (q - 1) * residual).mean()
        else:
            loss = 0.5 * ((raw - Y) ** 2).mean()
    elif K == 1:
        loss = torch.nn.functional.binary_cross_entropy_with_logits(raw, Y)
    else:
        loss = torch.nn.functional.cross_entropy(raw, Y.argmax(dim=1))
    weights = [p for name, p in model.named_parameters()
               if "weight" in name and "embedding" not in name]
    penalty = sum((w ** 2).sum() for w in weights)
    return loss + 0.5 * alpha * penalty / n_samples


def _gradient_by_torch_name(network, grad):
    """Our flat gradient keyed as torch names the parameters, written here
    independently of sklstm.interop."""
    named = {"output.weight": network.view(grad, "weight", "out"),
             "output.bias": network.view(grad, "bias", "out")}
    for l in range(len(network.hidden_sizes)):
        for d in range(network.n_directions):
            suffix = "_l0_reverse" if d else "_l0"
            prefix = f"lstm_layers.{l}."
            named[prefix + "weight_ih" + suffix] = network.view(grad, "weight_ih", l, d)
            named[prefix + "weight_hh" + suffix] = network.view(grad, "weight_hh", l, d)
            # sklstm's single bias per gate receives the gradient of each of
            # torch's two.
            named[prefix + "bias_ih" + suffix] = network.view(grad, "bias", l, d)
            named[prefix + "bias_hh" + suffix] = network.view(grad, "bias", l, d)
    for j in range(len(network.dense_sizes)):
        named[f"dense_layers.{j}.weight"] = network.view(grad, "dense_weight", j)
        named[f"dense_layers.{j}.bias"] = network.view(grad, "dense_bias", j)
    if network.embedding_dim:
        named["embedding.weight"] = network.view(grad, "embedding")
    return named


def _fitted(kind, n_samples, n_timesteps, n_features, dtype, per_step, embedding,
            rng, **options):
    """An estimator after one epoch (which sets its shapes), with its data."""
    if embedding:
        X = rng.randint(0, VOCAB_SIZE, size=(n_samples, n_timesteps)).astype(float)
        X[0, 0] = VOCAB_SIZE - 1  # the vocabulary is inferred: use all of it
        options["embedding_dim"] = 3
    else:
        X = rng.normal(size=(n_samples, n_timesteps, n_features))
    lead = (n_samples, n_timesteps) if per_step else (n_samples,)
    common = dict(random_state=0, dtype=dtype, return_sequences=per_step, **options)
    if kind in REGRESSION_KINDS:
        y = rng.normal(size=(*lead, 2))
        common.update(REGRESSION_KINDS[kind])
        estimator = LSTMRegressor(**common).partial_fit(X, y)
    else:
        n_classes = 2 if kind == "binary" else 3
        y = rng.randint(0, n_classes, size=lead)
        estimator = LSTMClassifier(**common).partial_fit(X, y,
                                                          classes=np.arange(n_classes))
    # Move the weights away from their structured initial values.
    estimator._params += rng.normal(scale=0.1, size=estimator._params.shape).astype(dtype)
    return estimator, X, y


# The regressor's losses; each delta sits inside the errors' range, so that
# both sides of the Huber loss are exercised.
REGRESSION_KINDS = {"regression": {}, "absolute_error": {"loss": "absolute_error"},
                    "huber": {"loss": "huber", "huber_delta": 0.7},
                    "quantile": {"loss": "quantile", "quantile": 0.8}}

CASES = [
    # hidden sizes, n_samples, n_timesteps, n_features, options
    ((8,), 1, 1, 3, {}),
    ((8,), 5, 12, 3, {}),
    ((6, 5), 40, 7, 4, {}),
    ((4, 7, 3), 17, 3, 2, {}),
    ((6, 5), 21, 6, 3, {"bidirectional": True}),
    ((5,), 9, 5, 3, {"bidirectional": True, "dense_layer_sizes": (4, 3),
                     "activation": "tanh"}),
    ((4, 3), 8, 6, 2, {"per_step": True}),
    ((4, 3), 8, 6, 2, {"per_step": True, "bidirectional": True,
                       "dense_layer_sizes": (5,)}),
    ((6,), 12, 5, 1, {"embedding": True}),
    ((5, 4), 12, 5, 1, {"embedding": True, "bidirectional": True, "per_step": True}),
]


@pytest.mark.parametrize("dtype, rtol, atol", [
    ("float64", 1e-6, 1e-10), ("float32", 1e-4, 1e-5)])
@pytest.mark.parametrize("kind", [*REGRESSION_KINDS, "binary", "multiclass"])
@pytest.mark.parametrize("hidden_sizes, n_samples, n_timesteps, n_features, options",
                         CASES)
def test_outputs_and_gradients_equal_torch(hidden_sizes, n_samples, n_timesteps,
                                           n_features, options, kind, dtype, rtol, atol):
    rng = np.random.RandomState(n_samples + len(hidden_sizes))
    options = dict(options)
    estimator, X, y = _fitted(kind, n_samples, n_timesteps, n_features, dtype,
                              options.pop("per_step", False),
                              options.pop("embedding", False), rng,
                              hidden_layer_sizes=hidden_sizes, **options)
    torch_dtype = torch.float64 if dtype == "float64" else torch.float32
    model = _torch_twin(estimator, torch_dtype)

    data = estimator._check_X(X, reset=False)
    Y = estimator._encode_targets(y, reset=False, data=data)
    alpha = 0.05
    loss, grad = estimator._network.loss_gradient(estimator._params, data, Y, alpha=alpha)

    raw = model(torch.tensor(data.values.reshape(n_samples, n_timesteps, -1)))
    expected_loss = _torch_loss(estimator, raw, torch.tensor(Y), model, alpha, n_samples)
    expected_loss.backward()

    np.testing.assert_allclose(estimator._forward(X)[1],
                               raw.detach().numpy().reshape(-1, raw.shape[-1]),
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
    clf = LSTMClassifier((5, 4), bidirectional=True, random_state=0,
                         dtype="float64").partial_fit(X, y, classes=[0, 1, 2])
    model = _torch_twin(clf, torch.float64)
    expected = torch.softmax(model(torch.tensor(X)), dim=1).detach().numpy()
    np.testing.assert_allclose(clf.predict_proba(X), expected, rtol=1e-10)


def test_transform_gives_torch_final_states():
    rng = np.random.RandomState(2)
    X = rng.normal(size=(10, 7, 3))
    reg = LSTMRegressor((4, 5), bidirectional=True, random_state=0,
                        dtype="float64").partial_fit(X, rng.normal(size=10))
    model = _torch_twin(reg, torch.float64)
    x = torch.tensor(X)
    for lstm in model.lstm_layers:
        x, (h_n, _) = lstm(x)
    expected = torch.cat(list(h_n), dim=-1).detach().numpy()
    np.testing.assert_allclose(reg.transform(X), expected, rtol=1e-10)


def test_weights_from_torch_predict_as_torch():
    rng = np.random.RandomState(1)
    X = rng.normal(size=(12, 6, 3))
    reg = LSTMRegressor((4, 4), dense_layer_sizes=3, random_state=0, dtype="float64")
    reg.partial_fit(X, rng.normal(size=12))
    torch.manual_seed(0)
    model = TorchModel(3, (4, 4), 1, dense_sizes=(3,)).double()
    from_torch_state_dict(reg, model.state_dict())
    expected = model(torch.tensor(X)).detach().numpy().ravel()
    np.testing.assert_allclose(reg.predict(X), expected, rtol=1e-10)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_ragged_sequences_equal_torch_packed(bidirectional):
    """Final states and per-step outputs of sequences of different lengths
    equal those of nn.LSTM on a PackedSequence."""
    rng = np.random.RandomState(3)
    lengths = [7, 2, 11, 1, 5, 9, 3, 11, 4, 6, 8, 2, 10, 5, 7, 1, 3, 9, 6]
    sequences = [rng.normal(size=(t, 3)) for t in lengths]
    pack = torch.nn.utils.rnn
    padded = pack.pad_sequence([torch.tensor(s) for s in sequences], batch_first=True)
    packed = pack.pack_padded_sequence(padded, torch.tensor(lengths), batch_first=True,
                                       enforce_sorted=False)
    for per_step in (False, True):
        y = ([rng.normal(size=t) for t in lengths] if per_step
             else rng.normal(size=len(lengths)))
        reg = LSTMRegressor((5, 4), bidirectional=bidirectional, return_sequences=per_step,
                            random_state=0, dtype="float64").partial_fit(sequences, y)
        model = _torch_twin(reg, torch.float64)
        x = packed
        for lstm in model.lstm_layers:
            x, (h_n, _) = lstm(x)
        if per_step:
            steps, _ = pack.pad_packed_sequence(x, batch_first=True)
            out = model.output(steps).detach().numpy()[..., 0]
            expected = [out[i, :t] for i, t in enumerate(lengths)]
            features = [steps.detach().numpy()[i, :t] for i, t in enumerate(lengths)]
        else:
            final = torch.cat(list(h_n), dim=-1)
            expected = model.output(final).detach().numpy()[:, 0]
            features = final.detach().numpy()
        predicted, transformed = reg.predict(sequences), reg.transform(sequences)
        for ours, theirs in ([(p, e) for p, e in zip(predicted, expected)]
                             + [(f, g) for f, g in zip(transformed, features)]):
            np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def _docstring_blocks():
    """The literal blocks (after "::") of sklstm.interop's docstring, dedented."""
    import textwrap

    import sklstm.interop

    blocks = []
    for text in sklstm.interop.__doc__.split("::\n")[1:]:
        lines = text.splitlines()
        end = next((i for i, line in enumerate(lines) if line and not line.startswith(" ")),
                   len(lines))
        blocks.append(textwrap.dedent("\n".join(lines[:end])))
    return blocks


@pytest.mark.parametrize("kind, options", [
    ("regression", {"hidden_layer_sizes": (4, 3), "bidirectional": True,
                    "dense_layer_sizes": (5, 2), "activation": "tanh"}),
    ("regression", {"hidden_layer_sizes": 4, "dense_layer_sizes": 3,
                    "activation": "logistic", "return_sequences": True}),
    ("regression", {"hidden_layer_sizes": 3, "dense_layer_sizes": 3,
                    "activation": "identity", "embedding_dim": 2}),
    ("binary", {"hidden_layer_sizes": (5,), "dense_layer_sizes": 4}),
    ("multiclass", {"hidden_layer_sizes": (4, 4), "bidirectional": True,
                    "embedding_dim": 3, "return_sequences": True}),
])
def test_interop_docstring_module_predicts_as_sklstm(kind, options):
    """The PyTorch module of sklstm.interop's docstring, run as written,
    gives predict's (and predict_proba's) values."""
    class_code, usage_code = _docstring_blocks()
    namespace = {}
    exec(class_code, namespace)
    rng = np.random.RandomState(4)
    tokens = "embedding_dim" in options
    X = (rng.randint(0, VOCAB_SIZE, size=(15, 6)) if tokens
         else rng.normal(size=(15, 6, 3)))
    if tokens:
        X[0, 0] = VOCAB_SIZE - 1
    lead = (15, 6) if options.get("return_sequences") else (15,)
    if kind == "regression":
        estimator = LSTMRegressor(random_state=0, dtype="float64", **options)
        estimator.partial_fit(X, rng.normal(size=(*lead, 2)))
    else:
        classes = [0, 1] if kind == "binary" else [0, 1, 2]
        estimator = LSTMClassifier(random_state=0, dtype="float64", **options)
        estimator.partial_fit(X, rng.randint(0, len(classes), size=lead), classes=classes)
    net = estimator._network
    model = namespace["Model"](
        3, net.hidden_sizes, net.n_outputs, bidirectional=net.n_directions == 2,
        dense_sizes=net.dense_sizes, activation=estimator.activation,
        return_sequences=estimator.return_sequences,
        vocab_size=getattr(estimator, "vocabulary_size_", 0),
        embedding_dim=estimator.embedding_dim or 0).double()
    model.load_state_dict({name: torch.from_numpy(weights)
                           for name, weights in to_torch_state_dict(estimator).items()})
    with torch.no_grad():
        raw = model(torch.from_numpy(X)).numpy()
    if kind == "regression":
        np.testing.assert_allclose(raw, estimator.predict(X), rtol=1e-10, atol=1e-12)
    else:
        proba = estimator.predict_proba(X)
        expected = proba[..., 1:] if kind == "binary" else proba
        got = (torch.sigmoid(torch.from_numpy(raw)) if kind == "binary"
               else torch.softmax(torch.from_numpy(raw), -1)).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_interop_docstring_usage_runs_as_written():
    class_code, usage_code = _docstring_blocks()
    rng = np.random.RandomState(5)
    X = rng.normal(size=(10, 7, 3))
    estimator = LSTMClassifier(hidden_layer_sizes=(8, 4), bidirectional=True,
                               random_state=0).partial_fit(X, rng.randint(0, 2, 10),
                                                           classes=[0, 1])
    namespace = {"estimator": estimator, "X": X, "to_torch_state_dict": to_torch_state_dict}
    exec(class_code, namespace)
    exec(usage_code, namespace)
    np.testing.assert_allclose(namespace["proba"].numpy()[:, 0],
                               estimator.predict_proba(X)[:, 1], rtol=1e-5, atol=1e-6)
