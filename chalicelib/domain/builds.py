"""A build's life while its version is published through the HCP API (pure rules).

What Packer sends (HCP-API-COMPAT.md §2.2): a build is created `unset`, goes `running` (and
sends `running` again as a heartbeat every 2 minutes), then `done` with its artifacts, or
`failed`/`cancelled`. A re-run with the same fingerprint moves a failed, cancelled or unset
build back to `running`. An update is a merge: a field absent, null or empty leaves the
stored value as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .enums import BuildStatus


@dataclass
class ArtifactIn:
    """An artifact as the HCP API sends it."""

    external_identifier: str
    region: str


@dataclass
class BuildChange:
    """A CreateBuild or UpdateBuild body, parsed (None: not sent, keep what is stored)."""

    component_type: str | None = None
    platform: str | None = None
    status: BuildStatus | None = None
    labels: dict[str, str] | None = None
    packer_run_uuid: str | None = None
    source_external_identifier: str | None = None
    parent_version_id: str | None = None
    parent_channel_id: str | None = None
    artifacts: list[ArtifactIn] | None = None
    metadata: dict[str, Any] | None = None
    unknown: list[str] = field(default_factory=list)
