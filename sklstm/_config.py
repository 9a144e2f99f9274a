"""What the installed engine was built with and runs on."""

import os
import warnings

from threadpoolctl import threadpool_info

from . import _engine
from ._network import n_threads


def show_config(file=None):
    """Print how sklstm was built and what it runs on.

    Reports whether the engine was compiled with OpenMP, the number of threads
    it uses by default now (``OMP_NUM_THREADS`` and threadpoolctl set it, at
    most the CPUs the process may use; the estimators' ``n_jobs`` overrides
    it), the instruction set of its own kernels (the best this CPU runs, of
    AVX-512, AVX2 with FMA and portable C; the environment variable
    ``SKLSTM_ISA`` forces one), and the BLAS library behind scipy's
    ``cython_blas`` that runs its weight products.

    Parameters
    ----------
    file : file-like, default=None
        Where to print; standard output when None.

    Returns
    -------
    config : dict
        The same facts: ``"openmp"`` (bool), ``"n_threads"`` (int), ``"isa"``
        (``"avx512"``, ``"avx2"`` or ``"portable"``), ``"isa_supported"`` (the
        best this CPU runs) and ``"blas"`` (list of dicts from threadpoolctl).

    Examples
    --------
    >>> import io, sklstm
    >>> config = sklstm.show_config(file=io.StringIO())
    >>> sorted(config)
    ['blas', 'isa', 'isa_supported', 'n_threads', 'openmp']
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
        "isa": _engine.isa(),
        "isa_supported": _engine.isa_supported(),
        "blas": blas,
    }
    forced = (f" (forced; this CPU runs {config['isa_supported']})"
              if config["isa"] != config["isa_supported"] else "")
    lines = [
        f"sklstm engine: OpenMP {'on' if config['openmp'] else 'off (serial build)'}, "
        f"{config['n_threads']} thread(s)",
        f"kernels: {config['isa']}{forced}",
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


def _check_forced_isa():
    """Warn when SKLSTM_ISA names no instruction set or one this CPU lacks:
    the engine then runs the best path the CPU has."""
    forced = os.environ.get("SKLSTM_ISA")
    if not forced:
        return
    if forced not in _engine.ISA_NAMES:
        warnings.warn(f"SKLSTM_ISA={forced!r} is not one of "
                      f"{', '.join(_engine.ISA_NAMES)}; the kernels use "
                      f"{_engine.isa()}, the best this CPU runs", RuntimeWarning)
    elif _engine.isa() != forced:
        warnings.warn(f"SKLSTM_ISA={forced!r}: this CPU does not run it; the "
                      f"kernels use {_engine.isa()}", RuntimeWarning)
