"""The element-wise kernels on every instruction-set path the CPU runs.

src_c/kernels.c compiles the cell, activation and optimizer kernels once per
path (AVX-512, AVX2+FMA, portable) from the same C with no contracted
multiply-add, so each path must give the portable path's bits; and each must
match a float64 numpy reference of the formulas. The exception is the float
standard cell's forward (sigmoid gates, tanh cell), written with explicit
multiply-adds: fused on the AVX2 and AVX-512 paths, which must agree bit for
bit, a multiply and an add on the portable path, a few roundings away.
"""

import warnings

import numpy as np
import pytest
from scipy.special import expit

from sklstm import LSTMClassifier, LSTMRegressor, _engine
from sklstm._network import ACTIVATIONS, GATE_ACTIVATIONS

# The paths this CPU runs, as the `isa` fixture of conftest.py.
PATHS = _engine.ISA_NAMES[:_engine.ISA_NAMES.index(_engine.isa_supported()) + 1]
DTYPES = (np.float32, np.float64)
# Tolerances against the float64 reference: a few rounding steps of each type
# (float32 tanh and exp are few-ulp approximations, tests/test_kernels.py).
RTOL = {np.float32: 2e-5, np.float64: 1e-12}


def on_path(name, function, *args):
    """function(*args) with the kernels of path `name`, then the previous path."""
    previous = _engine.isa()
    _engine.set_isa(name)
    try:
        return function(*args)
    finally:
        _engine.set_isa(previous)


# float64 references of the kernels' formulas (src_c/kernels_template.h).

def gate_ref(name, x):
    return expit(x) if name == "sigmoid" else np.clip(x / 6 + 0.5, 0, 1)


def gate_slope_ref(name, y):
    return y * (1 - y) if name == "sigmoid" else np.where((y > 0) & (y < 1), 1 / 6, 0.0)


def act_ref(name, x):
    return {"tanh": np.tanh, "relu": lambda v: np.maximum(v, 0), "identity": lambda v: v,
            "logistic": expit}[name](x)


def act_slope_ref(name, y):
    return {"tanh": 1 - y * y, "relu": (y > 0).astype(float), "identity": np.ones_like(y),
            "logistic": y * (1 - y)}[name]


def forward_ref(z, bias, peephole, c_prev, gate, cell):
    H = bias.size // 4
    z = z + bias
    zi, zf, zg, zo = (z[:, k * H:(k + 1) * H] for k in range(4))
    if peephole is not None:
        zi = zi + peephole[:H] * c_prev
        zf = zf + peephole[H:2 * H] * c_prev
    i, f, g = gate_ref(gate, zi), gate_ref(gate, zf), act_ref(cell, zg)
    c = f * c_prev + i * g
    if peephole is not None:
        zo = zo + peephole[2 * H:] * c
    o = gate_ref(gate, zo)
    ac = act_ref(cell, c)
    return np.hstack([i, f, g, o]), c, ac, o * ac


def backward_ref(gates, peephole, c_prev, c, ac, dh, dc, gate, cell):
    H = c.shape[1]
    i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
    dzo = dh * ac * gate_slope_ref(gate, o)
    dct = dc + dh * o * act_slope_ref(cell, ac)
    if peephole is not None:
        dct = dct + dzo * peephole[2 * H:]
    dzi = dct * g * gate_slope_ref(gate, i)
    dzf = dct * c_prev * gate_slope_ref(gate, f)
    dzg = dct * i * act_slope_ref(cell, g)
    dcp = dct * f
    dpeep = None
    if peephole is not None:
        dcp = dcp + dzi * peephole[:H] + dzf * peephole[H:2 * H]
        dpeep = np.concatenate([(dzi * c_prev).sum(0), (dzf * c_prev).sum(0),
                                (dzo * c).sum(0)])
    dz = np.hstack([dzi, dzf, dzg, dzo])
    return dz, dcp, dz.sum(0), dpeep


