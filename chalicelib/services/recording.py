"""Manifest runs → versions: create a version, or add the builds it lacks.

A version is stored whole with a true ingestion record, or not at all:
- Before anything is written, every item the run would write is sized (`refusal`): a build
  item over DynamoDB's item limit, or a serving copy too large even for copy pages
  (copies.py), refuses the run with a reason, and nothing is stored.
- A version that fits one transaction (the usual case: up to ~90 builds and artifacts) is
  written in one: version, builds, artifact index, `latest` and the audit event.
- A larger one is created `running` (never served, never on `latest`, not assignable), its
  builds and artifact-index items follow in transactions split by item count and bytes, and
  a last transaction completes it: `active` (or revoked, when a parent is), its copy pages,
  and `latest` moved unless a newer version holds it. An ingestion interrupted half-way is
  finished by the re-delivery (the fingerprint finds the running version).

Each artifact's newest producer (an item of its own in storage, what the compliance check
reads in batches) is put in the creating transaction when it has room, else written right
after the version (or, for the S3 ingestion, with its ingestion record: `produced`). A reader
that finds none, or one naming a version that is gone, falls back to the index entries.

Version numbers come from `last_number` on the bucket item, bumped in the same
transaction that writes the version and its fingerprint item, on the condition that the
counter still holds the value read: concurrent writers retry, so numbers stay gapless and
unique, and a fingerprint never gets two versions. `version_count` counts the versions
that exist (deletions lower it). Each parent's status as read is a condition of the
creating transaction, so a parent revoked meanwhile is seen on the retry.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from . import ancestry, audit, buckets, channels, copies, duplicates, versions
from ..domain import ids, rules
from .. import storage
from ..storage import entities
from .channels import LATEST, Target
from ..runtime.clock import now_iso
from ..domain.enums import HistoryCause, VersionStatus
from ..domain.manifest import ParsedBuild, ParsedRun
from ..domain.names import shown
from ..domain.platforms import unkeyable
from ..domain.models import IngestedVersion
from .retry import retrying

Action = dict[str, Any]
# The creating transaction's own items besides builds: bucket, fingerprint, version, the
# move of `latest`, the audit event, and room for parent edges and guards.
FIXED_ROOM = 20


class RunRefused(Exception):
    """A run that cannot be stored as it is (too large for DynamoDB): nothing was written."""


def record_run(run: ParsedRun, actor: str, key: str | None = None,
               produced: list[entities.ArtifactEntry] | None = None) -> IngestedVersion:
    """Idempotent and safe under concurrency: retried from its reads on a lost race.
    `key`, the manifest's S3 key, must be one the bucket accepts (buckets.check_manifest_key).
    The newest producers the version's transaction had no room for are added to `produced`
    when given (the caller writes them: `with_newest_producers`), else written here."""
    problem = refusal(run)
    if problem:
        raise RunRefused(problem)
    return retrying(lambda: _record(run, actor, key, produced), what=f"recording {run.bucket}/{run.fingerprint}")


def record_draft(run: ParsedRun, bucket: entities.Bucket, actor: str, finishing: list[Action]) -> IngestedVersion:
    """Record a draft of the HCP API that its last build completes (publishing.py), once:
    `finishing` (the draft's deletion, conditioned on the draft as read) goes into the
    transaction that creates the version, so of two concurrent completions one fails its
    condition. Not retried here: the caller re-reads the draft."""
    problem = refusal(run)
    if problem:
        raise RunRefused(problem)
    return _create(run, bucket, actor, finishing)


def refusal(run: ParsedRun) -> str | None:
    """Why the run cannot be stored, checked before anything is written; None if it can."""
    unkeyable = next(filter(None, map(_unkeyable, run.builds)), None)
    if unkeyable:
        return unkeyable
    now = now_iso()
    items = [versions.build_item(run.bucket, 0, b, now) for b in run.builds]
    for build, item in zip(run.builds, items):
        weight = storage.item_size(item.attributes())
        if weight > storage.ITEM_BYTES:
            return (f"build {build.component_type} would be a {weight}-byte item; DynamoDB's limit is "
                    f"{storage.ITEM_BYTES} bytes with a margin (trim its custom_data or artifact list)")
    copy = copies.size(channels.served_builds(items))
    if copy > copies.MAX_COPY_BYTES:
        return (f"the version's serving copy would be {copy} bytes; the limit is {copies.MAX_COPY_BYTES} "
                f"({len(run.builds)} builds: trim custom_data, or split the builds over several buckets)")
    return None


def _unkeyable(build: ParsedBuild) -> str | None:
    """Why a build's platform or an artifact ID to index cannot be part of a key (the platform
    index, the artifact index), or None."""
    ids = [a.external_id for a in build.artifacts]
    found = unkeyable(build.platform, ids)
    if not found:
        return None
    index, problem = found
    what = f"platform {shown(build.platform, 40)!r}" if index is None else f"artifact ID {shown(ids[index], 40)!r}"
    return f"build {shown(build.component_type)}: {what} {problem} (it is part of a key of the registry's DynamoDB table)"


def _record(run: ParsedRun, actor: str, key: str | None,
            produced: list[entities.ArtifactEntry] | None) -> IngestedVersion:
    seen = duplicates.look(run)
    buckets.check_manifest_key(seen.bucket, key)
    if seen.number is not None:
        return _extend(run, seen.number, actor, produced)
    held = duplicates.holder(run, seen)
    if held:
        return IngestedVersion(bucket=run.bucket, version=held.version.name, fingerprint=run.fingerprint,
                               builds_added=0, created=False, duplicate=held.why)
    return _create(run, seen.bucket, actor, finishing=duplicates.claims(run, seen), produced=produced)


def _create(run: ParsedRun, bucket: entities.Bucket | None, actor: str,
            finishing: list[Action] | None = None,
            produced: list[entities.ArtifactEntry] | None = None) -> IngestedVersion:
    now = now_iso()
    previous = bucket.last_taken() if bucket else 0
    number, name = previous + 1, f"v{previous + 1}"
    parents, unresolved, untracked = ancestry.resolve(run.bucket, run, now) if _has_hints(run) else ([], [], [])
    inherited = rules.revocation_on_arrival(parents, now)
    builds = [versions.build_item(run.bucket, number, b, now) for b in run.builds]
    entries = _entries(run.bucket, number, run.builds, now)
    writes = _build_writes(run.bucket, number, builds, entries)
    finishing = finishing or []
    whole = (len(writes) + len(finishing) <= storage.TRANSACTION_LIMIT - FIXED_ROOM
             and 2 * sum(storage.action_size(a) for a in writes) < storage.TRANSACTION_BYTES - 100_000
             and copies.size(channels.served_builds(builds)) <= channels.INLINE_COPY_BYTES)
    status = rules.status_on_creation(inherited, whole)
    version = entities.Version(
        bucket=run.bucket, number=number, name=name, fingerprint=run.fingerprint,
        id=run.version_id or ids.new(), template_type=run.template_type, author=run.author or actor,
        status=status, revocation=inherited, rev=1, child_count=0, created_at=now, updated_at=now,
        build_count=len(builds) if whole else 0, expected_builds=None if whole else len(builds),
        parent_hint=run.parent_hint.model_dump(exclude_none=True) if run.parent_hint else None,
        parents=ancestry.stored_links(parents) or None, unresolved=unresolved or None, untracked=untracked or None)
    for field, values in storage.versions.summary(builds).items():  # platforms, regions, build labels
        setattr(version, field, sorted(values))
    bucket_update = storage.buckets.numbered(run.bucket, number, previous, now,
                                             latest=name if whole and not inherited else None, new=not bucket)
    extra = ancestry.edge_actions(run.bucket, number, parents)
    extra += [storage.versions.status_check(p["bucket"], p["number"], p["parent_status"])
              for p in parents if p.get("parent_status")]
    if parents or unresolved:
        link_status, links = ancestry.evaluate(version.parents or [], unresolved, revoked=bool(inherited),
                                               origin=rules.origin(version.template_type))
        version.ancestry_status, version.ancestry_findings = link_status, ancestry.attention(links)
    extra += ancestry.tally_actions(None, version)  # its flag, its hints, the counts
    if untracked:  # the sweep looks for them a while: a parent's manifest may come later
        extra += ancestry.looking_actions(run.bucket, number, untracked, now)
    if not bucket:
        extra.append(audit.event_action(run.bucket, "bucket.created", run.bucket, actor, after={"by": "ingestion"}))
    if not run.version_id:  # a draft's id item exists already
        assert version.id
        extra.append(storage.drafts.index_version_id(version.id, run.bucket, run.fingerprint))
    created = [bucket_update, *storage.versions.create(version), *extra, *finishing]
    if whole:
        latest = [] if inherited else channels.point_actions(
            run.bucket, LATEST, Target(version, builds), cause=HistoryCause.INGEST, actor=actor,
            previous=bucket.latest_version if bucket else None, latest=True)
        actions = created + latest + writes + [_created_event(version, run, parents, actor)]
        newest = storage.versions.put_newest_producers(entries)
        room = (len(actions) + len(newest) <= storage.TRANSACTION_LIMIT
                and sum(storage.action_size(a) for a in actions + newest) < storage.TRANSACTION_BYTES - 100_000)
        audit.commit(actions + newest if room else actions)
        if not room:
            _newest_later(entries, produced)
    else:
        audit.commit(created)
        _write_in_chunks(run.bucket, number, writes, actor, added_event=False)
        _complete(run.bucket, number, actor, run, parents)
        _newest_later(entries, produced)
    return IngestedVersion(bucket=run.bucket, version=name, fingerprint=run.fingerprint,
                           builds_added=len(run.builds), created=True)


def _created_event(version: entities.Version, run: ParsedRun, parents: list[dict[str, Any]], actor: str) -> Action:
    return audit.event_action(run.bucket, "version.created", version.name, actor, after={
        "fingerprint": run.fingerprint, "builds": len(run.builds), "status": version.status,
        "parents": [f"{p['bucket']}/{p['version']}" for p in parents]})


def _has_hints(run: ParsedRun) -> bool:
    """Whether the run says anything about parents (else resolving them reads nothing)."""
    return bool(run.parent_hint or run.unresolved or any(b.source_artifact or b.parent for b in run.builds))


def _extend(run: ParsedRun, number: int, actor: str,
            produced: list[entities.ArtifactEntry] | None) -> IngestedVersion:
    """Add the builds a version lacks (a later upload, or a re-delivery finishing an
    interrupted one); complete it if it is still running; re-copy it onto its channels."""
    existing = storage.versions.build_ids(run.bucket, number)
    missing = [b for b in run.builds if b.id not in existing]
    now = now_iso()
    if missing:
        items = [versions.build_item(run.bucket, number, b, now) for b in missing]
        entries = _entries(run.bucket, number, missing, now)
        _write_in_chunks(run.bucket, number, _build_writes(run.bucket, number, items, entries), actor, added_event=True)
        _newest_later(entries, produced)
    version = storage.versions.version(run.bucket, number)
    if version and version.status == VersionStatus.RUNNING:
        _complete(run.bucket, number, actor, run, version.parents or [])
    elif missing:
        _recopy(run.bucket, number, actor)
    return IngestedVersion(bucket=run.bucket, version=f"v{number}", fingerprint=run.fingerprint,
                           builds_added=len(missing), created=False)


def _entries(bucket: str, number: int, parsed: list[ParsedBuild], now: str) -> list[entities.ArtifactEntry]:
    """The artifact-index entries of the builds, in build order."""
    return [entities.ArtifactEntry(external_id=ext, bucket=bucket, number=number, build_id=build.id,
                                   platform=build.platform, created_at=now)
            for build in parsed for ext in build.indexed_ids]


def _build_writes(bucket: str, number: int, items: list[entities.Build],
                  entries: list[entities.ArtifactEntry]) -> list[Action]:
    """The puts of build items, each followed by its artifact-index items, and the version's
    entries in the platform index (its other summaries are on the version item: `builds_added`)."""
    writes = storage.versions.platform_entries(bucket, number, storage.versions.summary(items)["platforms"])
    for item in items:
        writes.append(storage.versions.put_build(item))
        writes += [storage.versions.put_artifact_entry(e) for e in entries if e.build_id == item.id]
    return writes


def _newest_later(entries: list[entities.ArtifactEntry], produced: list[entities.ArtifactEntry] | None) -> None:
    """Newest producers the version's own transaction had no room for: left to the caller
    (`produced`), or written now, in chunks."""
    if produced is not None:
        produced.extend(entries)
        return
    for chunk in chunks(storage.versions.put_newest_producers(entries)):
        storage.transact(chunk)


def with_newest_producers(closing: list[Action], produced: list[entities.ArtifactEntry]) -> list[Action]:
    """The caller's closing transaction (`closing`, e.g. an ingestion record) with the newest
    producers left to it (`produced`) when they fit; those that do not are written first, in
    chunks, and `closing` comes back alone."""
    newest = storage.versions.put_newest_producers(produced)
    if len(closing) + len(newest) <= storage.TRANSACTION_LIMIT - 5:
        return closing + newest
    for chunk in chunks(newest):
        storage.transact(chunk)
    return closing


def chunks(writes: list[Action], reserve: int = 5) -> list[list[Action]]:
    """Writes packed into transactions of at most TRANSACTION_LIMIT - `reserve` items and
    about TRANSACTION_BYTES less a margin (a build's artifact-index items may span two)."""
    packed: list[list[Action]] = [[]]
    used = 0
    for action in writes:
        weight = storage.action_size(action)
        if packed[-1] and (len(packed[-1]) >= storage.TRANSACTION_LIMIT - reserve
                           or used + weight > storage.TRANSACTION_BYTES - 50_000):
            packed.append([])
            used = 0
        packed[-1].append(action)
        used += weight
    return [chunk for chunk in packed if chunk]


def _write_in_chunks(bucket: str, number: int, writes: list[Action], actor: str, added_event: bool) -> None:
    """Each chunk in its own transaction, bumping the version's build_count and `rev` (its
    channel copies are stale until re-copied)."""
    for chunk in chunks(writes):
        builds = [b for a in chunk if (b := storage.versions.build_put(a))]
        added = [b.component_type for b in builds]
        bump = storage.versions.builds_added(bucket, number, len(added), now_iso(), storage.versions.summary(builds))
        events = [audit.event_action(bucket, "version.builds_added", f"v{number}", actor, after=added)
                  ] if added_event and added else []
        audit.commit(chunk + [bump] + events)


def _copy_fields(bucket: str, version: entities.Version, builds: list[entities.Build]) -> dict[str, Any]:
    """Write copy pages when the version's copy is too large to go inline, and return the
    version fields that name them (empty for an inline copy)."""
    served = channels.served_builds(builds)
    if copies.size(served) <= channels.INLINE_COPY_BYTES:
        return {}
    generation = len(builds)
    pages = copies.page_writes(bucket, version.number, generation, served)
    for start in range(0, len(pages), 8):
        storage.transact(pages[start:start + 8])
    return {"copy_generation": generation, "copy_pages": len(pages)}


def _complete(bucket: str, number: int, actor: str, run: ParsedRun, parents: list[dict[str, Any]]) -> None:
    """The last step of a version written in several transactions: active (or revoked, if a
    revocation reached it while it ran), copy pages, `latest` unless a newer version holds it."""
    def attempt() -> None:
        version, builds = versions.load(bucket, f"v{number}")
        final = rules.status_on_completion(version.attributes())
        if final is None:
            return  # completed by a concurrent delivery
        fields: dict[str, Any] = {"status": final, "build_count": len(builds), "updated_at": now_iso(),
                                  **_copy_fields(bucket, version, builds)}
        complete = storage.versions.complete(version, fields)
        updated = dataclasses.replace(version, **fields, expected_builds=None, rev=(version.rev or 0) + 1)
        actions = [complete, *ancestry.tally_actions(version, updated), _created_event(updated, run, parents, actor)]
        latest = storage.channels.channel(bucket, LATEST)
        if final == VersionStatus.ACTIVE and channels.takes_latest(number, latest):
            actions += channels.point_latest(bucket, latest, Target(updated, builds), actor, cause=HistoryCause.INGEST)
        else:
            actions.append(storage.channels.holds(bucket, LATEST, latest.number if latest else None))
        audit.commit(actions)
    retrying(attempt, what=f"completing {bucket}/v{number}")


def _recopy(bucket: str, number: int, actor: str) -> None:
    """After builds were added to a complete version: new copy pages if it needs them, then
    every channel holding it re-copied, then the old pages deleted."""
    def attempt() -> tuple[entities.Version, dict[str, Any]]:
        version, builds = versions.load(bucket, f"v{number}")
        fields = _copy_fields(bucket, version, builds)
        if fields:
            storage.transact([storage.versions.set_copy_pages(bucket, number, version.rev,
                                                              fields["copy_generation"], fields["copy_pages"])])
        return version, fields

    version, fields = retrying(attempt, what=f"re-copying {bucket}/v{number}")
    channels.refresh(bucket, number, actor)
    if fields or version.copy_pages:
        storage.versions.delete_stale_copies(bucket, number, fields.get("copy_generation", version.copy_generation))
