"""Durations as users write them (`chalicelib.domain.durations`): `revoke_in` and settings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.domain.durations import parse


@pytest.mark.parametrize(("text", "expected"), [
    ("30d", timedelta(days=30)), ("2h45m", timedelta(hours=2, minutes=45)), ("0s", timedelta(0)),
    ("90s", timedelta(seconds=90)), (" 1d2h3m4s ", timedelta(days=1, hours=2, minutes=3, seconds=4)),
    ("7d", timedelta(days=7)),
])
def test_a_duration_is_days_hours_minutes_seconds(text: str, expected: timedelta) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["", " ", "7", "1w", "2m3h", "-1d", "1.5h", "d"])
def test_anything_else_says_the_form(text: str) -> None:
    with pytest.raises(ValueError, match=r"must look like 30d, 2h45m or 0s, not "):
        parse(text)


def test_a_duration_too_long_for_a_timedelta_overflows() -> None:
    with pytest.raises(OverflowError):
        parse("99999999999d")
