"""Parents and children of versions: resolving hints, link statuses, the descendant tree.

A version's parents are recorded on its item (`parents`: bucket, version, number,
fingerprint, channel, how each was found) and as child-edge items under each parent, so
"children of v5" is one Query. Hints that match nothing are kept as `unresolved` (and
listed for the sweep to retry) rather than dropped.

A `parent_channel` hint (without `parent_version`) means the version the channel pointed at
when the build read it, found in the channel's history (one Query): at the run's *earliest*
`build_time`. Packer writes `build_time` when a build finishes, and the parent channel was
read when the run started, so the earliest build of the run is the closest moment we know
(a move during the build itself cannot be told apart). A run without a `build_time`, or one
built before the channel had a version (history deleted with a channel, clocks apart), takes
the version the channel points at when the registry records it; the link says which
(`resolved_at`: `build_time` or `upload`, and a sentence).

A link's status uses HCP Packer's names: `up_to_date`; `out_of_date` (the recorded parent
channel now points at another version; without a channel, the parent bucket's `latest` has
moved past the parent; or the parent is itself outdated or has a revoked parent: outdated
propagates down the chain); `undetermined` (the channel or the parent was deleted, or the
hint matched nothing); and ours, `parent_revoked` (the parent is revoked but this version
was spared). A version's status is its worst link. Each link's finding is stored as facts
(findings.py), written into sentences for the caller at response time.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from datetime import datetime
from typing import Any, NamedTuple

from . import audit, buckets, findings, markers, versions
from ..runtime import clock
from ..domain import rules
from ..domain.access import visible
from ..runtime import settings
from .. import storage
from ..storage.entities import Channel, ChildEdge, Flag, UnresolvedHint, UntrackedSources, Version
from .channels import LATEST
from ..runtime.clock import now_iso
from ..domain.enums import AncestryStatus, RevocationType, SweepWork, VersionStatus
from ..errors import BadRequest, NotFound
from .findings import Finding
from ..domain.manifest import ParsedRun
from ..domain.platforms import placeholder
from ..domain.models import Ancestry, Descendants
# The rules of link statuses and findings (pure, unit-tested) live in rules.py.
from ..domain.rules import STALE_STATUSES, attention  # noqa: F401 - STALE_STATUSES: re-exported (artifacts.py)
from .retry import retrying

_STATUS_EVENTS: dict[str, str] = {AncestryStatus.OUT_OF_DATE: "descendant.outdated",
                                  AncestryStatus.PARENT_REVOKED: "descendant.parent_revoked",
                                  AncestryStatus.UNDETERMINED: "descendant.undetermined"}
Action = dict[str, Any]
Ref = tuple[str, int]


# ---- resolution (at ingestion, retried by the sweep) ------------------------------------

class Resolution(NamedTuple):
    """What a run's hints come to: `parents` found; `unresolved`, the explicit hints that name
    something missing (undetermined); `untracked`, the source artifacts the registry does not
    hold (no parent: information, looked for by the sweep for a while)."""

    parents: list[dict[str, Any]]
    unresolved: list[dict[str, Any]]
    untracked: list[dict[str, Any]]


def resolve(bucket: str, run: ParsedRun, now: str) -> Resolution:
    """A run's parents, explicit hints first, then source artifacts.

    Explicit: `parent_bucket` with `parent_version` and/or `parent_channel` (a channel alone
    means the version it pointed at when the run was built), for the run or (the HCP API's
    parent ids) for one build. Automatic: the source artifact ID of a build without an
    explicit parent, when an indexed artifact of the registry carries it (any platform);
    placeholders (`null`, `<no-defined-source-file>`, ...) are no source at all. `now`: when
    the version is recorded (an untracked source's window starts then).
    """
    parents: list[dict[str, Any]] = []
    unresolved: list[dict[str, Any]] = list(run.unresolved)
    hint = run.parent_hint
    built_at = build_moment(run)
    explicit = {(h.bucket, h.version, h.channel): h for h in (hint, *(b.parent for b in run.builds)) if h and h.bucket}
    for each in explicit.values():
        assert each.bucket
        link, problem = _explicit(each.bucket, each.version, each.channel, built_at)
        if link:
            if not _among(parents, link):
                parents.append(link)
        else:
            unresolved.append({**each.model_dump(include={"bucket", "version", "channel"}, exclude_none=True),
                               **({"built_at": built_at} if built_at and each.channel else {}), "reason": problem})
    untracked: list[dict[str, Any]] = []
    for source, region in sources(run).items():
        link = _by_artifact(source)
        if link is None:
            untracked.append({"source_artifact": source, **({"region": region} if region else {}), "recorded_at": now})
        elif not _among(parents, link):
            parents.append(link)
    return Resolution(parents, unresolved, untracked)


def sources(run: ParsedRun) -> dict[str, str | None]:
    """The source artifacts of a run's builds without an explicit parent (placeholders left
    out), each with the region of the first build naming it (its first artifact's region that
    names one: where the builder read the source), in the builds' order."""
    found: dict[str, str | None] = {}
    for build in run.builds:
        source = build.source_artifact
        if not build.parent and not placeholder(source) and source not in found:
            assert source is not None
            found[source] = next((a.region for a in build.artifacts if _names_a_region(a.region)), None)
    return found


