"""Bulk revocation: revoke every version a filter selects, in one bucket or across buckets.

`POST /buckets/{b}/revocations` (contributors, as a single revoke) and `POST /revocations`
(admins; `buckets`, or every bucket) take a filter (domain/selection.py) and the single
revocation's fields. Each selected version is revoked (or scheduled) by
lifecycle.revoke_number, the very code of a single revoke: same checks, same audit event
(`version.revoked` / `version.revocation_scheduled`, by the requester), same channel
rollback, same cascade to descendants (unless `skip_descendants_revocation`).

- `dry_run: true` reads and answers what would be revoked (at most PREVIEW_LIMIT versions,
  then their not yet revoked descendants, at most DESCENDANT_LIMIT, each with `truncated`),
  and writes nothing.
- Otherwise a job is stored (pending, with a `revocation_job.created` event) and answered
  202. The request applies its first batch itself (INLINE_BATCHES of INLINE_SIZE, each
  revocation cascading inline as a single revoke's does): a set that fits is done in the
  answer. The sweep applies the rest (`advance`, one step of compliance.sweep()),
  BATCHES_PER_RUN batches of BATCH_SIZE candidates per run, oldest job first; the last
  batch finishes the job (`done`, a `revocation_job.finished` event with the counts).
- A batch is claimed before it is applied: the job's `seq` as read is the claim's
  condition, and recording the batch is conditioned on the claimed `seq`, so two sweeps
  never apply the same batch; a claim older than CLAIM_TIMEOUT (a Lambda's longest run) was
  abandoned by a run that died, and the next sweep applies that batch again (what the dead
  run did is then counted as already revoked).
- `matched` counts each version once per batch: a version several `external_ids` name in
  different batches is counted again there (then as already revoked).
- A selected version is skipped (counted by reason) when already revoked (a concurrent
  single revoke included), still being built (running, or an HCP draft), or deleted since
  an index named it; a version whose revocation keeps losing races counts as failed.
- Versions revoked by a job's batch in the sweep leave their cascades to the sweep's
  markers step (the same run); the request's inline batch cascades as a single revoke does.
- `GET /revocations/{id}`: a bucket's job is readable by whoever may read the bucket (the
  viewers included); a job across buckets by admins only (a 404 for others). A job names versions, never a
  channel, so no restricted channel shows through it.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from datetime import timedelta
from typing import Any, Iterable

from . import ancestry, audit, buckets, lifecycle, serving, versions
from .. import storage
from ..domain import actors, ids, rules, selection
from ..domain.access import caller, visible
from ..domain.enums import JobStatus, Role, SkipReason, SweepWork, VersionStatus
from ..domain.models import (
    BucketRevocationRequest,
    RevocationJob,
    RevocationPreview,
    RevocationRequest,
    RevokeRequest,
)
from ..errors import BadRequest, Conflict, Contention, NotFound
from ..runtime import clock
from ..runtime.clock import iso, now_iso
from ..runtime.observability import logger
from ..storage import entities

BATCH_SIZE = 50  # candidates a batch reads (and revokes at most)
BATCHES_PER_RUN = 4  # batches one sweep applies, over every pending job
INLINE_BATCHES = 1  # batches the request applies itself,
INLINE_SIZE = 20  # of this many candidates (each revocation cascading as a single revoke does, within a request)
JOBS_PER_RUN = 10  # pending jobs one sweep reads
MAX_QUERIES = 20  # Queries a batch makes at most to find its candidates (empty buckets)
CLAIM_TIMEOUT = timedelta(minutes=15)
MAX_FAILURES = 20
PREVIEW_LIMIT, PREVIEW_READS, DESCENDANT_LIMIT = 100, 1000, 100
TARGET = "revocation/"

Loaded = tuple[str, str, "entities.Version | None", list["entities.Build"]]  # bucket, name, version, builds


# ---- requests -------------------------------------------------------------------------------

def start_in_bucket(bucket: str, body: BucketRevocationRequest, actor: str) -> tuple[Any, int]:
    buckets.require(bucket)
    return _start(bucket, None, body, actor)


def start_across_buckets(body: RevocationRequest, actor: str) -> tuple[Any, int]:
    return _start(None, sorted(set(body.buckets)) if body.buckets is not None else None, body, actor)


def _start(bucket: str | None, only: list[str] | None, body: BucketRevocationRequest, actor: str
           ) -> tuple[RevocationJob | RevocationPreview, int]:
    """(the answer, its status): a dry run's preview (200), or the job (202)."""
    criteria = _criteria(body)
    when = lifecycle.parse_when(body)
    now = clock.now()
    stamp = iso(now)
    job = entities.RevocationJob(
        id=ids.new(), status=JobStatus.PENDING, created_at=stamp, updated_at=stamp, created_by=actor,
        created_by_id=actors.actor_id(actor),
        filter=criteria, reason=body.reason, bucket=bucket, buckets=only,
        revoke_at=iso(when) if when is not None and when > now else None,
        skip_descendants_revocation=body.skip_descendants_revocation,
        disable_rollback_channels=body.disable_rollback_channels,
        counts={"matched": 0, "revoked": 0, "scheduled": 0, "failed": 0}, skipped={r.value: 0 for r in SkipReason})
    if body.dry_run:
        return _preview(job), 200
    audit.commit([storage.revocations.create(job), storage.sweep.note_work(SweepWork.JOBS, job.created_at),
                  audit.event_action(bucket, "revocation_job.created", TARGET + job.id, actor,
                                     after={"filter": criteria, "buckets": only, "reason": body.reason,
                                            "revoke_at": job.revoke_at})])
    _advance(job.id, INLINE_BATCHES, INLINE_SIZE, inline_cascade=True)
    return _present(storage.revocations.job(job.id) or job), 202


