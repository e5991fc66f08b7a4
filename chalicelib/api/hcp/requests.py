"""Requests as grpc-gateway reads them: the JSON body whatever its Content-Type (an empty body
or `null` is `{}`), field names in snake_case or lowerCamelCase, fields the message does not
have ignored, and the list parameters `pagination.page_size` / `pagination.next_page_token`.

Pure parsing: what a field must be is checked here (a string, a map of strings, an enum
value), so a wrong one is a 400 with code 3 naming it; what a value may be (a bucket name,
label limits, build transitions) is the services' and the domain's rule.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from chalice.app import Request

from ..http import DEFAULT_LIMIT, MAX_LIMIT, json_body, query
from ...domain.builds import ArtifactIn, BuildChange
from ...domain.enums import BuildStatus, TemplateType
from ...errors import BadRequest
from .errors import InvalidField

Body = dict[str, Any]
_BUILD_FIELDS = ("component_type", "platform", "status", "labels", "packer_run_uuid", "source_external_identifier",
                 "parent_version_id", "parent_channel_id", "artifacts", "metadata")


def body(request: Request) -> Body:
    """The body as a JSON object with snake_case keys (at its top level: values such as
    labels are the user's and keep their keys)."""
    data = json_body(request)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadRequest("the request body must be a JSON object")
    return snake_keys(data)


def snake_keys(data: Mapping[str, Any]) -> Body:
    """`versionFingerprint` → `version_fingerprint`; a key sent both ways keeps the snake_case one."""
    converted: Body = {}
    for key, value in data.items():
        snake = snake_case(key)
        if snake not in converted or snake == key:
            converted[snake] = value
    return converted


def snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def text(data: Body, field: str, required: bool = False) -> str | None:
    """A string field (None: absent or null; a 400 when `required` and absent or empty)."""
    value = data.get(field)
    if value is not None and not isinstance(value, str):
        raise BadRequest(f"{field} must be a string")
    if required and not value:
        raise InvalidField(f"body.{field}", f"{field} is required")
    return value


def labels(data: Body, field: str = "labels") -> dict[str, str] | None:
    value = data.get(field)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise BadRequest(f"{field} must be a map of strings to strings")
    return value


def flag(data: Body, field: str) -> bool:
    value = data.get(field)
    if value is not None and not isinstance(value, bool):
        raise BadRequest(f"{field} must be true or false")
    return bool(value)


def template_type(data: Body) -> TemplateType:
    value = text(data, "template_type") or TemplateType.UNSET
    try:
        return TemplateType(value)
    except ValueError:
        raise BadRequest(f"template_type must be one of {', '.join(TemplateType)}, not {value!r}") from None


def build_change(data: Body) -> BuildChange:
    """A CreateBuild or UpdateBuild body (None where a field is absent or null: kept as stored)."""
    status = text(data, "status")
    metadata = data.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequest("metadata must be an object")
    return BuildChange(
        component_type=text(data, "component_type"), platform=text(data, "platform"),
        status=_build_status(status) if status else None, labels=labels(data),
        packer_run_uuid=text(data, "packer_run_uuid"),
        source_external_identifier=text(data, "source_external_identifier"),
        parent_version_id=text(data, "parent_version_id"), parent_channel_id=text(data, "parent_channel_id"),
        artifacts=_artifacts(data.get("artifacts")), metadata=metadata,
        unknown=sorted(set(data) - set(_BUILD_FIELDS)))


def _build_status(value: str) -> BuildStatus:
    try:
        return BuildStatus(value.removeprefix("BUILD_").lower())
    except ValueError:
        allowed = ", ".join(f"BUILD_{s.upper()}" for s in BuildStatus)
        raise BadRequest(f"status must be one of {allowed}, not {value!r}") from None


def _artifacts(value: Any) -> list[ArtifactIn] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(a, dict) for a in value):
        raise BadRequest("artifacts must be a list of objects with external_identifier and region")
    parsed = []
    for index, artifact in enumerate(map(snake_keys, value)):
        external_id = text(artifact, "external_identifier")
        if not external_id:
            raise InvalidField(f"body.artifacts[{index}].external_identifier",
                               f"artifacts[{index}].external_identifier is required")
        parsed.append(ArtifactIn(external_identifier=external_id, region=text(artifact, "region") or ""))
    return parsed


def sbom(data: Body) -> tuple[str | None, str, str]:
    """An UploadSbom body: (name or None, format, the compressed SBOM in base64); what they
    may be is services/sboms.upload's rule."""
    return (text(data, "name") or None, text(data, "format", required=True) or "",
            text(data, "compressed_sbom", required=True) or "")


# What hcp-sdk-go sends for a `revoke_at` it leaves unset: Go's zero time (strfmt.DateTime is a
# struct, so `omitempty` keeps it), which grpc-gateway reads as no time at all.
_GO_ZERO_TIME = "0001-01-01T00:00:00"


def revoke_at(data: Body) -> str | None:
    """UpdateVersion's `revoke_at` (RFC 3339), or None: absent, empty, or Go's zero time."""
    value = text(data, "revoke_at")
    return None if not value or value.startswith(_GO_ZERO_TIME) else value


def update_mask(data: Body, allowed: tuple[str, ...] = ("versionFingerprint", "restricted")) -> set[str]:
    """The FieldMask's paths, in snake_case (`"versionFingerprint,restricted"`); a 400 with a
    BadRequest detail when it is missing, as HCP Packer answers, or names a field not
    `allowed` (the message's field names, lowerCamelCase)."""
    raw = text(data, "update_mask")
    paths = {snake_case(p.strip()) for p in (raw or "").split(",") if p.strip()}
    if not paths:
        raise InvalidField("body.update_mask", f"update_mask is required: the fields to change ({', '.join(allowed)})")
    unknown = paths - {snake_case(field) for field in allowed}
    if unknown:
        raise InvalidField("body.update_mask", f"update_mask names fields that cannot be changed here: "
                                               f"{', '.join(sorted(unknown))} ({', '.join(allowed)})")
    return paths


ANCESTRY_TYPES = ("ANCESTRY_TYPE_UNSET", "ANCESTRY_TYPE_PARENTS", "ANCESTRY_TYPE_CHILDREN")


def ancestry_type(request: Request) -> tuple[bool, bool]:
    """ListBucketAncestry's `type`: whether to list (parents, children); unset is both."""
    value = query(request).get("type") or ANCESTRY_TYPES[0]
    if value not in ANCESTRY_TYPES:
        raise BadRequest(f"type must be one of {', '.join(ANCESTRY_TYPES)}, not {value!r}")
    return value != "ANCESTRY_TYPE_CHILDREN", value != "ANCESTRY_TYPE_PARENTS"


def page(request: Request) -> tuple[int, str | None]:
    """`pagination.page_size` (0 or absent: the default; above the maximum: the maximum, as
    grpc services clamp it) and `pagination.next_page_token`."""
    params = query(request)
    raw = params.get("pagination.page_size") or "0"
    if not raw.isdigit():
        raise BadRequest(f"pagination.page_size must be a whole number, not {raw!r}")
    size = int(raw)
    return min(size, MAX_LIMIT) if size else DEFAULT_LIMIT, params.get("pagination.next_page_token") or None