def _names_a_region(region: str | None) -> bool:
    """Whether an artifact's region names one: not the `null` builder's `null` nor the `file`
    builder's directory `.`."""
    return not placeholder(region) and region != "."


def _among(parents: list[dict[str, Any]], link: dict[str, Any]) -> bool:
    return any(p["bucket"] == link["bucket"] and p["number"] == link["number"] for p in parents)


def build_moment(run: ParsedRun) -> str | None:
    """The moment a run read its parent channel, as far as the manifest tells: its earliest
    `build_time` (see the module docstring), in the registry's time format; None without one."""
    times = [b.build_time for b in run.builds if b.build_time]
    return clock.iso(datetime.fromisoformat(min(times).replace("Z", "+00:00"))) if times else None


def _explicit(bucket: str, version: str | None, channel: str | None,
              built_at: str | None = None) -> tuple[dict[str, Any] | None, str]:
    if channel and not version:
        return _through_channel(bucket, channel, built_at)
    try:
        number = versions.resolve_number(bucket, version or "")
    except (NotFound, BadRequest):
        return None, f"bucket {bucket!r} has no version {version!r}"
    item = storage.versions.version(bucket, number)
    if not item:
        return None, f"bucket {bucket!r} has no version {version!r}"
    return _version_link(item, channel, "parent_version"), ""


def _through_channel(bucket: str, channel: str, built_at: str | None) -> tuple[dict[str, Any] | None, str]:
    """The version a channel pointed at when the run was built (its history at `built_at`);
    without a build time, or without a version in the history then, the one it points at now."""
    if built_at:
        entry = storage.channels.history_at(bucket, channel, built_at)
        name = entry.to_version if entry else None
        if name:
            item = storage.versions.version(bucket, int(name[1:]))
            if not item:
                return None, (f"channel {channel!r} of bucket {bucket!r} pointed at {name} at the build time "
                              f"({built_at}), and {name} was deleted")
            return {**_version_link(item, channel, "parent_channel"), "resolved_at": "build_time",
                    "resolved_time": built_at}, ""
    held = storage.channels.channel(bucket, channel)
    if not held or not held.number or not held.version or not held.fingerprint:
        return None, f"bucket {bucket!r} has no channel {channel!r} pointing at a version"
    link = _link(held.bucket, held.number, held.version, held.fingerprint, channel, "parent_channel",
                 held.version_status, held.revocation)
    return {**link, "resolved_at": "upload", "resolved_time": now_iso(),
            **({"build_time": built_at} if built_at else {})}, ""


def _by_artifact(external_id: str) -> dict[str, Any] | None:
    """The link to the newest version that produced `external_id` (one Query of its index
    entries and the version's GetItem), found by it as a source artifact; None: no such."""
    matches = storage.versions.artifact_entries(external_id)
    if not matches:
        return None
    newest = max(matches, key=lambda m: (m.created_at, m.number))
    item = storage.versions.version(newest.bucket, newest.number)
    return {**_version_link(item, None, "source_artifact"), "source_artifact": external_id} if item else None


def _by_version_id(version_id: str) -> dict[str, Any] | None:
    """The link to the complete version with this id (the HCP API's `parent_version_id`):
    its id item, its number and the version (a GetItem each); None while there is none."""
    ref = storage.drafts.version_ref(version_id)
    number = storage.versions.fingerprint_number(ref.bucket, ref.fingerprint) if ref else None
    item = storage.versions.version(ref.bucket, number) if ref and number is not None else None
    return _version_link(item, None, "parent_version") if item else None


def _version_link(item: Version, channel: str | None, found_by: str) -> dict[str, Any]:
    return _link(item.bucket, item.number, item.name, item.fingerprint, channel, found_by, item.status, item.revocation)


def _link(bucket: str, number: int, name: str, fingerprint: str, channel: str | None, found_by: str,
          status: str | None, revocation: dict[str, Any] | None) -> dict[str, Any]:
    # `parent_status` and `parent_revocation` serve only while creating the child (revoked on
    # arrival when the parent is); they are not stored.
    return {"bucket": bucket, "number": number, "version": name, "fingerprint": fingerprint,
            "channel": channel, "found_by": found_by, "parent_status": status, "parent_revocation": revocation}


def stored_links(parents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in p.items() if not k.startswith("parent_")} for p in parents]


