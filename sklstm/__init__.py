"""sklstm: LSTM networks as scikit-learn estimators on a compiled core."""


def _check_engine_built():
    """Raise an ImportError that says what to do when the engine is not built.

    Without this check, importing a source tree whose compiled engine was never
    built (a notebook started in a clone's root, ``python -m sklstm`` there
    after a non-editable install) fails deep inside the package with "cannot
    import name '_engine' from partially initialized module 'sklstm' (most
    likely due to a circular import)".

    The engine must sit in the package's own folder: an import system hook
    (such as the finder of an editable install of another clone) could
    otherwise pair these Python files with another copy's engine.
    """
    from importlib.machinery import EXTENSION_SUFFIXES
    from pathlib import Path

    if any((Path(folder) / f"_engine{suffix}").is_file()
           for folder in __path__ for suffix in EXTENSION_SUFFIXES):
        return
    package = Path(__file__).resolve().parent
    root = package.parent
    if (root / "pyproject.toml").is_file():
        raise ImportError(
            f"sklstm is being imported from its source tree at {package}, where the "
            f"compiled engine (sklstm/_engine) is not built for this Python: run "
            f"`pip install -e .` in {root} to build it in place, or, to use an "
            f"installed sklstm, start Python from another folder (the source tree "
            f"shadows the installed package).")
    raise ImportError(
        f"sklstm's compiled engine (sklstm/_engine) is missing from {package}: this "
        f"copy of sklstm was installed without it or for another Python version. "
        f"Reinstall sklstm.")


_check_engine_built()
del _check_engine_built


# GNU libgomp's spin, in iterations, before a waiting thread sleeps: tens of
# microseconds here (see _load_engine_with_short_waits).
_GOMP_SPINCOUNT = "3000"


def _load_engine_with_short_waits():
    """Import the engine with OpenMP's waiting threads spinning briefly.

    GNU libgomp spins a waiting thread for 300,000 iterations (milliseconds)
    by default, at every barrier and between parallel regions. On a machine
    whose cores are busy, the spinning thread takes the core from the thread
    it waits for: on 2 vCPUs loaded by other processes (load average 6.7),
    an epoch of the small benchmark shape forced to 2 threads took 4.5x the
    1-thread time with the default spin, 1.2x with OMP_WAIT_POLICY=PASSIVE.
    But a thread that sleeps at once must be woken for the next minibatch,
    which on an idle VM cost a small model all its parallel gain (2 threads
    forced: 3.4 ms an epoch passive, 2.0 ms with 3,000 spins, 3.4 ms serial).
    GOMP_SPINCOUNT=3000 spins across the gap between two minibatches and no
    longer; on a busy machine the adaptive thread policy runs serially
    anyway (docs/user_guide/threads.rst). The runtime reads the setting
    once, when it loads, which is when the engine is imported; so it is set
    for that moment only (unless the user has set OMP_WAIT_POLICY or
    GOMP_SPINCOUNT, which then win) and removed again: child processes and
    other libraries see the environment unchanged. If another module has
    loaded the same OpenMP runtime before, it keeps its setting.
    """
    import os

    set_here = not ({"OMP_WAIT_POLICY", "GOMP_SPINCOUNT"} & set(os.environ))
    if set_here:
        os.environ["GOMP_SPINCOUNT"] = _GOMP_SPINCOUNT
    try:
        from . import _engine  # noqa: F401
    finally:
        if set_here:
            os.environ.pop("GOMP_SPINCOUNT", None)


_load_engine_with_short_waits()
del _load_engine_with_short_waits

# noqa: E402 below: the engine check comes first.
from ._config import _check_forced_isa, show_config  # noqa: E402
from ._estimators import LSTMClassifier, LSTMRegressor  # noqa: E402
from ._forecast import forecast  # noqa: E402

_check_forced_isa()
del _check_forced_isa

__version__ = "0.1.0"

__all__ = ["LSTMClassifier", "LSTMRegressor", "forecast", "show_config", "__version__"]