class Cell:
    """Random inputs of one cell step, and the kernels run on them."""

    def __init__(self, dtype, batch, hidden, peephole, first, gate, cell, seed=0):
        rng = np.random.default_rng(seed)
        H, self.dtype, self.H, self.B = hidden, dtype, hidden, batch
        self.gate, self.cell = gate, cell
        self.codes = GATE_ACTIVATIONS[gate], ACTIVATIONS[cell]
        self.z = (rng.standard_normal((batch, 4 * H)) * 3).astype(dtype)
        self.bias = rng.standard_normal(4 * H).astype(dtype)
        self.peephole = rng.standard_normal(3 * H).astype(dtype) if peephole else None
        self.c_prev = None if first else (rng.standard_normal((batch, H)) * 2).astype(dtype)
        # h rows are ldh apart, as in the engine's bidirectional outputs.
        self.ldh = H + 3
        self.dh = rng.standard_normal((batch, self.ldh)).astype(dtype)
        self.dc = rng.standard_normal((batch, H)).astype(dtype)
        self.dbias0 = rng.standard_normal(4 * H).astype(dtype)
        self.dpeep0 = rng.standard_normal(3 * H).astype(dtype) if peephole else None

    def flat(self, a):
        return None if a is None else np.ascontiguousarray(a, dtype=self.dtype).ravel()

    def forward(self):
        B, H = self.B, self.H
        gates = self.flat(self.z).copy()
        c, ac = np.zeros(B * H, self.dtype), np.zeros(B * H, self.dtype)
        h = np.full(B * self.ldh, -7, self.dtype)
        _engine.cell_forward(H, self.bias, self.flat(self.peephole), self.flat(self.c_prev),
                             gates, c, ac, h, self.ldh, *self.codes)
        h = h.reshape(B, self.ldh)
        assert np.all(h[:, H:] == -7), "h wrote outside its columns"
        return gates.reshape(B, 4 * H), c.reshape(B, H), ac.reshape(B, H), h[:, :H].copy()

    def backward(self, gates, c, ac):
        B, H = self.B, self.H
        dz = self.flat(gates).copy()
        dc = self.flat(self.dc).copy()
        dbias = self.dbias0.copy()
        dpeep = None if self.dpeep0 is None else self.dpeep0.copy()
        _engine.cell_backward(H, dz, self.flat(self.peephole), self.flat(self.c_prev),
                              self.flat(c), self.flat(ac), self.flat(self.dh), self.ldh, dc,
                              dbias, dpeep, *self.codes)
        return dz.reshape(B, 4 * H), dc.reshape(B, H), dbias, dpeep

    def run(self):
        gates, c, ac, h = self.forward()
        return (gates, c, ac, h) + self.backward(gates, c, ac)


CELLS = [  # (gate, cell, peephole): the standard cell's four specializations and others
    ("sigmoid", "tanh", False), ("sigmoid", "tanh", True),
    ("hard_sigmoid", "tanh", False), ("sigmoid", "relu", True),
    ("hard_sigmoid", "logistic", True), ("sigmoid", "identity", False),
]
SIZES = [(1, 1), (15, 7), (16, 32), (17, 33)]  # (rows, hidden): odd sizes and vector tails


def fused(dtype, gate, cell):
    """Whether the cell forward runs the float standard cell's fused code."""
    return dtype == np.float32 and (gate, cell) == ("sigmoid", "tanh")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gate, cell, peephole", CELLS)