def edge_actions(child_bucket: str, child_number: int, parents: list[dict[str, Any]]) -> list[Action]:
    """The child edges, each with its parent adopting the child (storage.versions.adopt: its
    `rev` goes up, so a concurrent deletion of the parent by a retention policy re-reads)."""
    return [action for p in parents for action in (
        storage.sweep.put_child(ChildEdge(p["bucket"], p["number"], child_bucket, child_number)),
        storage.versions.adopt(p["bucket"], p["number"], p.get("parent_status")))]


# ---- link status ------------------------------------------------------------------------

Linked = tuple[dict[tuple[str, int], Version], dict[tuple[str, str], Channel]]
Recheck = tuple[Version, str | None, str | None, list[Finding]]  # a re-check's change: old and new status, findings


def linked(versions_: list[Version]) -> Linked:
    """The parents and channels the links of `versions_` name (what `evaluate` reads), for
    all of them in one BatchGet (per 100)."""
    parents = [p for v in versions_ for p in v.parents or []]
    return storage.versions.with_channels([(p["bucket"], p["number"]) for p in parents],
                                          [(p["bucket"], p["channel"] or LATEST) for p in parents])


def evaluate(parents: list[dict[str, Any]], unresolved: list[dict[str, Any]] | None = None,
             revoked: bool = False, known: Linked | None = None, origin: str | None = None
             ) -> tuple[AncestryStatus | None, list[dict[str, Any]]]:
    """(overall status, links with `status` and `finding`), one BatchGet for every parent,
    channel and `latest` involved (none when the caller read them: `known`, from `linked`).
    No parents and no hints: (None, []). `revoked`: the version itself is revoked, so a
    revoked parent did not spare it. A parent's own stored status counts too: an outdated
    parent makes this link outdated. `origin` (rules.origin): the door the version came
    through, which each finding's `how` names."""
    found_versions, found_channels = known or storage.versions.with_channels(
        [(p["bucket"], p["number"]) for p in parents], [(p["bucket"], p["channel"] or LATEST) for p in parents])
    # rules.py reads entities as mappings: their attributes.
    held = {ref: channel.attributes() for ref, channel in found_channels.items()}
    read = {ref: version.attributes() for ref, version in found_versions.items()}
    return rules.judge_links([(p, read.get((p["bucket"], p["number"])), held.get((p["bucket"], p["channel"] or LATEST)))
                              for p in parents], unresolved or [], revoked, origin)


def status_actions(version: Version, status: str | None, found: list[Finding],
                   also: dict[str, Any] | None = None, remove: tuple[str, ...] = (),
                   childless: bool = False) -> list[Action]:
    """Store a version's ancestry status and findings (and `also` more fields), with the
    flagged list and the counts in step (tally_actions); `childless`: while it still has no
    child (storage.versions.set_fields)."""
    sets = {"ancestry_checked_at": now_iso(), **({"ancestry_status": status, "ancestry_findings": found}
                                                 if status else {}), **(also or {})}
    removes = (() if status else ("ancestry_status", "ancestry_findings")) + ("ancestry_messages",) + remove
    after = dataclasses.replace(version, **{**dict.fromkeys(removes), **sets})
    return [storage.versions.set_fields(version, sets, removes, childless), *tally_actions(version, after)]


def flagged_as(version: Version | None) -> str | None:
    """The status a version is listed under on the flagged list (the report), or None: only
    versions still in use whose ancestry needs attention, never revoked ones."""
    if version and rules.flagged(version.attributes(), version.ancestry_status):
        return str(version.ancestry_status)
    return None


def tally(before: Version | None, after: Version | None) -> tuple[dict[str, int], dict[str, int]]:
    """What a version's change from `before` to `after` (None: it does not exist) adds to
    the report's counts (flagged by status, `unresolved_parents`) and to its bucket's counts
    (versions by status, and flagged by status). Zero differences are left out.

    The counts are exact because the difference is computed from the version as read, and
    every transaction that carries it also writes that version under conditions that its
    status, ancestry status and unresolved hints are still as read (storage.versions:
    `change`, `set_fields`, `complete`; a new version: it does not exist yet). The flag and
    the hint items are functions of those three fields (a flag exactly while `flagged_as`
    says so, a hint item while `unresolved` is set), written only in those transactions;
    so by induction the counts and the items agree: two writers that read the same
    version cannot both commit, and the loser re-reads and recomputes. A bucket's deletion
    counts off the items it deletes, each delete conditioned on the item as read
    (storage.sweep.clear_bucket), and the sweep deletes an orphan hint the same way."""
    registry: dict[str, int] = {}
    bucket: dict[str, int] = {}
    for sign, version in ((-1, before), (1, after)):
        if version is None:
            continue
        flag = flagged_as(version)
        for counts, key in ((registry, flag), (bucket, flag), (bucket, version.status),
                            (registry, "unresolved_parents" if version.unresolved else None)):
            if key:
                counts[key] = counts.get(key, 0) + sign
    return ({k: v for k, v in registry.items() if v}, {k: v for k, v in bucket.items() if v})


