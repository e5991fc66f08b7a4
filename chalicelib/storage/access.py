"""Bucket access policies: one item per bucket that has one (`ACCESS`, in the bucket's
partition, kept by `buckets.empty`: the bucket's last transaction deletes it), and their
copy on the members' own items (a token's or service principal's `buckets`: bucket → role),
which the authorizer reads with the credential. Every change writes both sides in one
transaction: the policy conditioned on the etag it was read with, each member's item on the
`access_rev` read, so neither side can drift from the other."""

from __future__ import annotations

from typing import Any

from . import keys, table
from .credentials import Credential, holder_id
from .entities import Bucket, BucketAccess, ServicePrincipal, Token
from .errors import BadToken
from .expressions import Action, Change, Filter
from .pages import BAD_TOKEN, seal, unseal
from .schema import PK, SK
from ..domain.access import TOKEN, member_kind


def with_bucket(bucket: str) -> tuple[Bucket | None, BucketAccess | None]:
    """The bucket and its policy (one BatchGetItem)."""
    found = {item[SK]: item for item in table.get_many([keys.bucket(bucket), keys.access(bucket)])}
    bucket_item, policy_item = found.get(keys.bucket(bucket)[SK]), found.get(keys.ACCESS)
    return (Bucket.from_item(bucket_item) if bucket_item else None,
            BucketAccess.from_item(policy_item) if policy_item else None)


_BOUND = b'["the buckets a caller is bound to"]'  # the scope of that list's page tokens (pages.py)


def bound_page(names: list[str], token: str | None, limit: int, *, prefix: str | None = None,
               labels: tuple[tuple[str, str], ...] = ()) -> tuple[list[Bucket], str | None, bool]:
    """One page of the buckets among `names` (a caller's own, at most MAX_BUCKETS), by name:
    those after the token's place whose name starts with `prefix`, read with one BatchGetItem
    and kept when they have all of `labels` (the page may then be short: the third value
    says so); `next_token` sealed for this list while more remain."""
    after = unseal(token, _BOUND) if token else ""
    if not isinstance(after, str):
        raise BadToken(BAD_TOKEN)
    wanted = [n for n in sorted(names) if n > after and n.startswith(prefix or "")]
    page = wanted[:limit]
    where = Filter()
    for key, value in labels:
        where.entry("labels", key, value)
    found = {i["bucket"]: i for i in table.get_many([keys.bucket(n) for n in page])}
    items = [Bucket.from_item(found[n]) for n in page if n in found and where.matches(found[n])]
    return items, seal(page[-1], _BOUND) if len(wanted) > limit else None, bool(labels)


def policies(buckets: list[str]) -> list[BucketAccess]:
    """The policies of these buckets that have one (BatchGetItem)."""
    return [BucketAccess.from_item(i) for i in table.get_many([keys.access(b) for b in buckets])]


def members(ids: list[str]) -> dict[str, Credential]:
    """The tokens and service principals with these ids, by id (one BatchGetItem; an id no
    credential could have is never looked up)."""
    wanted = [_key(i) for i in ids if member_kind(i)]
    found: dict[str, Credential] = {}
    for item in table.get_many([k for k in wanted if k]):
        credential = _credential(item)
        found[holder_id(credential)] = credential
    return found


def put(new: BucketAccess, read: BucketAccess | None) -> Action:
    """Write the policy over the one read (None: there was none)."""
    change = Change(new.item_key())
    change = change.equals("etag", read.etag) if read else change.absent()
    return change.put(new.to_item())


def bucket_exists(bucket: str) -> Action:
    """A check that the bucket still exists (a policy that existed had one: deleting the
    bucket deletes it in the same transaction)."""
    return table.guard(Change(keys.bucket(bucket)).exists().check())


def remove(read: BucketAccess) -> Action:
    """Delete the policy as read."""
    return Change(read.item_key()).equals("etag", read.etag).delete()


def none_set(bucket: str) -> Action:
    """A check that the bucket still has no policy (as read)."""
    return table.guard(Change(keys.access(bucket)).absent().check())


def rebind(member: Credential, buckets: dict[str, str]) -> Action:
    """Set a credential's bindings, over those read (its `access_rev`)."""
    return Change(member.item_key()).bump("access_rev", member.access_rev).set("buckets", buckets or None).action()


def _key(member_id: str) -> keys.Key | None:
    kind = member_kind(member_id)
    return keys.token(member_id) if kind == TOKEN else keys.service_principal(member_id) if kind else None


def _credential(item: dict[str, Any]) -> Credential:
    return Token.from_item(item) if str(item[PK]).startswith("TOKEN#") else ServicePrincipal.from_item(item)