@pytest.mark.parametrize("first", [False, True], ids=["c_prev", "first_step"])
@pytest.mark.parametrize("batch, hidden", SIZES)
def test_cell_matches_the_portable_path_and_the_reference(isa, dtype, gate, cell, peephole,
                                                          first, batch, hidden):
    cell_ = Cell(dtype, batch, hidden, peephole, first, gate, cell)
    got = cell_.run()
    if fused(dtype, gate, cell):
        if isa != "portable":
            for a, b in zip(got, on_path("avx2", cell_.run)):
                if a is not None:
                    np.testing.assert_array_equal(a, b)
        # The forward's outputs, and the backward run on them, a few float
        # roundings apart on the scale of each output (measured on these
        # inputs and others: at most 5 eps; near-zero values such as a cell
        # state from cancelling terms differ by more ulp of their own).
        eps = np.finfo(dtype).eps
        for a, b in zip(got, on_path("portable", cell_.run)):
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=0, atol=16 * eps * (1 + np.abs(b).max()))
    else:
        for a, b in zip(got, on_path("portable", cell_.run)):
            if a is not None:
                np.testing.assert_array_equal(a, b)

    gates, c, ac, h, dz, dc, dbias, dpeep = got
    f64 = np.float64
    c_prev = np.zeros((batch, hidden)) if cell_.c_prev is None else cell_.c_prev.astype(f64)
    peep = None if cell_.peephole is None else cell_.peephole.astype(f64)
    ref = forward_ref(cell_.z.astype(f64), cell_.bias.astype(f64), peep, c_prev, gate, cell)
    rtol = RTOL[dtype]
    for a, b in zip((gates, c, ac, h), ref):
        np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol)
    # The backward from the kernel's own forward (a hard sigmoid's slope
    # jumps at its corners, so a reference forward could pick the other side).
    ref = backward_ref(gates.astype(f64), peep, c_prev, c.astype(f64), ac.astype(f64),
                       cell_.dh[:, :hidden].astype(f64), cell_.dc.astype(f64), gate, cell)
    scale = 1 + np.abs(ref[0]).max()
    np.testing.assert_allclose(dz, ref[0], rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(dc, ref[1], rtol=rtol, atol=rtol * scale)
    np.testing.assert_allclose(dbias, cell_.dbias0 + ref[2], rtol=rtol,
                               atol=rtol * scale * batch)
    if peephole:
        np.testing.assert_allclose(dpeep, cell_.dpeep0 + ref[3], rtol=rtol,
                                   atol=rtol * scale * batch * 4)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("gate, cell, peephole", CELLS[:3])
def test_rows_accumulate_in_ascending_order(isa, dtype, gate, cell, peephole):
    # dbias and dpeephole of 17 rows at once are those of the rows one at a
    # time, in order: the same bits, so a row's contribution does not depend
    # on the batch it is in.
    whole = Cell(dtype, 17, 33, peephole, False, gate, cell, seed=3)
    gates, c, ac, _ = whole.forward()
    _, _, dbias, dpeep = whole.backward(gates, c, ac)
    acc_bias = whole.dbias0.copy()
    acc_peep = None if whole.dpeep0 is None else whole.dpeep0.copy()
    for r in range(17):
        one = Cell(dtype, 1, 33, peephole, False, gate, cell, seed=3)
        for name in ("z", "c_prev", "dh", "dc"):
            setattr(one, name, getattr(whole, name)[r:r + 1].copy())
        one.bias, one.peephole = whole.bias, whole.peephole
        one.dbias0, one.dpeep0 = acc_bias, acc_peep
        g1, c1, ac1, _ = one.forward()
        np.testing.assert_array_equal(g1[0], gates[r])
        _, _, acc_bias, acc_peep = one.backward(g1, c1, ac1)
    np.testing.assert_array_equal(dbias, acc_bias)
    if peephole:
        np.testing.assert_array_equal(dpeep, acc_peep)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_activations_match_the_portable_path(isa, dtype, name):
    x = np.concatenate([np.linspace(-30, 30, 100_003), [0, -0.0, 1e-30, 88, -88, 1e30, -1e30]])
    x = x.astype(dtype)
    y = x.copy()
    _engine.activate(ACTIVATIONS[name], y)
    y_portable = x.copy()
    on_path("portable", _engine.activate, ACTIVATIONS[name], y_portable)
    np.testing.assert_array_equal(y, y_portable)
    with np.errstate(over="ignore"):
        np.testing.assert_allclose(y, act_ref(name, x.astype(np.float64)),
                                   rtol=RTOL[dtype], atol=1e-30)

    dy = np.linspace(-2, 2, x.size).astype(dtype)
    dy_portable = dy.copy()
    _engine.activation_backward(ACTIVATIONS[name], y, dy)
    on_path("portable", _engine.activation_backward, ACTIVATIONS[name], y, dy_portable)
    np.testing.assert_array_equal(dy, dy_portable)
    expected = np.linspace(-2, 2, x.size).astype(dtype) * act_slope_ref(name, y.astype(float))
    # A slope 1 - y^2 or y (1 - y) cancels near saturation: its error is
    # absolute, a few eps, times |dy| <= 2.
    np.testing.assert_allclose(dy, expected, rtol=RTOL[dtype], atol=2 * RTOL[dtype])


def optimizer_ref(solver, params, grad, s1, s2, lr, momentum, nesterov, beta_1, beta_2,
                  epsilon, rho, step):
    if solver == _engine.SGD:
        v = momentum * s1 - lr * grad
        return params + (momentum * v - lr * grad if nesterov else v), v, s2
    if solver == _engine.ADAM:
        m = beta_1 * s1 + (1 - beta_1) * grad
        v = beta_2 * s2 + (1 - beta_2) * grad ** 2
        lr_t = lr * np.sqrt(1 - beta_2 ** step) / (1 - beta_1 ** step)
        return params - lr_t * m / (np.sqrt(v) + epsilon), m, v
    v = rho * s1 + (1 - rho) * grad ** 2
    return params - lr * grad / (np.sqrt(v) + epsilon), v, s2


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver, nesterov", [(_engine.SGD, False), (_engine.SGD, True),
                                              (_engine.ADAM, False), (_engine.RMSPROP, False)])
