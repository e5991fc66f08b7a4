"""Versions, their builds and fingerprints, the artifact index, and large versions' copy pages."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from . import keys, table
from .entities import ArtifactEntry, Bucket, Build, Channel, CopyPage, Draft, PackerRun, Version
from ..domain.enums import VersionStatus
from ..domain.platforms import canonical
from .errors import ConditionFailed
from .expressions import Action, Change, Filter
from .pages import list_page
from .schema import GSI1, GSI3

Fields = dict[str, Any]  # attributes a write sets
Ref = dict[str, Any]  # an item's address, opaque outside this package (from `contents`)
REV = "rev"


# ---- reads ------------------------------------------------------------------------------

def version(bucket: str, number: int) -> Version | None:
    item = table.get(keys.version(bucket, number))
    return Version.from_item(item) if item else None


def versions(refs: list[tuple[str, int]]) -> list[Version]:
    """Versions by (bucket, number), one BatchGet per 100; missing ones left out, order not kept."""
    return [Version.from_item(i) for i in table.get_many([keys.version(b, n) for b, n in refs])] if refs else []


def fingerprint_number(bucket: str, fingerprint: str) -> int | None:
    """The number of the bucket's version with this fingerprint (GetItem), or None."""
    item = table.get(keys.fingerprint(bucket, fingerprint))
    return int(item["number"]) if item else None


def with_builds(bucket: str, number: int) -> tuple[Version | None, list[Build]]:
    """The version and its builds: one Query of the items under `VERSION#<n>`."""
    items = list(table.query_all(keys.bucket_pk(bucket), prefix=keys.version_sk(number)))
    version_items = [Version.from_item(i) for i in items if not keys.is_build(i)]
    return (version_items[0] if version_items else None), [Build.from_item(i) for i in items if keys.is_build(i)]


def build_ids(bucket: str, number: int) -> set[str]:
    return {item["id"] for item in table.query_all(keys.bucket_pk(bucket), prefix=keys.builds_prefix(number),
                                                   projection="id")}


@dataclass(frozen=True)
class Criteria:
    """What a list of versions is filtered by (None: not asked). Times are ISO 8601 UTC as
    stored (`clock.iso`), so they compare as strings; `platform` is canonical
    (domain/platforms); `labels` are `key:value` pairs that must all be among the labels of
    the version's builds (its `build_labels` summary)."""

    status: str | None = None
    ancestry_status: str | None = None
    created_after: str | None = None
    created_before: str | None = None
    platform: str | None = None
    region: str | None = None
    labels: tuple[str, ...] = ()

    def where(self, *keyed: str) -> Filter:
        """The conditions on the version item, but those a key already answers (`keyed`)."""
        where = Filter()
        for field in ("status", "ancestry_status"):
            value = getattr(self, field)
            if value and field not in keyed:
                where.equals(field, value)
        if self.created_after:
            where.at_least("created_at", self.created_after)
        if self.created_before:
            where.below("created_at", self.created_before)
        for summary, value in (("platforms", self.platform if "platform" not in keyed else None),
                               ("regions", self.region)):
            if value:
                where.contains(summary, value)
        for pair in self.labels:
            where.contains("build_labels", pair)
        return where


def versions_page(bucket: str, token: str | None, limit: int, criteria: Criteria, by_status: bool = False
                  ) -> tuple[list[Version], str | None, bool]:
    """Newest first, one page: (versions, next_token, filtered). `by_status`: from the
    status index (GSI3 `VERSIONS#<b>#<status>`), which only a bucket indexed from its
    creation fills for every version; else the bucket's list (GSI1 `VERSIONS#<b>`). What no
    key answers is a FilterExpression on the `limit` items read, which may leave the page
    short (`filtered` True)."""
    if by_status and criteria.status:
        partition, index, where = keys.versions_by_status(bucket, criteria.status), GSI3, criteria.where("status")
    else:
        partition, index, where = keys.versions_pk(bucket), GSI1, criteria.where()
    items, next_token = list_page(partition, token, index=index, newest_first=True, limit=limit, where=where)
    return [Version.from_item(i) for i in items], next_token, where.expression is not None


def platform_page(bucket: str, token: str | None, limit: int, criteria: Criteria
                  ) -> tuple[list[Version], str | None, bool]:
    """Versions with a build on `criteria.platform`, newest first, one page: a Query of its
    platform entries (`PLATFORM#<platform>#<n>`), then a BatchGet of their versions, on
    which the other criteria are tested (`filtered` when there are any)."""
    assert criteria.platform
    prefix = keys.platform_prefix(criteria.platform)
    items, next_token = list_page(keys.bucket_pk(bucket), token, prefix=prefix, newest_first=True, limit=limit,
                                  projection=f"{keys.PK}, {keys.SK}")
    numbers = [int(i[keys.SK][len(prefix):]) for i in items if i[keys.SK][len(prefix):].isdigit()]
    where = criteria.where("platform")
    return in_order(bucket, numbers, where), next_token, where.expression is not None


