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

# noqa: E402 below: the engine check comes first.
from ._config import _check_forced_isa, show_config  # noqa: E402
from ._estimators import LSTMClassifier, LSTMRegressor  # noqa: E402
from ._forecast import forecast  # noqa: E402

_check_forced_isa()
del _check_forced_isa

__version__ = "0.1.0"

__all__ = ["LSTMClassifier", "LSTMRegressor", "forecast", "show_config", "__version__"]
