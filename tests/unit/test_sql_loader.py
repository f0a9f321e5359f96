from __future__ import annotations

import pytest

from domain.sql import parse_queries


def test_named_blocks_are_split_and_trimmed() -> None:
    text = "-- preamble\n-- name: one\nSELECT 1;\n\n-- name: two_b\nSELECT\n  2\n"
    assert parse_queries(text) == {"one": "SELECT 1", "two_b": "SELECT\n  2"}


def test_a_name_defined_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        parse_queries("-- name: a\nSELECT 1\n-- name: a\nSELECT 2\n")
