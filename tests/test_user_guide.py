"""The examples of the user guide (docs/user_guide/*.rst) run and give what
the pages say."""

import doctest
from pathlib import Path

import pytest

USER_GUIDE = Path(__file__).resolve().parents[1] / "docs" / "user_guide"
PAGES = sorted(USER_GUIDE.glob("*.rst"))


def test_the_user_guide_is_there():
    assert {page.stem for page in PAGES} >= {"model", "input", "training", "scaling",
                                             "forecasting", "threads", "persistence", "onnx",
                                             "time_series_libraries"}


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.stem)
def test_user_guide_examples(page):
    if "import skops" in page.read_text():
        pytest.importorskip("skops")
    if "import matplotlib" in page.read_text():
        pytest.importorskip("matplotlib").use("Agg")  # headless
    result = doctest.testfile(str(page), module_relative=False,
                              optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
