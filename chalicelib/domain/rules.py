"""The registry's domain rules: pure functions of the entities the services have read.

Which version a channel rolls back to and which version `latest` follows, whom a revocation
reaches and with what type, a parent link's status, the finding behind it and its sentence,
what a version being written becomes: each is a decision about data already read, kept
apart from the reads and writes so it can be tested without DynamoDB
(`tests/unit/test_rules.py`, no moto) and its tests measured by mutation testing
(`make mutate`).

The services load what a rule needs, call it, and commit one transaction built from its
answer. Nothing here reads the table, the clock or the environment: a time is a parameter.
A rule that must look further only on demand (the newest active version: one consistent
read per candidate, stopping at the first good one) takes the reads as an iterable or a
function, so the service's reads stay as few as before.

Entities arrive as mappings of their attributes (`Entity.attributes()`, handed over by the
services): the rules read versions, channels, parent links, hints and findings alike, the
last three being plain stored values, so one vocabulary keeps them simple; a rule reads
only the fields it names.
"""

from __future__ import annotations

from datetime import datetime
from typing import AbstractSet, Any, Callable, Iterable, Mapping, Protocol, Sequence, TypeVar

from .enums import AncestryStatus, RevocationType, VersionStatus
from .models import RevokeRequest

Item = Mapping[str, Any]  # an entity as read: a version, channel, history entry, index entry
Finding = dict[str, Any]  # the facts behind a link's status, stored; written in words by `sentence`
Revocation = dict[str, Any]
Ref = tuple[str, int]  # (bucket, version number)


# Worst last: a version's ancestry status is the worst of its links.
SEVERITY: tuple[AncestryStatus, ...] = (AncestryStatus.UP_TO_DATE, AncestryStatus.UNDETERMINED,
                                        AncestryStatus.OUT_OF_DATE, AncestryStatus.PARENT_REVOKED)
FLAGGED_STATUSES = set(SEVERITY) - {AncestryStatus.UP_TO_DATE}
# A parent with one of these stored statuses makes its children outdated too.
STALE_STATUSES = {AncestryStatus.OUT_OF_DATE, AncestryStatus.PARENT_REVOKED}
MAX_WALK = 20  # ancestry levels the compliance check walks up (the descendant tree's depth cap)
LATEST = "latest"  # the managed channel: the newest active version
LATEST_DESCRIPTION = "The newest active version (managed)"


def number_of(name: str) -> int:
    """A version's number from its name (`v12` → 12)."""
    return int(name[1:])


# ---- where channels go when their version is revoked or deleted ----------------------------

class HoldsVersion(Protocol):
    """What a service loads for a candidate version: at least the version's status."""

    @property
    def status(self) -> str | None: ...


Loaded = TypeVar("Loaded", bound=HoldsVersion)


def rollback_candidates(history: Iterable[Item], excluding: AbstractSet[int]) -> list[int]:
    """The versions a channel's history (newest entry first) moved it to, newest first and
    each once, without `excluding` (the version it is moving off): where a rollback may go,
    in the order HCP Packer tries them."""
    numbers: list[int] = []
    for entry in history:
        name = entry.get("to_version")
        if name and number_of(name) not in excluding and number_of(name) not in numbers:
            numbers.append(number_of(name))
    return numbers


def first_active(candidates: Iterable[Item]) -> tuple[Item | None, list[int]]:
    """A rollback's target: the first candidate version (in `rollback_candidates`' order;
    deleted ones simply absent) that is not revoked, or None (the channel is unassigned).
    With it, the numbers of the revoked versions passed over: the move is committed on the
    condition that they are still revoked, since a restore committed first would have made
    one of them the right target."""
    skipped: list[int] = []
    for version in candidates:
        if version.get("status") != VersionStatus.REVOKED:
            return version, skipped
        skipped.append(version["number"])
    return None, skipped