def in_order(bucket: str, numbers: list[int], where: Filter) -> list[Version]:
    """The bucket's versions with these numbers that meet `where`, in the order given, each
    once: one BatchGet (a deleted version is left out)."""
    wanted = list(dict.fromkeys(numbers))
    found = {i["number"]: i for i in table.get_many([keys.version(bucket, n) for n in wanted])} if wanted else {}
    return [Version.from_item(found[n]) for n in wanted if n in found and where.matches(found[n])]


def oldest_after(bucket: str, after: str | None, limit: int) -> tuple[list[tuple[Version, str]], bool]:
    """The bucket's versions and drafts oldest first (GSI1) after the sort key `after`, one
    page: ((version or draft, its sort key) each, whether more may follow)."""
    items, last = table.query_page(keys.versions_pk(bucket), index=GSI1, after=after, limit=limit)
    return [(Draft.from_item(i) if i[keys.SK].startswith("DRAFT#") else Version.from_item(i), i[keys.GSI1SK])
            for i in items], last is not None


def reindex(version: Version, builds: list[Build]) -> list[Action]:
    """Put a version written before the version indexes into them: its status index keys
    (while its status is as read: a change of status writes them itself), its builds'
    summary (ADDed: builds added meanwhile ADD theirs) and its platform entries. A draft
    (no number yet) only gets its status index keys."""
    listed = version.index()
    change_ = Change(version.item_key()).equals("status", version.status) \
        .set_all({k: v for k, v in listed.items() if k in (keys.GSI3PK, keys.GSI3SK)})
    if isinstance(version, Draft):
        return [change_.action()]
    for field, values in summary(builds).items():
        if values:
            change_.add(field, values)
    return [change_.action(), *platform_entries(version.bucket, version.number, summary(builds)["platforms"])]


def newest_first(bucket: str) -> Iterator[Version]:
    """The bucket's versions newest first, page by page as the caller goes (GSI1, eventually
    consistent: re-read what you act on)."""
    for item in table.query_all(keys.versions_pk(bucket), index=GSI1, newest_first=True):
        yield Version.from_item(item)


def artifact_entries(external_id: str) -> list[ArtifactEntry]:
    """Which builds made an artifact (its index entries: one Query, the `NEWEST` item left out)."""
    return [ArtifactEntry.from_item(i)
            for i in table.query_all(keys.artifact_pk(external_id), prefix=keys.ARTIFACT_ENTRIES)]


def artifact_page(external_id: str, token: str | None, limit: int) -> tuple[list[ArtifactEntry], str | None]:
    """One page of an artifact's index entries, by bucket, version and build (one Query)."""
    items, next_token = list_page(keys.artifact_pk(external_id), token, prefix=keys.ARTIFACT_ENTRIES, limit=limit)
    return [ArtifactEntry.from_item(i) for i in items], next_token


@dataclass(frozen=True)
class Produced:
    """What the artifact index entries name: their versions, buckets and builds, by key."""

    versions: dict[tuple[str, int], Version]
    buckets: dict[str, Bucket]
    builds: dict[tuple[str, int, str], Build]


def produced(entries: list[ArtifactEntry]) -> Produced:
    """The versions, buckets and builds index entries name: one BatchGet per 100 items."""
    wanted = [k for e in entries for k in (keys.version(e.bucket, e.number), keys.bucket(e.bucket),
                                             keys.build(e.bucket, e.number, e.build_id))]
    found = Produced({}, {}, {})
    bucket_sk = keys.bucket("")[keys.SK]
    for item in table.get_many(wanted) if wanted else []:
        if item[keys.SK] == bucket_sk:
            found.buckets[item["bucket"]] = Bucket.from_item(item)
        elif keys.is_build(item):
            found.builds[(item["bucket"], item["number"], item["id"])] = Build.from_item(item)
        else:
            found.versions[(item["bucket"], item["number"])] = Version.from_item(item)
    return found


def newest_producers(external_ids: list[str]) -> dict[str, ArtifactEntry]:
    """The newest producer of each artifact that has one stored (`ARTIFACT#<id>` / `NEWEST`):
    one BatchGet per 100 IDs. An artifact recorded before these items were written has none:
    the caller falls back to `artifact_entries`."""
    if not external_ids:
        return {}
    found = (ArtifactEntry.from_item(i) for i in table.get_many([keys.artifact_newest(e) for e in external_ids]))
    return {entry.external_id: entry for entry in found}