def _criteria(body: BucketRevocationRequest) -> dict[str, Any]:
    """The filter as stored: `created_before` in UTC as versions' times are, the parent by
    bucket and name (resolved: a 404 when it does not exist); a 400 when it names nothing."""
    given = body.filter
    criteria: dict[str, Any] = {}
    if given.created_before is not None:
        criteria["created_before"] = iso(lifecycle.parse_time(given.created_before, "filter.created_before"))
    if given.labels:
        criteria["labels"] = dict(given.labels)
    if given.parent is not None:
        parent = given.parent
        if not visible(parent.bucket):  # answered as for a bucket without that version: nothing read
            raise NotFound(f"filter.parent: bucket {parent.bucket!r} has no version {parent.version!r}")
        number = versions.resolve_number(given.parent.bucket, given.parent.version)
        if storage.versions.version(given.parent.bucket, number) is None:
            raise NotFound(f"filter.parent: bucket {given.parent.bucket!r} has no version {given.parent.version!r}")
        criteria["parent"] = {"bucket": given.parent.bucket, "version": f"v{number}"}
    if given.external_ids:
        criteria["external_ids"] = list(dict.fromkeys(given.external_ids))
    if not selection.named(criteria):
        raise BadRequest("filter must name at least one of " + ", ".join(selection.CRITERIA)
                         + " (an empty filter would select every version)")
    return criteria


def get_job(job_id: str, is_admin: bool, see_restricted: bool = True) -> RevocationJob:
    """A job and its progress; a job across buckets is visible to admins only (a 404 for
    others, as for an id that does not exist); a viewer reads its filter without the labels
    it never sees."""
    job = storage.revocations.job(job_id) if ids.is_ulid(job_id) else None
    if job is None or (job.bucket is None and not is_admin) or (job.bucket and not visible(job.bucket)):
        raise NotFound(f"no revocation job {job_id[:80]!r} visible to this token (jobs across buckets are "
                       "visible to admins only, a bucket's to those who may see the bucket)")
    who = caller()
    return _present(job, see_restricted or bool(job.bucket and who and who.may(job.bucket, Role.CONTRIBUTOR)))