def newest_active(index: Iterable[Item], excluding: AbstractSet[int],
                  load: Callable[[int], Loaded]) -> tuple[Loaded | None, list[int]]:
    """The version `latest` follows: the newest that is neither revoked nor still being
    written, outside `excluding`. `index` is the versions' index, newest first (eventually
    consistent), so a candidate it shows as usable is loaded (`load`, a consistent read)
    and judged again. With it, the revoked versions passed over, to be guarded as in
    `first_active`. Versions still being written are passed over unguarded: they become
    `latest` themselves when complete (`takes_latest`)."""
    skipped: list[int] = []
    for item in index:
        if item["number"] in excluding or item.get("status") == VersionStatus.RUNNING:
            continue
        if item.get("status") != VersionStatus.REVOKED:
            loaded = load(item["number"])
            if loaded.status not in (VersionStatus.REVOKED, VersionStatus.RUNNING):
                return loaded, skipped
        skipped.append(item["number"])
    return None, skipped


def takes_latest(number: int, latest: Item) -> bool:
    """Whether a version that just became usable (completed, restored) is newer than what
    `latest` holds, and so moves it."""
    return bool(latest.get("number", 0) < number)


# ---- revocations and how far they reach --------------------------------------------------

def direct_revocation(request: RevokeRequest, actor: str, revoke_at: str | None = None) -> Revocation:
    """The revocation a request asks for (scheduled when `revoke_at` is given): `direct`,
    with the flags the cascade and the channels follow."""
    return {"reason": request.reason, **({"revoke_at": revoke_at} if revoke_at else {}), "revoked_by": actor,
            "revocation_type": RevocationType.DIRECT, "skip_descendants_revocation": request.skip_descendants_revocation,
            "disable_rollback_channels": request.disable_rollback_channels}


def cascades(revocation: Item | None) -> bool:
    """Whether a revocation reaches the version's descendants (and its restore them again):
    only a direct one that does not spare them. An inherited revocation never cascades by
    itself: its source's cascade walks the whole tree."""
    revocation = revocation or {}
    return revocation.get("revocation_type") == RevocationType.DIRECT and not revocation.get("skip_descendants_revocation")


def cascade_reaches(descendant: Item, mode: str, source_name: str | None) -> bool:
    """Whether a cascade from `source_name` (`bucket/vN`) changes this descendant. Revoking:
    every one not yet revoked (a direct revocation, or one inherited from elsewhere, stands).
    Restoring (`mode` "restore"): only those revoked by inheritance from this very source."""
    if mode == "revoke":
        return descendant["status"] != VersionStatus.REVOKED
    return descendant["status"] == VersionStatus.REVOKED and (descendant.get("revocation") or {}).get("inherited_from") == source_name


def inherited_revocation(source: Item, source_name: str | None) -> Revocation:
    """The revocation a descendant gets from a cascade: `inherited` from `source_name`, with
    the source's reason, requester and channel flag; never cascading on its own."""
    revocation = source.get("revocation") or {}
    return {"reason": revocation.get("reason"), "revoked_by": revocation.get("revoked_by"),
            "revocation_type": RevocationType.INHERITED, "inherited_from": source_name, "skip_descendants_revocation": False,
            "disable_rollback_channels": bool(revocation.get("disable_rollback_channels"))}


def revocation_on_arrival(parents: Iterable[Item], now: str) -> Revocation | None:
    """The revocation a new version inherits from a parent already revoked when it arrives
    (links as resolved, with `parent_status` and `parent_revocation`), unless that
    revocation spared descendants; None otherwise. The registry revokes it at `now`."""
    for p in parents:
        revocation = p.get("parent_revocation") or {}
        if p.get("parent_status") == VersionStatus.REVOKED and not revocation.get("skip_descendants_revocation"):
            return {"reason": revocation.get("reason"), "revoked_at": now, "revoked_by": "registry",
                    "revocation_type": RevocationType.INHERITED, "inherited_from": f"{p['bucket']}/{p['version']}",
                    "skip_descendants_revocation": False, "disable_rollback_channels": False}
    return None


# ---- when a version is complete -----------------------------------------------------------

def status_on_creation(inherited: Revocation | None, whole: bool) -> VersionStatus:
    """A new version's status: revoked when it inherits a revocation on arrival, active when
    it is written whole in one transaction, else running until its last builds are stored."""
    return VersionStatus.REVOKED if inherited else VersionStatus.ACTIVE if whole else VersionStatus.RUNNING


def status_on_completion(version: Item) -> VersionStatus | None:
    """What a running version becomes once all its builds are stored: revoked if a
    revocation reached it meanwhile (an inherited one may), else active. None when it is not
    running any more (a concurrent delivery completed it): nothing to do."""
    if version["status"] != VersionStatus.RUNNING:
        return None
    return VersionStatus.REVOKED if version.get("revocation") else VersionStatus.ACTIVE