# ---- writes -----------------------------------------------------------------------------

def create(version: Version) -> list[Action]:
    """Put a new version and its fingerprint entry; both fail if they exist."""
    return [Change(keys.fingerprint(version.bucket, version.fingerprint)).absent().put({"number": version.number}),
            Change(version.item_key()).absent().put(version.to_item())]


def put_build(build: Build) -> Action:
    """Put a new build."""
    return Change(build.item_key()).absent().put(build.to_item())


def build_put(action: Action) -> Build | None:
    """The build a `put_build` action writes (None for another action)."""
    return Build.from_item(action["Put"]["Item"]) if "Put" in action and keys.is_build(action["Put"]["Item"]) \
        else None


def put_artifact_entry(entry: ArtifactEntry) -> Action:
    return table.put_action(entry.to_item())


def put_newest_producers(entries: list[ArtifactEntry]) -> list[Action]:
    """Make each entry its artifact's newest producer: unconditioned Puts, one per artifact
    (the last entry given for it wins, as the newest entry does in `artifact_entries`)."""
    last = {entry.external_id: entry for entry in entries}
    return [table.put_action({**entry.to_item(), **keys.artifact_newest(entry.external_id)})
            for entry in last.values()]


def builds_added(bucket: str, number: int, count: int, now: str, summary: dict[str, set[str]]) -> Action:
    """Count `count` more builds on an existing version, ADD what they bring to its summary
    (`platforms`, `regions`, `build_labels`: string sets) and bump its `rev` (its channel
    copies are stale until re-copied)."""
    change = Change(keys.version(bucket, number)).set("updated_at", now).add("build_count", count).add(REV, 1)
    for field, values in summary.items():
        if values:
            change.add(field, values)
    return change.exists().action()


def platform_entries(bucket: str, number: int, platforms: Iterable[str]) -> list[Action]:
    """The version's entries in the platform index (unconditioned puts: rewriting one is harmless)."""
    return [table.put_action({**keys.platform_entry(bucket, p, number), "platform": p, "number": number})
            for p in sorted(set(platforms))]


def claim(bucket: str, number: int, rev: int | None) -> Action:
    """A guard that the version is as read (same `rev`), bumping it: written with every
    channel copy of the version, so a concurrent revocation that did not see this channel
    fails and re-reads."""
    return table.guard(Change(keys.version(bucket, number)).bump(REV, rev).action())


def status_check(bucket: str, number: int, status: str) -> Action:
    """A guard that a version still has the status read (e.g. the revoked versions `latest` skipped)."""
    return table.guard(Change(keys.version(bucket, number)).equals("status", status).check())


def adopt(bucket: str, number: int, status: str | None) -> Action:
    """A child is being recorded on this version: bump its `rev`, so that a write that read
    the version before (the retention sweep's revoke or delete, which must see every child)
    fails and re-reads; while it exists and, when `status` is given, still has that status.
    Its `child_count` goes up too (a cascade skips the edges of a version counting none)."""
    change_ = Change(keys.version(bucket, number)).add(REV, 1).add("child_count", 1).exists()
    return (change_.equals("status", status) if status else change_).action()


def _as_read(change_: Change, before: Version) -> Change:
    """Assert what the report's counts and the bucket's counts are computed from (status,
    ancestry status, whether hints are unresolved) is still as read (ancestry.tally)."""
    change_.equals("status", before.status).holds("ancestry_status", before.ancestry_status)
    return change_.present("unresolved") if before.unresolved else change_.absent("unresolved")


def change(before: Version, after: Fields | None, *, also: Fields | None = None,
           remove: tuple[str, ...] = (), due: str | None = None) -> Action:
    """Change a version from `before` (as read: its `rev`, status, ancestry status and
    unresolved hints asserted, `rev` bumped) to the fields of `after` (None: delete it).
    `due` indexes it as scheduled for revocation at that moment (any other change takes it
    off that index); `also` sets more fields, `remove` removes some."""
    bucket, number = before.bucket, before.number
    change_ = _as_read(Change(before.item_key()), before)
    if after is None:
        (change_.equals(REV, before.rev) if before.rev is not None else change_.exists().absent(REV))
        return change_.delete()
    change_.bump(REV, before.rev).set_all(after).set_all(also or {}).remove(*remove)
    _status_indexed(change_, before, after)
    if due:
        change_.set_all(keys.revoke_due_index(due, bucket, number))
    else:
        change_.remove(*keys.revoke_due_index("", bucket, number))
    return change_.action()


