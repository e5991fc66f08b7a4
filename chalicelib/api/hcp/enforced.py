"""What the enforced-block routes answer (HCP Packer 2023-01-01's EnforcedBlock operations):
services/enforced.py called, its entities shaped as the hcp-sdk-go models name them.

Wire choices where HCP has not been observed: a block's `resource_name` is
`packer/project/<project>/enforced_block/<id>`; `latest_version` is given by GetEnforcedBlock,
Create and Update, not on the list (the model says it is only populated when fetching a block
by id); lists take `pagination.page_size` / `pagination.next_page_token` and answer
`pagination` (ListEnforcedBlocks', GetEnforcedBlockVersions' and GetEnforcedBlockLinkedBuckets'
models have no `pagination`: the SDK's clients read the first page, of up to the default page
size); an unset `template_type` is HCL2.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...domain.enums import TemplateType
from ...errors import BadRequest, NotFound
from ...runtime.lazy import lazy
from ..http import validated
from . import wire
from .requests import Body, labels, template_type, text, update_mask
from .resources import missing_bucket

if TYPE_CHECKING:
    from ...domain import enforced as rules
    from ...services import enforced, identity
    from ...storage import entities
    from ...storage.enforced import Block, BlockVersion, Link, LinkMirror
else:
    enforced, identity, rules = (lazy(f"chalicelib.{name}") for name in (
        "services.enforced", "services.identity", "domain.enforced"))

Json = dict[str, Any]


# ---- shapes ------------------------------------------------------------------------------

def block(item: Block, latest: BlockVersion | None = None) -> Json:
    where = identity.location()
    return wire._present({
        "id": item.id, "name": item.name, "labels": item.labels or None, "location": wire.location(where),
        "resource_name": f"packer/project/{where.project_id}/enforced_block/{item.id}",
        "latest_version": version(latest) if latest else None, "created_at": item.created_at,
        "updated_at": item.updated_at})


def version(item: BlockVersion) -> Json:
    return wire._present({
        "id": item.id, "enforced_block_id": item.block_id, "version": item.version, "block_content": item.block_content,
        "template_type": item.template_type, "additional_description": item.additional_description or None,
        "created_at": item.created_at, "updated_at": item.updated_at})


def detail(block_id: str, name: str, item: BlockVersion) -> Json:
    """An EnforcedBlockDetail: a block by id and name, with one version."""
    return {"id": block_id, "name": name, "version": version(item)}


def link(item: LinkMirror, bucket: entities.Bucket) -> Json:
    """An EnforcedBlockBucket: a version linked to a bucket (by the bucket's id)."""
    return {"id": item.id, "bucket_id": wire.ulid(bucket), "enforced_block_id": item.block_id,
            "enforced_block_version_id": item.version_id, "created_at": item.created_at}


def linked_bucket(item: LinkMirror, bucket: entities.Bucket) -> Json:
    """An EnforcedBlockLinkedBucket: the link with its bucket as GetBucket shows it (no latest version)."""
    return {"id": item.id, "enforced_block_id": item.block_id, "enforced_block_version_id": item.version_id,
            "created_at": item.created_at, "bucket": wire.bucket(bucket, identity.location())}


def _pagination(next_token: str | None) -> Json:
    return {"next_page_token": next_token} if next_token else {}


# ---- requests ----------------------------------------------------------------------------

def _new_version(data: Body) -> dict[str, Any]:
    """The version fields of a Create body (absent ones left to the model's defaults)."""
    kind = template_type(data)
    fields = {"block_content": text(data, "block_content", required=True), "version": text(data, "version") or None,
              "additional_description": text(data, "additional_description") or ""}
    return {**fields, **({"template_type": kind} if kind != TemplateType.UNSET else {})}


def _bucket_names(data: Body) -> list[str]:
    value = data.get("bucket_names")
    if value is None:
        return []  # proto3: an absent or null repeated field is empty (hcp-sdk-go sends null for none)
    if not isinstance(value, list) or not all(isinstance(n, str) for n in value):
        raise BadRequest("bucket_names must be a list of bucket names")
    return value


# ---- operations --------------------------------------------------------------------------

def create_block(data: Body, actor: str) -> Json:
    body = validated({**_new_version(data), "name": text(data, "name", required=True), "labels": labels(data) or {}},
                     rules.NewBlock)
    return {"enforced_block": block(*enforced.create_block(body, actor))}


def list_blocks(limit: int, token: str | None) -> Json:
    items, next_token = enforced.blocks_page(limit, token)
    return {"enforced_blocks": [block(i) for i in items], "pagination": _pagination(next_token)}


def get_block(block_id: str) -> Json:
    return {"enforced_block": block(*enforced.get_block(block_id))}


def update_block(block_id: str, data: Body, actor: str) -> Json:
    """UpdateEnforcedBlock: the fields `update_mask` names (name, labels) are set, an absent
    `labels` to none; a block always has a name (400 when the mask names it and none is given)."""
    fields = update_mask(data, ("name", "labels"))
    name = text(data, "name", required="name" in fields) or None
    change = validated({"name": name, "labels": labels(data)}, rules.BlockChange)
    return {"enforced_block": block(*enforced.update_block(block_id, fields, change, actor))}


def delete_block(block_id: str, actor: str) -> Json:
    enforced.delete_block(block_id, actor)
    return {}


def versions(block_id: str, limit: int, token: str | None) -> Json:
    found, items, next_token = enforced.versions_page(block_id, limit, token)
    return {"enforced_block_detail": [detail(found.id, found.name, i) for i in items],
            "pagination": _pagination(next_token)}


def create_version(block_id: str, data: Body, actor: str) -> Json:
    body = validated(_new_version(data), rules.NewVersion)
    return {"enforced_block_version": version(enforced.create_version(block_id, body, actor))}


def update_version(block_id: str, version_id: str, data: Body, actor: str) -> Json:
    """UpdateEnforcedBlockVersion: only `additional_description` changes (a version's text
    never does: a new text is a new version)."""
    update_mask(data, ("additionalDescription",))
    change = validated({"additional_description": text(data, "additional_description") or ""}, rules.VersionChange)
    return {"enforced_block_version": version(enforced.update_version(block_id, version_id,
                                                                      change.additional_description, actor))}


def delete_version(block_id: str, version_id: str, actor: str) -> Json:
    enforced.delete_version(block_id, version_id, actor)
    return {}


def linked_buckets(block_id: str, version_id: str, limit: int, token: str | None) -> Json:
    found, next_token = enforced.linked_buckets(block_id, version_id, limit, token)
    return {"linked_buckets": [linked_bucket(m, b) for m, b in found], "pagination": _pagination(next_token)}


def manage_links(block_id: str, version_id: str, data: Body, actor: str) -> Json:
    found = enforced.manage_links(block_id, version_id, _bucket_names(data), actor)
    return {"enforced_block_buckets": [link(m, b) for m, b in found]}


def by_bucket(name: str) -> Json:
    """GetEnforcedBlocksByBucket, as Packer reads it: each linked block with its version."""
    try:
        links: list[Link] = enforced.by_bucket(name)
    except NotFound:
        raise missing_bucket(name) from None
    return {"enforced_block_detail": [detail(i.block_id, i.block_name, i.block_version()) for i in links]}
