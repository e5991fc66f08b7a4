"""Enforced provisioner blocks (HCP Packer's enforced blocks): blocks and their versions,
linked to buckets, which Packer 1.16+ reads for the bucket it builds into and runs as extra
provisioners of every build (domain/enforced.py says what a block holds).

Rules (HCP's where its documentation says them, `developer.hashicorp.com/hcp/docs/packer/
store/enforce-provisioners`): a bucket has one version of a block linked at a time (linking
another is refused until the first is unlinked); a version linked to a bucket cannot be
deleted, nor can a block while any of its versions is; contributors manage blocks and links,
viewers read them. Beyond what HCP documents: a block's name is unique in the project; a
version's label is unique in its block (an unlabelled one takes the next number: `1`, `2`,
…); ManageEnforcedBlockLinkedBuckets sets the buckets a version is linked to (the list is
the whole set: buckets left out are unlinked), at most MAX_LINK_CHANGES changes a request.

Every change is a transaction with its audit event: blocks and versions in the registry-wide
trail, links and unlinks in each bucket's own. Calls (DynamoDB): see each function.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from . import audit, buckets
from .. import storage
from ..domain import ids, names
from ..domain.enforced import MAX_LINK_CHANGES, BlockChange, NewBlock, NewVersion
from ..errors import AlreadyExists, BadRequest, Conflict, NotFound
from ..runtime.clock import now_iso
from ..storage import ConditionFailed, TRANSACTION_LIMIT
from ..storage.enforced import Block, BlockVersion, Link, LinkMirror
from ..storage.entities import Bucket
from .retry import retrying

Action = dict[str, Any]
NAMED_AT_MOST = 5  # buckets a refusal names


# ---- what the messages say ---------------------------------------------------------------

def missing_block(block_id: str) -> NotFound:
    return NotFound(f"The enforced block with identifier {block_id} does not exist.")


def missing_version(version_id: str) -> NotFound:
    return NotFound(f"The enforced block version with identifier {version_id} does not exist.")


def _target(block_id: str, version_id: str | None = None) -> str:
    return f"enforced_block/{block_id}" + (f"/versions/{version_id}" if version_id else "")


def _recorded(version: BlockVersion) -> dict[str, Any]:
    """A version as the audit trail keeps it: its text by digest and size, never the text
    (which may hold anything its author put in a shell command)."""
    content = version.block_content.encode()
    return {"version": version.version, "template_type": version.template_type,
            "content_sha256": hashlib.sha256(content).hexdigest(), "content_bytes": len(content),
            "additional_description": version.additional_description}


# ---- blocks ------------------------------------------------------------------------------

def _live(block_id: str) -> Block:
    """The block (GetItem), or a 404: also while it is being deleted."""
    block = storage.enforced.block(block_id) if ids.is_ulid(block_id) else None
    if block is None or block.deleting:
        raise missing_block(block_id)
    return block


def create_block(body: NewBlock, actor: str) -> tuple[Block, BlockVersion]:
    """A block and its first version (one TransactWriteItems); AlreadyExists when the name is taken."""
    now = now_iso()
    block = Block(id=ids.new(), name=body.name, labels=body.labels, created_at=now, updated_at=now, created_by=actor,
                  updated_by=actor, version_count=1)
    version = _new_version(block, body, body.version or "1", now, actor)
    try:
        audit.commit([*storage.enforced.create_block(block, version),
                      audit.event_action(None, "enforced_block.created", _target(block.id), actor,
                                         after={"name": block.name, "labels": block.labels, "version_id": version.id,
                                                **_recorded(version)})])
    except ConditionFailed:
        raise AlreadyExists(f"An enforced block named {body.name} already exists.") from None
    return block, version


def _new_version(block: Block, body: NewVersion, label: str, now: str, actor: str) -> BlockVersion:
    return BlockVersion(id=ids.new(), block_id=block.id, version=label, block_content=body.block_content,
                        template_type=str(body.template_type), created_at=now, updated_at=now,
                        additional_description=body.additional_description, created_by=actor)


def get_block(block_id: str) -> tuple[Block, BlockVersion | None]:
    """The block and its newest version: a GetItem and a Query of one item."""
    block = _live(block_id)
    return block, storage.enforced.latest_version(block.id)


def blocks_page(limit: int, token: str | None) -> tuple[list[Block], str | None]:
    """Blocks by name: one Query page (a block being deleted is left out)."""
    items, next_token = storage.enforced.blocks_page(token, limit)
    return [b for b in items if not b.deleting], next_token


def update_block(block_id: str, fields: set[str], change: BlockChange, actor: str) -> tuple[Block, BlockVersion | None]:
    """Set the `fields` ("name", "labels") of the block: a GetItem (and one of the new name's
    claim), one TransactWriteItems; then, when renamed, its links' copies of the name
    (`_copy`). AlreadyExists when another block has the name."""
    def step() -> Block:
        block = _live(block_id)
        name = change.name if "name" in fields and change.name else block.name  # the API layer requires it
        labels = (change.labels or {}) if "labels" in fields else block.labels
        if (name, labels) == (block.name, block.labels):
            return block
        if name != block.name and storage.enforced.name_holder(name) not in (None, block.id):
            raise AlreadyExists(f"An enforced block named {name} already exists.")
        now = now_iso()
        audit.commit([*storage.enforced.update_block(block, name, labels, now, actor),
                      audit.event_action(None, "enforced_block.updated", _target(block.id), actor,
                                         before={"name": block.name, "labels": block.labels},
                                         after={"name": name, "labels": labels})])
        return _live(block_id)

    block = retrying(step, what=f"updating enforced block {block_id}")
    if "name" in fields:  # also when unchanged: a repeat finishes copies an interrupted rename left
        _copy(block.id, None, {"block_name": block.name}, storage.enforced.block_still(block, block.name),
              lambda: getattr(storage.enforced.block(block.id), "name", None) == block.name)
    return block, storage.enforced.latest_version(block.id)


def delete_block(block_id: str, actor: str) -> None:
    """Delete the block with its versions, refused (Conflict) while a version of it is linked
    to a bucket. One GetItem, one Query (its links), an UpdateItem marking it as being deleted
    (if no link was made since), a Query and BatchWriteItems of its versions and labels, and a
    TransactWriteItems deleting it: repeating an interrupted DELETE finishes it."""
    def step() -> Block:
        block = storage.enforced.block(block_id) if ids.is_ulid(block_id) else None
        if block is None:
            raise missing_block(block_id)
        if not block.deleting:
            _refuse_if_linked(storage.enforced.mirrors_page(block.id, None, None, NAMED_AT_MOST)[0],
                              f"Enforced block {block.name} has versions linked to buckets")
            storage.enforced.mark_deleting(block)
        return block

    block = retrying(step, what=f"deleting enforced block {block_id}")
    storage.enforced.empty_block(block.id)
    try:
        audit.commit([*storage.enforced.delete_block(block),
                      audit.event_action(None, "enforced_block.deleted", _target(block.id), actor,
                                         before={"name": block.name, "labels": block.labels,
                                                 "versions": block.version_count})])
    except ConditionFailed:
        raise missing_block(block_id) from None  # a concurrent DELETE finished first


def _refuse_if_linked(linked: list[LinkMirror], what: str) -> None:
    if linked:
        shown = ", ".join(sorted({m.bucket for m in linked}))
        raise Conflict(f"{what}: {shown}. Unlink them first (ManageEnforcedBlockLinkedBuckets).")


# ---- versions ----------------------------------------------------------------------------

def versions_page(block_id: str, limit: int, token: str | None) -> tuple[Block, list[BlockVersion], str | None]:
    """A block's versions, newest first: a GetItem and one Query page."""
    block = _live(block_id)
    return (block, *storage.enforced.versions_page(block.id, token, limit))


