"""What each HCP route answers: the registry's own services called (one set of rules for both
doors), their entities shaped by wire.py, wrapped as the HCP clients expect (`{"bucket": …}`).

Where HCP Packer's semantics differ from the native API's, the difference is made here and
said so: GetVersion's missing fingerprint is code 10 (Aborted), not 5; a viewer asking for a
restricted channel gets 403 (code 7) where the native API answers 404; UpdateChannel's
`update_mask`; PATCH of a bucket replaces its description and labels. The messages HCP
Packer is seen to answer (`The bucket with identifier <b> does not exist.`) are kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

from ...domain.enums import VersionStatus
from ...errors import AlreadyExists, BadRequest, Conflict, NotFound
from ...runtime.lazy import lazy
from ..http import validated
from . import wire
from .errors import Aborted, InvalidField
from .requests import Body, build_change, flag, labels, revoke_at, template_type, text, update_mask

if TYPE_CHECKING:
    from ...domain import models
    from ...services import ancestry, buckets, channels, drafts, identity, lifecycle, publishing, serving, versions
    from ...storage import entities
else:
    ancestry, buckets, channels, drafts, identity, lifecycle, models, publishing, serving, versions = (
        lazy(f"chalicelib.{name}") for name in (
            "services.ancestry", "services.buckets", "services.channels", "services.drafts", "services.identity",
            "services.lifecycle", "domain.models", "services.publishing", "services.serving", "services.versions"))

Json = dict[str, Any]
LATEST = "latest"
# A revocation asked for without `revocation_message` (optional in HCP Packer; the registry
# keeps a reason with every revocation).
NO_MESSAGE = "revoked through the HCP Packer API without a message"


# ---- the organization, the project and its registry ---------------------------------------

def organizations() -> Json:
    return {"organizations": [wire.organization(identity.location(), identity.ORGANIZATION_NAME)], "pagination": {}}


def organization(organization_id: str) -> Json:
    return {"organization": wire.organization(identity.require(organization_id), identity.ORGANIZATION_NAME)}


def projects(scope_id: str | None, scope_type: str | None) -> Json:
    """The project, when the scope (if given) is the organization; else none."""
    here = identity.location()
    matches = scope_id in (None, "", here.organization_id) and scope_type in (None, "", "ORGANIZATION")
    return {"projects": [wire.project(here, identity.PROJECT_NAME)] if matches else [], "pagination": {}}


def project(project_id: str) -> Json:
    here = identity.location()
    return {"project": wire.project(identity.require(here.organization_id, project_id), identity.PROJECT_NAME)}


def registry() -> Json:
    """GetRegistry: the project's registry (services/registry.py: 404 once deleted)."""
    from ...services import registry as settings

    return {"registry": wire.registry(identity.location(), settings.existing())}


def _registry_active() -> None:
    """Nothing while the registry takes new buckets and versions; 400 code 9 once it is
    deactivated or deleted (services/registry.py: one GetItem)."""
    from ...services import registry as settings

    settings.require_active()


# ---- buckets -------------------------------------------------------------------------------

def bucket_item(name: str) -> entities.Bucket:
    """The bucket, or 404 (code 5) in HCP Packer's words."""
    try:
        return buckets.require(name)
    except NotFound:
        raise missing_bucket(name) from None


def missing_bucket(name: str) -> NotFound:
    return NotFound(f"The bucket with identifier {name} does not exist.")


def get_bucket(name: str, see_restricted: bool) -> Json:
    """The bucket with its latest version (builds included; one Query more), that version's
    platforms and parents summary, all left out for a viewer, as `latest` is restricted; and
    its children summary (ancestry.children_status: one Query of its child edges, and two or
    three BatchGets when there are any)."""
    item = bucket_item(name)
    latest = wire.version(*versions.load(name, item.latest_version)) if item.latest_version and see_restricted \
        else None
    children = ancestry.children_status(name)
    return {"bucket": wire.bucket(item, identity.location(), latest,
                                  children=wire.ancestry_status(children) if children else None)}


def list_buckets(limit: int, token: str | None, see_restricted: bool) -> Json:
    """A page of buckets, each with its latest version (without builds), its platforms and
    parents summary as GetBucket has them (left out for a viewer): one BatchGetItem for the
    page's latest versions. Its children summary is only the `href`: judging it costs a Query
    per bucket (GetBucket judges it)."""
    items, next_token = buckets.page(limit, token)
    here = identity.location()
    latest = buckets.latest_versions(items) if see_restricted else {}
    shown = [wire.bucket(i, here, wire.version(latest[i.bucket]), latest[i.bucket].platforms or [])
             if i.bucket in latest else wire.bucket(i, here) for i in items]
    return {"buckets": shown, "pagination": _pagination(next_token)}