# ---- parent links: status and findings ---------------------------------------------------

def fact(kind: str, status: str, **fields: Any) -> Finding:
    """A finding: what a sentence is written from (None fields left out, so stored findings
    compare equal to fresh ones)."""
    return {"kind": kind, "status": status, **{k: v for k, v in fields.items() if v is not None}}


def link_status(link: Item, parent: Item | None, channel: Item | None,
                revoked: bool = False) -> tuple[AncestryStatus, Finding]:
    """A parent link's status and finding, from the link as stored, the parent version and
    the channel it names (`latest` when it names none) as read now. `revoked`: the child is
    revoked itself, so a revoked parent did not spare it."""
    where = {"bucket": link["bucket"], "version": link["version"]}
    if parent is None:
        return AncestryStatus.UNDETERMINED, fact("deleted", AncestryStatus.UNDETERMINED, **where)
    if parent.get("status") == VersionStatus.REVOKED:
        return AncestryStatus.PARENT_REVOKED, revoked_finding(parent, revoked_too=revoked)
    if link.get("channel"):
        if channel is None:
            return AncestryStatus.UNDETERMINED, fact("channel_deleted", AncestryStatus.UNDETERMINED, **where, channel=link["channel"])
        if channel.get("number") != link["number"]:
            return AncestryStatus.OUT_OF_DATE, fact("moved", AncestryStatus.OUT_OF_DATE, **where, channel=link["channel"],
                                       now=channel.get("version"))
        own = fact("current", AncestryStatus.UP_TO_DATE, **where, channel=link["channel"])
    elif channel and channel.get("number", 0) > link["number"]:
        return AncestryStatus.OUT_OF_DATE, fact("moved", AncestryStatus.OUT_OF_DATE, **where, channel=LATEST, managed=True,
                                   now=channel["version"])
    else:
        own = fact("newest", AncestryStatus.UP_TO_DATE, **where)
    stale, cause = stale_cause(parent)
    if stale:
        return AncestryStatus.OUT_OF_DATE, stale_finding([parent], cause)
    return AncestryStatus.UP_TO_DATE, own


def judge_links(reads: Iterable[tuple[Item, Item | None, Item | None]], unresolved: Iterable[Item] = (),
                revoked: bool = False, origin: str | None = None) -> tuple[AncestryStatus | None, list[dict[str, Any]]]:
    """(overall status, links with `status` and `finding`) of a version: `reads` gives each
    parent link with its parent and channel as read (`link_status`); each unresolved hint
    (an explicit one: what it named is missing) is a link of its own, `undetermined`. The
    overall status is the worst link's; no links at all is (None, []). Each finding also says
    how its link was found (`provenance`, from `origin`: the door the version came through)."""
    links: list[dict[str, Any]] = []
    for link, parent, channel in reads:
        status, finding = link_status(link, parent, channel, revoked)
        links.append({**link, "status": status, "finding": {**finding, **provenance(link, origin)}})
    for hint in unresolved:
        shown = {"bucket": hint.get("bucket"), "version": hint.get("version"), "channel": hint.get("channel"),
                 "source_artifact": hint.get("source_artifact")}
        found = fact("unresolved", AncestryStatus.UNDETERMINED, **shown, reason=hint.get("reason"))
        links.append({**shown, "found_by": "unresolved", "status": AncestryStatus.UNDETERMINED,
                      "finding": {**found, **provenance({**hint, "found_by": "unresolved"}, origin)}})
    if not links:
        return None, []
    return max((link["status"] for link in links), key=SEVERITY.index), links


# ---- how a link was found, and sources not tracked -----------------------------------------

HCP, MANIFEST = "hcp", "manifest"  # the door a version came through (its `origin`)


def origin(template_type: str | None) -> str:
    """The door a version came through, from its template type: set by the HCP API (its
    drafts always carry one), never by a manifest."""
    return HCP if template_type else MANIFEST


