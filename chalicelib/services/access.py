"""Bucket access: which tokens and service principals are bound to a bucket with which role
(HCP Packer's bucket IAM policy), set and read through either door.

A policy is the bucket's bindings, role → member ids (a token's id, a service principal's
client id: domain/access.py), kept twice: on the bucket's `ACCESS` item, which these routes
read and write, and on each member's own item (`buckets`: bucket → its highest role there),
which the authorizer reads with the credential, so enforcing a binding costs no call. Every
change writes both in one transaction (storage/access.py) with its `bucket.access_updated`
audit event; a change whose policy or members changed meanwhile is re-read and redone, or,
when the caller sent the etag it read and the policy is no longer that one, refused (409).

Bindings go with what they bind: deleting a credential takes it off every policy it is in
(`unbound`), deleting a bucket deletes its policy and takes the bucket off its members
(`dropped`), each in the deletion's own transaction, so no binding outlives either side (a
bucket created again under the same name starts with no one bound).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from . import audit, buckets
from .retry import retrying
from .. import storage
from ..domain.access import BUCKET_ROLES, MAX_BUCKETS, MAX_MEMBERS, effective, member_kind
from ..domain.enums import AuditAction
from ..domain.models import BucketAccess, SetBucketAccess
from ..errors import BadRequest, Conflict
from ..runtime.clock import now_iso
from ..storage import entities
from ..storage.credentials import Credential, holder_id
from ..storage.expressions import Action

Roles = dict[str, list[str]]  # role → member ids


class StaleEtag(Conflict):
    """The policy changed since the caller read it (gRPC ABORTED: HTTP 409 in either door)."""

    grpc = 10


def read(bucket: str) -> entities.BucketAccess | None:
    """The bucket's policy (None: no one is bound); 404 when the bucket does not exist. One
    BatchGetItem of the bucket and its policy."""
    found, policy = storage.access.with_bucket(bucket)
    buckets.existing(bucket, found)
    return policy


def etag(policy: entities.BucketAccess | None) -> str:
    """What a change must send back: the number of changes so far (`0`: never set)."""
    return str(policy.etag if policy else 0)


def members(ids: list[str]) -> dict[str, Credential]:
    """The tokens and service principals with these ids, by id (one BatchGetItem)."""
    return storage.access.members(ids)


def get_access(bucket: str) -> BucketAccess:
    """The policy with its members' names: 2 calls (the bucket and its policy, then the members)."""
    return present(bucket, read(bucket))


def set_access(bucket: str, body: SetBucketAccess, actor: str) -> BucketAccess:
    """`PUT /buckets/{bucket}/access`: replace the policy (see set_policy)."""
    roles: Roles = {}
    for binding in body.bindings:
        roles.setdefault(binding.role, []).extend(binding.members)
    return present(bucket, set_policy(bucket, roles, body.etag, actor))


def present(bucket: str, policy: entities.BucketAccess | None) -> BucketAccess:
    roles = policy.roles if policy else {}
    named = storage.access.members(sorted({m for members in roles.values() for m in members}))
    return BucketAccess.model_validate({
        "bucket": bucket, "etag": etag(policy), "updated_at": policy.updated_at if policy else None,
        "updated_by": policy.updated_by if policy else None,
        "bindings": [{"role": role, "members": [{"id": m, "type": member_kind(m),
                                                 "name": named[m].name if m in named else None}
                                                for m in roles[role]]}
                     for role in BUCKET_ROLES if roles.get(role)]})


def set_policy(bucket: str, roles: Roles, sent_etag: str | None, actor: str) -> entities.BucketAccess:
    """Replace the bucket's policy with `roles` (role → member ids). With `sent_etag` (the
    etag read), refused (409) if the policy is no longer that one; without it, applied over
    whatever is there. 3 calls: the bucket and its policy (BatchGetItem), the members whose
    role changes (BatchGetItem), the transaction; again from the reads when a member or the
    policy changed meanwhile (when no etag was sent)."""
    wanted = _checked(roles)
    return retrying(lambda: _set(bucket, wanted, sent_etag or None, actor),
                    what=f"changing the access policy of bucket {bucket!r}")


