"""The API as an OpenAPI 3.1 document, served at `GET /openapi.json`, generated.

Nothing here is a hand-written schema. The paths and methods are Chalice's own route table
(`app.routes`); each route's view function has one declaration below (`_declarations`:
summary, tag, response model, request model, query parameters, the errors it answers); the
role a route needs comes from roles.py, the rule the error middleware enforces; and every
body's schema is pydantic's JSON Schema of the models in models.py (OpenAPI 3.1 schemas are
JSON Schema 2020-12, so `null` is a type and nothing needs translating). A route without a
declaration, or a declaration without a route, is an error when the document is built.

It documents the native API only: the HCP Packer-compatible routes (`/packer/2023-01-01/…`,
`/resource-manager/2019-12-10/…`, chalicelib/api/hcp) answer HCP Packer's own API, whose
reference is HashiCorp's (https://developer.hashicorp.com/hcp/api-docs/packer), in its own
error shape, so they are left out rather than described a second time.

app.py imports this module lazily, and it imports nothing heavy at module level; the
document is built once, on the first call of `document()`. The returned dict is shared:
callers must not mutate it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chalice.app import RouteEntry
    from pydantic import BaseModel

TITLE = "Packer artifact registry"
API_VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
Schema = dict[str, Any]
Routes = Mapping[str, Mapping[str, "RouteEntry"]]

_document: dict[str, Any] | None = None
_lock = threading.Lock()


class Undeclared(Exception):
    """A route without a declaration here, or a declaration without a route."""


def document(routes: Routes) -> dict[str, Any]:
    """The OpenAPI document of the app whose route table is `routes` (built on first use,
    then cached)."""
    global _document
    if _document is None:
        with _lock:
            if _document is None:
                _document = build(routes)
    return _document


# ---- what each route answers --------------------------------------------------------------

@dataclass(frozen=True)
class Op:
    """What the route table does not say about a route: its words, its models, its query
    parameters and the errors it answers beyond those every route of its kind does."""

    summary: str
    tag: str
    response: type[BaseModel] | None = None  # None: `media` says what it answers
    status: int = 200
    body: type[BaseModel] | None = None
    params: list[Schema] = field(default_factory=list)  # a list route's are queries.LISTS
    errors: tuple[int, ...] = ()
    description: str | None = None
    media: tuple[str, ...] = ()  # non-JSON answers (the page): media types of a string body
    body_media: str = "application/json"  # the request body's media type
    error: type[BaseModel] | None = None  # the errors' model (None: models.Error, the API's shape)
    also: tuple[tuple[int, str, type[BaseModel]], ...] = ()  # other successes: (status, when, model)


_ERRORS = {
    400: "Bad request: invalid parameters or body",
    401: "No valid bearer token (the token endpoint: unknown client or wrong secret; the run-task endpoint: no "
         "valid X-TFC-Task-Signature)",
    403: "The token's role does not allow this",
    404: "Not found",
    409: "Conflict with the current state",
    415: "The request has a Content-Type other than application/json (even on a GET)",
    503: "Contention: the resource kept changing while the request ran; try again",
}
_JSON = "application/json"


def _param(name: str, where: str, schema: Schema, description: str, required: bool = False) -> Schema:
    from .queries import param  # imported on use: this module loads nothing at import

    return param(name, where, schema, description, required)


_LABEL = r"[^,:]*[^,:\s][^,:]*:[^,]*"  # a key with something other than blanks, then `:value`
LABELS_PATTERN = rf"^(?:{_LABEL}(?:,{_LABEL})*)?$"

PATH_PARAMS = {
    "bucket": "the bucket (image family) name",
    "version": "a version name (`v3`) or a fingerprint",
    "channel": "the channel name",
    "external_id": "an artifact ID (AMI ID, image name, ...); percent-encode it; IDs with '/' use GET /artifacts?id=",
    "token_id": "the token's id (the part of its secret before the '.')",
    "client_id": "the service principal's client id",
    "webhook_id": "the webhook's id",
    "revocation_id": "the bulk revocation job's id (answered when it was created)",
    "asset": "the file name of a static asset of the web page",
}


def _declarations() -> dict[str, Op]:
    """One declaration per view function of app.py, by its name."""
    from ..domain import models as m
    from . import queries, web
    string = {"type": "string"}
    return {
        # buckets
        "list_buckets": Op("List buckets", "buckets", m.BucketPage),
        "create_bucket": Op("Create a bucket", "buckets", m.Bucket, status=201, body=m.CreateBucket, errors=(409,)),
        "get_bucket": Op("A bucket with its latest version", "buckets", m.Bucket, errors=(404,)),
        "update_bucket": Op("Update a bucket's description and labels", "buckets", m.Bucket, body=m.UpdateBucket,
                            errors=(404,)),
        "delete_bucket": Op("Delete a bucket and everything in it", "buckets", m.Bucket, errors=(404,)),
        # bucket access (services/access.py)
        "get_bucket_access": Op("Who is bound to a bucket, with which role", "access", m.BucketAccess,
                                errors=(404,)),
        "put_bucket_access": Op("Replace a bucket's bindings", "access", m.BucketAccess, body=m.SetBucketAccess,
                                errors=(404, 409), description=(
                                    "Tokens (by id) and service principals (by client_id) bound as `viewer`, "
                                    "`contributor` or `admin` of this bucket: their role on it is the higher of "
                                    "their project role and this. With `etag` (as read), a policy changed since is "
                                    "a 409.")),
        # versions
        "list_versions": Op("Versions of a bucket, newest first (without builds)", "versions", m.VersionPage,
                            errors=(404,),
                            description="Filters other than the page are applied to one page of the Query "
                                        "(no index yet): a filtered page may hold fewer than `limit` versions, "
                                        "even none, while `next_token` says more remain; it says `filtered`."),
        "get_version": Op("A version with its builds and artifacts", "versions", m.Version, errors=(404,)),
        "delete_version": Op("Delete a version and its builds", "versions", m.Version, errors=(404, 409), params=[
            _param("rollback_channels", "query", {"type": "boolean", "default": False},
                   "roll back the user channels holding the version instead of refusing (409)")]),
        # retention policies (services/retention.py)
        "get_retention": Op("A bucket's retention policy and the sweep's progress", "retention", m.RetentionPolicy,
                            errors=(404,)),
        "put_retention": Op("Set a bucket's retention policy", "retention", m.RetentionPolicy,
                            body=m.RetentionRequest, errors=(404, 409), description=(
                                "Applied by the sweep. Never touches a version a channel holds (`latest` included), "
                                "one with children that are not revoked, a running one or one scheduled for "
                                "revocation. Deleting never deletes the manifest objects in S3.")),
        "delete_retention": Op("Remove a bucket's retention policy", "retention", m.RetentionPolicy,
                               errors=(404, 409)),
        "retention_preview": Op("What the sweep would do now, version by version (writes nothing)", "retention",
                                m.RetentionPreview, errors=(404,)),
        "revoke_version": Op("Revoke a version now, or schedule its revocation", "versions", m.Version,
                             body=m.RevokeRequest, errors=(404, 409, 503),
                             description="`revoke_at` (ISO 8601 with a time zone) or `revoke_in` (`30d`, `2h45m`) "
                                         "in the future schedules the revocation; otherwise it applies now."),
        "restore_version": Op("Undo a revocation or cancel a scheduled one", "versions", m.Version,
                              errors=(404, 409, 503)),
        "version_ancestry": Op("Parents with status, and direct children", "versions", m.Ancestry, errors=(404,)),
        "version_descendants": Op("The descendant tree, breadth first, one page at a time", "versions",
                                  m.Descendants, errors=(404,), params=[
            _param("depth", "query", {"type": "integer", "minimum": 1, "maximum": 20, "default": 5},
                   "levels to follow, 1-20 (the same on every page of a walk)"), queries.NEXT_TOKEN]),
        # bulk revocation
        "revoke_in_bucket": Op(
            "Revoke every version of the bucket a filter selects", "revocations", m.RevocationJob, status=202,
            body=m.BucketRevocationRequest, errors=(404,),
            also=((200, "`dry_run`: what would be revoked; nothing is written", m.RevocationPreview),),
            description="The filter names at least one of `created_before`, `labels`, `parent`, `external_ids` (all "
                        "given must hold). Each version is revoked (or scheduled) as `POST …/revoke` would, with its "
                        "audit event, channel rollback and cascade. The answer is the job: small sets are done in "
                        "it, larger ones are applied by the sweep in batches (progress at "
                        "`GET /revocations/{revocation_id}`)."),
        "revoke_across_buckets": Op(
            "Revoke every version a filter selects, across buckets (`buckets`, or all)", "revocations",
            m.RevocationJob, status=202, body=m.RevocationRequest, errors=(404,),
            also=((200, "`dry_run`: what would be revoked; nothing is written", m.RevocationPreview),)),
        "get_revocation": Op("A bulk revocation's progress", "revocations", m.RevocationJob, errors=(404,),
                             description="A bucket's job is readable by the bucket's readers; a job across buckets "
                                         "by admins only (a 404 for others)."),
        # channels
        "list_channels": Op("Channels of a bucket", "channels", m.ChannelPage, errors=(404,)),
        "create_channel": Op("Create a channel, optionally assigned", "channels", m.Channel, status=201,
                             body=m.CreateChannel, errors=(404, 409)),
        "get_channel": Op("A channel", "channels", m.Channel, errors=(404,)),
        "update_channel": Op("Assign (`version`; null unassigns) or update a channel", "channels", m.Channel,
                             body=m.UpdateChannel, errors=(404, 409)),
        "delete_channel": Op("Delete a channel and its history", "channels", m.Channel, errors=(404, 409)),
        "channel_history": Op("A channel's assignments, newest first", "channels", m.HistoryPage,
                              errors=(404,)),
        "consumer_query": Op(
            "The artifact to use", "channels", m.ServedArtifact, errors=(404, 409),
            description="404: no artifact matches (or the channel is unassigned); 409: the channel holds a "
                        "revoked version; 400: several regions match and `region` was not given.",
            params=[_param("platform", "query", {"type": "string", "minLength": 1},
                           "aws, azure, gce, docker, ... (as the Packer plugins report them to HCP Packer; "
                           "older names such as gcp are aliases)", required=True),
                    _param("region", "query", string, "the region (preferred over region-less artifacts)"),
                    _param("component_type", "query", string, "`<builder_type>.<build name>`"),
                    _param("labels", "query", {"type": "string", "pattern": LABELS_PATTERN},
                           "`key:value,key:value` that the build's labels must have")]),
        # artifacts and compliance
        "get_artifact": Op("Which version produced an artifact", "artifacts", m.ArtifactLookup, errors=(404,)),
        "get_artifact_by_id": Op("Which version produced an artifact (IDs with slashes)", "artifacts",
                                 m.ArtifactLookup, errors=(404,), params=[
                                     _param("id", "query", {"type": "string", "minLength": 1}, "the artifact ID",
                                            required=True)]),
        "compliance_check": Op("A verdict per artifact ID", "compliance", m.ComplianceCheck,
                               body=m.ComplianceCheckRequest),
        "compliance_sweep": Op("Run the compliance sweep now", "compliance", m.SweepReport),
        "compliance_report": Op("The last sweep's findings", "compliance", m.ComplianceReport),
        # ingestions
        "list_ingestions": Op("Ingestion records, newest first", "ingestions", m.IngestionPage),
        # audit trail
        "bucket_events": Op("A bucket's audit events, newest first", "events", m.AuditEventPage,
                            description="A viewer does not see events about restricted channels, `latest` or deleted "
                                        "channels, nor `latest_version` or ancestry sentences in them; so a viewer's "
                                        "page may hold fewer than `limit` events (even none) while `next_token` says "
                                        "more remain."),
        "registry_events": Op("The registry-wide audit trail (tokens, manifests without a bucket), newest first",
                              "events", m.AuditEventPage),
        # tokens
        "whoami": Op("Who the bearer token is", "tokens", m.Identity),
        "list_tokens": Op("API tokens (never their secrets)", "tokens", m.TokenPage),
        "create_token": Op("Mint a token; its secret is in this answer only", "tokens", m.CreatedToken, status=201,
                           body=m.CreateToken, errors=(409,),
                           description="409: a token or service principal already has that name (whatever its case)"),
        "delete_token": Op("Delete a token (it stops working at once)", "tokens", m.Token, errors=(404,)),
        # service principals and the OAuth2 token endpoint
        "list_service_principals": Op("Service principals (never their secrets)", "service principals",
                                      m.ServicePrincipalPage),
        "create_service_principal": Op("Make client credentials for the HCP-compatible API; the secret is in this "
                                       "answer only", "service principals", m.CreatedServicePrincipal, status=201,
                                       body=m.CreateServicePrincipal, errors=(409,), description=(
                                           "409: a token or service principal already has that name (whatever its "
                                           "case)")),
        "delete_service_principal": Op("Delete a service principal (its access tokens stop working at once)",
                                       "service principals", m.ServicePrincipal, errors=(404,)),
        # webhooks
        "list_webhooks": Op("Webhooks (never their secrets)", "webhooks", m.WebhookPage),
        "create_webhook": Op("Register a webhook; its secret is in this answer only", "webhooks", m.CreatedWebhook,
                             status=201, body=m.CreateWebhook,
                             description="Each audit event among `events` is POSTed to `url` with "
                                         "`X-Registry-Signature: sha256=<hex HMAC-SHA256 of the body under the "
                                         "secret>`, `X-Registry-Delivery` and `X-Registry-Timestamp`; retried "
                                         "with backoff, disabled after a day of failures."),
        "get_webhook": Op("A webhook (never its secret)", "webhooks", m.Webhook, errors=(404,)),
        "delete_webhook": Op("Delete a webhook (no delivery is attempted after this)", "webhooks", m.Webhook,
                             errors=(404,)),
        "webhook_deliveries": Op("A webhook's delivery attempts, newest first", "webhooks",
                                 m.WebhookDeliveryPage, errors=(404,)),
        "oauth2_token": Op(
            "Exchange client credentials for an access token (OAuth 2.0 client-credentials grant)",
            "service principals", m.AccessToken, body=m.TokenRequest, body_media="application/x-www-form-urlencoded",
            errors=(400, 401), error=m.OAuthError,
            description="The credentials go in HTTP Basic (`client_id:client_secret`, each URL-escaped) or in the "
                        "form fields `client_id` and `client_secret`. The access token is a bearer token for every "
                        "route, with the service principal's role. Errors are OAuth 2.0's "
                        "`{\"error\", \"error_description\"}`; this route takes any media type (no 415)."),
        # the HCP Terraform run task
        "run_task_request": Op(
            "HCP Terraform's run-task endpoint: check a run's plan for revoked and outdated images", "run task",
            m.RunTaskReceipt, body=m.RunTaskRequest, errors=(401,),
            description="Register it in HCP Terraform with the URL and HMAC key the HCP API's "
                        "`GET /packer/2023-01-01/organizations/{organization_id}/projects/{project_id}/runtasks/"
                        "validation` answers. No bearer token: the request must carry `X-TFC-Task-Signature`, the "
                        "hex HMAC-SHA512 of the raw body under that key (else a 401, and nothing else happens). "
                        "The answer comes at once; the plan is checked after it and the result PATCHed to "
                        "`task_result_callback_url`. The verification request (`access_token` `test-token`) is "
                        "only acknowledged. A plan or callback URL that is not http(s) on a host "
                        "`RUNTASK_ALLOWED_HOSTS` names (HCP Terraform's, by default) is a 400."),
        # the page and this document
        "web_page": Op("The registry web page", "web", media=("text/html",)),
        "static_asset": Op("A static asset of the web page", "web", errors=(404,),
                           media=tuple(sorted({t.split(";")[0] for t in web.ASSETS.values()}))),
        "openapi_document": Op("This document", "web", m.OpenAPIDocument),
    }


# ---- building -----------------------------------------------------------------------------

def build(routes: Routes) -> dict[str, Any]:
    """The document for a route table (`document()` caches it)."""
    from . import hcp  # its routes are HashiCorp's API, not described here

    declared = _declarations()
    entries = [(path, method, entry) for path, methods in routes.items() for method, entry in methods.items()
               if not hcp.serves(path)]
    missing = sorted(f"{method} {path} ({entry.view_name})" for path, method, entry in entries
                     if entry.view_name not in declared)
    unused = sorted(set(declared) - {entry.view_name for _, _, entry in entries})
    if missing or unused:
        raise Undeclared(f"routes without an OpenAPI declaration: {missing}; declarations without a route: {unused}")
    paths: dict[str, dict[str, Any]] = {}
    for path, method, entry in entries:
        paths.setdefault(path, {})[method.lower()] = _operation(entry.view_name, declared[entry.view_name],
                                                                method, path, entry.content_types)
    used = list(declared.values())
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
        "tags": [{"name": tag} for tag in dict.fromkeys(op.tag for op in used)],
        "paths": paths,
        "components": {
            "schemas": _schemas(used),
            "securitySchemes": {"bearerAuth": {
                "type": "http", "scheme": "bearer",
                "description": "`Authorization: Bearer <token>`; roles none < viewer < contributor < admin, on the "
                               "project and, by binding, on buckets"}},
        },
    }


def _schemas(ops: list[Op]) -> dict[str, Schema]:
    """Every model's JSON Schema, by name: request bodies as pydantic validates them,
    responses (and the error shape) as they are dumped."""
    from pydantic.json_schema import models_json_schema

    from ..domain.models import Error

    requests: list[type[BaseModel]] = list(dict.fromkeys(op.body for op in ops if op.body))
    responses: list[type[BaseModel]] = list(dict.fromkeys([Error, *(op.response for op in ops if op.response),
                                                           *(model for op in ops for _, _, model in op.also),
                                                           *(op.error for op in ops if op.error)]))
    _, request_top = models_json_schema([(r, "validation") for r in requests], ref_template=REF)
    _, response_top = models_json_schema([(r, "serialization") for r in responses], ref_template=REF)
    request_defs, response_defs = request_top["$defs"], response_top["$defs"]
    clash = {name for name in set(request_defs) & set(response_defs) if request_defs[name] != response_defs[name]}
    if clash:
        raise ValueError(f"models that read differently as requests and responses: {clash}")
    return dict(sorted({**request_defs, **response_defs}.items()))


def _operation(view: str, op: Op, method: str, path: str, media_types: list[str]) -> Schema:
    from ..domain.names import PATH_PARAMETERS
    from . import queries
    from .roles import Scope, required_role, scope

    role = required_role(method, path)
    where = scope(method, path)
    path_names = re.findall(r"{(\w+)}", path)
    named = [name for name in path_names if name in PATH_PARAMETERS]
    parameters = [_param(name, "path", {"type": "string", "minLength": 1,
                                        **({"pattern": PATH_PARAMETERS[name][0]} if name in named else {})},
                         PATH_PARAMS[name])
                  for name in path_names] + queries.LISTS.get(view, op.params)
    codes = set(op.errors) | ({404} if named else set())  # a name that cannot exist is a 404 (names.py)
    if any(p["in"] == "query" for p in parameters) or op.body is not None:
        codes.add(400)
    if "*/*" not in media_types:
        codes.add(415)  # Chalice refuses any request whose Content-Type the route does not list
    if role is not None:
        codes.add(401)
        if where != Scope.IDENTIFIED:  # a project role too low, or no binding on the bucket
            codes.add(403)
    content = ({media: {"schema": {"type": "string"}} for media in op.media} if op.media
               else {_JSON: {"schema": _ref(op.response)}})
    responses: dict[str, Any] = {str(op.status): {"description": op.summary, "content": content}}
    for status, when, model in op.also:
        responses[str(status)] = {"description": when, "content": {_JSON: {"schema": _ref(model)}}}
    for code in sorted(codes):
        responses[str(code)] = {"description": _ERRORS[code], "content": {_JSON: {"schema": {"$ref": REF.format(
            model=op.error.__name__ if op.error else "Error")}}}}
    operation: dict[str, Any] = {"operationId": _camel(view), "summary": op.summary, "tags": [op.tag],
                                 "responses": responses}
    if op.description or role:
        operation["description"] = " ".join(filter(None, [op.description, _needs(role, where)]))
    if parameters:
        operation["parameters"] = parameters
    if op.body is not None:
        # An empty body reads as {}: a PATCH without one changes nothing (and answers 200).
        operation["requestBody"] = {"required": method != "PATCH", "content": {op.body_media: {
            "schema": _ref(op.body)}}}
    if role is None:
        operation["security"] = []
    return operation


def _needs(role: str | None, where: str | None) -> str | None:
    """Who may call the route, in words (roles.py)."""
    from .roles import Scope

    if role is None:
        return None
    words: dict[str | None, str] = {Scope.BUCKET: f"Needs the `{role}` role on the bucket (the project's, or a binding to the bucket).",
            Scope.BUCKETS: f"Needs the `{role}` role on the project or on a bucket; answers only about the buckets "
                           "the caller may see.",
            Scope.IDENTIFIED: "Needs any valid token."}
    return words.get(where, f"Needs the `{role}` role.")


def _ref(model: type[BaseModel] | None) -> Schema:
    if model is None:
        raise ValueError("an operation without media answers a model")
    return {"$ref": REF.format(model=model.__name__)}


def _camel(name: str) -> str:
    """`list_buckets` -> `listBuckets`: the operationId, from the view function's name."""
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)
