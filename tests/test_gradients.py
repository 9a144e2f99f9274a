"""Float64 finite-difference checks of every parameter's gradient, for every
combination of the architecture options."""

import itertools

import numpy as np
import pytest

from sklstm._network import (
    ABSOLUTE_ERROR,
    BINARY_LOG_LOSS,
    HUBER,
    MULTI_LOG_LOSS,
    QUANTILE,
    SQUARED_ERROR,
    Network,
)
from sklstm._validation import SequenceData

VOCAB_SIZE = 7


def _targets(loss, shape, rng):
    *lead, n_outputs = shape
    if loss in (SQUARED_ERROR, ABSOLUTE_ERROR, HUBER, QUANTILE):
        return rng.normal(size=shape)
    if loss == BINARY_LOG_LOSS:
        return rng.randint(0, 2, size=shape).astype(np.float64)
    return np.eye(n_outputs)[rng.randint(0, n_outputs, size=lead)]


def numerical_gradient(network, params, X, Y, eps=1e-6, **kwargs):
    grad = np.empty_like(params)
    for i in range(params.size):
        shifted = params.copy()
        shifted[i] += eps
        loss_plus, _ = network.loss_gradient(shifted, X, Y, **kwargs)
        shifted[i] -= 2 * eps
        loss_minus, _ = network.loss_gradient(shifted, X, Y, **kwargs)
        grad[i] = (loss_plus - loss_minus) / (2 * eps)
    return grad


def check_gradient(network, X, Y, init_seed, **kwargs):
    rng = np.random.RandomState(init_seed)
    params = network.init_params(rng, np.float64)
    # Move away from the structured initial values (zero biases and
    # peepholes) so that every term of the gradient is exercised.
    params += rng.normal(scale=0.3, size=params.shape)
    _, grad = network.loss_gradient(params, X, Y, **kwargs)
    expected = numerical_gradient(network, params, X, Y, **kwargs)
    relative_error = np.linalg.norm(grad - expected) / np.linalg.norm(expected)
    assert relative_error <= 1e-6
    # Every parameter has its own check, not just the norm.
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-8)


def make_problem(seed, n_samples, n_timesteps, loss=SQUARED_ERROR, n_outputs=2,
                 embedding=False, per_step=False, **options):
    rng = np.random.RandomState(seed)
    if embedding:
        X = rng.randint(0, VOCAB_SIZE, size=(n_samples, n_timesteps, 1)).astype(float)
        network = Network(1, options.pop("hidden_sizes", (3,)), n_outputs, loss,
                          vocab_size=VOCAB_SIZE, embedding_dim=2, per_step=per_step,
                          **options)
    else:
        X = rng.normal(size=(n_samples, n_timesteps, 3))
        network = Network(3, options.pop("hidden_sizes", (3,)), n_outputs, loss,
                          per_step=per_step, **options)
    shape = (n_samples, n_timesteps, n_outputs) if per_step else (n_samples, n_outputs)
    return network, SequenceData.from_array(X), _targets(loss, shape, rng)


ARCHITECTURES = list(itertools.product(
    [False, True],          # bidirectional
    [False, True],          # peephole
    [(3,), (3, 2)],         # stacked
    [(), (4,)],             # dense head
    [False, True],          # per-timestep output
    [False, True],          # embedding
))


@pytest.mark.parametrize(
    "bidirectional, peephole, hidden_sizes, dense_sizes, per_step, embedding",
    ARCHITECTURES)
def test_every_architecture(bidirectional, peephole, hidden_sizes, dense_sizes,
                            per_step, embedding):
    seed = ARCHITECTURES.index((bidirectional, peephole, hidden_sizes, dense_sizes,
                                per_step, embedding))
    network, X, Y = make_problem(
        seed, n_samples=5, n_timesteps=4, embedding=embedding, per_step=per_step,
        bidirectional=bidirectional, peephole=peephole, hidden_sizes=hidden_sizes,
        dense_sizes=dense_sizes, dense_activation="tanh")
    check_gradient(network, X, Y, seed, alpha=0.3)


@pytest.mark.parametrize("hidden_sizes", [(5,), (4, 6), (3, 5, 2)])
@pytest.mark.parametrize("loss, n_outputs", [
    (SQUARED_ERROR, 1), (SQUARED_ERROR, 3), (BINARY_LOG_LOSS, 1), (BINARY_LOG_LOSS, 2),
    (MULTI_LOG_LOSS, 4),
])
@pytest.mark.parametrize("n_samples, n_timesteps", [(1, 1), (3, 6), (37, 4)])
def test_losses_layers_and_chunks(hidden_sizes, loss, n_outputs, n_samples, n_timesteps):
    # 37 sequences make three chunks, summed by the engine's reduction.
    network, X, Y = make_problem(n_samples + loss, n_samples, n_timesteps, loss=loss,
                                 n_outputs=n_outputs, hidden_sizes=hidden_sizes)
    check_gradient(network, X, Y, n_samples, alpha=0.3)


