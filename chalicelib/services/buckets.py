"""Buckets (image families): create, read, update, list, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import audit
from .. import storage
from ..storage import entities
from ..domain.access import caller
from ..domain.enums import Role
from ..domain.names import label_pairs
from ..runtime.clock import now_iso
from ..domain.rules import LATEST, LATEST_DESCRIPTION
from ..errors import AlreadyExists, NotFound
from ..domain.models import Bucket, CreateBucket, UpdateBucket
from .retry import retrying
from ..storage import ConditionFailed


def create_bucket(body: CreateBucket, actor: str) -> Bucket:
    return to_bucket(create(body, actor))


def create(body: CreateBucket, actor: str) -> entities.Bucket:
    """A new bucket, with its managed `latest` channel (restricted, unassigned until the
    bucket's first version), as HCP Packer creates them; AlreadyExists if the name is taken."""
    now = now_iso()
    item = entities.Bucket(bucket=body.name, description=body.description, labels=body.labels,
                           manifest_prefixes=body.manifest_prefixes, created_at=now, updated_at=now, version_count=0,
                           aggregated_since=now, indexed_since=now, status_counts={}, channels=[{"name": LATEST, "restricted": True}])
    latest = entities.Channel(bucket=body.name, name=LATEST, created_at=now, updated_at=now,
                              restricted=True, managed=True, description=LATEST_DESCRIPTION, created_by=actor,
                              updated_by=actor)
    try:
        audit.commit([storage.buckets.create(item), storage.channels.create(latest),
                      audit.event_action(body.name, "bucket.created", body.name, actor,
                                         after=body.model_dump(exclude={"name"}))])
    except ConditionFailed:
        raise AlreadyExists(f"bucket {body.name!r} already exists") from None
    return item


def get_bucket(name: str, see_restricted: bool = True) -> Bucket:
    return to_bucket(require(name), see_restricted)


def require(name: str, consistent: bool = True) -> entities.Bucket:
    """The bucket item, or a 404."""
    return existing(name, storage.buckets.bucket(name, consistent=consistent))


def existing(name: str, item: entities.Bucket | None) -> entities.Bucket:
    """The bucket item the caller read, or a 404 (the one place that says a bucket does not exist)."""
    if not item:
        raise NotFound(f"bucket {name!r} does not exist")
    return item


def update_bucket(name: str, body: UpdateBucket, actor: str) -> Bucket:
    before = get_bucket(name)
    changes = body.model_dump(exclude_none=True)
    try:
        audit.commit([
            storage.buckets.update(name, changes, now_iso()),
            audit.event_action(name, "bucket.updated", name, actor,
                               before={k: getattr(before, k) for k in changes}, after=changes)])
    except ConditionFailed:
        raise NotFound(f"bucket {name!r} does not exist") from None
    return get_bucket(name)


def list_buckets(limit: int, token: str | None, see_restricted: bool = True,
                 filters: Mapping[str, str] | None = None) -> tuple[list[Bucket], str | None, bool]:
    """By name, one page: `prefix` (of the name) is a key condition, `labels` (`key:value,...`,
    all must match, checked by the HTTP layer) filter the page read, which may then be short
    (the third value says so)."""
    filters = filters or {}
    labels = tuple(label_pairs(filters["labels"]) or ()) if filters.get("labels") else ()
    items, next_token, filtered = _page(token, limit, prefix=filters.get("prefix"), labels=labels)
    who = caller()
    return [to_bucket(i, see_restricted or (who is not None and who.may(i.bucket, Role.CONTRIBUTOR)))
            for i in items], next_token, filtered


def page(limit: int, token: str | None) -> tuple[list[entities.Bucket], str | None]:
    """One page of the bucket items, by name (those the caller may see)."""
    items, next_token, _ = _page(token, limit)
    return items, next_token


def latest_versions(items: list[entities.Bucket]) -> dict[str, entities.Version]:
    """Each bucket's latest version, by bucket name, without builds (a page of the HCP bucket
    list shows them): one BatchGetItem per 100 buckets that have one."""
    refs = [(i.bucket, int(i.latest_version[1:])) for i in items if i.latest_version]
    return {v.bucket: v for v in storage.versions.versions(refs)}


def _page(token: str | None, limit: int, **filters: Any) -> tuple[list[entities.Bucket], str | None, bool]:
    """A page of every bucket (one Query), or, for a caller who does not see every bucket
    (a project role of `none`: domain/access.py), of the buckets it is bound to (one
    BatchGetItem of the page's names: at most MAX_BUCKETS in all)."""
    who = caller()
    if who is not None and not who.sees_every_bucket:
        return storage.access.bound_page(who.seen(), token, limit, **filters)
    return storage.buckets.buckets_page(token, limit, **filters)


def delete_bucket(name: str, actor: str) -> Bucket:
    """Delete a bucket with everything in it: versions and drafts, builds, channels, history,
    its retention policy, the child edges recorded on its versions, the artifact index entries
    of its builds, and its builds' SBOMs (packages, and objects in S3 once it is gone).

    They go in bulk (storage.buckets.empty), each build's artifact index entries before the
    build; then the flags and unresolved hints of its versions, counted off the report's
    counts (storage.sweep.clear_bucket); the bucket item last, in a transaction that also
    deletes its access policy and takes its bindings off their tokens and service principals
    (services/access.py; read again if the policy changes meanwhile): a DELETE interrupted
    half-way can simply be repeated. The SBOM objects go once the bucket is gone
    (sboms.delete_objects). Its audit trail stays (keys.events_pk).
    """
    from . import access

    bucket = get_bucket(name)
    storage.buckets.empty(name)  # the packages of its builds' SBOMs too: they are in its partition
    retrying(lambda: storage.sweep.clear_bucket(name), what=f"clearing the flags of bucket {name!r}")
    retrying(lambda: audit.commit([
        storage.buckets.delete(name), *access.dropped(name),
        audit.event_action(name, "bucket.deleted", name, actor,
                           before={"versions": bucket.version_count, "latest_version": bucket.latest_version})]),
        what=f"deleting bucket {name!r}")
    from . import sboms  # only a bucket's deletion needs it

    sboms.delete_objects(name)
    return bucket


class ManifestKeyRejected(Exception):
    """A manifest uploaded outside the S3 key prefixes its bucket accepts (a per-run reason)."""


def check_manifest_key(bucket: entities.Bucket | None, key: str | None) -> None:
    """Raise ManifestKeyRejected unless `bucket` (its item; None for a bucket ingestion is
    about to create) accepts manifests from the S3 object `key`.

    With `manifest_prefixes` set, only an object whose key starts with one of them may add
    versions or builds to the bucket (and so move its `latest`); without, any key may. Pair
    it with IAM (README, "Manifest prefixes") so each pipeline can only write its prefix.
    """
    if bucket is None or key is None or not bucket.manifest_prefixes:
        return
    prefixes = bucket.manifest_prefixes
    if any(key.startswith(prefix) for prefix in prefixes):
        return
    raise ManifestKeyRejected(f"the key {key!r} is outside the manifest_prefixes of bucket {bucket.bucket!r} "
                              f"({', '.join(repr(p) for p in prefixes)}); upload it under one of them")


def to_bucket(item: entities.Bucket, see_restricted: bool = True) -> Bucket:
    """The bucket as the caller may see it: `latest_version` is null for a viewer, since
    `latest` is restricted (a viewer never learns where it points)."""
    channels = item.channels
    if not see_restricted and channels is not None:
        channels = [c for c in channels if not c.get("restricted")]
    return Bucket.model_validate({
        "name": item.bucket, "description": item.description, "labels": item.labels, "created_at": item.created_at,
        "updated_at": item.updated_at, "version_count": item.version_count,
        "latest_version": item.latest_version if see_restricted else None, "manifest_prefixes": item.manifest_prefixes,
        "status_counts": item.status_counts, "channels": channels})
