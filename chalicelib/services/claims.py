"""Token and service principal names: unique across both kinds, case-insensitively.

A credential's name is its actor in the audit trail, so two of one name could not be told
apart by it (each event also says who by `actor_id`: domain/actors.py). A creation claims
its name in its own transaction (storage.credentials.create: a claim item put on the
condition that none exists), so of two admins creating `ci` and `CI` at the same moment
exactly one wins and the other gets a 409 naming the credential that holds the name;
deleting a credential frees its name.

Credentials from before names were claimed hold none: the sweep claims them
(`claim_existing`, a bounded step of each run until it is done, then noted on the counts
item so that it costs nothing after), oldest first, tokens then service principals. Where
such a registry holds two credentials of one name, the oldest gets it and the others keep
working without it (logged); no new credential takes the name while its holder exists.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import audit
from .. import storage
from ..errors import AlreadyExists
from ..runtime.observability import logger
from ..storage import ConditionFailed
from ..storage.credentials import Credential

CLAIMS_PER_RUN = 200  # credentials a sweep reads at most for claim_existing
ID_FIELD = {"token": "id", "service principal": "client_id"}


def commit(name: str, kind: str, actions: list[audit.Action]) -> None:
    """Commit a creation (audit.commit); a 409 naming the holder when its name is taken. A
    ConditionFailed with no holder to name (freed meanwhile, or an id taken) is raised for
    the caller to retry."""
    try:
        audit.commit(actions)
    except ConditionFailed:
        holder = storage.credentials.name_holder(name)
        if holder is None:
            raise
        raise AlreadyExists(f"{kind} name {name!r} is taken: {holder.kind} {holder.name!r} "
                            f"({ID_FIELD.get(holder.kind, 'id')} {holder.holder}) has it; token and service principal "
                            "names are unique, whatever their case") from None


def claim_existing(after: Mapping[str, str] | None, budget: int = CLAIMS_PER_RUN) -> int:
    """The sweep's step: claim the names of up to `budget` credentials that hold none, going
    on from `after` (the counts item's `names_after`); how many were read. Calls: one Query
    page per list read, one transaction per credential claimed (a GetItem more when its name
    is held), then one UpdateItem of the counts item (the place, or `names_claimed` once
    both lists are done)."""
    cursor, read = dict(after or {}), 0
    for kind in storage.credentials.KINDS:  # tokens, then service principals
        more = True
        while more and read < budget:
            page, more = storage.credentials.oldest_after(kind, cursor.get(kind), budget - read)
            for credential in page:
                if not credential.name_claimed:
                    _claim(credential, kind)
                cursor[kind] = storage.credentials.sort_key(credential)
            read += len(page)
        if more:
            storage.credentials.names_cursor(cursor)
            return read
    storage.credentials.mark_names_claimed()
    return read


def _claim(credential: Credential, kind: str) -> None:
    """Claim one credential's name; when another holds it, leave it without (it keeps working)."""
    try:
        storage.transact(storage.credentials.claim_existing(credential))
    except ConditionFailed:  # its name is held, or it was deleted or claimed meanwhile
        holder = storage.credentials.name_holder(credential.name)
        if holder and holder.holder != storage.credentials.holder_id(credential):
            logger.warning("a credential keeps a name another one holds", extra={
                "credential": {"kind": kind, "name": credential.name, "id": storage.credentials.holder_id(credential)},
                "holder": {"kind": holder.kind, "name": holder.name, "id": holder.holder}})