def provenance(link: Item, origin: str | None) -> Finding:
    """The facts of how a link (or an unresolved hint) was found, kept with its finding so
    every place that shows it says the same (`how`): matched from a source artifact, or the
    fields that named it, reported by Packer through the HCP API or named in a manifest."""
    source = link.get("source_artifact")
    if link.get("found_by") == "source_artifact" or (source and not link.get("bucket")):
        return {"found_by": link.get("found_by"), **({"source_artifact": source} if source else {})}
    if origin == HCP or link.get("version_id"):
        named = ["parent_version_id", *(["parent_channel_id"] if link.get("channel") else [])]
        return {"found_by": link.get("found_by"), "origin": HCP, "named": named}
    named = ["parent_bucket", *(["parent_channel"] if link.get("channel") else []),
             *(["parent_version"] if link.get("found_by") == "parent_version" or
               (link.get("found_by") == "unresolved" and link.get("version")) else [])]
    return {"found_by": link.get("found_by"), "origin": MANIFEST, "named": named}


def how(finding: Item) -> str | None:
    """How a finding's link was found, in words (None for a finding without a link: an
    inherited revocation, or one stored before findings said so)."""
    source = finding.get("source_artifact")
    if finding.get("found_by") == "source_artifact":
        return f"matched from the source artifact {source}" if source else "matched from a build's source artifact"
    if source and not finding.get("named"):  # an unresolved source stored by an older release
        return f"the build's source artifact {source}"
    named = ", ".join(finding.get("named") or [])
    if finding.get("origin") == HCP:
        return f"reported by Packer through the HCP API: {named}"
    if finding.get("origin") == MANIFEST:
        return f"named in the manifest: {named}"
    return None


def untracked_note(source: Item) -> str:
    """A build's source that is not in the registry, as information (not a finding):
    "source not tracked: ami-0abc (us-east-1)"."""
    region = source.get("region")
    return f"source not tracked: {source['source_artifact']}" + (f" ({region})" if region else "")


def still_matching(recorded_at: str, now: str, window_seconds: float) -> bool:
    """Whether the sweep still looks for an untracked source recorded at `recorded_at`: for
    `window_seconds` (S3 delivers out of order, so a parent may arrive after its child), then
    never again. Times as stored (ISO 8601 UTC)."""
    return (datetime.fromisoformat(now) - datetime.fromisoformat(recorded_at)).total_seconds() < window_seconds


def attention(links: Iterable[Item]) -> list[Finding]:
    """The findings of the links that are not up to date (what a version stores)."""
    return [link["finding"] for link in links if link["status"] != AncestryStatus.UP_TO_DATE]


def flagged(version: Item, status: str | None) -> bool:
    """Whether a version belongs on the flagged list (the report): still usable, and its
    ancestry needs attention."""
    return status in FLAGGED_STATUSES and version.get("status") != VersionStatus.REVOKED


def revoked_finding(parent: Item, revoked_too: bool | None = None) -> Finding:
    return fact("revoked", AncestryStatus.PARENT_REVOKED, bucket=parent["bucket"], version=parent["name"],
                reason=(parent.get("revocation") or {}).get("reason"), revoked_too=revoked_too)


def inherited_findings(revocation: Item) -> list[Finding]:
    """Why a version revoked by inheritance is `parent_revoked`: the ancestor named by
    `inherited_from` (`bucket/vN`), and its reason."""
    bucket, _, version = (revocation.get("inherited_from") or "").rpartition("/")
    return [fact("inherited", AncestryStatus.PARENT_REVOKED, bucket=bucket, version=version, reason=revocation.get("reason"))]


def stale_cause(item: Item) -> tuple[bool, Finding | None]:
    """Whether a version counts as outdated for its children (its stored status is outdated or
    parent-revoked), and the first finding behind that status."""
    if item.get("ancestry_status") not in STALE_STATUSES:
        return False, None
    return True, next((f for f in item.get("ancestry_findings") or [] if f.get("status") in STALE_STATUSES), None)


def stale_finding(path: Sequence[Item], cause: Finding | None) -> Finding:
    """`parent app v1 is out of date: parent base channel production now points at v2`: the
    versions on the way (nearest first) and the cause at the end, kept flat. At most MAX_WALK
    steps: deeper chains are not real, and a capped chain stops changing, so even a cycle of
    links (which construction prevents) could not make the sweep rewrite findings forever."""
    via = [{"bucket": p["bucket"], "version": p["name"]} for p in path]
    if cause and cause.get("kind") == "stale_parent":
        via, cause = via + list(cause.get("via") or []), cause.get("cause")
    via = via[:MAX_WALK]
    first = via[0] if via else cause or {}
    return fact("stale_parent", AncestryStatus.OUT_OF_DATE, bucket=first.get("bucket"), version=first.get("version"),
                via=via, cause=cause)


