"""ULIDs: the ids every resource carries (HCP Packer's clients type them as ULIDs).

A ULID is 48 bits of milliseconds then 80 bits, written as 26 Crockford base-32 digits, so
ids sort by creation time. `new()` draws the 80 bits at random (a bucket, a channel, a
version created by a request); `derived()` takes them from a hash of the parts, so that what
an ingestion re-delivered records gets the same id again (idempotent).

Written here rather than taken from python-ulid: importing that package costs ~60 ms at a
cold start (it loads importlib.metadata and email.parser), for twenty lines of arithmetic.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from datetime import datetime

_DIGITS = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
ULID = re.compile(r"^[0-7][0-9A-HJKMNP-TV-Z]{25}$")


def _encode(value: int) -> str:
    return "".join(_DIGITS[(value >> shift) & 31] for shift in range(125, -1, -5))


def _ulid(millis: int, tail: int) -> str:
    return _encode(((millis & (2 ** 48 - 1)) << 80) | (tail & (2 ** 80 - 1)))


def new() -> str:
    """A fresh ULID: now, and 80 random bits."""
    return _ulid(time.time_ns() // 1_000_000, secrets.randbits(80))


def derived(at: str | None, *parts: str) -> str:
    """The same ULID for the same parts: the time `at` (ISO 8601; None → 0) and 80 bits of
    SHA-256 over the parts."""
    millis = int(datetime.fromisoformat(at.replace("Z", "+00:00")).timestamp() * 1000) if at else 0
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return _ulid(millis, int.from_bytes(digest[:10], "big"))


def is_ulid(value: str) -> bool:
    return bool(ULID.fullmatch(value))


# ---- the ids of what is not looked up by id: derived from what names it ------------------

def bucket_id(name: str, created_at: str) -> str:
    """A bucket's id: a bucket deleted and created again under its name gets a new one."""
    return derived(created_at, "bucket", name)


def channel_id(bucket: str, name: str, created_at: str) -> str:
    """A channel's id (Packer sends it back as a build's `parent_channel_id`: found among the
    parent bucket's channels)."""
    return derived(created_at, "channel", bucket, name)


def artifact_id(build_id: str, external_id: str, region: str | None) -> str:
    return derived(None, "artifact", build_id, external_id, region or "")


def legacy_version_id(bucket: str, fingerprint: str, created_at: str) -> str:
    """The id of a version recorded before versions had one (not found by id)."""
    return derived(created_at, "version", bucket, fingerprint)