def tally_actions(before: Version | None, after: Version | None) -> list[Action]:
    """The flag and unresolved-hint items of a version changing from `before` to `after`
    (None: it does not exist), and the counts' differences (tally). Only for a transaction
    that writes the version as read (see tally)."""
    version = after or before
    assert version is not None
    bucket, number = version.bucket, version.number
    actions: list[Action] = []
    if after and after.ancestry_status and flagged_as(after):
        actions.append(storage.sweep.flag(Flag(bucket=bucket, number=number, version=after.name,
                                               ancestry_status=after.ancestry_status,
                                               findings=after.ancestry_findings or [], flagged_at=now_iso())))
    elif flagged_as(before):
        actions.append(storage.sweep.unflag(bucket, number))
    if after is None and before is not None and before.untracked:  # no longer looked for
        actions.append(storage.sweep.untracked_done(bucket, number))
    hinted = [bool(v and v.unresolved) for v in (before, after)]
    if hinted == [False, True]:
        actions.append(storage.sweep.put_unresolved(UnresolvedHint(bucket, number)))
    elif hinted == [True, False]:
        actions.append(storage.sweep.resolved(bucket, number))
    registry, own = tally(before, after)
    if registry:
        actions.append(storage.sweep.count(registry))
    if own:
        actions.append(storage.buckets.count(bucket, own))
    return actions


def inherited_status(revocation: dict[str, Any]) -> dict[str, Any]:
    """A descendant revoked by inheritance stores why as its ancestry status (`parent_revoked`,
    naming the ancestor): the fields to set in the revoking update itself (a transaction
    touches an item once). Nothing for any other revocation."""
    if revocation.get("revocation_type") != RevocationType.INHERITED:
        return {}
    found = rules.inherited_findings(revocation)
    return {"ancestry_status": AncestryStatus.PARENT_REVOKED, "ancestry_findings": found, "ancestry_checked_at": now_iso()}


def restored(before: Version) -> dict[str, Any]:
    """A revoked version back in use: its ancestry is checked again now (what was stored dates
    from before, or says an ancestor was revoked). Returns the fields to set in the
    restoring update (none when there is nothing to check)."""
    if before.status != VersionStatus.REVOKED or not (before.parents or before.unresolved):
        return {}
    status, links = evaluate(before.parents or [], before.unresolved or [], origin=rules.origin(before.template_type))
    return {"ancestry_status": status, "ancestry_findings": attention(links), "ancestry_checked_at": now_iso()}


def stale_ancestry(items: list[Version]) -> dict[Ref, Finding]:
    """For versions whose own stored status is fine: the nearest ancestor that is revoked or
    stored as outdated / parent-revoked, as the finding the sweep will store on them once it
    has worked its way down (the compliance check does not wait for it). One BatchGet per
    level walked up, at most MAX_WALK levels."""
    found: dict[Ref, Finding] = {}
    seen: dict[Ref, set[Ref]] = {v.ref(): set() for v in items}
    # (the version asking, the ancestors walked so far, the parent link to follow next)
    frontier: list[tuple[Ref, list[dict[str, Any]], dict[str, Any]]] = [
        (v.ref(), [], p) for v in items for p in v.parents or []]
    for _ in range(rules.MAX_WALK):
        if not frontier:
            break
        # rules.py reads entities as mappings: their attributes.
        fetched = {v.ref(): v.attributes() for v in storage.versions.versions(
            [(p["bucket"], p["number"]) for _, _, p in frontier])}
        upper = []
        for origin, path, link in frontier:
            parent = fetched.get((link["bucket"], link["number"]))
            if origin in found or parent is None:
                continue
            finding = rules.ancestor_finding(path, parent)
            if finding:
                found[origin] = finding
            else:
                for p in parent.get("parents") or []:
                    if (p["bucket"], p["number"]) not in seen[origin]:
                        seen[origin].add((p["bucket"], p["number"]))
                        upper.append((origin, [*path, parent], p))
        frontier = [f for f in upper if f[0] not in found]
    return found


# ---- reads ------------------------------------------------------------------------------

def child_refs(bucket: str, number: int) -> list[tuple[str, int]]:
    return [(edge.child_bucket, edge.child_number) for edge in storage.sweep.children(bucket, number)]


def seen_children(bucket: str, number: int) -> list[tuple[str, int]]:
    """The children the caller may see: none in a bucket it may not (domain/access.py)."""
    return [ref for ref in child_refs(bucket, number) if visible(ref[0])]


def _summaries(refs: list[tuple[str, int]]) -> list[dict[str, Any]]:
    by_ref = {v.ref(): v for v in storage.versions.versions(refs)}
    return [_summary(by_ref[r]) for r in refs if r in by_ref]


