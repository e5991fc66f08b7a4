"""The project's HCP Packer registry, as the HCP API's registry routes manage it.

HCP Packer has one registry per project, which its API creates (`PUT P/registry`), changes
(`PATCH`: the feature tier, and with `update_mask` `config.activated` deactivation or
reactivation) and deletes. Here the deployment is the registry: it exists from the first
request, active, tier STANDARD, run task settings unset, and an item is stored only once one
of them is changed. What each state means here:

- **active**: everything works.
- **deactivated** (HCP: billing paused; "deactivated registries will no longer be able to
  create new buckets or versions"): the HCP door creates no bucket and no version
  (CreateBucket, CreateVersion: HTTP 400 code 9, saying so); everything stored stays and is
  read, channels move, versions are revoked, restored and deleted, the run task checks plans.
  GetRegistry answers `activated: false` with `billing_deprovision` (when, `USER_REQUEST`),
  which Packer given only a project refuses. The native API and manifest ingestion are not
  the HCP registry, and go on (tokens and manifest prefixes govern them).
- **deleted**: as deactivated, and GetRegistry / UpdateRegistry answer 404 code 5 until
  CreateRegistry makes it again. HCP deletes a registry's data with it; here the deletion is
  refused (400 code 9) while any bucket exists, since deleting buckets is their own route, so
  nothing is lost by surprise.

The tier is kept and shown, and changes nothing (every feature is there at any tier).
`on_untracked_image` (UNSET, FAIL, WARN) is what the run task does with a resource whose
image the registry does not track (domain/runtask.py). Every change is one transaction
conditioned on the settings as read (their `rev`), with an audit event in the registry-wide
trail. Calls: a read is one GetItem; a change one GetItem and one transaction (a deletion one
Query more: any bucket?).
"""

from __future__ import annotations

import dataclasses

from . import audit, identity
from .. import storage
from ..domain import ids, runtask
from ..domain.enums import RegistryState
from ..errors import AlreadyExists, Conflict, NotFound
from ..runtime.clock import now_iso
from ..storage.entities import RegistrySettings
from .retry import retrying

TIERS = ("STANDARD", "PLUS")  # HCP's feature tiers (`UNSET` asks for none: the current one stays)
UNTRACKED_BEHAVIOURS = (runtask.UNSET, runtask.FAIL, runtask.WARN)  # what the run task does with them
TARGET = "registry"  # the audit events' target
ACTIVE, DEACTIVATED, DELETED = RegistryState.ACTIVE, RegistryState.DEACTIVATED, RegistryState.DELETED


def current() -> RegistrySettings:
    """The settings as stored, else the defaults (active, STANDARD, run task unset), with the
    id and creation time the registry always had (derived from the project). One GetItem."""
    return storage.registry.settings() or _defaults()


def _defaults() -> RegistrySettings:
    where = identity.location()
    return RegistrySettings(id=ids.derived(where.created_at, "registry", where.project_id),
                            created_at=where.created_at, updated_at=where.created_at)


def existing(settings: RegistrySettings | None = None) -> RegistrySettings:
    """The settings (as read, else read now) of a registry that exists; NotFound once deleted."""
    settings = settings or current()
    if settings.state == DELETED:
        raise NotFound(f"The registry of project {identity.location().project_id} does not exist: it was deleted "
                       "(PUT …/registry creates it again)")
    return settings


def require_active() -> None:
    """Nothing, when the registry takes new buckets and versions; else Conflict saying why."""
    state = current().state
    if state != ACTIVE:
        until = "activated (PATCH …/registry, update_mask config.activated)" if state == DEACTIVATED \
            else "created again (PUT …/registry)"
        raise Conflict(f"The registry is {state}: it takes no new buckets or versions until it is {until}")


def create(tier: str | None, actor: str) -> RegistrySettings:
    """CreateRegistry: AlreadyExists unless the registry was deleted; then it is made anew,
    active, with `tier` (default STANDARD)."""
    def attempt() -> RegistrySettings:
        before = storage.registry.settings()
        if (before or _defaults()).state != DELETED:
            raise AlreadyExists(f"The registry of project {identity.location().project_id} already exists")
        now = now_iso()
        assert before is not None  # only a stored registry is deleted
        return _commit(before, dataclasses.replace(
            before, id=ids.new(), created_at=now, state=ACTIVE, feature_tier=tier or TIERS[0], deactivated_at=None),
            "registry.created", actor)
    return retrying(attempt, what="creating the registry")


def update(activated: bool | None, tier: str | None, actor: str) -> RegistrySettings:
    """UpdateRegistry: the tier when given, and activation when `activated` is not None."""
    def attempt() -> RegistrySettings:
        before, now = storage.registry.settings(), now_iso()
        settings = existing(before or _defaults())
        state = settings.state if activated is None else (ACTIVE if activated else DEACTIVATED)
        after = dataclasses.replace(settings, feature_tier=tier or settings.feature_tier, state=state,
                                    deactivated_at=None if state == ACTIVE else settings.deactivated_at or now)
        return after if after == settings else _commit(before, after, "registry.updated", actor)
    return retrying(attempt, what="updating the registry")


def delete(actor: str) -> RegistrySettings:
    """DeleteRegistry: refused (Conflict) while any bucket exists; NotFound when deleted."""
    def attempt() -> RegistrySettings:
        before = storage.registry.settings()
        settings = existing(before or _defaults())
        if storage.buckets.after(None, 1):
            raise Conflict("The registry still holds buckets; delete them first (DELETE …/buckets/{bucket_name}): "
                           "the registry deletes no data with itself")
        return _commit(before, dataclasses.replace(settings, state=DELETED, deactivated_at=settings.deactivated_at
                                                   or now_iso()), "registry.deleted", actor)
    return retrying(attempt, what="deleting the registry")


def set_on_untracked_image(behaviour: str, actor: str) -> RegistrySettings:
    """UpdateRunTaskConfig: what the run task does with images the registry does not track."""
    def attempt() -> RegistrySettings:
        before = storage.registry.settings()
        settings = before or _defaults()
        after = dataclasses.replace(settings, on_untracked_image=behaviour)
        return after if after == settings else _commit(before, after, "runtask.config_updated", actor)
    return retrying(attempt, what="updating the run task's settings")


def _commit(before: RegistrySettings | None, after: RegistrySettings, action: str, actor: str) -> RegistrySettings:
    """Write `after` if the settings are still as read (`before`), with the audit event."""
    now = now_iso()
    new = dataclasses.replace(after, updated_at=now, rev=(before.rev if before else 0) + 1)
    shown = ("state", "feature_tier", "on_untracked_image")
    audit.commit([storage.registry.put_settings(new, before),
                  audit.event_action(None, action, TARGET, actor,
                                     before={k: getattr(before or _defaults(), k) for k in shown},
                                     after={k: getattr(new, k) for k in shown})])
    return new