def complete(before: Version, fields: Fields) -> Action:
    """A running version's last write: `fields` set, `expected_builds` gone, while it is
    still running and as read (`before`)."""
    change_ = _as_read(Change(before.item_key()), before).bump(REV, before.rev).set_all(fields).remove("expected_builds")
    return _status_indexed(change_, before, fields).action()


def _status_indexed(change_: Change, before: Version, fields: Fields) -> Change:
    """Keep the status index (GSI3) with a change of status."""
    if "status" in fields:
        change_.set_all(keys.status_index(before.bucket, fields["status"], keys.version_sk(before.number)))
    return change_


def set_fields(before: Version, fields: Fields, remove: tuple[str, ...] = (), childless: bool = False) -> Action:
    """Set (and remove) fields of a version that no channel copies (its ancestry), while its
    status, ancestry status and hints are as read (`before`); `childless`: and while its
    `child_count` is still 0 (adopt raises it)."""
    change_ = _as_read(Change(before.item_key()), before)
    if childless:
        change_.equals("child_count", 0)
    return change_.set_all(fields).remove(*remove).action()


def cascade_done(bucket: str, number: int) -> bool:
    """Mark a revocation's cascade finished (`cascade_pending` false); False if it was not pending."""
    try:
        Change(keys.version(bucket, number)).set("revocation.cascade_pending", False) \
            .present("revocation.cascade_pending").apply()
    except ConditionFailed:
        return False
    return True


def delete_fingerprint(bucket: str, fingerprint: str) -> Action:
    return Change(keys.fingerprint(bucket, fingerprint)).delete()


# ---- a version's items, for deleting it -------------------------------------------------

def contents(version: Version, builds: list[Build]) -> list[Ref]:
    """Everything under a version but its own item and fingerprint, each once: what its builds
    leave under their artifacts first (keys.artifact_items; a repeat finds them through the
    builds), its copy pages, its platform entries, the fingerprints it is also known by
    (`aliases`), its id item, its builds. Its run items stay (entities.PackerRun)."""
    unique = {(r[keys.PK], r[keys.SK]): r for b in builds for ext in b.indexed_ids
              for r in keys.artifact_items(ext, b.bucket, b.number, b.id)}
    refs = list(unique.values())
    refs += copy_page_refs(version)
    refs += [keys.platform_entry(version.bucket, p, version.number) for p in summary(builds)["platforms"]]
    refs += [keys.fingerprint(version.bucket, alias) for alias in version.aliases or []]
    refs += [keys.resource_id(version.id)] if version.id else []  # its id names nothing once it is gone
    refs += [b.item_key() for b in builds]
    return refs


def summary(builds: Iterable[Build]) -> dict[str, set[str]]:
    """What the version item keeps of its builds for the list's filters: their platforms
    (canonical names, as the platform index has them), their artifacts' regions and their
    labels as `key:value`."""
    builds = list(builds)
    return {"platforms": {canonical(b.platform) for b in builds},
            "regions": {str(a["region"]) for b in builds for a in b.artifacts if a.get("region")},
            "build_labels": {f"{k}:{v}" for b in builds for k, v in (b.labels or {}).items()}}


def delete_now(refs: list[Ref]) -> None:
    """Delete in bulk, unconditioned (table.delete_many)."""
    table.delete_many(refs)


def delete(ref: Ref) -> Action:
    return table.delete_action(ref)


# ---- copy pages (copies.py) -------------------------------------------------------------

def put_copy_pages(bucket: str, number: int, generation: int, pages: list[list[Fields]]) -> list[Action]:
    return [table.put_action(CopyPage(bucket, number, generation, index, page).to_item())
            for index, page in enumerate(pages)]


def copy_page_refs(version: Version) -> list[Ref]:
    """The version's current copy pages (none for an inline copy)."""
    if not version.copy_pages or version.copy_generation is None:
        return []
    return [keys.copy(version.bucket, version.number, version.copy_generation, index)
            for index in range(version.copy_pages)]


def copy_pages(bucket: str, number: int, generation: int) -> list[Fields]:
    """The builds of a paged copy, in page order: one Query."""
    items, _ = table.query_page(keys.bucket_pk(bucket), prefix=keys.copy_prefix(number, generation))
    pages = sorted((CopyPage.from_item(i) for i in items), key=lambda p: p.page)
    return [build for page in pages for build in page.builds]