@pytest.mark.parametrize("loss, loss_param", [
    (ABSOLUTE_ERROR, 0.0), (HUBER, 0.6), (HUBER, 5.0), (QUANTILE, 0.1), (QUANTILE, 0.75)])
@pytest.mark.parametrize("options", [
    dict(hidden_sizes=(4, 3), n_outputs=3),
    dict(bidirectional=True, peephole=True, dense_sizes=(3,), n_outputs=2),
    dict(per_step=True, hidden_sizes=(4,), n_outputs=2),
])
def test_regression_losses(loss, loss_param, options):
    # Random targets and outputs: no error sits within the finite
    # difference's step of a kink. The Huber deltas put the errors on both
    # sides (0.6) and all on the quadratic one (5).
    network, X, Y = make_problem(loss, 23, 5, loss=loss, loss_param=loss_param, **options)
    weights = np.random.RandomState(loss).uniform(0, 2, size=Y.shape[:-1]).ravel()
    check_gradient(network, X, Y, loss, alpha=0.3, weights=weights)


@pytest.mark.parametrize("gate_activation", ["sigmoid", "hard_sigmoid"])
@pytest.mark.parametrize("cell_activation", ["tanh", "relu", "identity", "logistic"])
def test_activations(gate_activation, cell_activation):
    network, X, Y = make_problem(3, 6, 5, peephole=True, bidirectional=True,
                                 gate_activation=gate_activation,
                                 cell_activation=cell_activation,
                                 dense_sizes=(3,), dense_activation=cell_activation)
    check_gradient(network, X, Y, 3)


@pytest.mark.parametrize("per_step", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_dropout_with_fixed_masks(per_step, bidirectional):
    network, X, Y = make_problem(4, 20, 5, per_step=per_step, hidden_sizes=(4, 3),
                                 bidirectional=bidirectional, dense_sizes=(3,))
    check_gradient(network, X, Y, 4, dropout=0.3, recurrent_dropout=0.4, seed=11)


@pytest.mark.parametrize("per_step", [False, True])
def test_sample_weight(per_step):
    network, X, Y = make_problem(5, 19, 4, per_step=per_step, loss=MULTI_LOG_LOSS,
                                 n_outputs=3)
    # One weight per output row: per sample, or per sample and step.
    weights = np.random.RandomState(0).uniform(0, 2, size=(19, 4) if per_step else 19)
    check_gradient(network, X, Y, 5, weights=weights.ravel())


def test_sample_weight_is_a_weighted_mean():
    network, X, Y = make_problem(6, 8, 3)
    params = network.init_params(np.random.RandomState(0), np.float64)
    weights = np.array([3, 1, 0, 0, 2, 1, 1, 0], dtype=float)
    loss, grad = network.loss_gradient(params, X, Y, weights)
    repeated = np.repeat(np.arange(8), weights.astype(int))
    expected_loss, expected_grad = network.loss_gradient(params, X.take(repeated),
                                                         Y[repeated])
    np.testing.assert_allclose(loss, expected_loss, rtol=1e-12)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(network.loss(params, X, Y, weights), loss, rtol=1e-12)


def test_per_step_weights_mask_steps():
    """Zero weights on steps remove them from the loss (how padding is masked)."""
    network, X, Y = make_problem(9, 6, 5, per_step=True)
    params = network.init_params(np.random.RandomState(0), np.float64)
    weights = np.ones((6, 5))
    weights[:, 3:] = 0
    loss, _ = network.loss_gradient(params, X, Y, weights.ravel())
    Y_changed = Y.copy()
    Y_changed[:, 3:] += 100
    changed, _ = network.loss_gradient(params, X, Y_changed, weights.ravel())
    assert loss == changed


def test_clip_norm_rescales_the_gradient():
    network, X, Y = make_problem(7, 10, 6, hidden_sizes=(4,))
    params = network.init_params(np.random.RandomState(0), np.float64) * 5
    _, grad = network.loss_gradient(params, X, Y * 100)
    norm = np.linalg.norm(grad)
    _, clipped = network.loss_gradient(params, X, Y * 100, clip_norm=norm / 10)
    np.testing.assert_allclose(np.linalg.norm(clipped), norm / 10, rtol=1e-12)
    np.testing.assert_allclose(clipped, grad / 10, rtol=1e-12)
    _, unclipped = network.loss_gradient(params, X, Y * 100, clip_norm=norm * 2)
    np.testing.assert_array_equal(unclipped, grad)


def test_dropout_masks_depend_on_the_seed_only():
    network, X, Y = make_problem(8, 40, 5, hidden_sizes=(8, 8))
    params = network.init_params(np.random.RandomState(0), np.float64)
    options = dict(dropout=0.5, recurrent_dropout=0.5)
    a = network.loss_gradient(params, X, Y, seed=1, **options)[1]
    b = network.loss_gradient(params, X, Y, seed=1, **options)[1]
    c = network.loss_gradient(params, X, Y, seed=2, **options)[1]
    none = network.loss_gradient(params, X, Y)[1]
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a, none)


