"""Sweep markers: a note, written in the same transaction as a change, that the change may
have altered other versions' ancestry (a channel moved, a version was revoked or restored,
a revocation still has descendants to reach).

The sweep reads only these markers, so its cost follows what changed since the last run,
not the size of the registry.
"""

from __future__ import annotations

import secrets
from typing import Any

from .. import storage
from ..runtime.clock import now_iso

CHANNEL_MOVED, VERSION_STATUS, CASCADE = "channel_moved", "version_status", "cascade"


def marker_action(kind: str, bucket: str, **fields: Any) -> dict[str, Any]:
    marker_id = secrets.token_hex(6)
    at = now_iso()
    return storage.sweep.put_marker({"id": marker_id, "kind": kind, "bucket": bucket, "at": at, **fields})


def written(action: dict[str, Any] | None) -> dict[str, Any] | None:
    """The marker item a `marker_action` writes (None for none): who wrote it can act on it
    without reading the pending markers back."""
    return storage.written(action) if action else None


def pending(limit: int) -> list[dict[str, Any]]:
    """The oldest markers, at most `limit` (the rest wait for the next sweep)."""
    items: list[dict[str, Any]] = []
    for item in storage.sweep.markers_oldest_first():
        items.append(item)
        if len(items) >= limit:
            break
    return items


def done(marker: dict[str, Any]) -> None:
    storage.sweep.marker_done(marker)