def _block_and_version(block_id: str, version_id: str) -> tuple[Block, BlockVersion]:
    """Both, or a 404 (one BatchGetItem)."""
    found, version = storage.enforced.block_and_version(block_id, version_id) if ids.is_ulid(block_id) and \
        ids.is_ulid(version_id) else (None, None)
    if found is None or found.deleting:
        raise missing_block(block_id)
    if version is None:
        raise missing_version(version_id)
    return found, version


def create_version(block_id: str, body: NewVersion, actor: str) -> BlockVersion:
    """A new version of the block: two GetItems (the block, the label's claim) and one
    TransactWriteItems; AlreadyExists when the label is taken."""
    def step() -> BlockVersion:
        block = _live(block_id)
        label = body.version or str(block.version_count + 1)
        if storage.enforced.label_taken(block.id, label):
            hint = "" if body.version else " (the label given to a version without one, its number): give `version`"
            raise AlreadyExists(f"Version {label} of enforced block {block.name} already exists{hint}.")
        now = now_iso()
        version = _new_version(block, body, label, now, actor)
        audit.commit([*storage.enforced.create_version(block, version, now, actor),
                      audit.event_action(None, "enforced_block.version_created", _target(block.id, version.id), actor,
                                         after={"name": block.name, **_recorded(version)})])
        return version

    return retrying(step, what=f"creating a version of enforced block {block_id}")


