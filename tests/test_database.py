"""The lean statement path: named placeholders to $n, and parameters in text format."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from peiling.database import _as_text, _prepared


def test_named_placeholders_become_numbered_once_each() -> None:
    name, text, order = _prepared("SELECT %(a)s::int, %(b)s, %(a)s::text WHERE %(c)s")
    assert text == b"SELECT $1::int, $2, $1::text WHERE $3"
    assert order == ("a", "b", "c")
    assert (
        name.startswith(b"peiling_")
        and name == _prepared("SELECT %(a)s::int, %(b)s, %(a)s::text WHERE %(c)s")[0]
    )
    assert name != _prepared("SELECT %(a)s")[0]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        (True, b"t"),
        (False, b"f"),
        (0, b"0"),
        (-12, b"-12"),
        (2.5, b"2.5"),
        ("Daan é", "Daan é".encode()),
        (datetime(2026, 11, 22, 19, 5, tzinfo=UTC), b"2026-11-22T19:05:00+00:00"),
    ],
)
def test_parameters_in_text_format(value: object, text: bytes | None) -> None:
    assert _as_text(value) == text


def test_unknown_parameter_type_is_refused() -> None:
    with pytest.raises(TypeError, match="list"):
        _as_text([1, 2])
