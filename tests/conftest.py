"""Fixtures shared by the test files."""

import pytest

from sklstm import _engine

# The instruction-set paths this CPU runs, portable first (src_c/dispatch.h).
SUPPORTED_ISAS = _engine.ISA_NAMES[:_engine.ISA_NAMES.index(_engine.isa_supported()) + 1]


@pytest.fixture(params=SUPPORTED_ISAS)
def isa(request):
    """Each path in turn, forced for the test and restored after it."""
    before = _engine.isa()
    assert _engine.set_isa(request.param) == request.param
    yield request.param
    _engine.set_isa(before)