def ancestor_finding(path: Sequence[Item], parent: Item) -> Finding | None:
    """Walking up from a version whose own links are fine (`path`: the ancestors passed,
    nearest first): the finding `parent` gives it when revoked or stored as outdated, or None
    (then the walk goes on to the parent's parents)."""
    if parent["status"] == VersionStatus.REVOKED:
        return stale_finding(path, revoked_finding(parent))
    stale, cause = stale_cause(parent)
    return stale_finding([*path, parent], cause) if stale else None


# ---- findings in words -------------------------------------------------------------------
# Written for the caller at response time (findings.py says why): `shown` tells whether the
# caller may see a channel, so a viewer's sentence never names a restricted one.

Shown = Callable[[str | None, str | None], bool]  # may the caller see channel (bucket, name)?


def everything(bucket: str | None, channel: str | None) -> bool:
    return True


def nothing(bucket: str | None, channel: str | None) -> bool:
    """No channel named: sentences safe for anyone, whatever becomes restricted later."""
    return False



def sentence(finding: Item, shown: Shown = everything, short: bool = False) -> str:
    """One finding in words. `short`: as the cause at the end of a chain, without "this was
    built from …" (which would be about another version)."""
    kind, bucket, version = finding.get("kind"), finding.get("bucket"), finding.get("version")
    channel = finding.get("channel")
    named = bool(channel) and shown(bucket, channel)
    built = "" if short else f"; this was built from {version}"
    if kind == "deleted":
        return f"parent {bucket} {version} was deleted"
    if kind == "revoked":
        said = f"parent {bucket} {version} is revoked ({finding.get('reason')})"
        if short:
            return said
        return said + ("; this version is revoked too" if finding.get("revoked_too") else "; this version was spared")
    if kind == "inherited":
        return (f"ancestor {bucket} {version} is revoked ({finding.get('reason')}); "
                "this version inherited the revocation")
    if kind == "channel_deleted":
        if named:
            return f"parent {bucket} channel {channel} was deleted{built}"
        return f"the parent {bucket} channel this was built from no longer exists{built}"
    if kind == "moved":
        if not named:
            return f"parent {bucket} has a newer version in use than {version}" + (
                "" if short else ", which this was built from")
        now = finding.get("now") or "nothing"
        where = f"latest is now {now}" if finding.get("managed") else f"channel {channel} now points at {now}"
        return f"parent {bucket} {where}{built}"
    if kind == "current":
        return f"parent {bucket} channel {channel} still points at {version}" if named \
            else f"parent {bucket} {version} is still the version in use"
    if kind == "newest":
        return f"parent {bucket} {version} is still its newest version"
    if kind == "stale_parent":
        chain = "".join(f"parent {p['bucket']} {p['version']} is out of date: " for p in finding.get("via") or [])
        cause = finding.get("cause")
        return chain + (sentence(cause, shown, short=True) if cause else "its ancestry needs attention")
    if kind == "unresolved":
        if channel and not named:
            return f"parent not found: no version of bucket {bucket!r} matches the parent channel named in the manifest"
        return f"parent not found: {finding.get('reason')}"
    return str(finding.get("message") or finding.get("status") or "")


def resolution(link: Item, shown: Shown = everything) -> str | None:
    """How a `parent_channel` link was resolved, in words (None for other links). A caller who
    may not see the channel is told only the parent version (every role sees every version),
    never where the channel pointed or when, nor that it had no version at the build time."""
    when = link.get("resolved_at")
    if not when:
        return None
    if not (link.get("channel") and shown(link["bucket"], link["channel"])):
        return f"the parent version is {link['bucket']} {link['version']}" if link.get("version") else None
    channel = f"channel {link['channel']}"
    if when == "build_time":
        return f"{channel} pointed at {link['version']} at the build time ({link.get('resolved_time')})"
    why = (f"it had no version at the build time ({link['build_time']})" if link.get("build_time")
           else "the manifest gives no build_time")
    return f"{channel} pointed at {link['version']} when this version was recorded ({link.get('resolved_time')}); {why}"