def create_bucket(data: Body, actor: str) -> Json:
    name = text(data, "name") or ""
    body = validated({"name": name, "description": text(data, "description") or "", "labels": labels(data) or {}},
                     models.CreateBucket)
    _registry_active()
    try:
        item = buckets.create(body, actor)
    except AlreadyExists:
        raise AlreadyExists(f"The bucket with identifier {name} already exists.") from None
    return {"bucket": wire.bucket(item, identity.location())}


def update_bucket(name: str, data: Body, actor: str, see_restricted: bool) -> Json:
    """Replace the description and labels (absent: empty, as HCP Packer's UpdateBucket sets
    what the template says); `platforms` is the registry's to keep, so it is ignored."""
    bucket_item(name)
    body = validated({"description": text(data, "description") or "", "labels": labels(data) or {}},
                     models.UpdateBucket)
    buckets.update_bucket(name, body, actor)
    return get_bucket(name, see_restricted)


def delete_bucket(name: str, actor: str) -> Json:
    bucket_item(name)
    buckets.delete_bucket(name, actor)
    return {}


def bucket_ancestry(bucket: str, kinds: tuple[bool, bool], fingerprint: str | None, channel: str | None,
                    see_restricted: bool, limit: int, token: str | None) -> Json:
    """ListBucketAncestry from the native ancestry (services/ancestry.relations): the parents
    of a version (`version_fingerprint`'s, else the latest's) and a page of the children built
    on any version of the bucket (`channel_name`: only those built from that channel), with
    the native link statuses. That version's sources not in the registry are no relation (HCP
    shows no parent for them): the answer names them in `untracked_sources`, a field of ours
    that HCP's clients ignore. For a viewer a restricted channel does not exist: naming one is
    a 404 (code 5), as for an unknown one, and the relations leave it out; nor does `latest`
    (restricted), so without `version_fingerprint` a viewer gets no parents, only children.
    `total_count` counts this answer's relations."""
    bucket_item(bucket)
    if channel:
        channel_item(bucket, channel, see_restricted)
    if not (fingerprint or see_restricted):
        kinds = (False, kinds[1])
    try:
        found, next_token, untracked = ancestry.relations(bucket, *kinds, fingerprint, channel, limit, token)
    except NotFound:
        raise NotFound(f"Version with fingerprint {fingerprint} not found") from None
    shown = [wire.relation(r.link, r.child, r.parent, r.channel.name if r.channel and (
        see_restricted or not r.channel.restricted) else None, r.held, r.status) for r in found]
    return {"relations": shown, "total_count": len(shown), "pagination": _pagination(next_token),
            **({"untracked_sources": [wire.untracked_source(u) for u in untracked]} if untracked else {})}


def _pagination(next_token: str | None) -> Json:
    return {"next_page_token": next_token} if next_token else {}


# ---- versions and builds ---------------------------------------------------------------------

def _version(bucket: str, fingerprint: str) -> tuple[entities.Version, list[entities.Build]]:
    """The version with this fingerprint, draft or numbered; 404 for a missing bucket and
    (the miss Packer waits for before it creates the version) 409 code 10 for a missing version."""
    try:
        return publishing.get_version(bucket, fingerprint)
    except NotFound:
        bucket_item(bucket)
        raise Aborted(f"Version with fingerprint {fingerprint} not found") from None


def shaped_version(version: entities.Version, builds: list[entities.Build] | None, see_restricted: bool) -> Json:
    """A version with its builds as the caller may see them (a viewer: without the labels it
    never sees, serving.hidden_labels; no call)."""
    return wire.version(version, builds, serving.hidden_labels(see_restricted), versions.revocation_sources([version]))


def _listed(items: Iterable[entities.Version]) -> list[Json]:
    """Versions without their builds (one BatchGetItem more when a revocation is inherited:
    the versions it came from)."""
    found = list(items)
    sources = versions.revocation_sources(found)
    return [wire.version(i, sources=sources) for i in found]


def _by_number(bucket: str, numbers: set[int]) -> dict[int, Json]:
    """The bucket's versions with these numbers, without builds (one BatchGetItem; a deleted
    one is left out)."""
    found = versions.by_number(bucket, numbers)
    return dict(zip(found, _listed(found.values())))


def get_version(bucket: str, fingerprint: str, see_restricted: bool) -> Json:
    return {"version": shaped_version(*_version(bucket, fingerprint), see_restricted)}


def list_versions(bucket: str, limit: int, token: str | None) -> Json:
    try:
        items, next_token = versions.page(bucket, limit, token)  # an empty page checks the bucket
    except NotFound:
        raise missing_bucket(bucket) from None
    return {"versions": _listed(items), "pagination": _pagination(next_token)}


def create_version(bucket: str, data: Body, actor: str) -> Json:
    fingerprint = text(data, "fingerprint", required=True) or ""
    _registry_active()
    version = publishing.create_version(bucket, fingerprint, template_type(data), actor)
    return {"version": wire.version(version, [])}


