"""The scheduled compliance sweep, and its report.

Incremental: changes that can alter other versions' ancestry leave a marker in the same
transaction (markers.py); the sweep reads those, the sparse indexes of scheduled
revocations, bulk jobs, retention policies and channels serving a revoked version (and the
drafts' index, Limit 1, only so that the report can skip it when it is empty), and the
list of unresolved parents, never the whole registry, so a quiet registry of 1,000 versions
costs it what one of 100 does. A sparse index is read only when the counts item (read
first, one GetItem) says it may hold something: the changes that add to it note that in
their own transaction, and a read that finds it empty marks it idle (domain/sweep_work.py).
A quiet sweep is 3 calls (the counts, the markers, the report); one after a channel move, 8.
Each run:
1. applies due scheduled revocations;
2. advances bulk revocation jobs, and applies retention policies (each bounded per run);
3. works through the markers: carries revocation/restore cascades down the tree, and
   re-evaluates the children of versions whose channel moved or whose status changed,
   flagging the outdated and revoked-parent ones (an audit event each, sent out too), the
   children of one marker in one transaction with the marker's deletion. A child whose
   stored status (or finding) changes leaves a marker of its own in the same transaction
   when it has children (`child_count`), and the run reads the markers it left too, up to
   its bound (handled ones deleted a batch at a time): outdated reaches grandchildren in the
   same run, and what is beyond the bound waits for the next;
4. checks the channels of the buckets whose versions' status changed (revocation, restore,
   cascade markers) against the versions they hold, and re-copies any that drifted (a
   `channel.repaired` event each); not for channel moves (a move writes its copy from the
   version it claims) nor ancestry changes (a copy holds no ancestry);
5. retries unresolved parent hints (when the counts say there are any), and looks for the
   untracked sources still within their window (when sweep_work says there may be some):
   each bounded per run, going on where the last run stopped; and checks the packages' purls
   against OSV (vulns.py: those uploaded since, and those checked longer than VULN_RECHECK
   ago, when the counts item says there are any);
6. puts versions from before the version indexes into them (indexing.py, until done: the
   counts item says `backfilled` then), and claims the names of tokens and service
   principals from before names were claimed (claims.py, until done: `names_claimed`);
7. stores its findings as the report (`GET /compliance/report`), with the risks: channels
   serving a revoked version and upcoming revocations.
The report's counts are kept by the changes themselves (ancestry.tally); the sweep counts
the flagged and unresolved partitions only once, for a registry from before they were kept.
Each step is bounded so one run fits a Lambda; what is left waits for the next run.
"""

from __future__ import annotations

from typing import AbstractSet, Any

from . import ancestry, channels, claims, drafts, findings, indexing, lifecycle, markers, retention, revocations, vulns
from .. import storage
from ..storage import entities
from ..domain import rules, sweep_work
from ..domain.enums import SweepWork, VersionStatus
from ..runtime.clock import now_iso
from ..domain.models import ComplianceReport, SweepReport
from ..runtime.observability import logger, metrics

MARKERS_PER_RUN = 500
EXPOSURE_LIMIT = 100  # channels serving revoked versions / upcoming revocations listed at most
CASCADE_BUDGET = 200
UNRESOLVED_PER_RUN = 100
UNTRACKED_PER_RUN = 100