def _summary(version: Version) -> dict[str, Any]:
    return {"bucket": version.bucket, "version": version.name, "fingerprint": version.fingerprint,
            "status": version.status, "ancestry_status": version.ancestry_status, "revocation": version.revocation}


def ancestry(bucket: str, ref: str, see_restricted: bool = True) -> Ancestry:
    """Parents with their live status and the direct children of a version (for a viewer,
    without the restricted channels its links name)."""
    version, _ = versions.load(bucket, ref)
    status, links = evaluate(version.parents or [], version.unresolved or [], version.status == VersionStatus.REVOKED,
                             origin=rules.origin(version.template_type))
    shown = findings.visibility(findings.channels_in([*links, *(link["finding"] for link in links)]), see_restricted)
    return Ancestry.model_validate({
        "bucket": bucket, "version": version.name, "fingerprint": version.fingerprint,
        "status": version.status, "ancestry_status": status,
        "parents": [findings.link({k: v for k, v in link.items() if k != "number"}, shown) for link in links],
        "untracked": findings.untracked(version.untracked),
        "children": _summaries(seen_children(bucket, version.number))})


@dataclasses.dataclass
class Relation:
    """A parent version and a version built on it (`link`: the child's stored link), with the
    link's live status, as HCP Packer's bucket ancestry lists them. `parent` is None when
    deleted since; `channel` is the channel the child's build read (None: it read none, or the
    channel is gone) and `held` the version that channel holds now."""

    link: dict[str, Any]
    child: Version
    parent: Version | None
    channel: Channel | None
    held: Version | None
    status: AncestryStatus


class Relations(NamedTuple):
    """A page of a bucket's ancestry (`relations`): the relations, the next page's token, and
    the untracked sources of the version whose parents are listed (first page only)."""

    found: list[Relation]
    next_token: str | None
    untracked: list[dict[str, Any]]


def relations(bucket: str, parents: bool, children: bool, fingerprint: str | None, channel: str | None,
              limit: int, token: str | None) -> Relations:
    """The ancestry of a bucket (HCP Packer's ListBucketAncestry): the parents of one version
    (`fingerprint`'s, else the bucket's latest; its item holds them: on the first page only),
    and one page of the versions built on any of the bucket's versions (one Query of its child
    edges; `channel`: only those whose build read their parent from that channel). Statuses
    as `evaluate` judges them, with one BatchGet for every version and channel involved and
    one more for the versions those channels hold now, when they are not already read."""
    links: list[tuple[dict[str, Any], Version]] = []
    untracked: list[dict[str, Any]] = []
    if parents and not token:
        version = _parents_of(bucket, fingerprint)
        links += [(link, version) for link in version.parents or []] if version else []
        untracked = [{**u, "fingerprint": version.fingerprint} for u in findings.untracked(version.untracked)] \
            if version else []
    next_token = None
    if children:
        edges, next_token = storage.sweep.bucket_children_page(bucket, token, limit)
        found = {v.ref(): v for v in storage.versions.versions([(e.child_bucket, e.child_number) for e in edges])}
        for edge in edges:
            child = found.get((edge.child_bucket, edge.child_number)) if visible(edge.child_bucket) else None
            link = next((p for p in (child.parents if child else None) or []
                         if (p["bucket"], p["number"]) == (bucket, edge.parent_number)), None)
            if child and link and (channel is None or link.get("channel") == channel):
                links.append((link, child))
    return Relations(_judged(links), next_token, untracked)


CHILDREN_JUDGED = 100  # child edges the bucket's `children` summary judges (one Query page)


def children_status(bucket: str) -> AncestryStatus | None:
    """The worst status of the links of the versions built on the bucket's versions (HCP's
    bucket `children` summary), judged as `relations` judges them, over the first
    CHILDREN_JUDGED child edges: one Query of the edges, and relations' BatchGets (two or
    three) when there are any. None when nothing is built on the bucket."""
    found = relations(bucket, False, True, None, None, CHILDREN_JUDGED, None).found
    return max((r.status for r in found), key=rules.SEVERITY.index, default=None)


def _parents_of(bucket: str, fingerprint: str | None) -> Version | None:
    """The version whose parents are listed: `fingerprint`'s, else the bucket's latest (None
    when it has none yet)."""
    if fingerprint:
        return versions.load(bucket, fingerprint)[0]
    latest = buckets.require(bucket).latest_version
    return versions.load(bucket, latest)[0] if latest else None


