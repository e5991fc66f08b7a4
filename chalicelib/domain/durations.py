"""Durations as users write them: `30d`, `2h45m`, `90s`, `0s` (days, hours, minutes,
seconds, in that order, each optional): `revoke_in`, and settings such as
`UNTRACKED_SOURCE_WINDOW`."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")


def parse(text: str) -> timedelta:
    """The duration `text` names; ValueError when it is not of the form (the caller names the
    field), OverflowError when it is too long for a timedelta."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match:
        raise ValueError(f"must look like 30d, 2h45m or 0s, not {text!r}")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