def update_version(block_id: str, version_id: str, description: str, actor: str) -> BlockVersion:
    """Set a version's `additional_description`: one BatchGetItem, one TransactWriteItems,
    then its links' copies (`_copy`)."""
    def step() -> BlockVersion:
        block, version = _block_and_version(block_id, version_id)
        if description == version.additional_description:
            return version
        now = now_iso()
        audit.commit([storage.enforced.update_version(version, description, now),
                      audit.event_action(None, "enforced_block.version_updated", _target(block.id, version.id), actor,
                                         before={"additional_description": version.additional_description},
                                         after={"additional_description": description})])
        return _block_and_version(block_id, version_id)[1]

    version = retrying(step, what=f"updating enforced block version {version_id}")
    _copy(version.block_id, version.id, {"version.additional_description": version.additional_description,
                                         "version.updated_at": version.updated_at},
          storage.enforced.version_still(version),
          lambda: getattr(storage.enforced.block_and_version(version.block_id, version.id)[1], "updated_at",
                          None) == version.updated_at)
    return version


def delete_version(block_id: str, version_id: str, actor: str) -> None:
    """Delete a version, refused (Conflict) while it is linked to a bucket, as HCP refuses
    it: one BatchGetItem, one Query (its links), one TransactWriteItems (holding only if no
    link was made since)."""
    def step() -> None:
        block, version = _block_and_version(block_id, version_id)
        _refuse_if_linked(storage.enforced.mirrors_page(block.id, version.id, None, NAMED_AT_MOST)[0],
                          f"Version {version.version} of enforced block {block.name} is linked to buckets")
        audit.commit([*storage.enforced.delete_version(version), storage.enforced.unlinked_since(block),
                      audit.event_action(None, "enforced_block.version_deleted", _target(block.id, version.id), actor,
                                         before={"name": block.name, **_recorded(version)})])

    retrying(step, what=f"deleting enforced block version {version_id}")


# ---- links -------------------------------------------------------------------------------

def linked_buckets(block_id: str, version_id: str, limit: int,
                   token: str | None) -> tuple[list[tuple[LinkMirror, Bucket]], str | None]:
    """A page of the buckets the version is linked to, by name, with each bucket: one
    BatchGetItem (block and version), one Query page, one BatchGetItem (the buckets)."""
    block, version = _block_and_version(block_id, version_id)
    found, next_token = storage.enforced.mirrors_page(block.id, version.id, token, limit)
    items = storage.enforced.buckets([m.bucket for m in found])
    return [(m, items[m.bucket]) for m in found if m.bucket in items], next_token


