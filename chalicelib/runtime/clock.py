"""The registry's notion of now, in one place so tests can move it."""

from __future__ import annotations

from datetime import datetime, timezone


def now() -> datetime:
    return datetime.now(timezone.utc)


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a `Z`: sorts as text in DynamoDB keys."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_iso() -> str:
    return iso(now())


def parse_utc(value: str) -> datetime:
    """An ISO 8601 time with a time zone (`Z` or an offset), in UTC; ValueError saying what is
    wrong otherwise (the caller names the field): not such a time, no time zone, or no UTC
    equivalent (0001-01-01T00:00+01:00, 9999-12-31T23:59:59-01:00)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"must be an ISO 8601 time, not {value!r}") from None
    if moment.tzinfo is None:
        raise ValueError("needs a time zone (e.g. 2026-12-01T09:00:00Z)")
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{value!r} is outside the years 1-9999 in UTC") from None
