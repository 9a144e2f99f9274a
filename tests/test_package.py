"""The package as a user first meets it: importing a source tree, the demo's
--help, and the test suite's rule that sklstm warns only when a test asks."""

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import sklstm

PACKAGE = Path(sklstm.__file__).parent
ROOT = PACKAGE.parent


def _run(args, cwd, pythonpath=None):
    """Run Python in cwd, which comes first on sys.path as for a user there."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if pythonpath:
        env["PYTHONPATH"] = str(pythonpath)
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def _unbuilt_copy(folder, source_tree):
    """sklstm's Python files without the compiled engine, as in a fresh clone."""
    (folder / "sklstm").mkdir()
    for path in PACKAGE.glob("*.py"):
        shutil.copy(path, folder / "sklstm")
    if source_tree:
        shutil.copy(ROOT / "pyproject.toml", folder)


@pytest.mark.parametrize("command", [["-c", "import sklstm"], ["-m", "sklstm"]])
def test_unbuilt_source_tree_says_what_to_do(tmp_path, command):
    _unbuilt_copy(tmp_path, source_tree=True)
    result = _run(command, cwd=tmp_path)
    assert result.returncode != 0
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("ImportError: sklstm is being imported from its "
                                f"source tree at {tmp_path / 'sklstm'}")
    assert f"run `pip install -e .` in {tmp_path}" in last_line
    assert "circular" not in result.stderr


def test_installed_copy_without_engine_says_reinstall(tmp_path):
    _unbuilt_copy(tmp_path, source_tree=False)
    result = _run(["-c", "import sklstm"], cwd=tmp_path)
    assert result.returncode != 0
    assert "ImportError: sklstm's compiled engine (sklstm/_engine) is missing" in result.stderr
    assert "Reinstall sklstm" in result.stderr
    assert "circular" not in result.stderr


def test_demo_help_is_plain_text():
    result = _run(["-m", "sklstm", "--help"], cwd=ROOT)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("usage: python -m sklstm [-h] [--seed SEED]")
    assert "A demonstration of sklstm on two small tasks." in out
    assert "1. Forecasting" in out and "--seed SEED" in out
    # No reST markup: inline literals, roles, directives or literal blocks.
    for markup in ("``", ":func:", ":class:", ".. ", "::"):
        assert markup not in out


def test_unasked_sklstm_warnings_fail_the_suite(tmp_path):
    # The suite's pytest configuration (pyproject.toml) turns warnings that
    # sklstm's modules raise into errors, so that every test expecting one
    # asks for it. Run it on a small test file: the unasked sklstm warning
    # fails, the asked one passes, and other modules' warnings stay warnings.
    (tmp_path / "test_filter.py").write_text(textwrap.dedent("""
        import warnings

        import numpy as np
        import pytest
        from sklearn.exceptions import ConvergenceWarning

        from sklstm import LSTMRegressor

        X, y = np.zeros((4, 3)), np.zeros(4)

        def test_unasked():
            LSTMRegressor(2, max_iter=1).fit(X, y)

        def test_asked():
            with pytest.warns(ConvergenceWarning, match="Maximum iterations"):
                LSTMRegressor(2, max_iter=1).fit(X, y)

        def test_other_module():
            warnings.warn("not from sklstm", UserWarning)
    """))
    result = _run(["-m", "pytest", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml"),
                   "--rootdir", str(tmp_path), str(tmp_path / "test_filter.py"), "-rA"],
                  cwd=tmp_path, pythonpath=ROOT)
    out = result.stdout
    assert result.returncode == 1, out + result.stderr
    assert "FAILED test_filter.py::test_unasked - sklearn.exceptions.ConvergenceWarning" in out
    assert "PASSED test_filter.py::test_asked" in out
    assert "PASSED test_filter.py::test_other_module" in out
    assert "1 failed, 2 passed, 1 warning" in out
