"""The Examples sections of the public docstrings run and give what they say."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize("module_name", [
    "sklstm._estimators", "sklstm._config", "sklstm.interop", "sklstm.preprocessing",
    "sklstm._forecast", "sklstm.callbacks", "sklstm.inspection"])
def test_docstring_examples(module_name):
    if module_name == "sklstm.inspection":
        pytest.importorskip("matplotlib").use("Agg")
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{module_name} has no examples"
    assert result.failed == 0


def test_public_api():
    import sklstm
    assert sorted(sklstm.__all__) == ["LSTMClassifier", "LSTMRegressor",
                                      "__version__", "forecast", "show_config"]
    for name in sklstm.__all__:
        assert getattr(sklstm, name) is not None


def test_demo_reaches_its_scores(capsys):
    import re

    from sklstm.__main__ import main
    main([])
    out = capsys.readouterr().out
    mse = float(re.search(r"test MSE .*: (\S+)", out).group(1))
    accuracy = float(re.search(r"test accuracy .*: (\S+)", out).group(1))
    assert mse <= 1e-3
    assert accuracy >= 0.95