def _found(bucket: str, fingerprint: str) -> entities.Version:
    """The version with this fingerprint, draft or numbered; 404 (code 5) when there is none,
    as HCP Packer answers DeleteVersion (only GetVersion answers code 10)."""
    try:
        return publishing.get_version(bucket, fingerprint)[0]
    except NotFound:
        bucket_item(bucket)
        raise


def _ref(version: entities.Version) -> str:
    """How the native services name a version: `vN` (a fingerprint could read as a name); a
    draft by its fingerprint, which they refuse as still running (code 9)."""
    return version.name if version.number else version.fingerprint


def update_version(bucket: str, fingerprint: str, data: Body, actor: str) -> Json:
    """UpdateVersion through the native lifecycle (the same cascade to descendants and
    rollback of channels): `restore`, or a revocation when `revoke_at` / `revoke_in` is set
    (now or past: at once; later: scheduled), or `complete` (a version completes when its last
    build is done, so a complete one is answered as it is and a draft is refused, code 9)."""
    when, within = revoke_at(data), text(data, "revoke_in") or None
    restore, complete = flag(data, "restore"), flag(data, "complete")
    if restore and (when or within):
        raise BadRequest("give restore, or revoke_at / revoke_in, not both")
    version = _found(bucket, fingerprint)
    if restore:
        try:
            lifecycle.restore(bucket, _ref(version), actor)
        except lifecycle.NotRevoked:
            raise Conflict("Restoring does not apply. This version is valid and it is not scheduled to be "
                           "revoked.") from None
    elif when or within:
        request = validated({
            "reason": text(data, "revocation_message") or NO_MESSAGE,
            **({"revoke_at": when} if when else {}), **({"revoke_in": within} if within else {}),
            "skip_descendants_revocation": flag(data, "skip_descendants_revocation"),
            "disable_rollback_channels": flag(data, "disable_rollback_channels")}, models.RevokeRequest)
        lifecycle.revoke(bucket, _ref(version), request, actor)
    elif not complete:
        raise InvalidField("body", "nothing to update: give revoke_at or revoke_in (to revoke), restore, or complete")
    elif not version.number or version.status == VersionStatus.REVOKED:
        raise Conflict(f"Version with fingerprint {fingerprint} is {version.status}: a version completes when its "
                       "last build is done, and a revoked one changes only by being restored")
    return {"version": shaped_version(*_version(bucket, fingerprint), True),
            "operation": wire.operation(identity.location())}


def delete_version(bucket: str, fingerprint: str, rollback_channels: bool, actor: str) -> Json:
    """DeleteVersion through the native deletion: refused (code 9, HCP Packer's words) while a
    user channel holds the version unless `rollback_channels`; `latest` never holds it back
    and moves to the newest version left. A draft is deleted as read, with its builds and
    SBOMs (drafts.delete_draft): one that completed meanwhile is left alone (code 9)."""
    version = _found(bucket, fingerprint)
    try:
        if version.number:
            lifecycle.delete_version(bucket, version.name, rollback_channels, actor)
        else:
            drafts.delete_draft(bucket, fingerprint, actor)
    except lifecycle.Held as held:
        raise Conflict(f"Version is assigned by channels: {', '.join(held.channels)}. Unassign it from them first, "
                       "or delete it with rollback_channels=true.") from None
    return {}


def list_builds(bucket: str, fingerprint: str, see_restricted: bool) -> Json:
    """The version's builds (one read: get_version brings them with the version, whose id
    each build carries)."""
    return {"builds": shaped_version(*_version(bucket, fingerprint), see_restricted)["builds"]}


def _build(built: publishing.Built, see_restricted: bool = True) -> Json:
    """A build with its version's id (the version as the service read it)."""
    version, build = built
    return {"build": shaped_version(version, [build], see_restricted)["builds"][0]}


def get_build(bucket: str, fingerprint: str, build_id: str, see_restricted: bool) -> Json:
    return _build(publishing.get_build(bucket, fingerprint, build_id), see_restricted)


def create_build(bucket: str, fingerprint: str, data: Body, actor: str) -> Json:
    return _build(publishing.create_build(bucket, fingerprint, build_change(data), actor))


def update_build(bucket: str, fingerprint: str, build_id: str, data: Body, actor: str) -> Json:
    change = build_change(data)
    return _build(publishing.update_build(bucket, fingerprint, build_id, change, actor))


# ---- channels ------------------------------------------------------------------------------

def channel_item(bucket: str, name: str, see_restricted: bool) -> entities.Channel:
    """The channel: 404 (code 5) when it does not exist, and for a viewer when it is restricted,
    with the same words (HCP Packer says 403 code 7, which tells a viewer guessing names that
    the channel exists; as in the native API, it does not exist for a viewer)."""
    try:
        return serving.get_item(bucket, name, see_restricted)
    except NotFound:
        raise missing_channel(name) from None


