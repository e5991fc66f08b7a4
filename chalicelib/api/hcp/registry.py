"""The registry routes of HCP Packer 2023-01-01: CreateRegistry, UpdateRegistry, DeleteRegistry
(`PUT`/`PATCH`/`DELETE P/registry`; GetRegistry is resources.registry), and the run task's settings
(GetRunTaskConfig, UpdateRunTaskConfig: `GET`/`PATCH P/runtasks/config`). What a registry's
states mean here is services/registry.py's.

HCP's models: the changes answer `{registry, operation}` (the operation `DONE`: made in the
request), the run task's settings `{on_untracked_image}`. UpdateRegistry changes activation
only when `update_mask` names `config.activated` (as the SDK's model says: without it,
`activated` is ignored); an UNSET or absent `feature_tier` keeps the tier. An absent
`on_untracked_image` is UNSET, as grpc-gateway reads an enum left out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import BadRequest
from ...runtime.lazy import lazy
from . import wire
from .requests import Body, flag, snake_case, text

if TYPE_CHECKING:
    from ...services import identity, registry
else:
    identity, registry = lazy("chalicelib.services.identity"), lazy("chalicelib.services.registry")

Json = dict[str, Any]
ACTIVATED = "config.activated"  # the update mask path that (de)activates


def create_registry(data: Body, actor: str) -> Json:
    return _answer(registry.create(_tier(data), actor))


def update_registry(data: Body, actor: str) -> Json:
    paths = {snake_case(p.strip()) for p in (text(data, "update_mask") or "").split(",") if p.strip()}
    activated = flag(data, "activated") if paths & {ACTIVATED, "activated"} else None
    return _answer(registry.update(activated, _tier(data), actor))


def delete_registry(actor: str) -> Json:
    return _answer(registry.delete(actor))


def run_task_config() -> Json:
    return {"on_untracked_image": registry.current().on_untracked_image}


def update_run_task_config(data: Body, actor: str) -> Json:
    behaviour = text(data, "on_untracked_image") or registry.UNTRACKED_BEHAVIOURS[0]
    if behaviour not in registry.UNTRACKED_BEHAVIOURS:
        raise BadRequest(f"on_untracked_image must be one of {', '.join(registry.UNTRACKED_BEHAVIOURS)}, "
                         f"not {behaviour[:40]!r}")
    return {"on_untracked_image": registry.set_on_untracked_image(behaviour, actor).on_untracked_image}


def _tier(data: Body) -> str | None:
    """The feature tier asked for; None when absent or UNSET (the current one stays)."""
    tier = text(data, "feature_tier")
    if tier in (None, "", "UNSET"):
        return None
    if tier not in registry.TIERS:
        raise BadRequest(f"feature_tier must be one of UNSET, {', '.join(registry.TIERS)}, not {tier[:40]!r}")
    return tier


def _answer(settings: Any) -> Json:
    where = identity.location()
    return {"registry": wire.registry(where, settings), "operation": wire.operation(where)}
