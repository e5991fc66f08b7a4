"""Settings read from the environment at each call (chalice.test.Client applies a stage's
variables only during a call), each with its default."""

from __future__ import annotations

import os
from datetime import timedelta

from ..domain import durations


def duration(variable: str, default: str) -> timedelta:
    """A duration setting (`24h`, `7d`, `90s`): `variable`'s value, else `default`. A value
    that is not a duration is logged and the default used, so a typo never fails the sweep or
    the report."""
    text = os.environ.get(variable, "").strip() or default
    try:
        return durations.parse(text)
    except (ValueError, OverflowError) as exc:
        from .observability import logger  # loaded only then (the callers' modules load it anyway)

        logger.warning(f"{variable} {str(exc)[:120]}; using {default}")
        return durations.parse(default)


def flag(variable: str) -> bool:
    """An on/off setting: on when `variable` is 1, true, yes or on (any case); off unset."""
    return os.environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on")


def names(variable: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list setting (host names), lower case: `variable`'s, else `default`."""
    listed = [name.strip().lower() for name in os.environ.get(variable, "").split(",")]
    return tuple(name for name in listed if name) or default
