"""Float64 finite-difference checks of every parameter's gradient."""

import numpy as np
import pytest

from sklstm._network import BINARY_LOG_LOSS, MULTI_LOG_LOSS, SQUARED_ERROR, Network


def _targets(loss, n, n_outputs, rng):
    if loss == SQUARED_ERROR:
        return rng.normal(size=(n, n_outputs))
    if loss == BINARY_LOG_LOSS:
        return rng.randint(0, 2, size=(n, n_outputs)).astype(np.float64)
    return np.eye(n_outputs)[rng.randint(0, n_outputs, size=n)]


def numerical_gradient(network, params, X, Y, alpha, eps=1e-6):
    grad = np.empty_like(params)
    for i in range(params.size):
        shifted = params.copy()
        shifted[i] += eps
        loss_plus, _ = network.loss_gradient(shifted, X, Y, alpha)
        shifted[i] -= 2 * eps
        loss_minus, _ = network.loss_gradient(shifted, X, Y, alpha)
        grad[i] = (loss_plus - loss_minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("hidden_sizes", [(5,), (4, 6), (3, 5, 2)])
@pytest.mark.parametrize("loss, n_outputs", [
    (SQUARED_ERROR, 1), (SQUARED_ERROR, 3), (BINARY_LOG_LOSS, 1), (MULTI_LOG_LOSS, 4),
])
@pytest.mark.parametrize("n_samples, n_timesteps", [(1, 1), (3, 6), (37, 4)])
def test_gradient_matches_finite_differences(hidden_sizes, loss, n_outputs,
                                             n_samples, n_timesteps):
    rng = np.random.RandomState(len(hidden_sizes) * 100 + n_samples + loss)
    network = Network(3, hidden_sizes, n_outputs, loss)
    params = network.init_params(rng, np.float64)
    # Perturb away from the initial biases so that every gate is exercised.
    params += rng.normal(scale=0.2, size=params.shape)
    X = rng.normal(size=(n_samples, n_timesteps, 3))
    Y = _targets(loss, n_samples, n_outputs, rng)
    alpha = 0.3

    _, grad = network.loss_gradient(params, X, Y, alpha)
    expected = numerical_gradient(network, params, X, Y, alpha)

    relative_error = np.linalg.norm(grad - expected) / np.linalg.norm(expected)
    assert relative_error <= 1e-6
    # Every parameter has its own check: no block of the gradient may be off
    # by more than the finite-difference noise.
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-8)