def missing_channel(name: str) -> NotFound:
    return NotFound(f"The channel with identifier {name} does not exist.")


def _shaped_channel(item: entities.Channel, see_restricted: bool) -> Json:
    """A channel with the version it holds, builds and artifacts included (one Query)."""
    held = shaped_version(*versions.load(item.bucket, f"v{item.number}"), see_restricted) if item.number else None
    return {"channel": wire.channel(item, held)}


def get_channel(bucket: str, name: str, see_restricted: bool) -> Json:
    return _shaped_channel(channel_item(bucket, name, see_restricted), see_restricted)


def list_channels(bucket: str, see_restricted: bool) -> Json:
    """Every channel (`latest` too) with the version it holds (without builds: one
    BatchGetItem for them all); a viewer's list leaves out the restricted ones."""
    items = [c for c in channels.channel_items(bucket) if see_restricted or not c.restricted]
    if not items:
        bucket_item(bucket)
    held = _by_number(bucket, {c.number for c in items if c.number})
    return {"channels": [wire.channel(c, held.get(c.number or 0)) for c in items]}


def update_channel(bucket: str, name: str, data: Body, actor: str) -> Json:
    """UpdateChannel: the fields named by `update_mask` are set, an absent one to its zero
    (no version: unassigned; not restricted). The managed `latest` keeps its version (400,
    code 9); so does a channel asked to take a version not yet complete, or revoked."""
    mask = update_mask(data)
    channel_item(bucket, name, True)
    change: dict[str, Any] = {}
    if "version_fingerprint" in mask:
        fingerprint = text(data, "version_fingerprint")
        change["version"] = _assignable(bucket, fingerprint) if fingerprint else None
    if "restricted" in mask:
        change["restricted"] = flag(data, "restricted")
    try:
        channels.update_channel(bucket, name, validated(change, models.UpdateChannel), actor)
    except channels.Managed:
        raise Conflict(f'Can\'t update channel assignment on channel "{name}". This channel is managed by '
                       "HCP Packer") from None
    return _shaped_channel(channel_item(bucket, name, True), True)


def create_channel(bucket: str, data: Body, actor: str) -> Json:
    """CreateChannel: empty, or assigned the version `version_fingerprint` names (complete,
    not revoked: the native rule); a duplicate or `latest` is code 6, as HCP Packer says it."""
    name = text(data, "name", required=True) or ""
    restricted = flag(data, "restricted")
    bucket_item(bucket)
    fingerprint = text(data, "version_fingerprint")
    body = validated({"name": name, "restricted": restricted,
                      **({"version": _assignable(bucket, fingerprint)} if fingerprint else {})}, models.CreateChannel)
    try:
        channels.create_channel(bucket, body, actor)
    except AlreadyExists:
        raise AlreadyExists(f"The channel with identifier {name} already exists.") from None
    return _shaped_channel(channel_item(bucket, name, True), True)


def delete_channel(bucket: str, name: str, actor: str) -> Json:
    """DeleteChannel, with its history; `latest` is refused with code 3, as HCP Packer answers."""
    try:
        channels.delete_channel(bucket, name, actor)
    except NotFound:
        raise missing_channel(name) from None
    except channels.Managed:
        raise BadRequest(f"Can't delete managed channel {name}, it's controlled by HCP Packer") from None
    return {}


def channel_history(bucket: str, name: str, see_restricted: bool, limit: int, token: str | None) -> Json:
    """A page of the channel's assignments, newest first, each with the version it assigned
    (one BatchGetItem; null for an unassignment or a version deleted since); `count` is the
    page's. A restricted channel's history is refused to a viewer as the channel is (403)."""
    item = channel_item(bucket, name, see_restricted)
    entries, next_token = channels.history(bucket, name, limit, token)
    held = _by_number(bucket, {int(e.to_version[1:]) for e in entries if e.to_version})
    return {"history": [wire.assignment(e.at, e.author, item.managed,
                                        held.get(int(e.to_version[1:])) if e.to_version else None)
                        for e in entries],
            "count": len(entries), "pagination": _pagination(next_token)}


def _assignable(bucket: str, fingerprint: str) -> str:
    """The name of the version to assign; 400 (code 9) while it is a draft. The native rule
    (channels.update_channel) refuses a revoked or running one the same way."""
    try:
        version, _ = publishing.get_version(bucket, fingerprint)
    except NotFound:
        raise NotFound(f"Version with fingerprint {fingerprint} not found") from None
    if not version.number:
        raise Conflict(f"Version with fingerprint {fingerprint} is not complete: a channel can only be assigned "
                       "a complete version")
    return version.name
