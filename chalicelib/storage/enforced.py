"""Enforced provisioner blocks: blocks, their versions, and the links of a version to buckets.

| item | PK | SK | GSI1 (PK / SK) |
| --- | --- | --- | --- |
| block | `ENFORCED#<block id>` | `BLOCK` | `ENFORCED_BLOCKS` / `<name>` |
| a block's name, claimed by it | `ENFORCED_NAME#<name>` | `NAME` | |
| block version | `ENFORCED#<block id>` | `VERSION#<version id>` | |
| a version's label, claimed in its block | `ENFORCED#<block id>` | `LABEL#<label>` | |
| link: a version enforced on a bucket (with a copy of the block's name and of the version) | `BUCKET#<b>` | `ENFORCED#<block id>` | |
| the link seen from its block | `ENFORCED#<block id>` | `LINK#<version id>#<b>` | |

A bucket holds one link per block (the key says so: HCP links one version of a block to a
bucket at a time), beside the bucket's other items, so the blocks Packer fetches for a bucket
are one Query of its partition and go with the bucket when it is deleted (buckets.empty
deletes each link's other half first). The copy on the link is kept current: renaming a block
or describing a version rewrites its links (`refresh`), each transaction guarded by what it
copies. Every link or unlink of a block's versions bumps the block's `links_changed`, so a
deletion that found no link commits only if none was made since.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from . import keys, table
from .entities import Bucket, Entity
from .expressions import Action, Change
from .pages import list_page
from .schema import GSI1, GSI1PK, GSI1SK, PK, SK

BLOCKS = "ENFORCED_BLOCKS"
BLOCK, VERSIONS, LABELS, LINKS = "BLOCK", "VERSION#", "LABEL#", "LINK#"
ON_BUCKET = "ENFORCED#"  # a bucket partition's links


def block_pk(block_id: str) -> str:
    return f"ENFORCED#{block_id}"


def block_key(block_id: str) -> keys.Key:
    return {PK: block_pk(block_id), SK: BLOCK}


def name_key(name: str) -> keys.Key:
    return {PK: f"ENFORCED_NAME#{name}", SK: "NAME"}


def version_key(block_id: str, version_id: str) -> keys.Key:
    return {PK: block_pk(block_id), SK: f"{VERSIONS}{version_id}"}


def label_key(block_id: str, label: str) -> keys.Key:
    return {PK: block_pk(block_id), SK: f"{LABELS}{label}"}


def links_prefix(version_id: str | None) -> str:
    """The block partition's links of one version (None: of all its versions)."""
    return f"{LINKS}{version_id}#" if version_id else LINKS


def mirror_key(block_id: str, version_id: str, bucket: str) -> keys.Key:
    return {PK: block_pk(block_id), SK: f"{links_prefix(version_id)}{bucket}"}


def link_key(bucket: str, block_id: str) -> keys.Key:
    return {PK: keys.bucket_pk(bucket), SK: f"{ON_BUCKET}{block_id}"}


# ---- entities ----------------------------------------------------------------------------

@dataclass(repr=False, eq=False)
class Block(Entity):
    """A block: its name (unique, claimed), labels and counters. `deleting` is set while its
    versions are being deleted (it then answers as gone and takes no change)."""

    id: str
    name: str
    created_at: str
    updated_at: str
    labels: dict[str, str] = field(default_factory=dict)
    created_by: str | None = None
    updated_by: str | None = None
    version_count: int = 0  # versions ever made: an unlabelled one is labelled with the next number
    links_changed: int = 0  # bumped by every link and unlink of any of its versions
    deleting: bool | None = None

    def item_key(self) -> keys.Key:
        return block_key(self.id)

    def index(self) -> keys.Key:
        return {GSI1PK: BLOCKS, GSI1SK: self.name}


@dataclass(repr=False, eq=False)
class BlockVersion(Entity):
    """One version of a block: its text is fixed; its description may change (`updated_at`
    says when, and guards the copies on its links)."""

    id: str
    block_id: str
    version: str
    block_content: str
    template_type: str
    created_at: str
    updated_at: str
    additional_description: str = ""
    created_by: str | None = None

    def item_key(self) -> keys.Key:
        return version_key(self.block_id, self.id)


@dataclass(repr=False, eq=False)
class Link(Entity):
    """A version linked to a bucket, in the bucket's partition: the block's name and the
    version (its fields as stored) copied, so that a bucket's blocks are read in one Query."""

    id: str
    bucket: str
    block_id: str
    block_name: str
    version_id: str
    version: dict[str, Any]
    created_at: str
    created_by: str | None = None

    def item_key(self) -> keys.Key:
        return link_key(self.bucket, self.block_id)

    def block_version(self) -> BlockVersion:
        return BlockVersion.from_item(self.version)

    def mirror(self) -> LinkMirror:
        return LinkMirror(id=self.id, bucket=self.bucket, block_id=self.block_id, version_id=self.version_id,
                          created_at=self.created_at, created_by=self.created_by)