def sweep() -> SweepReport:
    """Run one sweep and say what it did (its sentences in full: it is run by contributors)."""
    started = now_iso()
    state = storage.sweep.counts()  # one GetItem: the counts and the sweep's own state
    noted, idle = state.noted(), state.idle()
    look = sweep_work.to_read(noted, idle)  # the rest: nothing to read
    applied, due_found = lifecycle.apply_due() if SweepWork.SCHEDULED in look else ([], False)
    advanced, jobs_found = revocations.advance() if SweepWork.JOBS in look else ([], False)  # a few batches a job
    acted, policies_found = retention.apply_policies(state) if SweepWork.RETENTION in look else ([], False)
    drafts_found = drafts.any_draft() if SweepWork.DRAFTS in look else False  # only to let the report skip it
    changes: list[dict[str, Any]] = []
    cascades: list[dict[str, Any]] = []
    touched: set[str] = set()
    processed = _work_through_markers(changes, cascades, touched)
    repaired = [fix for bucket in sorted(touched) for fix in channels.repair_drift(bucket)]
    # Unresolved hints are counted by the transactions that add and remove them: none, no Query.
    places: dict[str, str | None] = {}
    resolved = _retry_unresolved(state, places) if state.unresolved_parents or not state.recounted_at else []
    untracked_found = False
    if SweepWork.UNTRACKED in look:
        matched, untracked_found = _look_for_untracked(state, places)
        resolved += matched
    checked, vulns_found = vulns.step(state, look, places)  # OSV: the queue and the rechecks due, bounded
    if checked.get("purls_checked") or checked.get("buckets_remade") or checked.get("error"):
        logger.info("vulnerabilities checked", extra=checked)
    if any(getattr(state, place) != value for place, value in places.items()):
        storage.sweep.save_places(places)
    if not state.backfilled:
        indexing.backfill()  # versions from before the version indexes, a bounded batch a run, until done
    if not state.names_claimed:
        claims.claim_existing(state.names_after)  # credentials from before name claims, likewise
    if not state.recounted_at:
        storage.sweep.recount(now_iso())  # once: a registry from before the counts were kept
    if applied or advanced or acted or cascades:  # this run revoked or scheduled: its report reads both risks
        look |= {SweepWork.EXPOSED, SweepWork.SCHEDULED}
    risks = exposure(EXPOSURE_LIMIT, look=look)
    found = {SweepWork.SCHEDULED: due_found or bool(risks["upcoming_revocations"]), SweepWork.JOBS: jobs_found,
             SweepWork.RETENTION: policies_found, SweepWork.EXPOSED: bool(risks["channels_serving_revoked"]),
             SweepWork.UNTRACKED: untracked_found, SweepWork.DRAFTS: drafts_found, SweepWork.VULNS: vulns_found}
    storage.sweep.mark_idle(sweep_work.idle_marks([k for k in look if not found[k]], noted, idle, state.work_at,
                                                  started))
    report = entities.Report(started_at=started, finished_at=now_iso(), revocations_applied=applied,
                             cascades=cascades, ancestry_changes=changes, parents_resolved=resolved,
                             channels_repaired=repaired, **risks,
                             markers_processed=processed, more_pending=processed >= MARKERS_PER_RUN)
    storage.sweep.save_report(report)
    metrics.add_metric(name="SweepAncestryChanges", unit="Count", value=len(changes))
    if applied:
        metrics.add_metric(name="ScheduledRevocationsApplied", unit="Count", value=len(applied))
    logger.info("sweep finished", extra={"revocations_applied": applied, "ancestry_changes": len(changes),
                                         "markers": processed})
    return SweepReport.model_validate(_present_sweep(report, findings.everything))


def _work_through_markers(changes: list[dict[str, Any]], cascades: list[dict[str, Any]], touched: set[str]) -> int:
    """Handle pending markers, oldest first, at most MARKERS_PER_RUN; returns how many, and
    adds the buckets whose channels' copies the drift check should compare to `touched`:
    those of revocations, restores and cascades. Not those of channel moves: a move writes
    the copy in its own transaction from the version it claims (its `rev` asserted), so that
    copy is as fresh as the version; nor of ancestry changes: a copy holds no ancestry.

    The markers this run leaves itself (a child whose status changed, a descendant revoked)
    are read too, up to the bound, so outdated reaches grandchildren in one run. A cascade
    that is not finished keeps its marker: it is skipped when read again.
    """
    processed, unfinished, seen = 0, 0, set()
    while processed < MARKERS_PER_RUN:
        batch = [m for m in markers.pending(MARKERS_PER_RUN - processed + unfinished)
                 if m.id not in seen][:MARKERS_PER_RUN - processed]
        wrote, rechecked = False, []
        for marker in batch:
            seen.add(marker.id)
            if marker.kind != markers.CHANNEL_MOVED and marker.mode != markers.ANCESTRY:
                touched.add(marker.bucket)
            processed += 1
            if marker.kind == markers.CASCADE:
                done, finished = lifecycle.continue_cascade(marker, CASCADE_BUDGET)
                cascades.append({"source": f"{marker.bucket}/v{marker.number}", "mode": marker.mode,
                                 "versions_changed": done, "finished": finished})
                unfinished += not finished
                wrote = wrote or bool(done)
            else:
                left_marker, deleted = _recheck_children(marker, changes)
                wrote = wrote or left_marker
                if not deleted:
                    rechecked.append(marker)
        markers.all_done(rechecked)  # before reading the markers again: they would take places in that read
        if not wrote:  # nothing new was written, so no marker of this run's is waiting
            return processed
    return processed