@pytest.mark.parametrize("n", [1, 15, 16, 17, 1001])
def test_optimizers_match_the_portable_path_and_the_reference(isa, dtype, solver,
                                                              nesterov, n):
    rng = np.random.default_rng(n)
    params, grad = rng.standard_normal(n), rng.standard_normal(n)
    s1, s2 = rng.standard_normal(n) * 0.1, rng.random(n) * 0.01
    if solver == _engine.RMSPROP:
        s1 = np.abs(s1)
    hyper = dict(learning_rate=0.01, momentum=0.9, nesterov=nesterov, beta_1=0.9,
                 beta_2=0.999, epsilon=1e-8, rho=0.9, step=7)

    def run():
        state = [a.astype(dtype) for a in (params, grad, s1, s2)]
        _engine.optimizer_update(solver, *state, **hyper)
        return state[0], state[2], state[3]

    got = run()
    for a, b in zip(got, on_path("portable", run)):
        np.testing.assert_array_equal(a, b)
    ref = optimizer_ref(solver, *(a.astype(dtype).astype(np.float64)
                                  for a in (params, grad, s1, s2)), 0.01, 0.9, nesterov,
                        0.9, 0.999, 1e-8, 0.9, 7)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a, b, rtol=RTOL[dtype] * 10, atol=RTOL[dtype] * 10)


