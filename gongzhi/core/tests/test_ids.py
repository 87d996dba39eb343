"""One rule for an id read from a query string or a form."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongzhi.core.ids import MAX_ID, parse_id


@pytest.mark.parametrize("value", [None, "", " ", "abc", "1.5", "0", "-3", 0, -1, True, str(MAX_ID), 2**70, 1.0, [1]])
def test_anything_but_a_positive_id_is_none(value):
    assert parse_id(value) is None


@given(st.integers(min_value=1, max_value=MAX_ID - 1))
def test_a_positive_id_reads_as_itself(n):
    assert parse_id(n) == n
    assert parse_id(str(n)) == n
    assert parse_id(f" {n}\n") == n  # int() allows the spaces a form may carry
