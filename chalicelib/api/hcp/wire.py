"""The registry's entities as HCP Packer 2023-01-01 JSON (the hcp-sdk-go models' fields).

Conventions (HCP-API-COMPAT.md §4): snake_case keys; enums as their names (`VERSION_ACTIVE`,
`BUILD_DONE`, `HCL2`); int64 fields as strings (`version_count`); times RFC 3339 as stored
(microseconds, `Z`); a field without a value is left out, never `""` (an empty time decodes
as 1970, which reads as a revocation), except `revoke_at`, which a version never revoked
carries as `null`, as HCP Packer answers, and a channel's `version`, null while unassigned.

Every resource has a ULID `id` (domain/ids.py): a version its own (one recorded before
versions had ids, and buckets, channels and artifacts always, one derived from what names
it, the same on every read).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping
from urllib.parse import quote

from ...domain import ids
from ...domain.enums import AncestryStatus, RegistryState, RevocationType
from ...domain.platforms import canonical
from ...storage import entities

Json = dict[str, Any]
MANAGED_AUTHOR = "HCP Packer"  # the author HCP Packer names for what it manages (`latest`)
ACTIVE = "ACTIVE"


def ulid(item: entities.Bucket | entities.Version | entities.Channel) -> str:
    """A bucket's, version's or channel's id (domain/ids.py: a version's own, else derived
    from what names it, the same on every read)."""
    if isinstance(item, entities.Version):
        return item.id or ids.legacy_version_id(item.bucket, item.fingerprint, item.created_at)
    if isinstance(item, entities.Channel):
        return ids.channel_id(item.bucket, item.name, item.created_at)
    return ids.bucket_id(item.bucket, item.created_at)


def _present(fields: Json) -> Json:
    return {k: v for k, v in fields.items() if v is not None}


def location(where: entities.Location) -> Json:
    return {"organization_id": where.organization_id, "project_id": where.project_id, "region": {}}


def operation(where: entities.Location) -> Json:
    """The long-running operation an UpdateVersion answers with: done by the time it answers
    (the registry revokes and restores in the request; a cascade beyond its budget is the
    sweep's, and the version says `cascade_pending` natively)."""
    return {"id": ids.new(), "state": "DONE", "location": location(where)}


def organization(where: entities.Location, name: str) -> Json:
    return {"id": where.organization_id, "name": name, "state": ACTIVE, "created_at": where.created_at}


def project(where: entities.Location, name: str) -> Json:
    return {"id": where.project_id, "name": name, "description": "",
            "parent": {"id": where.organization_id, "type": "ORGANIZATION"}, "state": ACTIVE,
            "created_at": where.created_at}


def registry(where: entities.Location, settings: entities.RegistrySettings) -> Json:
    """The project's registry (services/registry.py): activated unless deactivated, when
    `billing_deprovision` says when and that a user asked; its run task's behaviour on
    untracked images (never its HMAC key: only the run-task routes answer that, to admins)."""
    active = settings.state == RegistryState.ACTIVE
    deprovision = None if active else _present({
        "at": settings.deactivated_at, "reason": "USER_REQUEST",
        "message": "deactivated through the HCP API: no new buckets or versions until it is activated again"})
    return {"id": settings.id, "location": location(where),
            "config": _present({"activated": active, "feature_tier": settings.feature_tier,
                                "billing_deprovision": deprovision,
                                "tfc_run_task_config": {"on_untracked_image": settings.on_untracked_image}}),
            "created_at": settings.created_at, "updated_at": settings.updated_at}


def ancestry_href(where: entities.Location, bucket_name: str, kind: str, fingerprint: str | None = None) -> str:
    """The ListBucketAncestry request that lists a bucket's (or one version's) parents or
    children: a path below the API's address, which the registry may be reached at by
    several names."""
    query = f"type=ANCESTRY_TYPE_{kind}" + (f"&version_fingerprint={quote(fingerprint)}" if fingerprint else "")
    return (f"/packer/2023-01-01/organizations/{where.organization_id}/projects/{where.project_id}"
            f"/buckets/{quote(bucket_name)}/ancestry?{query}")


def bucket(item: entities.Bucket, where: entities.Location, latest: Json | None = None,
           platforms: Iterable[str] | None = None, children: str | None = None) -> Json:
    """A bucket; `latest` its latest version (as version() makes it) when the caller may see
    it; `platforms` its latest version's platforms (else those of `latest`'s builds);
    `parents` the latest version's parents summary, `children` the status of the versions
    built on this bucket's (None: not judged, as on a list page), each with its `href`."""
    shown = platforms if platforms is not None else (b.get("platform") for b in (latest or {}).get("builds") or [])
    return _present({
        "id": ulid(item), "name": item.bucket, "description": item.description or None,
        "labels": item.labels or None, "platforms": sorted({p for p in shown if p}), "latest_version": latest,
        "version_count": str(item.version_count),
        "parents": _present({"href": ancestry_href(where, item.bucket, "PARENTS"),
                             "status": ((latest or {}).get("parents") or {}).get("status")}),
        "children": _present({"href": ancestry_href(where, item.bucket, "CHILDREN"), "status": children}),
        "resource_name": f"packer/project/{where.project_id}/bucket/{item.bucket}", "location": location(where),
        "created_at": item.created_at, "updated_at": item.updated_at})


def version(item: entities.Version, builds: list[entities.Build] | None = None,
            hidden_labels: Iterable[str] = (), sources: Mapping[str, entities.Version] | None = None) -> Json:
    """A version, with its builds when given (a list leaves them out); `hidden_labels` are
    build labels the caller may not see; `sources` the versions inherited revocations name
    (`bucket/vN`), read by the caller, so `revocation_inherited_from` has their ids."""
    revocation = item.revocation or {}
    version_id = ulid(item)
    shaped = _present({
        "id": version_id, "fingerprint": item.fingerprint, "name": item.name, "bucket_name": item.bucket,
        "author_id": item.author, "status": f"VERSION_{item.status.upper()}",
        "template_type": item.template_type or "TEMPLATE_TYPE_UNSET",
        "builds": None if builds is None else [build(b, version_id, hidden_labels) for b in builds],
        "has_descendants": bool(item.child_count), "parents": _parents(item),
        "created_at": item.created_at, "updated_at": item.updated_at, **_revocation(revocation, sources or {})})
    return {**shaped, "revoke_at": revocation.get("revoked_at") or revocation.get("revoke_at")}


def _parents(item: entities.Version) -> Json | None:
    """A version's parents summary: where they are listed, and their status as the registry
    keeps it (the sweep's, as the native `ancestry_status`: UNDETERMINED until judged); None
    for a version built on nothing the registry holds."""
    if not item.parents:
        return None
    from ...services import identity  # the location, read once per process

    return {"href": ancestry_href(identity.location(), item.bucket, "PARENTS", item.fingerprint),
            "status": ancestry_status(item.ancestry_status or AncestryStatus.UNDETERMINED)}


def _revocation(revocation: Json, sources: Mapping[str, entities.Version]) -> Json:
    """The revocation fields of a version revoked or scheduled to be (none otherwise); an
    inherited one names the ancestor it came from (with its fingerprint and id when read)."""
    if not revocation:
        return {}
    inherited = revocation.get("revocation_type") == RevocationType.INHERITED
    named = str(revocation.get("inherited_from") or "")
    ancestor_bucket, _, ancestor_version = named.rpartition("/")
    source = sources.get(named)
    return {"revocation_message": revocation.get("reason"), "revocation_author": revocation.get("revoked_by"),
            "revocation_type": "INHERITED" if inherited else "MANUAL",
            "revocation_inherited_from": _present({
                "bucket_name": ancestor_bucket, "version_name": ancestor_version,
                "version_fingerprint": source.fingerprint if source else None,
                "version_id": ulid(source) if source else None}) if inherited and ancestor_version else None}


def build(item: entities.Build, version_id: str, hidden_labels: Iterable[str] = ()) -> Json:
    """A build of the version whose id is `version_id`, with its artifacts."""
    hidden = set(hidden_labels)
    return _present({
        "id": item.id, "version_id": version_id, "component_type": item.component_type,
        "platform": canonical(item.platform) if item.platform else None, "status": f"BUILD_{item.status.upper()}",
        "labels": {k: v for k, v in item.labels.items() if k not in hidden},
        "packer_run_uuid": item.packer_run_uuid, "source_external_identifier": item.source_artifact,
        "artifacts": [artifact(item, a) for a in item.artifacts], "metadata": item.metadata,
        "created_at": item.created_at, "updated_at": item.updated_at or item.created_at})


def ancestry_status(status: str) -> str:
    """A native link status by HCP Packer's name (`UP_TO_DATE`, …); `parent_revoked` (the parent
    is revoked and this version was spared) is out of date there, HCP Packer telling revocation
    apart rather than as a status."""
    return (AncestryStatus.OUT_OF_DATE if status == AncestryStatus.PARENT_REVOKED else status).upper()


def relation(link: Json, child: entities.Version, parent: entities.Version | None, channel: str | None,
             held: entities.Version | None, status: str) -> Json:
    """A BucketAncestry: the parent version (with the channel its child's build read, when
    the caller may see it, and the version that channel holds now), the child, the status."""
    held_shape = _present({"fingerprint": held.fingerprint, "id": ulid(held), "name": held.name}) if held else None
    return {"parent": _present({
                "bucket_name": link["bucket"], "version_name": link["version"], "version_fingerprint": link["fingerprint"],
                "version_id": ulid(parent) if parent else None, "channel_name": channel,
                "channel_version": held_shape if channel else None}),
            "child": {"bucket_name": child.bucket, "version_fingerprint": child.fingerprint, "version_id": ulid(child),
                      "version_name": child.name},
            "status": ancestry_status(status)}


def untracked_source(source: Json) -> Json:
    """A source artifact of a version that the registry does not hold, in HCP's words
    (`source_external_identifier`), with the native sentence: information, no relation."""
    return _present({"version_fingerprint": source["fingerprint"], "source_external_identifier": source["source_artifact"],
                     "region": source.get("region"), "message": source["message"]})


def artifact(item: entities.Build, stored: Json) -> Json:
    """An artifact of a build (stored without an id: one derived from the build and the image)."""
    region = stored.get("region") or ""
    return _present({"id": ids.artifact_id(item.id, stored["external_id"], region),
                     "external_identifier": stored["external_id"], "region": region or None,
                     "created_at": item.build_time or item.created_at})


def channel(item: entities.Channel, held: Json | None) -> Json:
    """A channel and the version it holds (`held`, as version() makes it; null when none)."""
    return {**_present({
        "id": ulid(item), "name": item.name, "bucket_name": item.bucket, "managed": item.managed,
        "restricted": item.restricted,
        "author_id": MANAGED_AUTHOR if item.managed else (item.updated_by or item.created_by),
        "created_at": item.created_at, "updated_at": item.updated_at}), "version": held}


def assignment(at: str, author: str, managed: bool, assigned: Json | None) -> Json:
    """An entry of a channel's history: when, by whom (`HCP Packer` for the managed `latest`),
    and the version assigned (as version() makes it; null when the channel was emptied)."""
    return {"assigned_at": at, "author_id": MANAGED_AUTHOR if managed else author, "version": assigned}
