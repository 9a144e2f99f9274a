"""The engine's threads: n_jobs, the thread-safe BLAS guard, the process-wide
thread budget and the adaptive serial/parallel choice (src_c/threads.h)."""

import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import ThreadpoolController, threadpool_limits

import sklstm
from sklstm import LSTMClassifier, LSTMRegressor
from sklstm import _engine
from sklstm._network import CHUNK_SIZE, _SingleThreadedBLAS, n_threads

needs_openmp = pytest.mark.skipif(not _engine.openmp_enabled(),
                                  reason="a serial build has one thread only")


def quiet_fit(estimator, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return estimator.fit(X, y)


def blas_threads():
    return [lib.num_threads for lib in ThreadpoolController().select(user_api="blas").lib_controllers]


@pytest.fixture
def thread_mode():
    """Set the engine's thread mode for one test."""
    previous = []

    def set_mode(name):
        previous.append(_engine.set_thread_mode(name))
    yield set_mode
    if previous:
        _engine.set_thread_mode(previous[0])


@pytest.fixture
def budget():
    """Set the engine's thread budget for one test."""
    saved = _engine.thread_budget()
    yield _engine.set_thread_budget
    _engine.set_thread_budget(saved)


@pytest.fixture(scope="module")
def data():
    # Large enough that minibatches of 4 chunks are above PARALLEL_MIN_FLOPS.
    rng = np.random.RandomState(0)
    X = rng.normal(size=(256, 20, 4)).astype(np.float32)
    return X, X[:, :, 0].mean(axis=1)


# -- n_jobs ---------------------------------------------------------------------

def test_n_jobs_follows_scikit_learns_convention():
    with threadpool_limits(limits=1, user_api="openmp"):
        assert n_threads() == n_threads(None) == n_threads(-1) == 1
        assert n_threads(-2) == 1
        assert n_threads(3) == (3 if _engine.openmp_enabled() else 1)
    if _engine.openmp_enabled():
        with threadpool_limits(limits=2, user_api="openmp"):
            limit = n_threads()
            assert 1 <= limit <= 2
            assert n_threads(-1) == limit
            assert n_threads(-2) == max(1, limit - 1)
    with pytest.raises(ValueError, match="n_jobs"):
        n_threads(0)


@pytest.mark.parametrize("Estimator", [LSTMRegressor, LSTMClassifier])
@pytest.mark.parametrize("n_jobs", [0, 1.5, "2"])
def test_invalid_n_jobs_is_rejected_by_fit(Estimator, n_jobs):
    X = np.zeros((4, 3, 1))
    y = np.array([0, 1, 0, 1])
    with pytest.raises(ValueError, match="n_jobs"):
        Estimator(4, n_jobs=n_jobs, max_iter=1).fit(X, y)


def test_n_jobs_is_documented_and_a_parameter():
    for Estimator in (LSTMRegressor, LSTMClassifier):
        assert Estimator().get_params()["n_jobs"] is None
        assert "n_jobs : int or None, default=None" in Estimator.__doc__


@needs_openmp
@pytest.mark.parametrize("mode", ["parallel", "adaptive", "serial"])
def test_weights_and_predictions_are_bit_identical_for_any_n_jobs(data, thread_mode, mode):
    """In each thread mode, and so for parallel minibatches too (the
    "parallel" mode runs them wherever the work is large enough)."""
    X, y = data
    thread_mode(mode)
    reference = quiet_fit(LSTMRegressor((32, 16), batch_size=4 * CHUNK_SIZE, max_iter=2,
                                        random_state=7, n_jobs=1), X, y)
    for n_jobs in (2, -1, 3):
        model = quiet_fit(clone(reference).set_params(n_jobs=n_jobs), X, y)
        assert np.array_equal(model._params, reference._params)
        assert model.loss_curve_ == reference.loss_curve_
        assert np.array_equal(model.predict(X), reference.predict(X))
    assert _engine.threads_in_use() == 0


@needs_openmp
def test_adaptive_parallel_and_serial_fits_agree(data, thread_mode):
    X, y = data
    fitted = []
    for mode in ("serial", "parallel", "adaptive"):
        thread_mode(mode)
        fitted.append(quiet_fit(LSTMClassifier(16, batch_size=8 * CHUNK_SIZE, max_iter=3,
                                               random_state=0, n_jobs=2), X, y > 0))
    for model in fitted[1:]:
        assert np.array_equal(model._params, fitted[0]._params)


# -- the BLAS guard -------------------------------------------------------------

def test_blas_guard_nests():
    with threadpool_limits(limits=2, user_api="blas"):
        original = blas_threads()
        with _SingleThreadedBLAS():
            assert set(blas_threads()) <= {1}
            with _SingleThreadedBLAS():
                assert set(blas_threads()) <= {1}
            assert set(blas_threads()) <= {1}
        assert blas_threads() == original


def test_blas_guard_restores_after_the_last_of_overlapping_threads():
    """A enters, B enters, A leaves (BLAS still single-threaded for B), B
    leaves: the counts A found are back. Without the shared count A restored
    them under B, and B then left BLAS at 1."""
    with threadpool_limits(limits=2, user_api="blas"):
        original = blas_threads()
        a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
        seen = {}

        def a():
            with _SingleThreadedBLAS():
                a_in.set()
                b_in.wait()
            a_out.set()

        def b():
            a_in.wait()
            with _SingleThreadedBLAS():
                b_in.set()
                a_out.wait()
                seen["inside B after A left"] = blas_threads()
        threads = [threading.Thread(target=a), threading.Thread(target=b)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert set(seen["inside B after A left"]) <= {1}
        assert blas_threads() == original


@pytest.mark.parametrize("n_jobs", [None, 1])
def test_concurrent_predictions_equal_sequential_ones(data, n_jobs):
    X, y = data
    model = quiet_fit(LSTMRegressor(16, max_iter=2, random_state=0, n_jobs=n_jobs), X, y)
    sequential = model.predict(X)
    with threadpool_limits(limits=2, user_api="blas"):
        original = blas_threads()
        n_workers, rounds = 4, 5
        barrier = threading.Barrier(n_workers)
        results, errors = [], []

        def predict():
            try:
                for _ in range(rounds):
                    barrier.wait()
                    results.append(model.predict(X))
            except Exception as error:  # pragma: no cover - reported below
                errors.append(error)
        threads = [threading.Thread(target=predict) for _ in range(n_workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors
        assert len(results) == n_workers * rounds
        for result in results:
            assert np.array_equal(result, sequential)
        assert blas_threads() == original
    assert _engine.threads_in_use() == 0


# -- the budget and the policy --------------------------------------------------

@needs_openmp
def test_a_budget_of_one_thread_gives_the_same_results(data, thread_mode, budget):
    X, y = data
    thread_mode("parallel")
    model = LSTMRegressor(16, batch_size=4 * CHUNK_SIZE, max_iter=2, random_state=3,
                          n_jobs=2)
    free = quiet_fit(clone(model), X, y)
    budget(1)
    assert _engine.thread_budget() == 1
    held = quiet_fit(clone(model), X, y)
    assert np.array_equal(free._params, held._params)
    assert _engine.threads_in_use() == 0


def test_thread_budget_defaults_to_the_cpus_the_process_may_use():
    assert 1 <= _engine.thread_budget() <= os.cpu_count()


def timed(policy, parallel, seconds_per_gflop, n=1):
    for _ in range(n):
        policy.record(parallel, 1e9, seconds_per_gflop)


def run_probes(policy, serial, parallel):
    """Feed the probes the policy asks for, until it has chosen."""
    for _ in range(8):
        kind = policy.parallel()
        timed(policy, kind, parallel if kind else serial)


def test_policy_probes_both_kinds_then_keeps_the_faster(thread_mode):
    thread_mode("adaptive")
    asked = []
    policy = _engine.ThreadPolicy()
    for _ in range(8):
        asked.append(policy.parallel())
        timed(policy, asked[-1], 1.0 if asked[-1] else 2.0)
    # Runs of two, the first of each untimed (it wakes or parks the threads).
    assert asked == [True, True, False, False] * 2
    assert policy.parallel()          # parallel twice as fast: kept

    policy = _engine.ThreadPolicy()
    run_probes(policy, serial=1.0, parallel=1.5)
    assert not policy.parallel()      # a busy machine: serial
    policy = _engine.ThreadPolicy()
    run_probes(policy, serial=1.0, parallel=0.95)
    assert not policy.parallel()      # within 10 %: one thread frees a core


def test_policy_probes_the_other_kind_again_and_follows_the_load(thread_mode):
    thread_mode("adaptive")
    policy = _engine.ThreadPolicy()
    run_probes(policy, serial=1.0, parallel=2.0)
    # 16 minibatches pass; the probe waits for 0.5 s as well, which a slow
    # machine may take: so ask until it comes (at most a few seconds).
    timed(policy, False, 1.0, n=16)
    deadline = 200
    while not policy.parallel() and deadline:
        timed(policy, False, 1.0)
        deadline -= 1
        threading.Event().wait(0.02)
    assert deadline, "the policy never probed parallel again"
    # The machine has become idle: parallel is now twice as fast.
    for _ in range(8):
        timed(policy, True, 0.5)
    assert policy.parallel()


def test_forced_modes_override_the_timings(thread_mode):
    policy = _engine.ThreadPolicy()
    run_probes(policy, serial=1.0, parallel=2.0)
    thread_mode("parallel")
    assert policy.parallel()
    thread_mode("serial")
    assert not policy.parallel()
    thread_mode("adaptive")
    assert not policy.parallel()
    with pytest.raises(ValueError):
        _engine.set_thread_mode("fastest")


def test_a_policy_copy_starts_afresh():
    import copy
    import pickle
    policy = _engine.ThreadPolicy()
    run_probes(policy, serial=1.0, parallel=2.0)
    for other in (copy.deepcopy(policy), pickle.loads(pickle.dumps(policy))):
        assert isinstance(other, _engine.ThreadPolicy)


# -- the OpenMP wait policy -----------------------------------------------------

@pytest.mark.parametrize("name, user_value", [(None, None), ("OMP_WAIT_POLICY", "ACTIVE"),
                                              ("GOMP_SPINCOUNT", "100")])
def test_the_engine_import_leaves_the_environment_as_it_was(name, user_value):
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY",
                                                             "GOMP_SPINCOUNT")}
    if user_value:
        env[name] = user_value
    code = ("import os, sklstm; print(os.environ.get('OMP_WAIT_POLICY'), "
            "os.environ.get('GOMP_SPINCOUNT'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True,
                         cwd=os.path.dirname(os.path.dirname(sklstm.__file__))).stdout
    expected = {"OMP_WAIT_POLICY": "None", "GOMP_SPINCOUNT": "None"}
    if name:
        expected[name] = user_value
    assert out.split() == [expected["OMP_WAIT_POLICY"], expected["GOMP_SPINCOUNT"]]