def _checked(roles: Roles) -> Roles:
    """The bindings in their stored form (members sorted, once per role, roles with members
    only), or a 400 naming what is wrong and the limit."""
    unknown = sorted(set(roles) - set(BUCKET_ROLES))
    if unknown:
        raise BadRequest(f"unknown role {unknown[0]!r}: a bucket binding is one of {', '.join(BUCKET_ROLES)}")
    bad = sorted({m for members in roles.values() for m in members if not member_kind(m)})
    if bad:
        raise BadRequest(f"member {bad[0][:80]!r} is neither a token id (16 hex digits) nor a service principal's "
                         "client_id (32)")
    tidy = {role: sorted(set(members)) for role, members in roles.items() if members}
    count = len({m for members in tidy.values() for m in members})
    if count > MAX_MEMBERS:
        raise BadRequest(f"a bucket's policy binds at most {MAX_MEMBERS} tokens and service principals, not {count}")
    return {role: tidy[role] for role in BUCKET_ROLES if role in tidy}


def _set(bucket: str, roles: Roles, sent_etag: str | None, actor: str) -> entities.BucketAccess:
    read_ = read(bucket)
    if sent_etag is not None and sent_etag != etag(read_):
        raise StaleEtag(f"the access policy of bucket {bucket!r} changed since etag {sent_etag[:32]!r} was read "
                        f"(it is {etag(read_)} now): read it again")
    before, after = effective(read_.roles if read_ else {}), effective(roles)
    changed = sorted(m for m in before.keys() | after.keys() if before.get(m) != after.get(m))
    found = storage.access.members(changed)
    missing = [m for m in changed if m in after and m not in found]
    if missing:
        raise BadRequest(f"no token or service principal has the id {missing[0]!r}")
    rebound = []
    for member in changed:
        if member not in found:
            continue  # gone already: deleting a credential unbinds it
        bindings = {b: r for b, r in (found[member].buckets or {}).items() if b != bucket}
        if member in after:
            bindings[bucket] = after[member]
        if len(bindings) > MAX_BUCKETS:
            raise BadRequest(f"{member} would be bound to {len(bindings)} buckets; a token or service principal is "
                             f"bound to at most {MAX_BUCKETS} (give it a project role instead)")
        rebound.append(storage.access.rebind(found[member], bindings))
    new = entities.BucketAccess(bucket=bucket, roles=roles, etag=(read_.etag if read_ else 0) + 1,
                                updated_at=now_iso(), updated_by=str(actor))
    audit.commit([storage.access.put(new, read_), storage.access.bucket_exists(bucket), *rebound,
                  _event(new, read_, actor)])
    return new


def _event(new: entities.BucketAccess, read_: entities.BucketAccess | None, actor: str,
           **detail: Any) -> Action:
    return audit.event_action(new.bucket, AuditAction.BUCKET_ACCESS_UPDATED, new.bucket, actor,
                              before={"bindings": read_.roles} if read_ else None,
                              after={"bindings": new.roles}, **detail)


def unbound(credential: Credential, actor: str) -> list[Action]:
    """What deleting a credential also does: take it off each policy that binds it, each with
    its event (one BatchGetItem of those policies; none when it is bound nowhere). The
    deletion is conditioned on the credential's `access_rev` as read (storage.credentials),
    so a binding added meanwhile makes it read again."""
    member = holder_id(credential)
    actions: list[Action] = []
    for policy in storage.access.policies(sorted(credential.buckets or {})):
        roles = {role: kept for role, members in policy.roles.items() if (kept := [m for m in members if m != member])}
        new = replace(policy, roles=roles, etag=policy.etag + 1, updated_at=now_iso(), updated_by=str(actor))
        actions += [storage.access.put(new, policy), _event(new, policy, actor, removed=member)]
    return actions


def dropped(bucket: str) -> list[Action]:
    """What deleting a bucket also does, in its last transaction: delete its policy (as read)
    and take the bucket off its members' items (two BatchGetItems: the policy, its members), or
    check that it still has none."""
    found = storage.access.policies([bucket])
    if not found:
        return [storage.access.none_set(bucket)]  # one set meanwhile makes the deletion read again
    policy = found[0]
    members = storage.access.members(sorted(effective(policy.roles)))
    return [storage.access.remove(policy), *(
        storage.access.rebind(m, {b: r for b, r in (m.buckets or {}).items() if b != bucket})
        for m in members.values())]
