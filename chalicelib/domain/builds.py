"""A build's life while its version is published through the HCP API (pure rules).

What Packer sends (HCP-API-COMPAT.md §2.2): a build is created `unset`, goes `running` (and
sends `running` again as a heartbeat every 2 minutes), then `done` with its artifacts, or
`failed`/`cancelled`. A re-run with the same fingerprint moves a failed, cancelled or unset
build back to `running`. An update is a merge: a field absent, null or empty leaves the
stored value as it is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .enums import BuildStatus
from .platforms import unkeyable


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


FINGERPRINT = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,38}[A-Za-z0-9])?$")

# Where a build may go from each status. A re-run moves a failed, cancelled or unset build
# back to running; `running` again is the heartbeat; done is final (a repeated `done` is a
# no-op, as a retried request would send).
MOVES: dict[BuildStatus, frozenset[BuildStatus]] = {
    BuildStatus.UNSET: frozenset({BuildStatus.UNSET, BuildStatus.RUNNING, BuildStatus.DONE, BuildStatus.FAILED,
                                  BuildStatus.CANCELLED}),
    BuildStatus.RUNNING: frozenset({BuildStatus.RUNNING, BuildStatus.DONE, BuildStatus.FAILED, BuildStatus.CANCELLED}),
    BuildStatus.FAILED: frozenset({BuildStatus.RUNNING, BuildStatus.FAILED, BuildStatus.CANCELLED}),
    BuildStatus.CANCELLED: frozenset({BuildStatus.RUNNING, BuildStatus.FAILED, BuildStatus.CANCELLED}),
    BuildStatus.DONE: frozenset({BuildStatus.DONE}),
}


class Refusal(Exception):
    """Why a change is refused: `kind` is `invalid` (the request is wrong), `exists` (it would
    overwrite what is set once: the platform), `parent` (likewise, a parent id) or `state`
    (the build's status does not allow it)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind, self.message = kind, message


def merged(stored: dict[str, Any], change: BuildChange, now: str) -> dict[str, Any]:
    """The fields an update sets on a build stored as `stored` (its attributes): a merge, in
    which what the change leaves out (None, empty) keeps the stored value. Raises Refusal."""
    status = BuildStatus(stored.get("status") or BuildStatus.UNSET)
    target = change.status or status
    if target not in MOVES[status]:
        raise Refusal("state", f"the build is {status.value}; it cannot become {target.value}")
    fields: dict[str, Any] = {"status": target, "updated_at": now}
    for name in ("platform", "parent_version_id", "parent_channel_id"):
        value = getattr(change, name)
        if value and stored.get(name) and value != stored[name]:
            raise Refusal("exists" if name == "platform" else "parent",
                          f"the build's {name} is {stored[name]!r} already: it cannot be set again")
        if value:
            fields[name] = value
    if change.labels:
        fields["labels"] = dict(change.labels)
    if change.packer_run_uuid:
        fields["packer_run_uuid"] = change.packer_run_uuid
    if change.source_external_identifier:
        fields["source_artifact"] = change.source_external_identifier
    if change.metadata:
        fields["metadata"] = change.metadata
    if change.artifacts:
        fields["artifacts"] = [{"external_id": a.external_identifier, "region": a.region} for a in change.artifacts]
    after = {**stored, **fields}
    if after.get("parent_channel_id") and not after.get("parent_version_id"):
        raise Refusal("invalid", "parent_channel_id needs parent_version_id: the version taken from that channel")
    if target == BuildStatus.DONE and status != BuildStatus.DONE:
        if not after.get("artifacts"):
            raise Refusal("invalid", "a build with no artifacts cannot be set to BUILD_DONE")
        if not after.get("platform"):
            raise Refusal("invalid", "a build needs its platform to be set to BUILD_DONE")
    _keyable(after)
    return fields


def _keyable(build: dict[str, Any]) -> None:
    """Refuse a platform, or an artifact ID the registry would index, too long to be part of a
    key: here, naming the field it came in, rather than when the last build completes the
    version (recording.refusal, the same rule)."""
    found = unkeyable(build.get("platform") or "", [a["external_id"] for a in build.get("artifacts") or []])
    if found:
        index, problem = found
        field_name = "platform" if index is None else f"artifacts[{index}].external_identifier"
        raise Refusal("invalid", f"{field_name} {problem}: it is part of a key of the registry's DynamoDB table")


def completes(build_count: int, done_builds: int, before: BuildStatus, after: BuildStatus) -> bool:
    """Whether this change makes the version's last build done (every build done)."""
    return before != BuildStatus.DONE and after == BuildStatus.DONE and done_builds + 1 == build_count


def split_component(component_type: str) -> tuple[str, str]:
    """`amazon-ebs.ubuntu` → builder type `amazon-ebs`, source name `ubuntu` (a component
    without a dot is its own builder type and name)."""
    builder, dot, name = component_type.partition(".")
    return builder, name if dot else component_type
