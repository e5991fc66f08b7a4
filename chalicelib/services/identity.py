"""The one HCP organization and project a deployment is.

The HCP clients name an organization and a project in every path, and want UUIDs (the
Terraform provider refuses anything else). A deployment has exactly one of each:
`REGISTRY_ORGANIZATION_ID` / `REGISTRY_PROJECT_ID` when set (say, to keep the IDs a team
already has in its pipelines), otherwise UUIDs generated on first use and kept in the table,
written so that concurrent first requests all get the same pair. Read once per process
(one GetItem per cold Lambda), since they never change.
"""

from __future__ import annotations

import os
import re
import uuid
from typing import Any

from .. import storage
from ..errors import NotFound, RegistryError
from ..runtime import aws
from ..runtime.clock import now_iso
from ..storage import entities

ORGANIZATION_VARIABLE, PROJECT_VARIABLE = "REGISTRY_ORGANIZATION_ID", "REGISTRY_PROJECT_ID"
ORGANIZATION_NAME, PROJECT_NAME = "packer-registry", "packer-registry"
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_kept: tuple[Any, entities.Location] | None = None  # (the DynamoDB client it was read with, the item)


class Misconfigured(RegistryError):
    """A deployment setting the registry cannot use (a 500 that names it)."""


def location() -> entities.Location:
    """The organization and project (each the environment's, else the one kept in the
    table), and since when they exist."""
    kept = _stored()
    return entities.Location(organization_id=_setting(ORGANIZATION_VARIABLE) or kept.organization_id,
                             project_id=_setting(PROJECT_VARIABLE) or kept.project_id, created_at=kept.created_at)


def ids() -> tuple[str, str]:
    """(organization id, project id), for `make run`'s banner and the clients' settings."""
    here = location()
    return here.organization_id, here.project_id


def require(organization_id: str, project_id: str | None = None) -> entities.Location:
    """The location, if the path names this organization (and project); else a 404."""
    here = location()
    if organization_id.lower() != here.organization_id.lower():
        raise NotFound(f"The organization with identifier {organization_id} does not exist.")
    if project_id is not None and project_id.lower() != here.project_id.lower():
        raise NotFound(f"The project with identifier {project_id} does not exist.")
    return here


def _setting(variable: str) -> str | None:
    value = os.environ.get(variable, "").strip()
    if value and not UUID.fullmatch(value):
        raise Misconfigured(f"{variable} must be a UUID (8-4-4-4-12 hexadecimal digits), not {value!r}")
    return value.lower() or None


def _stored() -> entities.Location:
    """The kept item, read (or created) once per DynamoDB client: a process keeps it, and a
    test's fresh moto (a new client) reads its own."""
    global _kept
    client = aws.client("dynamodb")
    if _kept is None or _kept[0] is not client:
        item = storage.registry.location() or storage.registry.keep_location(entities.Location(
            organization_id=str(uuid.uuid4()), project_id=str(uuid.uuid4()), created_at=now_iso()))
        _kept = (client, item)
    return _kept[1]