FITS = [
    (LSTMRegressor, dict(hidden_layer_sizes=12)),
    (LSTMRegressor, dict(hidden_layer_sizes=(9, 5), peephole=True, bidirectional=True,
                         dense_layer_sizes=4, activation="tanh", solver="rmsprop")),
    (LSTMClassifier, dict(hidden_layer_sizes=7, recurrent_activation="hard_sigmoid",
                          cell_activation="relu", solver="sgd", dropout=0.2)),
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("Estimator, params", FITS)
def test_fit_on_each_path(isa, dtype, Estimator, params):
    """The element-wise kernels give the portable path's bits on every path;
    the packed matrix products fuse each multiply-add on the AVX2 and AVX-512
    paths, which agree bit for bit, and round twice on the portable path. So a
    fit gives the AVX2 path's exact weights and predictions on AVX-512, and
    the portable path's to rounding."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 9, 3)).astype(dtype)
    y = X[:, -3:, 0].sum(1) > 0 if Estimator is LSTMClassifier else X[:, :, 1].mean(1)

    def fit():
        model = Estimator(max_iter=4, batch_size=16, random_state=0,
                          dtype=np.dtype(dtype).name, **params)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        return model.coefs_, model.predict(X)

    coefs, pred = fit()
    if isa != "portable":
        coefs_fma, pred_fma = on_path("avx2", fit)
        for a, b in zip(coefs, coefs_fma):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(pred, pred_fma)
    coefs_p, pred_p = on_path("portable", fit)
    assert len(coefs) == len(coefs_p)
    for a, b in zip(coefs, coefs_p):
        np.testing.assert_allclose(a, b, rtol=0, atol=RTOL[dtype] * 100)
    if Estimator is LSTMClassifier:
        # Labels flip only where a probability sits at the threshold.
        assert np.mean(pred == pred_p) >= 0.95
    else:
        np.testing.assert_allclose(pred, pred_p, rtol=0, atol=RTOL[dtype] * 100)


def test_every_path_can_be_forced_and_restored():
    previous = _engine.isa()
    try:
        for name in PATHS:
            assert _engine.set_isa(name) == name
            assert _engine.isa() == name
    finally:
        _engine.set_isa(previous)
    assert _engine.isa() == previous


def ulp_error(got, reference):
    """|got - reference| in units of the last place of the float64 reference
    (reference in long double)."""
    ulp = np.spacing(np.abs(reference.astype(np.float64)))
    return (np.abs(got.astype(np.longdouble) - reference) / ulp).astype(np.float64)


@pytest.mark.skipif(np.finfo(np.longdouble).nmant < 60,
                    reason="needs a long double more precise than double")
@pytest.mark.parametrize("name, bound", [("tanh", 1.5), ("logistic", 2.5), ("exp", 1.75)])
def test_float64_exp_and_tanh_are_within_2_ulp(isa, name, bound):
    # float64 exp and tanh are Cephes' (src_c/kernels.c), inlined so that the
    # cell loops vectorize; against long double (64-bit mantissa): measured
    # 1.36 ulp for tanh, 1.65 for exp and 2.44 for the logistic (2.03 with
    # libm's exp in the same formula, whose two roundings add to exp's).
    # The logistic is exp(x) exactly below -37.5 (1 + exp(x) rounds to 1),
    # which measures exp itself.
    rng = np.random.default_rng(0)
    if name == "exp":
        x = np.concatenate([np.linspace(-708, -37.5, 1_000_001), rng.uniform(-708, -37.5, 10**6)])
        code, reference = ACTIVATIONS["logistic"], np.exp
    else:
        x = np.concatenate([np.linspace(-25, 25, 1_000_001), rng.uniform(-1, 1, 10**6),
                            10.0 ** rng.uniform(-300, 1.3, 10**5) * rng.choice([-1, 1], 10**5)])
        code = ACTIVATIONS[name]
        reference = np.tanh if name == "tanh" else (lambda v: 1 / (1 + np.exp(-v)))
    got = x.copy()
    _engine.activate(code, got)
    error = ulp_error(got, reference(x.astype(np.longdouble)))
    assert error.max() <= bound
    # Well under one ulp on average: not a biased approximation.
    assert error.mean() < 0.45


def test_float64_tanh_is_odd_and_saturates(isa):
    x = np.concatenate([np.geomspace(1e-310, 30, 10_001), [0.625, 22, 1e300, np.inf]])
    y, y_neg = x.copy(), -x
    _engine.activate(ACTIVATIONS["tanh"], y)
    _engine.activate(ACTIVATIONS["tanh"], y_neg)
    np.testing.assert_array_equal(y_neg, -y)
    assert np.all(y[x >= 19.1] == 1) and np.all(np.abs(y) <= 1)
    zeros = np.array([0.0, -0.0])
    _engine.activate(ACTIVATIONS["tanh"], zeros)
    assert list(np.signbit(zeros)) == [False, True]
    special = np.array([np.nan, -np.inf])
    _engine.activate(ACTIVATIONS["tanh"], special)
    assert np.isnan(special[0]) and special[1] == -1