def _present(job: entities.RevocationJob, see_restricted: bool = True) -> RevocationJob:
    seen = selection.shown(job.filter, serving.hidden_labels(see_restricted))
    return RevocationJob.model_validate({**job.attributes(), "filter": seen, "counts": {**job.counts, "skipped": job.skipped},
                                         "batches": job.seq, "selection_finished": job.exhausted})


# ---- the sweep's step -------------------------------------------------------------------------

def advance() -> tuple[list[dict[str, Any]], bool]:
    """Apply up to BATCHES_PER_RUN batches of the pending jobs, oldest first (one Query of the
    pending index, then each job re-read): what each job got to, and whether any job was
    pending."""
    budget, done = BATCHES_PER_RUN, []
    jobs = storage.revocations.pending(JOBS_PER_RUN)
    for pending in jobs:
        if budget <= 0:
            break
        used = _advance(pending.id, budget, BATCH_SIZE, inline_cascade=False)
        budget -= used
        if used:
            job = storage.revocations.job(pending.id)
            done.append({"id": pending.id, "batches": used, "status": job.status if job else None})
    if done:
        logger.info("bulk revocations advanced", extra={"jobs": done})
    return done, bool(jobs)


def _advance(job_id: str, batches: int, size: int, inline_cascade: bool) -> int:
    """Claim and apply up to `batches` batches of `size` candidates of one job; how many it applied."""
    applied = 0
    while applied < batches:
        job = storage.revocations.job(job_id)
        if job is None or job.status == JobStatus.DONE or (job.claim and not _abandoned(job.claim)):
            return applied  # gone, finished, or another run holds a batch
        start = job.claim["from"] if job.claim else job.cursor
        candidates, cursor = _candidates(job, start, size)
        claimed = storage.revocations.claim(job, start, cursor, cursor is None, JobStatus.RUNNING, now_iso())
        if claimed is None:
            return applied  # another run claimed it first
        finished = _record(claimed, _apply(claimed, candidates, inline_cascade), cursor is None)
        applied += 1
        if finished is not False:
            return applied
    return applied


def _abandoned(claim: dict[str, Any]) -> bool:
    return str(claim.get("at") or "") < iso(clock.now() - CLAIM_TIMEOUT)


def _record(claimed: entities.RevocationJob, result: entities.RevocationJob, finished: bool) -> bool | None:
    """Store what the batch did, finishing the job after its last batch; None when the claim
    was taken over meanwhile (the taker applies the batch again), else whether it finished."""
    stamp = now_iso()
    fields = {"counts": result.counts, "skipped": result.skipped, "failures": result.failures, "updated_at": stamp}
    actions = []
    if finished:
        fields.update(status=JobStatus.DONE, finished_at=stamp)
        actions.append(audit.event_action(claimed.bucket, "revocation_job.finished", TARGET + claimed.id, "sweep",
                                          after={**result.counts, "skipped": result.skipped}))
    try:
        audit.commit([storage.revocations.release(claimed, fields, finished), *actions])
    except storage.ConditionFailed:
        return None
    return finished


# ---- selecting candidates ------------------------------------------------------------------------

def _candidates(job: entities.RevocationJob, start: dict[str, Any] | None, limit: int
                ) -> tuple[list[Any], dict[str, Any] | None]:
    """At most `limit` candidates (a `(bucket, number)` from an index, or a version as the
    bucket lists it) from `start`, from the narrowest source the filter names,
    within the job's buckets: (candidates, where the next batch starts, None at the end)."""
    criteria = job.filter
    source = selection.source(criteria)
    if source == "parent":
        parent = criteria["parent"]
        refs, edge = storage.sweep.children_page(parent["bucket"], rules.number_of(parent["version"]), limit,
                                                 (start or {}).get("edge"))
        return [r for r in refs if _in_scope(job, r[0])], {"edge": edge} if edge else None
    if source == "external_ids":
        wanted, at = criteria["external_ids"], (start or {}).get("at", 0)
        found: list[tuple[str, int]] = []
        while at < len(wanted) and len(found) < limit:
            found += [(e.bucket, e.number) for e in storage.versions.artifact_entries(wanted[at])
                      if _in_scope(job, e.bucket)]
            at += 1
        return list(dict.fromkeys(found)), {"at": at} if at < len(wanted) else None
    state = start or {"bucket": _next_bucket(job, None), "from": None}
    listed: list[Any] = []
    for _ in range(MAX_QUERIES):
        if not state["bucket"] or len(listed) >= limit:
            break
        items, last = storage.revocations.versions_from(state["bucket"], state["from"], limit - len(listed),
                                                        criteria.get("created_before"))
        listed += items
        state = {"bucket": state["bucket"], "from": last} if last else \
            {"bucket": _next_bucket(job, state["bucket"]), "from": None}
    return listed, state if state["bucket"] else None