def set_copy_pages(bucket: str, number: int, rev: int | None, generation: int, pages: int) -> Action:
    """Point the version at a new generation of copy pages, as read (`rev`)."""
    return Change(keys.version(bucket, number)).bump(REV, rev).set("copy_generation", generation) \
        .set("copy_pages", pages).action()


def delete_stale_copies(bucket: str, number: int, keep_generation: int | None) -> None:
    """Delete the copy pages of other generations than `keep_generation` (left by added builds)."""
    items = table.query_all(keys.bucket_pk(bucket), prefix=keys.copies_prefix(number), projection="PK, SK")
    current = keys.copy_prefix(number, keep_generation) if keep_generation is not None else None
    table.delete_many([keys.primary(i) for i in items if not (current and i[keys.SK].startswith(current))])


@dataclass(frozen=True)
class Arrival:
    """What recording a run reads first: the bucket, the number of its version with the run's
    fingerprint (either None), the newest producers of the run's indexed artifact IDs (those
    that have one) and the bucket's version last made by each of the run's Packer runs."""

    bucket: Bucket | None
    number: int | None
    producers: dict[str, ArtifactEntry]
    runs: dict[str, PackerRun]


def arrival(bucket: str, fingerprint: str, external_ids: Sequence[str] = (), run_uuids: Sequence[str] = ()) -> Arrival:
    """One BatchGet (one more per 100 keys past the first 100): the bucket item, the
    fingerprint item, `ARTIFACT#<id>` / `NEWEST` per ID and `RUN#<uuid>` per run."""
    wanted = [keys.bucket(bucket), keys.fingerprint(bucket, fingerprint),
              *(keys.artifact_newest(e) for e in external_ids), *(keys.run(bucket, u) for u in run_uuids)]
    found = {(item[keys.PK], item[keys.SK]): item for item in table.get_many(wanted)}
    bucket_item, fingerprint_item, *rest = [found.get((k[keys.PK], k[keys.SK])) for k in wanted]
    newest = [ArtifactEntry.from_item(i) for i in rest[:len(external_ids)] if i]
    runs = [PackerRun.from_item(i) for i in rest[len(external_ids):] if i]
    return Arrival(Bucket.from_item(bucket_item) if bucket_item else None,
                   int(fingerprint_item["number"]) if fingerprint_item else None,
                   {e.external_id: e for e in newest}, {r.run_uuid: r for r in runs})


def put_runs(bucket: str, number: int, run_uuids: Sequence[str]) -> list[Action]:
    """Make version `number` the one each Packer run last made in the bucket (unconditioned
    Puts: the creating transaction's bucket counter already orders two versions of a bucket)."""
    return [table.put_action(PackerRun(bucket, uuid, number).to_item()) for uuid in run_uuids]


def add_alias(version: Version, fingerprint: str) -> list[Action]:
    """Name the version by one more fingerprint (an HCP publish recorded against it): the
    fingerprint's item, while it has none, and the version's `aliases`, while it exists."""
    return [Change(keys.fingerprint(version.bucket, fingerprint)).absent().put({"number": version.number}),
            Change(version.item_key()).exists().append("aliases", fingerprint).action()]


def with_buckets(refs: list[tuple[str, int]]) -> tuple[dict[tuple[str, int], Version], dict[str, Bucket]]:
    """Versions by (bucket, number) and their buckets by name: one BatchGet (per 100 items)."""
    if not refs:
        return {}, {}
    items = table.get_many([keys.version(b, n) for b, n in refs] + [keys.bucket(b) for b, _ in refs])
    bucket_sk = keys.bucket("")[keys.SK]
    found_versions = {(i["bucket"], i["number"]): Version.from_item(i) for i in items if i[keys.SK] != bucket_sk}
    found_buckets = {i["bucket"]: Bucket.from_item(i) for i in items if i[keys.SK] == bucket_sk}
    return found_versions, found_buckets


def with_channels(versions_: list[tuple[str, int]], channels: list[tuple[str, str]]
                  ) -> tuple[dict[tuple[str, int], Version], dict[tuple[str, str], Channel]]:
    """Versions by (bucket, number) and channels by (bucket, name): one BatchGet (per 100)."""
    wanted = [keys.version(b, n) for b, n in versions_] + [keys.channel(b, c) for b, c in channels]
    found_versions: dict[tuple[str, int], Version] = {}
    found_channels: dict[tuple[str, str], Channel] = {}
    for item in table.get_many(wanted) if wanted else []:
        if item[keys.SK].startswith(keys.CHANNELS):
            found_channels[(item["bucket"], item["name"])] = Channel.from_item(item)
        else:
            found_versions[(item["bucket"], item["number"])] = Version.from_item(item)
    return found_versions, found_channels
