"""Retention policies per bucket: set, read, remove, preview, and the sweep's step that applies them.

The rule (which versions a policy acts on, and why the others are kept) is pure and lives in
domain/retention.py; this module reads what it needs and acts through the existing paths:
revoking is lifecycle's revocation (actor `retention`, reason `retention policy: …`, never
cascading to descendants, channels untouched since held versions are never acted on),
deleting is lifecycle's deletion (never the manifest objects in S3). Each of those re-reads
the version and its holders in the attempt that commits and runs `_refusal` on them, and its
transaction is conditioned on the version's `rev`, which every channel move onto the version
bumps: a version that got a channel (or `latest`) between the sweep's read and its write is
left alone.

The sweep's step (`apply_policies`) is bounded and resumable: at most BUCKETS_PER_RUN buckets
a run, round-robin by name after the last one done (kept on the report's counts item); in each,
the versions oldest first from where the last run stopped (`resume_after` on the policy), at
most VERSIONS_PER_RUN read and ACTIONS_PER_RUN acted on. A pass ends where nothing further can
be acted on (domain/retention.py `decide`) or at the last version; the next run starts a new
pass from the oldest. Versions kept because a channel or a child holds them are read again by
every pass (the hold may end).

Residual window, stated: a child version recorded from a version in the milliseconds between
`_refusal`'s read of its children and the deletion's commit is not seen (recording a child
does not write the parent item); the child's link then reads `undetermined`, as after any
deletion of a parent by hand.
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Any

from . import ancestry, audit, buckets, channels, lifecycle
from .. import storage
from ..domain import retention as rule
from ..domain.enums import RevocationType, SweepWork, VersionStatus
from ..domain.models import (RetentionDecision, RetentionPolicy, RetentionPreview, RetentionProgress,
                             RetentionRequest)
from ..errors import BadRequest, Conflict, NotFound, RegistryError
from ..runtime import clock
from ..runtime.observability import logger
from ..storage import entities

ACTOR = "retention"
BUCKETS_PER_RUN = 20
VERSIONS_PER_RUN = 200  # read per bucket per run
ACTIONS_PER_RUN = 25  # revoked or deleted per bucket per run
PAGE = 50  # versions per Query
RANK_READ = 1000  # versions read newest first, at most, to place the newest `keep_newest` active ones


# ---- the policy -------------------------------------------------------------------------

def put_policy(bucket: str, request: RetentionRequest, actor: str) -> RetentionPolicy:
    """Set (or replace) the bucket's policy; a replaced policy's sweep starts from the oldest."""
    if request.keep_newest is None and request.keep_younger_than is None:
        raise BadRequest("a retention policy needs keep_newest (1-100), keep_younger_than (1h-3650d) or both")
    if request.keep_younger_than is not None:
        try:
            rule.duration(request.keep_younger_than)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
    buckets.get_bucket(bucket)  # a 404 naming the bucket; the write asserts it still exists
    previous = storage.retention.policy(bucket)
    new = entities.RetentionPolicy(bucket=bucket, id=secrets.token_hex(8), action=request.action,
                                   set_at=clock.now_iso(), set_by=actor, keep_newest=request.keep_newest,
                                   keep_younger_than=request.keep_younger_than)
    try:
        audit.commit([*storage.retention.put(new, previous), storage.sweep.note_work(SweepWork.RETENTION, new.set_at),
                      audit.event_action(bucket, "retention.set", bucket, actor,
                                         before=_stated(previous) if previous else None, after=_stated(new))])
    except storage.ConditionFailed:
        raise Conflict(f"the retention policy of bucket {bucket!r} changed meanwhile (or the bucket went); "
                       "read it and try again") from None
    return _present(new)


def get_policy(bucket: str) -> RetentionPolicy:
    return _present(_policy(bucket))


def delete_policy(bucket: str, actor: str) -> RetentionPolicy:
    previous = _policy(bucket)
    try:
        audit.commit([storage.retention.remove(previous),
                      audit.event_action(bucket, "retention.removed", bucket, actor, before=_stated(previous))])
    except storage.ConditionFailed:
        raise Conflict(f"the retention policy of bucket {bucket!r} changed meanwhile; read it and try again") from None
    return _present(previous)


def _policy(bucket: str) -> entities.RetentionPolicy:
    found = storage.retention.policy(bucket)
    if not found:
        buckets.get_bucket(bucket)  # no bucket: its own 404
        raise NotFound(f"bucket {bucket!r} has no retention policy")
    return found


def _stated(policy: entities.RetentionPolicy) -> dict[str, Any]:
    return {"keep_newest": policy.keep_newest, "keep_younger_than": policy.keep_younger_than,
            "action": policy.action}


def _present(policy: entities.RetentionPolicy) -> RetentionPolicy:
    return RetentionPolicy.model_validate({
        **_stated(policy), "bucket": policy.bucket, "set_at": policy.set_at, "set_by": policy.set_by,
        "progress": RetentionProgress(
            resume_after=f"v{policy.resume_after}" if policy.resume_after is not None else None,
            last_run_at=policy.last_run_at, last_run_acted_on=policy.last_run_acted_on,
            last_pass_finished_at=policy.last_pass_finished_at)})


# ---- what the policy decides ------------------------------------------------------------

def preview(bucket: str, limit: int, token: str | None) -> RetentionPreview:
    """What the sweep would do now to one page of the bucket's versions, oldest first;
    writes nothing."""
    policy = _policy(bucket)
    page, next_token = storage.retention.oldest_first_page(bucket, token, limit)
    decisions, over = Evaluation(policy).decide(page)
    return RetentionPreview(bucket=bucket, policy=_present(policy), evaluated_at=clock.now_iso(),
                            versions=[_decision(policy, d) for d in decisions], pass_ends_here=over,
                            next_token=next_token or "")


def _decision(policy: entities.RetentionPolicy, decision: rule.Decision) -> RetentionDecision:
    return RetentionDecision.model_validate({
        "version": decision.name, "status": decision.status, "created_at": decision.created_at,
        "reasons": list(decision.reasons), "decision": policy.action if decision.act else "keep"})


class Evaluation:
    """One bucket's policy evaluated now: the channels (one Query) and the newest active
    versions (a few Queries) read once, children read for the versions otherwise acted on."""

    def __init__(self, policy: entities.RetentionPolicy) -> None:
        self.policy = policy
        self.rule = rule.Policy(action=rule.Action(policy.action), keep_newest=policy.keep_newest,
                                keep_younger_than=rule.duration(policy.keep_younger_than)
                                if policy.keep_younger_than else None)
        self.cutoff = clock.iso(clock.now() - self.rule.keep_younger_than) if self.rule.keep_younger_than else None
        self.held: dict[int, list[str]] = {}
        for channel in channels.channel_items(policy.bucket):
            if channel.number is not None:
                self.held.setdefault(channel.number, []).append(channel.name)
        self.ranked_from = None
        if policy.keep_newest:
            newest, unsure = storage.retention.active_newest_first(policy.bucket, policy.keep_newest, RANK_READ)
            # Not placed within RANK_READ versions: keep_newest protects every active version.
            self.ranked_from = 0 if unsure else rule.ranked_from(newest, policy.keep_newest)

    def decide(self, versions: list[entities.Version]) -> tuple[list[rule.Decision], bool]:
        candidates = [self._candidate(v) for v in versions]
        first, _ = rule.decide(self.rule, candidates, self.ranked_from, self.cutoff)
        acted = {d.number for d in first if d.act}
        candidates = [replace(c, active_children=tuple(active_children(self.policy.bucket, c.number)))
                      if c.number in acted else c for c in candidates]
        return rule.decide(self.rule, candidates, self.ranked_from, self.cutoff)

    def _candidate(self, version: entities.Version) -> rule.Candidate:
        return rule.Candidate(number=version.number, name=version.name, status=version.status,
                              created_at=version.created_at, held_by=tuple(sorted(self.held.get(version.number, []))))


def active_children(bucket: str, number: int) -> list[str]:
    """The children of a version that are not revoked (`bucket/vN`): one Query, one BatchGet."""
    children = storage.versions.versions(ancestry.child_refs(bucket, number))
    return sorted(f"{c.bucket}/{c.name}" for c in children if c.status != VersionStatus.REVOKED)


# ---- the sweep's step -------------------------------------------------------------------

def apply_policies(state: entities.Counts | None = None) -> tuple[list[str], bool]:
    """The sweep's step: apply the policies of up to BUCKETS_PER_RUN buckets, after the last
    bucket done by the previous run (`retention_after` on the counts item: `state`, as the
    sweep read it at its start; None: read it here); the versions acted on (`bucket/vN`),
    and whether any bucket has a policy."""
    after = (state or storage.sweep.counts()).retention_after
    policies = storage.retention.policies_after(after, BUCKETS_PER_RUN)
    if len(policies) < BUCKETS_PER_RUN and after is not None:  # the end of the list: round again from the first
        policies += [p for p in storage.retention.policies_after(None, BUCKETS_PER_RUN - len(policies))
                     if p.bucket <= after]
    acted: list[str] = []
    for policy in policies:
        try:
            acted += _apply(policy)
        except (RegistryError, storage.StorageError, ValueError) as exc:  # the sweep's other steps go on
            logger.warning("retention: bucket left for the next run", extra={"bucket": policy.bucket,
                                                                             "error": str(exc)})
    if policies:
        storage.retention.save_cursor(policies[-1].bucket)
    if acted:
        logger.info("retention applied", extra={"versions": acted})
    return acted, bool(policies)


def _apply(policy: entities.RetentionPolicy) -> list[str]:
    """One run over one bucket: from `resume_after`, oldest first, within the bounds."""
    evaluation = Evaluation(policy)
    position, read, over, more = policy.resume_after, 0, False, True
    acted: list[str] = []
    while not over and more and read < VERSIONS_PER_RUN and len(acted) < ACTIONS_PER_RUN:
        versions, more = storage.retention.oldest_first(policy.bucket, position,
                                                        min(PAGE, VERSIONS_PER_RUN - read))
        decisions, over = evaluation.decide(versions)
        for decision in decisions:
            if len(acted) >= ACTIONS_PER_RUN:
                over = False
                break
            position, read = decision.number, read + 1
            if decision.act and _act(policy, decision):
                acted.append(f"{policy.bucket}/{decision.name}")
        if not versions:
            break
    finished = over or not more
    now = clock.now_iso()
    storage.retention.record_progress(policy, resume_after=None if finished else position, last_run_at=now,
                                      last_run_acted_on=acted,
                                      **({"last_pass_finished_at": now} if finished else {}))
    return acted


def _act(policy: entities.RetentionPolicy, decision: rule.Decision) -> bool:
    """Revoke or delete one version through lifecycle's own paths; False when it changed
    meanwhile so that the policy no longer applies (`_refusal` objected, or it is gone)."""
    refuse = _refusal(policy, decision)
    try:
        if policy.action == rule.Action.DELETE:
            lifecycle.delete_version(policy.bucket, f"v{decision.number}", rollback_channels=False, actor=ACTOR,
                                     refuse=refuse)
        else:
            revocation = {"reason": f"retention policy: {decision.reasons[0]}", "revoked_by": ACTOR,
                          "revocation_type": RevocationType.DIRECT, "skip_descendants_revocation": True,
                          "disable_rollback_channels": False}
            lifecycle.revoke_unless(policy.bucket, decision.number, revocation, ACTOR, refuse)
    except (Conflict, NotFound):
        return False
    return True


def _refusal(policy: entities.RetentionPolicy, decision: rule.Decision) -> lifecycle.Refusal:
    """What the revoke or delete checks on the version and its holders as it reads them to
    commit: no channel holds it (`latest` included), its status is still one the policy acts
    on, and none of its children is active."""
    allowed = {VersionStatus.ACTIVE} | ({VersionStatus.REVOKED} if policy.action == rule.Action.DELETE else set())

    def refuse(version: entities.Version, holding: list[entities.Channel]) -> None:
        if holding:
            raise Conflict(f"{version.name} is held by {', '.join(c.name for c in holding)}: retention leaves it")
        if version.status not in allowed:
            raise Conflict(f"{version.name} is {version.status} now: retention leaves it")
        if version.status != decision.status or version.created_at != decision.created_at:
            raise Conflict(f"{version.name} changed since the policy was evaluated")
        if active_children(version.bucket, version.number):
            raise Conflict(f"{version.name} has active children now: retention leaves it")
    return refuse