def _recheck_children(marker: entities.Marker, changes: list[dict[str, Any]]) -> tuple[bool, bool]:
    """Re-check the children of the versions a marker names: their edges (a Query per
    version named), the children at once (one BatchGet), what their links name (one), and
    the changes in one transaction with the marker's deletion (per 15 changed children).
    Returns whether a re-check left a marker (a changed child with children of its own), and
    whether the marker was deleted (else the caller deletes it, with the others of its batch)."""
    parents = sorted({n for n in (marker.from_number, marker.to_number, marker.number) if n is not None})
    refs = list(dict.fromkeys(ref for number in parents for ref in ancestry.child_refs(marker.bucket, number)))
    if not refs:
        return False, False
    read = {v.ref(): v for v in storage.versions.versions(refs)}  # deleted meanwhile: not read, nothing to re-check
    known = ancestry.linked([v for v in read.values() if v.status != VersionStatus.REVOKED])
    done, deleted = ancestry.recheck_all(refs, read, known, then=[markers.done_action(marker)])
    for version, old, new, found in done:
        if old != new:  # a status change; a new sentence alone is not one
            changes.append(_record_change(version, old, new, found))
    return any(version.child_count != 0 for version, *_ in done), deleted


def _record_change(version: entities.Version, old: str | None, new: str | None,
                   found: list[findings.Finding]) -> dict[str, Any]:
    return {"bucket": version.bucket, "version": version.name, "from": old, "to": new, "findings": found}


def _retry_unresolved(state: entities.Counts, places: dict[str, str | None]) -> list[dict[str, Any]]:
    """Try the versions with unresolved hints again, UNRESOLVED_PER_RUN a run from where the
    last run stopped (one Query; each version re-read, ancestry.rematch): so every one is
    reached however many stay unresolved, and a registry upgraded in place has its stored
    hints judged by today's rules within a few runs."""
    page, places["unresolved_after"] = storage.sweep.unresolved_page(UNRESOLVED_PER_RUN, state.unresolved_after)
    window = ancestry.source_window()
    return [{"bucket": item.bucket, "number": item.number, "parent": link}
            for item in page for link in ancestry.rematch(item.bucket, item.number, window)]


def _look_for_untracked(state: entities.Counts, places: dict[str, str | None]) -> tuple[list[dict[str, Any]], bool]:
    """Look for the untracked sources still within their window (UNTRACKED_SOURCE_WINDOW):
    UNTRACKED_PER_RUN versions a run from where the last run stopped (one Query), their
    sources' newest producers (one BatchGetItem per 100), and only the versions with a
    producer now are re-read and linked (ancestry.rematch). Those whose window is over are
    no longer looked for (one BatchWriteItem per 25): they stay versions without a parent.
    Returns (links found, whether the read may have left something: not idle)."""
    page, places["untracked_after"] = storage.sweep.untracked_page(UNTRACKED_PER_RUN, state.untracked_after)
    now, window = now_iso(), ancestry.source_window()
    over = [w for w in page if not rules.still_matching(w.recorded_at, now, window)]
    live = [w for w in page if w not in over]
    producers = storage.versions.newest_producers(sorted({s for w in live for s in w.sources}))
    resolved = [{"bucket": w.bucket, "number": w.number, "parent": link}
                for w in live if any(s in producers for s in w.sources)
                for link in ancestry.rematch(w.bucket, w.number, window)]
    if over:
        storage.sweep.stop_looking(over)
    return resolved, bool(page) or state.untracked_after is not None


