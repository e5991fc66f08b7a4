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
from ..storage.entities import Marker
from ..runtime.clock import now_iso

CHANNEL_MOVED, VERSION_STATUS, CASCADE = "channel_moved", "version_status", "cascade"
ANCESTRY = "ancestry"  # the `mode` of a VERSION_STATUS marker for a change of ancestry status alone


def marker_action(kind: str, bucket: str, **fields: Any) -> dict[str, Any]:
    """A put of a new marker (`fields`: Marker's own, e.g. `number`, `channel`, `mode`)."""
    return storage.sweep.put_marker(Marker(id=secrets.token_hex(6), kind=kind, bucket=bucket, at=now_iso(),
                                           **fields))


def written(action: dict[str, Any] | None) -> Marker | None:
    """The marker a `marker_action` writes (None for none): who wrote it can act on it
    without reading the pending markers back."""
    return storage.sweep.marker_written(action) if action else None


def pending(limit: int) -> list[Marker]:
    """The oldest markers, at most `limit` (the rest wait for the next sweep)."""
    items: list[Marker] = []
    for item in storage.sweep.markers_oldest_first():
        items.append(item)
        if len(items) >= limit:
            break
    return items


def done(marker: Marker) -> None:
    storage.sweep.marker_done(marker)


def done_action(marker: Marker) -> dict[str, Any]:
    """The marker's deletion, for the transaction of what handling it wrote."""
    return storage.sweep.marker_deletion(marker)


def all_done(handled: list[Marker]) -> None:
    """Delete markers handled together (the sweep's re-checks: one batch instead of one call each)."""
    storage.sweep.markers_done(handled)
