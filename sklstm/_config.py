"""What the installed engine was built with and runs on."""

import os

from threadpoolctl import threadpool_info

from . import _engine
from ._network import n_threads


def show_config(file=None):
    """Print how sklstm was built and what it runs on.

    Reports whether the engine was compiled with OpenMP, the number of threads
    it uses by default now (``OMP_NUM_THREADS`` and threadpoolctl set it, at
    most the CPUs the process may use; the estimators' ``n_jobs`` overrides
    it), and the BLAS library behind scipy's ``cython_blas`` that runs its
    matrix products.

    Parameters
    ----------
    file : file-like, default=None
        Where to print; standard output when None.

    Returns
    -------
    config : dict
        The same facts: ``"openmp"`` (bool), ``"n_threads"`` (int) and
        ``"blas"`` (list of dicts from threadpoolctl).

    Examples
    --------
    >>> import io, sklstm
    >>> config = sklstm.show_config(file=io.StringIO())
    >>> sorted(config)
    ['blas', 'n_threads', 'openmp']
    """
    blas = [
        {key: lib.get(key) for key in ("internal_api", "version", "num_threads",
                                       "threading_layer", "filepath")}
        for lib in threadpool_info() if lib.get("user_api") == "blas"
    ]
    # Wheels of numpy ship a BLAS of their own; the engine calls scipy's.
    scipy_blas = [lib for lib in blas if _is_scipy_library(lib["filepath"])]
    blas = scipy_blas or blas
    config = {
        "openmp": _engine.openmp_enabled(),
        "n_threads": n_threads(),
        "blas": blas,
    }
    lines = [
        f"sklstm engine: OpenMP {'on' if config['openmp'] else 'off (serial build)'}, "
        f"{config['n_threads']} thread(s)",
    ]
    for lib in blas:
        lines.append(f"BLAS: {lib['internal_api']} {lib['version']} "
                     f"({lib['threading_layer']}) at {lib['filepath']}")
    if not blas:
        lines.append("BLAS: scipy's, not loaded yet")
    print("\n".join(lines), file=file)
    return config


def _is_scipy_library(path):
    return os.path.basename(os.path.dirname(path or "")).startswith("scipy")
