"""Who may do what where: a caller's project role and its bucket bindings, and the caller of
the request being answered.

A credential (token or service principal) has a project role (`none`, `viewer`,
`contributor`, `admin`) and may be bound to buckets with a role each (`viewer`,
`contributor`, `admin`: HCP Packer's `roles/viewer`, …). Its role on a bucket is the higher
of the two; on what is not one bucket's, its project role. The bindings travel with the
identity the authorizer made (`buckets` in its context, read from the credential's own item:
no call of its own), so checking them costs nothing.

The request's caller is kept in a context variable while the request is answered (bound by
the HTTP middleware, api/http.py and api/hcp/errors.py) so that the services that answer
about many buckets (lists, lookups across buckets, ancestry walks) leave out the buckets the
caller may not see without every signature carrying it. Outside a request (ingestion, the
sweep, queued work) there is no caller: the registry itself sees everything.

Pure: no AWS, no pydantic.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from .enums import BucketRole, Role

ORDER = tuple(Role)  # each includes the ones before
BUCKET_ROLES = tuple(BucketRole)  # what a bucket binding may grant
MAX_MEMBERS = 40  # credentials bound to one bucket (a change touches each in one transaction)
MAX_BUCKETS = 40  # buckets one credential is bound to (carried by every request it makes)
# A member is named by its id: a token's (the part of its secret before the dot, 16 hex
# digits) or a service principal's client id (32): the id alone says which kind it is.
TOKEN, SERVICE_PRINCIPAL = "token", "service_principal"
_KINDS = {16: TOKEN, 32: SERVICE_PRINCIPAL}


def member_kind(member_id: str) -> str | None:
    """`token` or `service_principal` for an id one of them could have; else None."""
    return _KINDS.get(len(member_id)) if re.fullmatch(r"[0-9a-f]+", member_id) else None


def effective(roles: Mapping[str, list[str]]) -> dict[str, Role]:
    """Each member's role from a policy's bindings (role → members): the highest it is bound to."""
    found: dict[str, Role] = {}
    for role, members in roles.items():
        for member in members:
            found[member] = higher(found.get(member), role)
    return found


def allows(role: str, needed: str) -> bool:
    """Whether `role` includes `needed`."""
    return ORDER.index(Role(role)) >= ORDER.index(Role(needed))


def higher(first: str | None, second: str | None) -> Role:
    """The higher of two roles (None: none)."""
    roles = [Role(r) for r in (first, second) if r]
    return max(roles, key=ORDER.index, default=Role.NONE)


@dataclass(frozen=True)
class Access:
    """A caller's roles: on the project, and on the buckets it is bound to."""

    role: Role
    buckets: Mapping[str, Role] = field(default_factory=dict)

    @classmethod
    def of(cls, identity: Mapping[str, Any]) -> Access:
        """From the authorizer's context (`role`, and `buckets` as JSON: context values are strings)."""
        raw = identity.get("buckets") or "{}"
        bound = json.loads(raw) if isinstance(raw, str) else raw
        return cls(Role(identity.get("role") or Role.NONE), {b: Role(r) for b, r in bound.items()})

    def role_in(self, bucket: str) -> Role:
        return higher(self.role, self.buckets.get(bucket))

    def may(self, bucket: str, needed: str) -> bool:
        return allows(self.role_in(bucket), needed)

    def may_somewhere(self, needed: str) -> bool:
        """The role on the project or on at least one bucket."""
        return allows(self.role, needed) or any(allows(r, needed) for r in self.buckets.values())

    @property
    def sees_every_bucket(self) -> bool:
        return allows(self.role, Role.VIEWER)

    def seen(self) -> list[str]:
        """The buckets a caller that does not see every bucket may see, by name."""
        return sorted(b for b, r in self.buckets.items() if allows(r, Role.VIEWER))


_caller: ContextVar[Access | None] = ContextVar("caller", default=None)


@contextmanager
def bound(access: Access | None) -> Iterator[None]:
    """The request's caller while it is answered."""
    token = _caller.set(access)
    try:
        yield
    finally:
        _caller.reset(token)


def caller() -> Access | None:
    """The caller of the request being answered (None: the registry's own work)."""
    return _caller.get()


def visible(bucket: str) -> bool:
    """Whether the caller may see the bucket (always, outside a request)."""
    current = _caller.get()
    return current is None or current.may(bucket, Role.VIEWER)
