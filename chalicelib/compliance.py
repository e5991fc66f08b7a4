"""The scheduled compliance sweep, and its report.

Incremental: changes that can alter other versions' ancestry leave a marker in the same
transaction (markers.py); the sweep reads those, the sparse index of due revocations and
the list of unresolved parents, never the whole registry, so a quiet registry of 1,000
versions costs it what one of 100 does. Each run:
1. applies due scheduled revocations;
2. works through the markers: carries revocation/restore cascades down the tree, and
   re-evaluates the children of versions whose channel moved or whose status changed,
   flagging the outdated and revoked-parent ones (an audit event each, sent out too);
3. checks the channels of every bucket those markers name against the versions they hold,
   and re-copies any that drifted (a `channel.repaired` event each);
4. retries unresolved parent hints;
5. stores its findings as the report (`GET /compliance/report`).
Each step is bounded so one run fits a Lambda; what is left waits for the next run.
"""

from __future__ import annotations

from typing import Any

from . import ancestry, channels, lifecycle, markers, store
from .clock import now_iso
from .observability import logger, metrics

MARKERS_PER_RUN = 500
CASCADE_BUDGET = 200
UNRESOLVED_PER_RUN = 100



def sweep() -> dict[str, Any]:
    """Run one sweep and say what it did."""
    started = now_iso()
    applied = lifecycle.apply_due()
    changes: list[dict[str, Any]] = []
    cascades: list[dict[str, Any]] = []
    pending = markers.pending(MARKERS_PER_RUN)
    for marker in pending:
        if marker["kind"] == markers.CASCADE:
            done, finished = lifecycle.continue_cascade(marker, CASCADE_BUDGET)
            cascades.append({"source": f"{marker['bucket']}/v{marker['number']}", "mode": marker.get("mode"),
                             "versions_changed": done, "finished": finished})
            continue
        parents = {marker.get("from_number"), marker.get("to_number"), marker.get("number")} - {None}
        for number in sorted(parents):
            for child in ancestry.child_refs(marker["bucket"], number):
                changed = ancestry.recheck(*child)
                if changed:
                    changes.append(_record_change(*changed))
        markers.done(marker)
    repaired = [fix for bucket in sorted({m["bucket"] for m in pending}) for fix in channels.repair_drift(bucket)]
    resolved = _retry_unresolved()
    report = {"started_at": started, "finished_at": now_iso(), "revocations_applied": applied,
              "cascades": cascades, "ancestry_changes": changes, "parents_resolved": resolved,
              "channels_repaired": repaired,
              "markers_processed": len(pending), "more_pending": len(pending) >= MARKERS_PER_RUN}
    store.put({**store.report_key(), **report})
    metrics.add_metric(name="SweepAncestryChanges", unit="Count", value=len(changes))
    if applied:
        metrics.add_metric(name="ScheduledRevocationsApplied", unit="Count", value=len(applied))
    logger.info("sweep finished", extra={"revocations_applied": applied, "ancestry_changes": len(changes),
                                         "markers": len(pending)})
    return report


def _record_change(version: dict[str, Any], old: str | None, new: str | None) -> dict[str, Any]:
    fresh = store.get(store.version_key(version["bucket"], version["number"])) or version
    change = {"bucket": version["bucket"], "version": version["name"], "from": old, "to": new,
              "messages": fresh.get("ancestry_messages") or []}
    return change


def _retry_unresolved() -> list[dict[str, Any]]:
    resolved = []
    items, _ = store.query_page(store.UNRESOLVED, limit=UNRESOLVED_PER_RUN)
    for item in items:
        for link in ancestry.retry_unresolved(item["bucket"], item["number"]):
            resolved.append({"bucket": item["bucket"], "number": item["number"], "parent": link})
    return resolved


def report(limit: int, next_token: str | None) -> dict[str, Any]:
    """The last sweep's findings, the versions flagged now (paginated) and counts."""
    last = store.get(store.report_key()) or {}
    flagged, end = store.list_page(store.FLAGGED, next_token, limit=limit)
    counts: dict[str, int] = {"out_of_date": 0, "parent_revoked": 0, "undetermined": 0}
    for item in store.query_all(store.FLAGGED, projection="ancestry_status"):
        counts[item["ancestry_status"]] = counts.get(item["ancestry_status"], 0) + 1
    counts["unresolved_parents"] = sum(1 for _ in store.query_all(store.UNRESOLVED, projection="PK"))
    body = {"last_sweep": store.strip_keys(last) or None, "counts": counts,
            "flagged": [store.strip_keys(i) for i in flagged]}
    if end:
        body["next_token"] = end
    return body
