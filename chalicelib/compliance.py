"""The scheduled compliance sweep: applies due scheduled revocations (idempotently)."""

from __future__ import annotations

from typing import Any

from . import lifecycle
from .clock import now_iso
from .observability import logger, metrics


def sweep() -> dict[str, Any]:
    """Run one sweep and say what it did."""
    started = now_iso()
    applied = lifecycle.apply_due()
    if applied:
        metrics.add_metric(name="ScheduledRevocationsApplied", unit="Count", value=len(applied))
    logger.info("sweep finished", extra={"revocations_applied": applied})
    return {"started_at": started, "finished_at": now_iso(), "revocations_applied": applied}