def _judged(links: list[tuple[dict[str, Any], Version]]) -> list[Relation]:
    found_versions, found_channels = storage.versions.with_channels(
        [(p["bucket"], p["number"]) for p, _ in links], [(p["bucket"], p["channel"] or LATEST) for p, _ in links])
    wanted = {(c.bucket, c.number) for c in found_channels.values() if c.number} - set(found_versions)
    held = {**found_versions, **{v.ref(): v for v in storage.versions.versions(sorted(wanted))}}
    judged = []
    for link, child in links:
        parent = found_versions.get((link["bucket"], link["number"]))
        channel = found_channels.get((link["bucket"], link["channel"] or LATEST))
        status, _ = rules.link_status(link, parent.attributes() if parent else None,
                                      channel.attributes() if channel else None, child.status == VersionStatus.REVOKED)
        named = channel if link.get("channel") else None
        judged.append(Relation(link, child, parent, named,
                               held.get((named.bucket, named.number)) if named and named.number else None, status))
    return judged


# A page of the descendant tree does a bounded amount of work: at most PAGE_QUERIES Queries
# of child edges (each with a Limit) and PAGE_NODES nodes, read with one BatchGet per level.
# The walk's frontier (the nodes found but not yet expanded) travels in `next_token`: at most
# MAX_TOKEN characters of it (plus where one node's cut edges resume, about 130 more), so
# that it fits in a URL: nearly 300 waiting nodes when they are in a few buckets, about 40
# when each is in a bucket of its own with a 64-character name.
PAGE_QUERIES, PAGE_NODES, MAX_TOKEN = 25, 100, 4000
Step = tuple[str, int, int]  # a node still to expand: bucket, number, its depth below the root


def descendants(bucket: str, ref: str, max_depth: int, token: str | None = None) -> Descendants:
    """One page of the descendant tree, breadth first, to `max_depth` levels (models.Descendants
    says how pages fit together); `token` continues the walk the previous page stopped.

    Each node once per page; across pages, a node still waiting in the frontier is not
    returned twice either, so a version built from two versions of the same level is listed
    once, under the first. A version reachable along paths of different lengths whose shorter
    path an earlier page finished may be listed again under its other parent (a cycle is
    impossible by construction, and `max_depth` bounds the walk anyway). The walk never
    enters a bucket the caller may not see (domain/access.py): what lies beyond one is left out.

    When the frontier would make `next_token` longer than MAX_TOKEN, a node found is still
    returned but not expanded: its own descendants are left out and the answer says
    `truncated` (a level that wide is beyond what the tree showed before it had pages: 500
    nodes in all)."""
    if not 1 <= max_depth <= 20:
        raise BadRequest("depth must be from 1 to 20")
    root = storage.versions.version(bucket, versions.resolve_number(bucket, ref))
    if not root:
        raise NotFound(f"bucket {bucket!r} has no version {ref!r}")
    origin = root.ref()
    frontier, cursor, hidden = (_walk_from(storage.sweep.walk_state(token, *origin, max_depth)) if token
                                else (deque([(bucket, root.number, 0)]), None, False))
    top: dict[str, Any] = {**_summary(root), "children": []}
    nodes: dict[Ref, dict[str, Any]] = {origin: top}
    continued: dict[Ref, list[dict[str, Any]]] = {}
    seen = {origin, *((b, n) for b, n, _ in frontier)}
    queries = 0
    while frontier and queries < PAGE_QUERIES and len(nodes) <= PAGE_NODES:
        # one level: expand the waiting nodes of the head's depth, then read what they found
        level = frontier[0][2]
        found: list[tuple[Ref, Ref]] = []
        while frontier and frontier[0][2] == level and queries < PAGE_QUERIES and len(nodes) + len(found) <= PAGE_NODES:
            b, n, depth = frontier[0]
            if depth >= max_depth:  # only whether the depth leaves something out (once is enough)
                if not hidden:
                    hidden, queries = bool(storage.sweep.children_page(b, n, 1)[0]), queries + 1
                frontier.popleft()
                continue
            refs, cursor = storage.sweep.children_page(b, n, PAGE_NODES + 1 - len(nodes) - len(found), cursor)
            queries += 1
            found += [((b, n), r) for r in refs if r not in seen and visible(r[0])]  # never through a bucket the caller may not see
            seen.update(refs)
            if cursor is None:
                frontier.popleft()
        read = {v.ref(): v for v in storage.versions.versions([r for _, r in found])}
        for parent, child in found:
            if child not in read:
                continue  # deleted since its edge was read
            node = nodes[child] = {**_summary(read[child]), "children": []}
            (nodes[parent]["children"] if parent in nodes else continued.setdefault(parent, [])).append(node)
            if level + 1 >= max_depth and hidden:
                continue  # nothing to learn from it
            frontier.append((*child, level + 1))
            if storage.sweep.walk_token_length(_walk_state(frontier, None, False)) > MAX_TOKEN:
                frontier.pop()
                hidden = True  # not expanded: see the docstring
    if hidden:
        frontier = deque(step for step in frontier if step[2] < max_depth)  # nothing to learn from them
    next_token = storage.sweep.walk_token(_walk_state(frontier, cursor, hidden), *origin, max_depth) if frontier else ""
    return Descendants.model_validate({
        "root": top, "continued": [{"bucket": b, "version": f"v{n}", "children": children}
                                   for (b, n), children in continued.items()],
        "count": len(nodes) - 1, "truncated": bool(next_token) or hidden, "next_token": next_token})