def exposure(limit: int, see_restricted: bool = True, look: AbstractSet[SweepWork] = frozenset(SweepWork)
             ) -> dict[str, Any]:
    """The biggest risks, each one Query of a sparse index: channels that hold a revoked
    version (consumers get a 409 from them) and scheduled revocations still to come; not
    read when the counts item says the index holds nothing (`look`: the kinds to read,
    sweep_work.to_read)."""
    serving, more_serving = channels.serving_revoked(limit, see_restricted) \
        if SweepWork.EXPOSED in look else ([], False)
    upcoming, more_upcoming = lifecycle.upcoming(limit) if SweepWork.SCHEDULED in look else ([], False)
    return {"channels_serving_revoked": serving, "channels_serving_revoked_truncated": more_serving,
            "upcoming_revocations": upcoming, "upcoming_revocations_truncated": more_upcoming}


def report(limit: int, next_token: str | None, see_restricted: bool = True) -> ComplianceReport:
    """The last sweep's findings, the versions flagged now (paginated), the drafts abandoned
    now, and counts; for a viewer, no sentence names a restricted channel (one BatchGet of
    the channels named). The abandoned drafts cost one Query, made only while the counts
    item says a draft may exist (SweepWork.DRAFTS)."""
    last, state = storage.sweep.report_and_counts()  # one BatchGet; the counts kept current by the changes
    flagged, end = storage.sweep.flagged_page(next_token, limit)
    counts = state.counted()
    changed = last.ancestry_changes if last else []
    named = findings.channels_in([*(f for i in flagged for f in i.findings or []),
                                  *(f for c in changed for f in c.get("findings") or []),
                                  *(r["parent"] for r in (last.parents_resolved if last else []))])
    named |= {(c["bucket"], c["channel"]) for c in (last.channels_serving_revoked if last else [])}
    shown = findings.visibility(named, see_restricted)
    look = sweep_work.to_read(state.noted(), state.idle())
    risks = exposure(EXPOSURE_LIMIT, see_restricted, look)
    abandoned, more_abandoned = drafts.abandoned(EXPOSURE_LIMIT) if SweepWork.DRAFTS in look else ([], False)
    counts.update(channels_serving_revoked=len(risks["channels_serving_revoked"]),
                  upcoming_revocations=len(risks["upcoming_revocations"]), abandoned_drafts=len(abandoned))
    return ComplianceReport.model_validate({
        "last_sweep": _present_sweep(last, shown) if last else None, "counts": counts,
        "flagged": [_present_flag(i.attributes(), shown) for i in flagged], **risks,
        "abandoned_drafts": abandoned, "abandoned_drafts_truncated": more_abandoned, "next_token": end or ""})


def _present_flag(item: dict[str, Any], shown: findings.Shown) -> dict[str, Any]:
    """A flagged item (or a sweep's change) as a response: its findings written as sentences."""
    return {**{k: v for k, v in item.items() if k != "findings"},
            "messages": findings.stored_messages(item.get("findings"), item.get("messages"), shown),
            "findings": findings.stored_findings(item.get("findings"), item.get("messages"), shown,
                                                 item.get("ancestry_status") or item.get("to"))}


def _present_sweep(report: entities.Report, shown: findings.Shown) -> dict[str, Any]:
    """A sweep's report as a response: the stored findings written as sentences for the caller."""
    return {**report.attributes(),
            "channels_serving_revoked": [c for c in report.channels_serving_revoked if shown(c["bucket"], c["channel"])],
            "ancestry_changes": [_present_flag(c, shown) for c in report.ancestry_changes],
            "parents_resolved": [{**r, "parent": findings.link(r["parent"], shown)} for r in report.parents_resolved]}
