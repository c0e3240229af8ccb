"""Port types: the full compatibility table of DESIGN section 2 and the coercions."""

from __future__ import annotations

import pytest

from studio.core.catalogue.types import COERCIONS, SKIP, PortType, can_connect, coerce, incompatibility

T = PortType
# Everything not listed (and not "any", not equal) must be refused.
LOSSLESS = {(T.NUMBER, T.TEXT), (T.JSON, T.TEXT), (T.LIST, T.TEXT), (T.LIST, T.JSON)}


@pytest.mark.parametrize("src", list(PortType), ids=str)
@pytest.mark.parametrize("dst", list(PortType), ids=str)
def test_connection_table(src: PortType, dst: PortType) -> None:
    expected = src == dst or T.ANY in (src, dst) or (src, dst) in LOSSLESS
    assert can_connect(src, dst) is expected
    assert (incompatibility(src, dst) is None) is expected


def test_declared_coercions_are_the_lossless_ones() -> None:
    assert set(COERCIONS) == LOSSLESS


def test_refusals_explain_what_the_source_can_feed() -> None:
    why = incompatibility(T.TEXT, T.NUMBER)
    assert why is not None and "text output cannot feed a number input" in why and "any" in why
    assert incompatibility(T.BOOLEAN, T.TEXT) is not None  # not declared lossless
    assert incompatibility(T.MESSAGES, T.JSON) is not None


@pytest.mark.parametrize("value,src,expected", [
    (3, T.NUMBER, "3"),
    (2.5, T.NUMBER, "2.5"),
    (1e-7, T.NUMBER, "1e-07"),
    ({"b": 1, "a": "é"}, T.JSON, '{"a": "é", "b": 1}'),
    ([1, "x"], T.LIST, '[1, "x"]'),
    ("already text", T.JSON, "already text"),
])
def test_coerce_to_text(value, src, expected) -> None:
    assert coerce(value, src, T.TEXT) == expected


def test_coerce_leaves_other_pairs_and_skip_alone() -> None:
    assert coerce([1], T.LIST, T.JSON) == [1]
    assert coerce(5, T.NUMBER, T.ANY) == 5
    assert coerce(SKIP, T.NUMBER, T.TEXT) is SKIP


def test_skip_is_a_falsy_singleton() -> None:
    import pickle

    assert not SKIP and repr(SKIP) == "SKIP"
    assert pickle.loads(pickle.dumps(SKIP)) is SKIP
    assert str(T.TEXT) == "text"