def _walk_state(frontier: deque[Step], cursor: str | None, hidden: bool) -> dict[str, Any]:
    """The walk's state as a `next_token` carries it: bucket names once each."""
    names = sorted({b for b, _, _ in frontier})
    index = {name: i for i, name in enumerate(names)}
    return {"b": names, "f": [[index[b], n, d] for b, n, d in frontier], "c": cursor, "h": hidden}


def _walk_from(state: dict[str, Any]) -> tuple[deque[Step], str | None, bool]:
    return deque((state["b"][i], n, d) for i, n, d in state["f"]), state["c"], state["h"]


def rematch(bucket: str, number: int, window: float) -> list[dict[str, Any]]:
    """Look again for a version's missing parents (the sweep); returns the links newly found
    (with `how` they were found, for the sweep's report).
    Re-read and retried when the version changed meanwhile.

    Its explicit unresolved hints are tried again; its untracked sources too while they are
    younger than `window` seconds. A source artifact stored as an unresolved hint by an
    older release is judged by today's rule: a placeholder is dropped, any other becomes an
    untracked source recorded when the version was (so a registry upgraded in place stops
    counting it as undetermined)."""
    return retrying(lambda: _rematch(bucket, number, window), what=f"resolving {bucket}/v{number}")


def _rematch(bucket: str, number: int, window: float) -> list[dict[str, Any]]:
    version = storage.versions.version(bucket, number)
    if not version or not (version.unresolved or version.untracked):
        storage.sweep.resolved_orphan(bucket, number)
        storage.transact([storage.sweep.untracked_done(bucket, number)])
        return []
    now = now_iso()
    parents = list(version.parents or [])
    found: list[dict[str, Any]] = []

    def linked_anew(link: dict[str, Any] | None) -> bool:
        if not link or (link["bucket"], link["number"]) == (bucket, number):
            return False
        if not _among(parents, link):
            found.append(link)
            parents.append(stored_links([link])[0])
        return True

    still: list[dict[str, Any]] = []
    untracked = list(version.untracked or [])
    for hint in version.unresolved or []:
        source = hint.get("source_artifact")
        if source is not None:  # an older release's unresolved source: today an untracked one
            if not placeholder(source) and not linked_anew(_by_artifact(source)):
                untracked.append({"source_artifact": source, "recorded_at": version.created_at})
        elif not linked_anew(_by_version_id(hint["version_id"]) if hint.get("version_id")
                             else _explicit(hint["bucket"], hint.get("version"), hint.get("channel"),
                                            hint.get("built_at"))[0]):
            still.append(hint)
    looked_for = [u for u in untracked if rules.still_matching(u["recorded_at"], now, window)]
    matched = [u for u in looked_for if linked_anew(_by_artifact(u["source_artifact"]))]
    untracked = [u for u in untracked if u not in matched]
    if (still, untracked) == (version.unresolved or [], version.untracked or []) and not found:
        return []
    status, links = evaluate(parents, still, version.status == VersionStatus.REVOKED,
                             origin=rules.origin(version.template_type))
    found_now = attention(links)
    also = {"parents": parents, **({"unresolved": still} if still else {}),
            **({"untracked": untracked} if untracked else {})}
    removes = (() if still else ("unresolved",)) + (() if untracked else ("untracked",))
    childless = version.child_count == 0  # no marker needed (see _plan), while that holds
    actions = [*status_actions(version, status, found_now, also=also, remove=removes, childless=childless),
               *edge_actions(bucket, number, found),
               *looking_actions(bucket, number, [u for u in looked_for if u not in matched], now)]
    if found:
        actions.append(audit.event_action(bucket, "version.parents_resolved", version.name, "sweep",
                                          after=[f"{p['bucket']}/{p['version']}" for p in found]))
    if (status, found_now) != (version.ancestry_status, version.ancestry_findings) and not childless:
        actions.append(markers.marker_action(markers.VERSION_STATUS, bucket, number=number, mode=markers.ANCESTRY))
    audit.commit(actions)
    origin = rules.origin(version.template_type)
    return [{**link, "how": rules.how(rules.provenance(link, origin))} for link in stored_links(found)]


def looking_actions(bucket: str, number: int, waiting: list[dict[str, Any]], now: str) -> list[Action]:
    """Keep the sweep looking for a version's untracked sources still within their window
    (`waiting`; the window starts at the oldest), noted for the sweep's read (sweep_work), or
    stop it when none is."""
    if not waiting:
        return [storage.sweep.untracked_done(bucket, number)]
    return [storage.sweep.put_untracked(UntrackedSources(
                bucket, number, sorted({u["source_artifact"] for u in waiting}),
                min(u["recorded_at"] for u in waiting))),
            storage.sweep.note_work(SweepWork.UNTRACKED, now)]