def manage_links(block_id: str, version_id: str, bucket_names: list[str],
                 actor: str) -> list[tuple[LinkMirror, Bucket]]:
    """Link the version to exactly these buckets: those not linked yet are linked, those
    linked and left out are unlinked (an empty list unlinks it everywhere). One
    BatchGetItem (block and version), a Query of its links, one BatchGetItem (the buckets
    named and their links to the block) and one TransactWriteItems; the answer is every link
    of the version, each with its bucket. Refused: a bucket that does not exist (404), one
    with another version of the block linked (Conflict), more than MAX_LINK_CHANGES changes."""
    wanted = list(dict.fromkeys(bucket_names))

    def step() -> list[tuple[LinkMirror, Bucket]]:
        block, version = _block_and_version(block_id, version_id)
        current = {m.bucket: m for m in storage.enforced.mirrors(block.id, version.id)}
        added = [n for n in wanted if n not in current]
        removed = [m for name, m in current.items() if name not in wanted]
        if len(added) + len(removed) > MAX_LINK_CHANGES:
            raise BadRequest(f"bucket_names would link or unlink {len(added) + len(removed)} buckets: at most "
                             f"{MAX_LINK_CHANGES} a request; change the list in steps")
        for name in wanted:
            if names.bad_path_parameter({"bucket": name}):
                raise buckets_missing(name)
        found, links = storage.enforced.buckets_and_links(wanted, block.id)
        for name in added:
            if name not in found:
                raise buckets_missing(name)
            if name in links:
                raise Conflict(f"Bucket {name} has version {links[name].block_version().version} of enforced block "
                               f"{block.name} linked: unlink it first (a bucket takes one version of a block at a time).")
        made = [_link(block, version, name, actor) for name in added]
        if made or removed:
            audit.commit([*storage.enforced.links_changing(block, version),
                          *(a for link in made for a in storage.enforced.link(link)),
                          *(a for old in removed for a in storage.enforced.unlink(old)),
                          *(audit.event_action(link.bucket, "enforced_block.linked", _target(block.id), actor,
                                               after={"name": block.name, "version": version.version,
                                                      "version_id": version.id}) for link in made),
                          *(audit.event_action(old.bucket, "enforced_block.unlinked", _target(block.id), actor,
                                               before={"name": block.name, "version": version.version,
                                                       "version_id": version.id}) for old in removed)])
        kept = [current[n] for n in wanted if n in current] + [link.mirror() for link in made]
        return sorted(((m, found[m.bucket]) for m in kept if m.bucket in found), key=lambda pair: pair[0].bucket)

    return retrying(step, what=f"linking enforced block version {version_id}")


def buckets_missing(name: str) -> NotFound:
    return NotFound(f"The bucket with identifier {name} does not exist.")


def _link(block: Block, version: BlockVersion, bucket: str, actor: str) -> Link:
    return Link(id=ids.new(), bucket=bucket, block_id=block.id, block_name=block.name, version_id=version.id,
                version=version.attributes(), created_at=now_iso(), created_by=actor)


def by_bucket(bucket: str) -> list[Link]:
    """The versions linked to a bucket, in the order they were linked (Packer appends their
    provisioners in this order): one Query, and a GetItem of the bucket when it has none (a
    404 for a bucket that does not exist)."""
    links = storage.enforced.bucket_links(bucket)
    if not links:
        buckets.require(bucket)
    return sorted(links, key=lambda link: (link.created_at, link.id))


def _copy(block_id: str, version_id: str | None, fields: dict[str, Any], guard: Action,
          current: Callable[[], bool]) -> None:
    """Write `fields` on the links of a version (None: of every version of the block) under
    `guard` (the source still as copied): a Query of its links, then TransactWriteItems of up
    to 99 links each. A link unlinked meanwhile fails the transaction and the step is
    repeated; once the source changed again (`current` false) the later change copies."""
    def step() -> None:
        if not current():
            return
        found = storage.enforced.mirrors(block_id, version_id)
        size = TRANSACTION_LIMIT - 1
        for start in range(0, len(found), size):
            storage.transact([guard, *(storage.enforced.refresh(m, fields) for m in found[start:start + size])])

    retrying(step, what="copying an enforced block's change to its linked buckets")