def _in_scope(job: entities.RevocationJob, bucket: str) -> bool:
    if job.bucket is not None:
        return bucket == job.bucket
    return job.buckets is None or bucket in job.buckets


def _next_bucket(job: entities.RevocationJob, after: str | None) -> str | None:
    """The bucket whose versions are listed after `after`'s (None: the first)."""
    if job.bucket is not None:
        return job.bucket if after is None else None
    if job.buckets is not None:
        later = [b for b in job.buckets if after is None or b > after]
        return later[0] if later else None
    return storage.revocations.next_bucket(after)


def _load(candidates: list[Any], criteria: dict[str, Any]) -> list[Loaded]:
    """Each candidate with its builds when the filter needs them (one Query per version),
    else as listed or by one BatchGet of the references."""
    builds_needed = selection.needs_builds(criteria)
    loaded: list[Loaded] = []
    # the index's copies may lag: numbered versions are read again (consistent, one BatchGet)
    refs = [c if isinstance(c, tuple) else c.ref() for c in candidates if not isinstance(c, entities.Draft)]
    found = {} if builds_needed else {v.ref(): v for v in storage.versions.versions(refs)}
    for candidate in candidates:
        bucket, number = candidate if isinstance(candidate, tuple) else candidate.ref()
        listed = None if isinstance(candidate, tuple) else candidate
        if builds_needed and isinstance(listed, entities.Draft):
            draft, drafted = storage.drafts.with_builds(bucket, listed.fingerprint)
            loaded.append((bucket, listed.name, draft, list(drafted)))
        elif builds_needed:
            version, builds = storage.versions.with_builds(bucket, number)
            loaded.append((bucket, f"v{number}", version, builds))
        else:
            version = listed if isinstance(listed, entities.Draft) else found.get((bucket, number))
            loaded.append((bucket, version.name if version else f"v{number}", version, []))
    return loaded


def _decide(version: entities.Version | None, builds: Iterable[entities.Build], criteria: dict[str, Any]
            ) -> SkipReason | bool:
    """A skip reason, True (revoke it) or False (the filter does not select it). A version
    gone since an index named it is selected (and skipped): the index matched."""
    if version is None:
        return SkipReason.NOT_FOUND
    if not selection.matches(version.attributes(), [b.attributes() for b in builds], criteria):
        return False
    return selection.skip_reason(version.attributes()) or True


# ---- applying a batch -------------------------------------------------------------------------------