@dataclass(repr=False, eq=False)
class LinkMirror(Entity):
    """A link seen from its block: which buckets a version is linked to."""

    id: str
    bucket: str
    block_id: str
    version_id: str
    created_at: str
    created_by: str | None = None

    def item_key(self) -> keys.Key:
        return mirror_key(self.block_id, self.version_id, self.bucket)


# ---- reads -------------------------------------------------------------------------------

def block(block_id: str) -> Block | None:
    """GetItem."""
    item = table.get(block_key(block_id))
    return Block.from_item(item) if item else None


def block_and_version(block_id: str, version_id: str) -> tuple[Block | None, BlockVersion | None]:
    """The block and one of its versions: one BatchGetItem."""
    found = {i[SK]: i for i in table.get_many([block_key(block_id), version_key(block_id, version_id)])}
    item, version = found.get(BLOCK), found.get(version_key(block_id, version_id)[SK])
    return Block.from_item(item) if item else None, BlockVersion.from_item(version) if version else None


def name_holder(name: str) -> str | None:
    """The id of the block holding this name (GetItem of its claim), or None."""
    item = table.get(name_key(name))
    return str(item["block_id"]) if item else None


def label_taken(block_id: str, label: str) -> bool:
    """GetItem of the label's claim."""
    return table.get(label_key(block_id, label)) is not None


def blocks_page(token: str | None, limit: int) -> tuple[list[Block], str | None]:
    """Blocks by name: one Query page of GSI1 `ENFORCED_BLOCKS`."""
    items, next_token = list_page(BLOCKS, token, index=GSI1, limit=limit)
    return [Block.from_item(i) for i in items], next_token


def versions_page(block_id: str, token: str | None, limit: int) -> tuple[list[BlockVersion], str | None]:
    """A block's versions, newest first (their ULIDs sort by creation): one Query page."""
    items, next_token = list_page(block_pk(block_id), token, prefix=VERSIONS, newest_first=True, limit=limit)
    return [BlockVersion.from_item(i) for i in items], next_token


def latest_version(block_id: str) -> BlockVersion | None:
    """The block's newest version: one Query of one item."""
    items, _ = table.query_page(block_pk(block_id), prefix=VERSIONS, newest_first=True, limit=1)
    return BlockVersion.from_item(items[0]) if items else None


def mirrors_page(block_id: str, version_id: str | None, token: str | None,
                 limit: int) -> tuple[list[LinkMirror], str | None]:
    """A page of the buckets a version (None: any version of the block) is linked to, by name."""
    items, next_token = list_page(block_pk(block_id), token, prefix=links_prefix(version_id), limit=limit)
    return [LinkMirror.from_item(i) for i in items], next_token


def mirrors(block_id: str, version_id: str | None) -> list[LinkMirror]:
    """Every bucket a version (None: any version of the block) is linked to: Query pages of
    small items (one page for thousands of links)."""
    return [LinkMirror.from_item(i) for i in table.query_all(block_pk(block_id), prefix=links_prefix(version_id))]


def bucket_links(bucket: str) -> list[Link]:
    """The links of a bucket, each with its copy of the block's name and version: one Query
    (a page holds 1 MB: about thirty versions of the largest text)."""
    return [Link.from_item(i) for i in table.query_all(keys.bucket_pk(bucket), prefix=ON_BUCKET)]


def buckets_and_links(names: list[str], block_id: str) -> tuple[dict[str, Bucket], dict[str, Link]]:
    """These buckets (those that exist) and the links the block has on them: one
    BatchGetItem (per hundred keys)."""
    found = table.get_many([k for name in names for k in (keys.bucket(name), link_key(name, block_id))])
    buckets = {i["bucket"]: Bucket.from_item(i) for i in found if i[SK] == keys.bucket("")[SK]}
    links = {i["bucket"]: Link.from_item(i) for i in found if str(i[SK]).startswith(ON_BUCKET)}
    return buckets, links


def buckets(names: list[str]) -> dict[str, Bucket]:
    """These buckets (those that exist): one BatchGetItem (per hundred)."""
    return {i["bucket"]: Bucket.from_item(i) for i in table.get_many([keys.bucket(n) for n in names])}


# ---- writes: each an action of the caller's transaction -----------------------------------

def create_block(new: Block, first: BlockVersion) -> list[Action]:
    """Put a new block with its first version and claim its name; fails if the name is taken."""
    return [Change(new.item_key()).absent().put(new.to_item()),
            Change(name_key(new.name)).absent().put({"block_id": new.id}), *_version_items(first)]


def _version_items(new: BlockVersion) -> list[Action]:
    """Put a new version and claim its label (fails if taken)."""
    return [Change(new.item_key()).absent().put(new.to_item()),
            Change(label_key(new.block_id, new.version)).absent().put({"version_id": new.id})]


