"""The API as an OpenAPI 3.1 document, served at `GET /openapi.json`.

Request bodies and most responses are the pydantic models of models.py, turned into JSON
Schema by pydantic itself (OpenAPI 3.1 schemas are JSON Schema 2020-12, so `null` is a
type and nothing needs translating). The shapes no model describes (ancestry, descendants,
artifact look-ups, compliance checks and reports, audit events) are written out below from
the code that builds them, and kept honest: a field that may be null or absent says so.

app.py imports this module at cold start, so it imports nothing heavy at module level and
builds the document once, on the first call of `document()`. The returned dict is shared:
callers must not mutate it.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

TITLE = "Packer artifact registry"
API_VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
Schema = dict[str, Any]

_document: dict[str, Any] | None = None
_lock = threading.Lock()


def document() -> dict[str, Any]:
    """The OpenAPI document (built on first use, then cached)."""
    global _document
    if _document is None:
        with _lock:
            if _document is None:
                _document = _build()
    return _document


# ---- building blocks --------------------------------------------------------------------

def _ref(name: str) -> Schema:
    return {"$ref": REF.format(model=name)}


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _obj(properties: dict[str, Schema], required: list[str] | None = None, closed: bool = True,
         description: str | None = None) -> Schema:
    """An object schema; `required` defaults to every property (the code always writes them)."""
    schema: Schema = {"type": "object", "properties": properties,
                      "required": list(properties) if required is None else required}
    if closed:
        schema["additionalProperties"] = False
    if description:
        schema["description"] = description
    return schema


STRING: Schema = {"type": "string"}
INTEGER: Schema = {"type": "integer"}
BOOLEAN: Schema = {"type": "boolean"}
STRINGS: Schema = {"type": "array", "items": STRING}
VERSION_STATUS: Schema = {"type": "string", "enum": ["active", "revoked", "revocation_scheduled"]}
RESOLVED_AT: Schema = {"type": "string", "enum": ["build_time", "upload"],
                       "description": "how a parent_channel hint was resolved: the channel's history at the "
                                      "build time, or the channel as it was when the version was recorded"}
ANCESTRY_STATUS: Schema = {"type": "string", "enum": ["up_to_date", "out_of_date", "undetermined", "parent_revoked"]}


def _page(item: str) -> Schema:
    return _obj({"items": {"type": "array", "items": _ref(item)},
                 "next_token": {"type": "string", "description": "present while more items remain"}},
                required=["items"], description=f"One page of {item} items")


def _inline_schemas() -> dict[str, Schema]:
    """Shapes built as plain dicts by the code (no pydantic model)."""
    # A revocation as stored on a version item and echoed raw by ancestry, descendants and
    # artifact look-ups: optional keys are absent rather than null when never set.
    stored_revocation = _obj({
        "reason": _nullable(STRING),
        "revoked_at": _nullable(STRING),
        "revoke_at": _nullable(STRING),
        "revoked_by": _nullable(STRING),
        "revocation_type": {"type": "string", "enum": ["direct", "inherited"]},
        "inherited_from": _nullable(STRING),
        "skip_descendants_revocation": BOOLEAN,
        "disable_rollback_channels": BOOLEAN,
        "cascade_pending": _nullable(BOOLEAN),
    }, required=[], closed=False, description="A version's revocation as stored (scheduled or applied)")
    summary = {
        "bucket": STRING, "version": STRING, "fingerprint": STRING, "status": VERSION_STATUS,
        "ancestry_status": _nullable(ANCESTRY_STATUS), "revocation": _nullable(_ref("StoredRevocation")),
    }
    link = _obj({
        "bucket": _nullable(STRING),
        "version": _nullable(STRING),
        "fingerprint": STRING,
        "channel": _nullable(STRING),
        "source_artifact": _nullable(STRING),
        "found_by": {"type": "string", "enum": ["parent_version", "parent_channel", "source_artifact", "unresolved"]},
        "resolved_at": RESOLVED_AT,
        "resolution": STRING,
        "status": ANCESTRY_STATUS,
        "message": STRING,
    }, required=["found_by", "status", "message"],
        description="A parent link with its live status; `found_by: unresolved` for a hint that matched nothing")
    match = {
        "bucket": STRING, "version": STRING, "fingerprint": STRING, "build_id": STRING, "platform": STRING,
        "status": VERSION_STATUS, "ancestry_status": _nullable(ANCESTRY_STATUS), "ancestry_messages": STRINGS,
        "revocation": _nullable(_ref("StoredRevocation")),
    }
    resolved_parent = _obj({
        "bucket": STRING, "number": INTEGER, "version": STRING, "fingerprint": STRING,
        "channel": _nullable(STRING), "found_by": STRING, "resolved_at": RESOLVED_AT, "resolution": STRING,
    }, required=["bucket", "number", "version", "fingerprint", "found_by"])
    exposure = {
        "channels_serving_revoked": {"type": "array", "description": "channels holding a revoked version: "
                                     "consumers get a 409 from them (restricted ones only for contributors)",
                                     "items": _obj({"bucket": STRING, "channel": STRING, "version": _nullable(STRING),
                                                    "revocation": _nullable(_ref("StoredRevocation"))})},
        "channels_serving_revoked_truncated": {**BOOLEAN, "description": "more than the list shows"},
        "upcoming_revocations": {"type": "array", "description": "scheduled revocations still to come, soonest first",
                                 "items": _obj({"bucket": STRING, "version": STRING, "revoke_at": _nullable(STRING),
                                                "reason": _nullable(STRING)})},
        "upcoming_revocations_truncated": {**BOOLEAN, "description": "more than the list shows"},
    }
    sweep_report = _obj({
        "started_at": STRING,
        "finished_at": STRING,
        "revocations_applied": {**STRINGS, "description": "`bucket/vN` of each scheduled revocation applied"},
        "cascades": {"type": "array", "items": _obj({
            "source": STRING, "mode": _nullable(STRING), "versions_changed": INTEGER, "finished": BOOLEAN})},
        "ancestry_changes": {"type": "array", "items": _obj({
            "bucket": STRING, "version": STRING, "from": _nullable(ANCESTRY_STATUS),
            "to": _nullable(ANCESTRY_STATUS), "messages": STRINGS}, required=["bucket", "version", "messages"])},
        "parents_resolved": {"type": "array", "items": _obj({
            "bucket": STRING, "number": INTEGER, "parent": resolved_parent})},
        "channels_repaired": {"type": "array", "items": _obj({
            "bucket": STRING, "channel": STRING, "version": _nullable(STRING), "was": _nullable(STRING),
            "now": _nullable(STRING)})},
        **exposure,
        "markers_processed": INTEGER,
        "more_pending": BOOLEAN,
    }, required=[], description="What one compliance sweep did")
    return {
        "Error": _obj({"error": {**STRING, "description": "a code: BadRequest, Unauthorized, Forbidden, NotFound, "
                                                           "Conflict, Contention, ..."},
                       "message": STRING}, description="Every error the API answers"),
        "StoredRevocation": stored_revocation,
        "VersionSummary": _obj(summary),
        "AncestryLink": link,
        "Ancestry": _obj({**{k: summary[k] for k in ("bucket", "version", "fingerprint", "status")},
                          "ancestry_status": _nullable(ANCESTRY_STATUS),
                          "parents": {"type": "array", "items": _ref("AncestryLink")},
                          "children": {"type": "array", "items": _ref("VersionSummary")}},
                         description="A version's parents (with live status) and direct children"),
        "DescendantNode": _obj({**summary, "children": {"type": "array", "items": _ref("DescendantNode")}}),
        "Descendants": _obj({"root": _ref("DescendantNode"), "count": INTEGER, "truncated": BOOLEAN},
                            description="The descendant tree, to `depth` levels and at most 500 nodes"),
        "ArtifactMatch": _obj(match),
        "ArtifactLookup": _obj({"external_id": STRING, **match,
                                "matches": {"type": "array", "items": _ref("ArtifactMatch")}},
                               description="The newest version that produced an artifact, and every match"),
        "ComplianceCheckRequest": {
            "description": 'Either `{"artifacts": [...]}` or a Terraform plan or state as printed by '
                           "`terraform show -json` (image IDs are read from planned_values, values and "
                           "resource_changes[].change.after)",
            "anyOf": [_ref("ArtifactList"), _ref("TerraformPlan")],
        },
        "ArtifactList": _obj({"artifacts": {"type": "array", "maxItems": 1000,
                                            "items": {"type": "string", "pattern": "\\S"}}},
                             closed=False),
        "TerraformPlan": {
            "type": "object",
            "description": "terraform show -json output (only the parts read are described)",
            "properties": {
                "format_version": STRING,
                "terraform_version": STRING,
                "planned_values": {"type": "object", "properties": {"root_module": _ref("TerraformModule")}},
                "values": {"type": "object", "properties": {"root_module": _ref("TerraformModule")}},
                "resource_changes": {"type": "array", "items": {"type": "object", "properties": {
                    "address": STRING, "mode": STRING, "type": STRING, "name": STRING,
                    "change": {"type": "object", "properties": {
                        "actions": {**STRINGS, "description": "a change whose actions are all `delete` is skipped"},
                        "after": {}, "after_unknown": {}}}}}},
            },
            "anyOf": [{"required": ["planned_values"]}, {"required": ["resource_changes"]},
                      {"required": ["format_version", "terraform_version"]}],
            "not": {"required": ["artifacts"]},
        },
        "TerraformModule": {"type": "object", "properties": {
            "resources": {"type": "array", "items": {"type": "object", "properties": {
                "address": STRING, "mode": STRING, "type": STRING, "name": STRING, "values": {}}}},
            "child_modules": {"type": "array", "items": {"type": "object"}},
        }},
        "ComplianceResult": _obj({
            "artifact": STRING,
            "verdict": {"type": "string", "enum": ["ok", "out_of_date", "revoked", "unknown"]},
            "message": STRING,
            "bucket": STRING,
            "version": STRING,
        }, required=["artifact", "verdict", "message"]),
        "ComplianceCheck": _obj({
            "passed": {**BOOLEAN, "description": "false when any artifact is revoked"},
            "counts": _obj({k: INTEGER for k in ("ok", "out_of_date", "revoked", "unknown")}),
            "results": {"type": "array", "items": _ref("ComplianceResult")},
        }),
        "SweepReport": sweep_report,
        "FlaggedVersion": _obj({"bucket": STRING, "version": STRING, "number": INTEGER,
                                "ancestry_status": ANCESTRY_STATUS, "messages": STRINGS, "flagged_at": STRING}),
        "ComplianceReport": _obj({
            "last_sweep": _nullable(_ref("SweepReport")),
            "counts": {"type": "object", "additionalProperties": INTEGER,
                       "required": ["out_of_date", "parent_revoked", "undetermined", "unresolved_parents"]},
            "flagged": {"type": "array", "items": _ref("FlaggedVersion")},
            **exposure,
            "next_token": STRING,
        }, required=["last_sweep", "counts", "flagged", *exposure],
            description="The last sweep's findings and the versions flagged now (paginated)"),
        "Identity": _obj({"name": _nullable(STRING),
                          "role": _nullable({"type": "string", "enum": ["viewer", "contributor", "admin"]}),
                          "token_id": _nullable({**STRING,
                                                 "description": "`bootstrap-admin` for the bootstrap token"})},
                         description="The caller, as its token identifies it"),
        "AuditEvent": _obj({
            "id": STRING,
            "time": STRING,
            "actor": {**STRING, "description": "a token's name, `s3:<key>` for ingestion, `sweep` for the schedule"},
            "action": {**STRING, "description": "e.g. bucket.created, channel.assigned, version.revoked"},
            "bucket": _nullable(STRING),
            "target": STRING,
            "before": {"description": "the state before the change, where it matters"},
            "after": {"description": "the state after the change, where it matters"},
            "detail": _nullable({"type": "object"}),
        }, required=["id", "time", "actor", "action", "target"], closed=False,
            description="One change, recorded in the same transaction as the change"),
    }


def _model_schemas() -> tuple[dict[str, Schema], set[str]]:
    """Components from the pydantic models, and the names of the response-side ones."""
    from pydantic.json_schema import models_json_schema

    from . import models as m

    requests: list[type[BaseModel]] = [
        m.CreateBucket, m.UpdateBucket, m.CreateChannel, m.UpdateChannel, m.RevokeRequest, m.CreateToken]
    responses: list[type[BaseModel]] = [
        m.Bucket, m.Version, m.Channel, m.HistoryEntry, m.ServedArtifact, m.Ingestion, m.Token]
    _, request_top = models_json_schema([(r, "validation") for r in requests], ref_template=REF)
    _, response_top = models_json_schema([(r, "serialization") for r in responses], ref_template=REF)
    request_defs, response_defs = request_top["$defs"], response_top["$defs"]
    clash = {name for name in set(request_defs) & set(response_defs) if request_defs[name] != response_defs[name]}
    assert not clash, f"models used in both requests and responses: {clash}"
    # Responses are `model_dump()`ed whole: every field is present (null when unset) and no other.
    for schema in response_defs.values():
        if schema.get("type") == "object" and "properties" in schema:
            schema["required"] = list(schema["properties"])
            schema["additionalProperties"] = False
    _refine(request_defs)
    return {**request_defs, **response_defs}, set(response_defs)


def _refine(defs: dict[str, Schema]) -> None:
    """What the models check in code rather than in their types: say it in the schema too."""
    def string_branch(model: str, field: str) -> Schema:
        schema = defs[model]["properties"][field]
        return next(s for s in schema.get("anyOf", [schema]) if s.get("type") == "string")

    string_branch("RevokeRequest", "revoke_in").update(
        pattern=DURATION_PATTERN, description="from now: `30d`, `2h45m`, `90s`; `0s` revokes now")
    for model, field, what in (("RevokeRequest", "revoke_at", "when to revoke; past or now revokes now"),
                               ("CreateToken", "expires_at", "when the token stops working; must be in the future")):
        string_branch(model, field).update(format="date-time", description=f"ISO 8601 with a time zone: {what}")


# ---- operations -------------------------------------------------------------------------

_ERRORS = {
    400: "Bad request: invalid parameters or body",
    401: "No valid bearer token",
    403: "The token's role does not allow this",
    404: "Not found",
    409: "Conflict with the current state",
    415: "The request has a Content-Type other than application/json (on any route, even a GET)",
    503: "Contention: the resource kept changing while the request ran; try again",
}
_JSON = "application/json"


def _param(name: str, where: str, schema: Schema, description: str, required: bool = False) -> Schema:
    return {"name": name, "in": where, "required": required or where == "path", "schema": schema,
            "description": description}


_LABEL = r"[^,:]*[^,:\s][^,:]*:[^,]*"  # a key with something other than blanks, then `:value`
LABELS_PATTERN = rf"^(?:{_LABEL}(?:,{_LABEL})*)?$"
# revoke_in: days, hours, minutes, seconds in that order, at least one; blanks around ignored.
DURATION_PATTERN = r"^\s*(?=[0-9])(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?\s*$"

PATH_PARAMS = {
    "bucket": "the bucket (image family) name",
    "version": "a version name (`v3`) or a fingerprint",
    "channel": "the channel name",
    "external_id": "an artifact ID (AMI ID, image name, ...); percent-encode it; IDs with '/' use GET /artifacts?id=",
    "token_id": "the token's id (the part of its secret before the '.')",
    "asset": "the file name of a static asset of the web page",
}
LIST_PARAMS = [
    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
           "page size, 1-100"),
    _param("next_token", "query", {"type": "string"},
           "the `next_token` of the previous page (opaque and signed; only valid for the list that issued it, "
           "else a 400; empty: the first page)"),
]


def _operation(op_id: str, summary: str, tag: str, method: str, path: str, *, role: str | None, status: int = 200,
               response: Schema | None = None, params: list[Schema] | None = None, body: Schema | None = None,
               errors: tuple[int, ...] = (), description: str | None = None,
               media: dict[str, Schema] | None = None) -> Schema:
    from .names import PATH_PARAMETERS

    named = [name for name in _path_names(path) if name in PATH_PARAMETERS]
    parameters = [_param(name, "path", {"type": "string", "minLength": 1,
                                        **({"pattern": PATH_PARAMETERS[name][0]} if name in named else {})},
                         PATH_PARAMS[name])
                  for name in _path_names(path)] + (params or [])
    codes = set(errors) | ({404} if named else set())  # a name that cannot exist is a 404 (names.py)
    if parameters and any(p["in"] == "query" for p in parameters) or body is not None:
        codes.add(400)
    codes.add(415)  # Chalice refuses any request whose Content-Type is not application/json
    if role is not None:
        codes.add(401)
        if role != "viewer":
            codes.add(403)
    responses: dict[str, Any] = {str(status): {
        "description": summary,
        "content": media if media is not None else {_JSON: {"schema": response}},
    }}
    for code in sorted(codes):
        responses[str(code)] = {"description": _ERRORS[code], "content": {_JSON: {"schema": _ref("Error")}}}
    operation: dict[str, Any] = {"operationId": op_id, "summary": summary, "tags": [tag], "responses": responses}
    if description or role:
        operation["description"] = " ".join(filter(None, [description, f"Needs the `{role}` role." if role else None]))
    if parameters:
        operation["parameters"] = parameters
    if body is not None:
        # An empty body reads as {}: a PATCH without one changes nothing (and answers 200).
        operation["requestBody"] = {"required": method != "patch", "content": {_JSON: {"schema": body}}}
    if role is None:
        operation["security"] = []
    return operation


def _path_names(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _operations() -> list[tuple[str, str, Schema]]:
    """(method, path, operation) for every route of app.py."""
    from .roles import required_role

    def op(method: str, path: str, op_id: str, summary: str, tag: str, **kwargs: Any) -> tuple[str, str, Schema]:
        return method, path, _operation(op_id, summary, tag, method, path, role=required_role(method.upper(), path),
                                        **kwargs)

    b, v, c = "/buckets/{bucket}", "/buckets/{bucket}/versions/{version}", "/buckets/{bucket}/channels/{channel}"
    status_param = _param("status", "query", {"type": "string", "enum": ["accepted", "partial", "rejected"]},
                          "only ingestions with this status")
    return [
        # buckets
        op("get", "/buckets", "listBuckets", "List buckets", "buckets", response=_page("Bucket"), params=LIST_PARAMS),
        op("post", "/buckets", "createBucket", "Create a bucket", "buckets", status=201, response=_ref("Bucket"),
           body=_ref("CreateBucket"), errors=(409,)),
        op("get", b, "getBucket", "A bucket with its latest version", "buckets", response=_ref("Bucket"),
           errors=(404,)),
        op("patch", b, "updateBucket", "Update a bucket's description and labels", "buckets",
           response=_ref("Bucket"), body=_ref("UpdateBucket"), errors=(404,)),
        op("delete", b, "deleteBucket", "Delete a bucket and everything in it", "buckets", response=_ref("Bucket"),
           errors=(404,)),
        # versions
        op("get", f"{b}/versions", "listVersions", "Versions of a bucket, newest first (without builds)",
           "versions", response=_page("Version"), params=LIST_PARAMS, errors=(404,)),
        op("get", v, "getVersion", "A version with its builds and artifacts", "versions", response=_ref("Version"),
           errors=(404,)),
        op("delete", v, "deleteVersion", "Delete a version and its builds", "versions", response=_ref("Version"),
           params=[_param("rollback_channels", "query", {"type": "boolean", "default": False},
                          "roll back the user channels holding the version instead of refusing (409)")],
           errors=(404, 409)),
        op("post", f"{v}/revoke", "revokeVersion", "Revoke a version now, or schedule its revocation", "versions",
           response=_ref("Version"), body=_ref("RevokeRequest"), errors=(404, 409, 503),
           description="`revoke_at` (ISO 8601 with a time zone) or `revoke_in` (`30d`, `2h45m`) in the future "
                       "schedules the revocation; otherwise it applies now."),
        op("post", f"{v}/restore", "restoreVersion", "Undo a revocation or cancel a scheduled one", "versions",
           response=_ref("Version"), errors=(404, 409, 503)),
        op("get", f"{v}/ancestry", "versionAncestry", "Parents with status, and direct children", "versions",
           response=_ref("Ancestry"), errors=(404,)),
        op("get", f"{v}/descendants", "versionDescendants", "The descendant tree", "versions",
           response=_ref("Descendants"),
           params=[_param("depth", "query", {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
                          "levels to follow, 1-20")], errors=(404,)),
        # channels
        op("get", f"{b}/channels", "listChannels", "Channels of a bucket", "channels", response=_page("Channel"),
           params=LIST_PARAMS, errors=(404,)),
        op("post", f"{b}/channels", "createChannel", "Create a channel, optionally assigned", "channels",
           status=201, response=_ref("Channel"), body=_ref("CreateChannel"), errors=(404, 409)),
        op("get", c, "getChannel", "A channel", "channels", response=_ref("Channel"), errors=(404,)),
        op("patch", c, "updateChannel", "Assign (`version`; null unassigns) or update a channel", "channels",
           response=_ref("Channel"), body=_ref("UpdateChannel"), errors=(404, 409)),
        op("delete", c, "deleteChannel", "Delete a channel and its history", "channels", response=_ref("Channel"),
           errors=(404, 409)),
        op("get", f"{c}/history", "channelHistory", "A channel's assignments, newest first", "channels",
           response=_page("HistoryEntry"), params=LIST_PARAMS, errors=(404,)),
        op("get", f"{c}/artifact", "consumerQuery", "The artifact to use", "channels",
           response=_ref("ServedArtifact"), errors=(404, 409),
           description="404: no artifact matches (or the channel is unassigned); 409: the channel holds a "
                       "revoked version; 400: several regions match and `region` was not given.",
           params=[_param("platform", "query", {"type": "string", "minLength": 1}, "aws, azure, gcp, docker, ...",
                          required=True),
                   _param("region", "query", STRING, "the region (preferred over region-less artifacts)"),
                   _param("component_type", "query", STRING, "`<builder_type>.<build name>`"),
                   _param("labels", "query", {"type": "string", "pattern": LABELS_PATTERN},
                          "`key:value,key:value` that the build's labels must have")]),
        # artifacts and compliance
        op("get", "/artifacts/{external_id}", "getArtifact", "Which version produced an artifact", "artifacts",
           response=_ref("ArtifactLookup"), errors=(404,)),
        op("get", "/artifacts", "getArtifactById", "Which version produced an artifact (IDs with slashes)",
           "artifacts", response=_ref("ArtifactLookup"), errors=(404,),
           params=[_param("id", "query", {"type": "string", "minLength": 1}, "the artifact ID", required=True)]),
        op("post", "/compliance/check", "complianceCheck", "A verdict per artifact ID", "compliance",
           response=_ref("ComplianceCheck"), body=_ref("ComplianceCheckRequest")),
        op("post", "/compliance/sweep", "complianceSweep", "Run the compliance sweep now", "compliance",
           response=_ref("SweepReport")),
        op("get", "/compliance/report", "complianceReport", "The last sweep's findings", "compliance",
           response=_ref("ComplianceReport"), params=LIST_PARAMS),
        # ingestions
        op("get", "/ingestions", "listIngestions", "Ingestion records, newest first", "ingestions",
           response=_page("Ingestion"), params=[status_param, *LIST_PARAMS]),
        # audit trail
        op("get", f"{b}/events", "bucketEvents", "A bucket's audit events, newest first", "events",
           response=_page("AuditEvent"), params=LIST_PARAMS,
           description="A viewer does not see events about restricted channels, `latest` or deleted channels, "
                       "nor `latest_version` or ancestry sentences in them; so a viewer's page may hold fewer "
                       "than `limit` events (even none) while `next_token` says more remain."),
        op("get", "/events", "registryEvents", "The registry-wide audit trail (tokens, manifests without a bucket), "
           "newest first", "events", response=_page("AuditEvent"), params=LIST_PARAMS),
        # tokens
        op("get", "/whoami", "whoami", "Who the bearer token is", "tokens", response=_ref("Identity")),
        op("get", "/tokens", "listTokens", "API tokens (never their secrets)", "tokens", response=_page("Token"),
           params=LIST_PARAMS),
        op("post", "/tokens", "createToken", "Mint a token; its secret is in this answer only", "tokens",
           status=201, response=_ref("CreatedToken"), body=_ref("CreateToken")),
        op("delete", "/tokens/{token_id}", "deleteToken", "Delete a token (it stops working at once)", "tokens",
           response=_ref("Token"), errors=(404,)),
        # the page and this document
        op("get", "/", "webPage", "The registry web page", "web", media={"text/html": {"schema": STRING}}),
        op("get", "/static/{asset}", "staticAsset", "A static asset of the web page", "web", errors=(404,),
           media={t: {"schema": STRING} for t in ("text/html", "text/css", "text/javascript", "application/javascript",
                                                    "image/svg+xml", "image/png", "image/x-icon")}),
        op("get", "/openapi.json", "openapi", "This document", "web", response={"type": "object"}),
    ]


def _build() -> dict[str, Any]:
    schemas, _ = _model_schemas()
    schemas.update(_inline_schemas())
    token = schemas["Token"]
    schemas["CreatedToken"] = {
        **token, "title": "CreatedToken", "description": "A new token, with its secret (shown in this answer only)",
        "properties": {**token["properties"], "secret": {"type": "string", "description": "the bearer token"}},
        "required": [*token["required"], "secret"]}
    paths: dict[str, dict[str, Any]] = {}
    for method, path, operation in _operations():
        paths.setdefault(path, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": TITLE,
            "version": API_VERSION,
            "description": "A self-hosted registry of Packer builds: buckets (image families), versions (one per "
                           "Packer run), channels, revocation, ancestry and compliance. Errors are "
                           '`{"error": "<Code>", "message": "<text>"}`. Lists take `limit` and `next_token` and '
                           "return `next_token` while more remain.",
        },
        "security": [{"bearerAuth": []}],
        "tags": [{"name": t} for t in ("buckets", "versions", "channels", "artifacts", "compliance", "ingestions",
                                       "events", "tokens", "web")],
        "paths": paths,
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "`Authorization: Bearer <token>`; roles viewer < contributor < admin"}},
        },
    }
