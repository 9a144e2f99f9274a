"""Accuracy of the element-wise kernels' activations, against float64."""

import numpy as np
import pytest
from scipy.special import expit

from sklstm import _engine
from sklstm._network import ACTIVATIONS

FLOAT32_EPS = float(np.finfo(np.float32).eps)


def kernel(name, x):
    out = x.copy()
    _engine.activate(ACTIVATIONS[name], out)
    return out


@pytest.mark.parametrize("name, reference", [("tanh", np.tanh), ("logistic", expit)])
def test_float32_activations_are_a_few_ulp_from_float64(name, reference):
    x = np.linspace(-30, 30, 2_000_001, dtype=np.float32)
    x = np.concatenate([x, np.float32([0, -0.0, 1e-30, -1e-30, 1e-5, 3.9e-4, 4.1e-4,
                                       7.9, 7.91, 88, -88, 1e30, -1e30])])
    expected = reference(x.astype(np.float64))
    got = kernel(name, x).astype(np.float64)
    # Relative error where the result is a normal float32; below that (a
    # logistic of inputs under -87, a closed gate) the absolute error stays
    # under the smallest normal float32.
    tiny = float(np.finfo(np.float32).tiny)
    normal = np.abs(expected) >= tiny
    relative = np.abs(got - expected)[normal] / np.abs(expected)[normal]
    # float32 tanh is a rational approximation and exp Cephes' polynomial
    # (src_c/kernels.c): measured 3.3 ulp at worst.
    assert relative.max() <= 4 * FLOAT32_EPS
    assert np.abs(got - expected)[~normal].max(initial=0) <= tiny
    assert np.all(np.abs(got) <= 1)


def test_float64_activations_match_numpy():
    """float64 tanh and the logistic are Cephes' (vectorizable), within a few
    ulp of numpy's libm-based ones; tests/test_kernels_isa.py bounds the ulp."""
    x = np.linspace(-20, 20, 100_001)
    np.testing.assert_allclose(kernel("tanh", x), np.tanh(x), rtol=1e-15, atol=0)
    np.testing.assert_allclose(kernel("logistic", x), expit(x), rtol=1e-14, atol=1e-300)


def test_activations_keep_odd_symmetry_and_saturate():
    x = np.float32([1e-3, 0.5, 3.0, 7.0, 9.0, 50.0])
    np.testing.assert_array_equal(kernel("tanh", -x), -kernel("tanh", x))
    assert kernel("tanh", np.float32([50.0]))[0] == pytest.approx(1.0, abs=FLOAT32_EPS)
    assert np.all(np.isfinite(kernel("logistic", np.float32([-1e30, 1e30]))))