def create_version(read: Block, new: BlockVersion, now: str, actor: str) -> list[Action]:
    """A new version (`_version_items`) of a block still there and not being deleted; counted."""
    return [*_version_items(new),
            _block_change(read).increment("version_count", 1).set("updated_at", now).set("updated_by", actor)
            .action()]


def _block_change(read: Block) -> Change:
    """A change of the block as read: still there, not being deleted."""
    return Change(read.item_key()).exists().absent("deleting")


def update_block(read: Block, name: str, labels: dict[str, str], now: str, actor: str) -> list[Action]:
    """Set the block's name and labels, if its name is still the one read; a new name is
    claimed (fails if taken) and the old one released."""
    actions = [_block_change(read).equals("name", read.name).set_all(
        {"name": name, "labels": labels, "updated_at": now, "updated_by": actor, **{GSI1SK: name}}).action()]
    if name != read.name:
        actions += [Change(name_key(read.name)).equals("block_id", read.id).delete(),
                    Change(name_key(name)).absent().put({"block_id": read.id})]
    return actions


def update_version(read: BlockVersion, description: str, now: str) -> Action:
    """Set a version's description, if it is still as read."""
    return (Change(read.item_key()).equals("updated_at", read.updated_at)
            .set("additional_description", description).set("updated_at", now).action())


def unlinked_since(read: Block) -> Action:
    """A check that no version of the block was linked or unlinked since it was read (nor is
    it being deleted)."""
    return _block_change(read).equals("links_changed", read.links_changed).check()


def delete_version(read: BlockVersion) -> list[Action]:
    """Delete a version (if unchanged since read) and release its label."""
    return [Change(read.item_key()).equals("updated_at", read.updated_at).delete(),
            table.delete_action(label_key(read.block_id, read.version))]


def mark_deleting(read: Block) -> None:
    """Start deleting the block: UpdateItem, if no version was linked or unlinked since it was
    read. From then on it takes no change, no version and no link."""
    Change(read.item_key()).exists().equals("links_changed", read.links_changed).set("deleting", True).apply()


def empty_block(block_id: str) -> None:
    """Delete the block's versions, labels (and links' halves: none, as deletion checked) in
    bulk, neither atomic nor conditioned (table.delete_many): a repeat finishes the job."""
    doomed = [{PK: i[PK], SK: i[SK]} for i in table.query_all(block_pk(block_id), projection=f"{PK}, {SK}")
              if i[SK] != BLOCK]
    table.delete_many(doomed)


def delete_block(read: Block) -> list[Action]:
    """Delete the block (being deleted, its versions gone) and release its name."""
    return [Change(read.item_key()).exists().delete(),
            Change(name_key(read.name)).equals("block_id", read.id).delete()]


def link(new: Link) -> list[Action]:
    """Link a version to a bucket that exists and has no version of this block linked: the
    link with its copies (the block's name and the version as read, both checked by the
    transaction's `links_changing`) and its other half."""
    mirror = new.mirror()
    return [Change(new.item_key()).absent().put(new.to_item()),
            Change(mirror.item_key()).absent().put(mirror.to_item()),
            table.guard(Change(keys.bucket(new.bucket)).exists().check())]


def unlink(old: LinkMirror) -> list[Action]:
    """Unlink a version from a bucket: the link (if it is still this version's) and its other half."""
    return [Change(link_key(old.bucket, old.block_id)).equals("version_id", old.version_id).delete(),
            Change(old.item_key()).exists().delete()]


def links_changing(read_block: Block, read_version: BlockVersion) -> list[Action]:
    """What every link or unlink transaction holds: the block and version still as read (so
    the copies on new links are current) and the block's `links_changed` bumped."""
    return [_block_change(read_block).equals("name", read_block.name).bump("links_changed", read_block.links_changed)
            .action(),
            Change(read_version.item_key()).equals("updated_at", read_version.updated_at).check()]


def refresh(link_of: LinkMirror, fields: dict[str, Any]) -> Action:
    """Rewrite copied fields (`block_name`, `version.<field>`) on one link, if it is still
    this version's."""
    return Change(link_key(link_of.bucket, link_of.block_id)).equals("version_id", link_of.version_id).set_all(
        fields).action()


def block_still(read: Block, name: str) -> Action:
    """A check that the block is still named `name` (a rename's copies are written under it)."""
    return Change(read.item_key()).equals("name", name).check()


def version_still(version: BlockVersion) -> Action:
    """A check that the version is still as given (its description's copies are written under it)."""
    return Change(version.item_key()).equals("updated_at", version.updated_at).check()


def link_leftovers(item: dict[str, Any]) -> list[keys.Key]:
    """What a bucket partition's item leaves outside it when it is a link: the link's half in
    its block (deleted before the link, buckets.empty, so that a repeat finds it again)."""
    if not str(item[SK]).startswith(ON_BUCKET):
        return []
    return [mirror_key(item["block_id"], item["version_id"], item["bucket"])]