def _apply(job: entities.RevocationJob, candidates: list[Any], inline_cascade: bool) -> entities.RevocationJob:
    """Revoke (or schedule) the candidates the filter selects, one by one as single revokes
    are; the job with its counts, skips and failures after the batch."""
    counts, skipped, failures = dict(job.counts), dict(job.skipped), list(job.failures)
    request = RevokeRequest.model_validate({"reason": job.reason, "revoke_at": job.revoke_at,
                                            "skip_descendants_revocation": job.skip_descendants_revocation,
                                            "disable_rollback_channels": job.disable_rollback_channels})
    when = lifecycle.parse_when(request) if job.revoke_at else None
    for bucket, name, version, builds in _load(candidates, job.filter):
        decision = _decide(version, builds, job.filter)
        if decision is False:
            continue
        counts["matched"] += 1
        if decision is not True:
            skipped[decision] = skipped.get(decision, 0) + 1
            continue
        assert version is not None
        try:
            revoked = lifecycle.revoke_number(bucket, version.number, request, when,
                                              actors.Actor(job.created_by, job.created_by_id), inline_cascade)
            counts["scheduled" if revoked.status == VersionStatus.REVOCATION_SCHEDULED else "revoked"] += 1
            continue
        except (Conflict, NotFound):  # changed meanwhile: revoked by someone else, deleted, ...
            reason = selection.skip_reason(_attributes(storage.versions.version(bucket, version.number)))
            problem = None if reason else "changed while it was revoked; revoke it on its own"
        except Contention as exc:
            reason, problem = None, exc.message
        except Exception as exc:  # noqa: BLE001 - one version's failure must not stop the job, nor the sweep
            logger.exception("bulk revocation of a version failed", extra={"bucket": bucket, "version": name})
            reason, problem = None, f"the registry failed to revoke it ({type(exc).__name__}); see its logs"
        if reason:
            skipped[reason] = skipped.get(reason, 0) + 1
        else:
            counts["failed"] += 1
            if len(failures) < MAX_FAILURES:
                failures.append({"bucket": bucket, "version": name, "reason": problem})
    return dataclasses.replace(job, counts=counts, skipped=skipped, failures=failures)


def _attributes(version: entities.Version | None) -> dict[str, Any] | None:
    return version.attributes() if version else None


# ---- dry run ------------------------------------------------------------------------------------------

def _preview(job: entities.RevocationJob) -> RevocationPreview:
    """What the job would do, read the way it would read it, writing nothing."""
    targets: list[dict[str, Any]] = []
    cursor, reads, truncated = None, 0, False
    while not truncated:
        candidates, cursor = _candidates(job, cursor, BATCH_SIZE)
        reads += len(candidates)
        for bucket, name, version, builds in _load(candidates, job.filter):
            decision = _decide(version, builds, job.filter)
            if decision is False:
                continue
            if len(targets) >= PREVIEW_LIMIT:
                truncated = True
                break
            action = ("schedule" if job.revoke_at else "revoke") if decision is True else "skip"
            targets.append({"bucket": bucket, "version": name, "number": version.number if version else None,
                            "status": version.status if version else None, "action": action,
                            "skip_reason": None if decision is True else decision})
        if cursor is None:
            break
        truncated = truncated or reads >= PREVIEW_READS
    sources = [(t["bucket"], t["number"]) for t in targets if t["action"] != "skip"]
    descendants, more = ([], False) if job.skip_descendants_revocation else _descendants(sources)
    return RevocationPreview.model_validate({"filter": job.filter, "versions": targets, "truncated": truncated,
                                             "descendants": descendants, "descendants_truncated": more})


def _descendants(sources: list[tuple[str, int]]) -> tuple[list[dict[str, Any]], bool]:
    """The not yet revoked descendants the cascades from `sources` would reach, breadth first
    over child edges (one Query per version, one BatchGet per level's children), at most
    DESCENDANT_LIMIT: (descendants, more remain). The cascade goes wherever the children are;
    the caller is shown those in the buckets it may see (domain/access.py)."""
    seen = set(sources)
    queue = deque((ref, f"{ref[0]}/v{ref[1]}") for ref in sources)
    found: list[dict[str, Any]] = []
    while queue:
        ref, origin = queue.popleft()
        children = [c for c in ancestry.child_refs(*ref) if c not in seen]
        for child in storage.versions.versions(children):
            seen.add(child.ref())
            queue.append((child.ref(), origin))
            if rules.cascade_reaches(child.attributes(), "revoke", origin) and visible(child.bucket):
                if len(found) >= DESCENDANT_LIMIT:
                    return found, True
                found.append({"bucket": child.bucket, "version": child.name, "status": child.status,
                              "inherited_from": origin})
    return found, False
