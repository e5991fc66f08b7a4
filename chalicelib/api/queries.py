"""The query parameters each native list route takes: one declaration, read twice.

The HTTP middleware (http.guard) refuses, before the view runs, a parameter the route does
not declare (`unknown query parameter 'labels'; GET /buckets/{bucket}/versions takes limit,
next_token, status, …`) and a value outside its schema (an enum, an ISO 8601 time); the
OpenAPI document (openapi.py) lists the same declarations as the routes' parameters, so the
document and the checks cannot drift. Routes not declared here (single items, actions, the
HCP Packer-compatible API, whose grpc-gateway ignores unknown parameters) are not checked.

`limit` is checked where it is read (http.list_params), with the words it always had.
Light on purpose: imported by the middleware on every request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..domain.enums import AncestryStatus, IngestionStatus, VersionStatus
from ..domain.names import CHANNEL_NAME_PATTERN, MAX_FILTER_LABELS, label_pairs
from ..errors import BadRequest
from ..runtime import clock

Schema = dict[str, Any]
DEFAULT_LIMIT, MAX_LIMIT = 25, 100
TIME = "date-time"


def param(name: str, where: str, schema: Schema, description: str, required: bool = False) -> Schema:
    """An OpenAPI parameter object."""
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            "description": description}


def _enum(name: str, values: type[Any], description: str) -> Schema:
    return param(name, "query", {"type": "string", "enum": [v.value for v in values]}, description)


def _time(name: str, description: str) -> Schema:
    return param(name, "query", {"type": "string", "format": TIME}, f"ISO 8601 with a time zone: {description}")


NEXT_TOKEN = param("next_token", "query", {"type": "string"},
                   "the `next_token` of the previous page (opaque and signed; only valid for the list that issued "
                   "it, else a 400; empty: the first page)")
PAGES = [param("limit", "query", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
               f"page size, 1-{MAX_LIMIT}"), NEXT_TOKEN]

LABELS = "key-value-pairs"  # a format of this module: `key:value,...` (names.label_pairs)


def _labels(description: str) -> Schema:
    return param("labels", "query", {"type": "string", "format": LABELS, "pattern": r"^[^,:]+:[^,]*(,[^,:]+:[^,]*)*$"},
                 f"`key:value` pairs separated by commas (at most {MAX_FILTER_LABELS}), all of which must match: "
                 f"{description}")


def _text(name: str, description: str, pattern: str | None = None) -> Schema:
    schema: Schema = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
    if pattern:
        schema["pattern"] = pattern
    return param(name, "query", schema, description)


MAX_TEXT = 256
CREATED_RANGE = [
    _time("created_after", "only those created at or after this moment"),
    _time("created_before", "only those created before this moment"),
]
VERSION_FILTERS = [
    _enum("status", VersionStatus, "only versions with this status (an index: full pages)"),
    _enum("ancestry_status", AncestryStatus, "only versions with this ancestry status"),
    *CREATED_RANGE,
    _text("platform", "only versions with a build on this platform (`aws`, `azure`, `gce`, `docker`, ...; an old "
          "name such as `gcp` finds the same builds; an index: full pages)"),
    _text("region", "only versions with an artifact in this region"),
    _labels("only versions whose builds carry these labels (each pair on some build of the version)"),
    _text("channel", "only versions this channel has held (its history, newest move first)", CHANNEL_NAME_PATTERN),
]
BUCKET_FILTERS = [
    _text("prefix", "only buckets whose name starts with this (a key condition: full pages)"),
    _labels("only buckets with these labels"),
]
TRAIL_FILTERS = [
    *CREATED_RANGE,
    _text("actor", "only events by this actor, as events name it (a token's or service principal's name, `s3:<key>` for an "
          "ingestion)"),
]

# By view function name (app.py): the query parameters the route takes.
LISTS: dict[str, list[Schema]] = {
    "list_buckets": PAGES + BUCKET_FILTERS,
    "list_versions": PAGES + VERSION_FILTERS,
    "list_channels": PAGES,
    "channel_history": PAGES,
    "compliance_report": PAGES,
    "list_ingestions": [_enum("status", IngestionStatus, "only ingestions with this status"), *PAGES,
                        *CREATED_RANGE],
    "bucket_events": PAGES + TRAIL_FILTERS,
    "registry_events": PAGES + TRAIL_FILTERS,
    "list_tokens": PAGES,
    "list_service_principals": PAGES,
    "list_webhooks": PAGES,
    "webhook_deliveries": PAGES,
    "retention_preview": PAGES,
}
# The parameters that are times (http.filters hands them on as stored: UTC, clock.iso).
TIMES = {p["name"] for params in LISTS.values() for p in params if p["schema"].get("format") == TIME}


def check(view: str, method: str, path: str, params: Mapping[str, str]) -> None:
    """A 400 for a parameter the route does not take, or a value its schema does not allow."""
    declared = {p["name"]: p["schema"] for p in LISTS.get(view, ())}
    if not declared:
        return
    for name, value in params.items():
        if name not in declared:
            raise BadRequest(f"unknown query parameter {name[:80]!r}; {method} {path} takes "
                             f"{', '.join(declared)}")
        problem = _problem(declared[name], value)
        if problem:
            raise BadRequest(f"query parameter {name} must be {problem}, not {value[:80]!r}")


def _problem(schema: Schema, value: str) -> str | None:
    """What `value` should have been (None: it is allowed)."""
    if "enum" in schema and value not in schema["enum"]:
        return "one of " + ", ".join(schema["enum"])
    if schema.get("format") == TIME and moment(value) is None:
        return "an ISO 8601 time with a time zone (2026-05-27T10:15:00Z)"
    if schema.get("format") == LABELS and label_pairs(value) is None:
        return f"key:value pairs separated by commas (os:debian,arch:amd64), at most {MAX_FILTER_LABELS}"
    if len(value) > schema.get("maxLength", len(value)):
        return f"at most {schema['maxLength']} characters"
    if schema.get("format") != LABELS and "pattern" in schema and not re.fullmatch(schema["pattern"], value):
        return f"a name matching {schema['pattern']}"
    return None


def moment(value: str) -> datetime | None:
    """An ISO 8601 time with a time zone (`Z` or an offset), or None."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T[0-9:.]+(Z|[+-]\d{2}:?\d{2})", value):
        return None
    try:
        return clock.parse_utc(value)
    except ValueError:
        return None