WINDOW_VARIABLE, DEFAULT_WINDOW = "UNTRACKED_SOURCE_WINDOW", "7d"


def source_window() -> float:
    """How long (seconds) the sweep looks for an untracked source after it was recorded:
    UNTRACKED_SOURCE_WINDOW (`7d`, `12h`, `90s`; default 7 days)."""
    return settings.duration(WINDOW_VARIABLE, DEFAULT_WINDOW).total_seconds()


def recheck(bucket: str, number: int, read: Version | None = None, known: Linked | None = None
            ) -> Recheck | None:
    """Re-evaluate one version's links; when its status or findings changed, store them and
    return (version, old status, new status, findings).

    The same transaction leaves a marker for the version (unless it has no child), so the
    sweep re-checks its children too: outdated propagates down the chain, one level per
    marker, bounded per sweep run.
    `read`: the version as the caller read it (the sweep reads a parent's children in one
    BatchGet) and `known`, what its links name (`linked`, one BatchGet for those children),
    used by the first attempt; the transaction is conditioned on the version all the same
    (as ever, not on its parents: a change to one leaves a marker of its own).
    Re-read and retried when the version changed meanwhile.
    """
    first = [(read, known)] if read else []
    return retrying(lambda: _recheck(bucket, number, *(first.pop() if first else (None, None))),
                    what=f"re-checking {bucket}/v{number}")


def _recheck(bucket: str, number: int, read: Version | None = None, known: Linked | None = None
             ) -> Recheck | None:
    plan = _plan(read or storage.versions.version(bucket, number), known)
    if plan is None:
        return None
    audit.commit(plan.actions)
    return plan.result


class _Plan(NamedTuple):
    actions: list[Action]  # what stores the new status: one transaction (or part of one)
    result: Recheck


def _plan(version: Version | None, known: Linked | None) -> _Plan | None:
    """What re-checking `version` (as read) stores, or None when its status and findings
    stand (or it is gone, revoked, or has no links)."""
    if not version or version.status == VersionStatus.REVOKED or not (version.parents or version.unresolved):
        return None  # a revoked version is out of use: its stored ancestry is left as it was
    status, links = evaluate(version.parents or [], version.unresolved or [], known=known, origin=rules.origin(version.template_type))
    found = attention(links)
    old = version.ancestry_status
    if (status, found) == (old, version.ancestry_findings):
        return None
    # A version with no child needs no marker (it would only Query its child edges to find
    # none); the transaction asserts it still has none, so a child recorded meanwhile makes
    # it re-read and leave one.
    bucket, number = version.bucket, version.number
    childless = version.child_count == 0
    actions = status_actions(version, status, found, childless=childless)
    if not childless:
        actions.append(markers.marker_action(markers.VERSION_STATUS, bucket, number=number, mode=markers.ANCESTRY))
    if status != old:
        actions.append(audit.event_action(
            bucket, _STATUS_EVENTS.get(status or AncestryStatus.UP_TO_DATE, "descendant.up_to_date"), version.name,
            "sweep",
            before=old, after=status, messages=findings.messages(found),
            viewer_messages=findings.messages(found, findings.nothing), findings=findings.presented(found),
            viewer_findings=findings.presented(found, findings.nothing)))
    return _Plan(actions, (version, old, status, found))


RECHECKS_PER_TRANSACTION = 15  # about 5 actions each, within a transaction's 100


def recheck_all(refs: list[Ref], read: dict[Ref, Version], known: Linked, then: list[Action]
                ) -> tuple[list[Recheck], bool]:
    """Re-check the versions `refs` as read (`read`, and `known`: what their links name, as
    `linked` read it) in as few transactions as fit, the last also carrying `then` (the
    sweep's deletion of the marker that named them): (the changes, whether `then` was
    committed). The report's and buckets' counts of the versions in one transaction add up
    (storage.transact merges their updates). A transaction that fails a condition (a
    version changed meanwhile) is done again version by version, each re-read (`recheck`);
    `then` is left to the caller then, as when nothing changed."""
    plans = [plan for ref in refs if (plan := _plan(read.get(ref), known))]
    results: list[Recheck] = []
    committed_then = False
    for start in range(0, len(plans), RECHECKS_PER_TRANSACTION):
        chunk = plans[start:start + RECHECKS_PER_TRANSACTION]
        last = start + RECHECKS_PER_TRANSACTION >= len(plans)
        try:
            audit.commit([action for plan in chunk for action in plan.actions] + (then if last else []))
        except storage.ConditionFailed:
            results += [r for plan in chunk if (r := recheck(plan.result[0].bucket, plan.result[0].number))]
            continue
        results += [plan.result for plan in chunk]
        committed_then = last and bool(then)
    return results, committed_then
