"""Who does a change: the audit trail's actor, a name and an identity.

A change is made by a token or a service principal (each named by an admin), or by the
registry itself: `bootstrap-admin`, `sweep`, `registry`, `retention`, `anonymous` and
`s3:<key>` for ingestion (RESERVED_NAMES: no credential may take one, auth.check_name). The
name is what the trail shows as `actor`. Credentials' names are unique among those that
exist (services/claims.py), but a deleted credential's name may be taken again, and a
registry from before names were claimed may hold two of one name: `actor_id` (the token id,
the service principal's client id) tells them apart. The registry's own actors are their own
ids: their names are reserved, so unique.

An `Actor` is the name itself, a `str`, carrying its id. The services pass the actor on as a
string (and store it as `created_by`, `revoked_by`, ...) and only the audit trail reads the
id (audit.event_action), so the id rides along without a new parameter in every function
between a route and the trail. A plain string is one of the registry's own actors; any other
plain string (a credential's name that lost its id on the way) gets no id rather than a
wrong one.
"""

from __future__ import annotations

from typing import Any

BOOTSTRAP = "bootstrap-admin"
RESERVED_NAMES = (BOOTSTRAP, "sweep", "registry", "anonymous", "retention")
RESERVED_PREFIX = "s3:"  # ingestion: s3:<key>


class Actor(str):
    """A credential's name as an actor, with its id (None: not known, as for a bulk
    revocation job recorded before actor ids were kept)."""

    id: str | None

    def __new__(cls, name: str, actor_id: str | None) -> Actor:
        actor = super().__new__(cls, name)
        actor.id = actor_id
        return actor

    def __reduce__(self) -> tuple[Any, ...]:
        """Copies (dataclasses.asdict deep-copies its values) and pickles keep the id."""
        return Actor, (str(self), self.id)


def is_reserved(name: str) -> bool:
    """Whether `name` is (in any case) one of the registry's own actors."""
    return name.lower() in RESERVED_NAMES or name.lower().startswith(RESERVED_PREFIX)


def actor_id(actor: str) -> str | None:
    """The id the audit trail records beside `actor`: a credential's id, or the name of one of
    the registry's own actors (None for anything else)."""
    if isinstance(actor, Actor):
        return actor.id
    return actor if is_reserved(actor) else None