# -- sequences of different lengths --------------------------------------------

def ragged_problem(seed, lengths, per_step, loss=SQUARED_ERROR, n_outputs=2,
                   embedding=False, **options):
    rng = np.random.RandomState(seed)
    if embedding:
        sequences = [rng.randint(0, VOCAB_SIZE, size=(t, 1)).astype(float)
                     for t in lengths]
        network = Network(1, options.pop("hidden_sizes", (3,)), n_outputs, loss,
                          vocab_size=VOCAB_SIZE, embedding_dim=2, per_step=per_step,
                          **options)
    else:
        sequences = [rng.normal(size=(t, 3)) for t in lengths]
        network = Network(3, options.pop("hidden_sizes", (3,)), n_outputs, loss,
                          per_step=per_step, **options)
    data = SequenceData.from_list(sequences)
    rows = int(sum(lengths)) if per_step else len(lengths)
    return network, data, _targets(loss, (rows, n_outputs), rng)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("per_step", [False, True])
@pytest.mark.parametrize("embedding", [False, True])
def test_ragged_gradient(bidirectional, per_step, embedding):
    # 19 sequences of 1 to 9 steps make two chunks with different lengths.
    lengths = np.random.RandomState(0).randint(1, 10, size=19)
    network, data, Y = ragged_problem(1, lengths, per_step, embedding=embedding,
                                      bidirectional=bidirectional, peephole=True,
                                      hidden_sizes=(3, 2), dense_sizes=(2,))
    check_gradient(network, data, Y, 2, alpha=0.1, dropout=0.2,
                   recurrent_dropout=0.3, seed=5)


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("per_step", [False, True])
@pytest.mark.parametrize("loss, n_outputs", [(SQUARED_ERROR, 2), (MULTI_LOG_LOSS, 3)])
def test_ragged_batch_equals_each_sequence_alone(bidirectional, per_step, loss,
                                                 n_outputs):
    """Padding costs nothing and touches nothing: the batch's outputs and
    gradient are those of its sequences run one by one."""
    lengths = np.array([5, 50, 1, 17, 33, 5, 12, 49, 2, 8, 40, 3, 21, 30, 7, 16, 9, 44])
    network, data, Y = ragged_problem(3, lengths, per_step, loss=loss,
                                      n_outputs=n_outputs, bidirectional=bidirectional,
                                      hidden_sizes=(4, 3), dense_sizes=(3,))
    params = network.init_params(np.random.RandomState(0), np.float64)
    params += np.random.RandomState(1).normal(scale=0.3, size=params.shape)
    loss_value, grad = network.loss_gradient(params, data, Y)
    outputs = network.forward(params, data)

    expected_grad = np.zeros_like(grad)
    expected_loss = 0.0
    rows = data.split(Y) if per_step else Y
    out_rows = data.split(outputs) if per_step else outputs
    total = lengths.sum() if per_step else len(lengths)
    for i in range(len(lengths)):
        alone = data.take([i])
        y_alone = rows[i] if per_step else Y[i:i + 1]
        share = (lengths[i] if per_step else 1) / total
        single_loss, single_grad = network.loss_gradient(params, alone, y_alone)
        expected_loss += share * single_loss
        expected_grad += share * single_grad
        single_out = network.forward(params, alone)
        np.testing.assert_allclose(out_rows[i] if per_step else outputs[i:i + 1],
                                   single_out, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(loss_value, expected_loss, rtol=1e-10)
    np.testing.assert_allclose(grad, expected_grad, rtol=1e-10, atol=1e-13)
