"""Routes and event handlers only: every decision lives in chalicelib/.

The chalicelib modules are loaded on first use (chalicelib/runtime/lazy.py), so a cold Lambda loads
only what its request needs: the consumer query, for one, never imports pydantic.
"""

import os
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import unquote

from chalice import AuthResponse, Chalice, Rate, Response
from chalice.app import AuthRequest, CloudWatchEvent, S3Event, SQSEvent

from chalicelib.api.http import (
    actor,
    body,
    current_request,
    filters,
    flag,
    guard,
    int_param,
    is_admin,
    json_body,
    list_params,
    page,
    query,
    required,
    respond,
    sees_restricted,
)
from chalicelib.api.hcp import routes as hcp
from chalicelib.runtime.lazy import lazy
from chalicelib.runtime.observability import observe

if TYPE_CHECKING:  # editors and mypy see the real modules
    from chalicelib.api import oauth, openapi, web
    from chalicelib.domain import models
    from chalicelib.services import (
        ancestry, artifacts, audit, auth, buckets, channels, compliance, ingest, lifecycle, principals, revocations,
        runtasks, serving, versions, webhooks)
    from chalicelib.services import retention
    from chalicelib.services import access
else:  # at run time, stand-ins that import each module when a route first uses it
    ancestry, artifacts, audit, auth, buckets, channels, compliance, ingest, lifecycle, models, oauth, openapi, \
        principals, revocations, runtasks, serving, versions, web, webhooks = (lazy(f"chalicelib.{name}") for name in (
            "services.ancestry", "services.artifacts", "services.audit", "services.auth", "services.buckets",
            "services.channels", "services.compliance", "services.ingest", "services.lifecycle", "domain.models",
            "api.oauth", "api.openapi", "services.principals", "services.revocations", "services.runtasks",
            "services.serving", "services.versions", "api.web", "services.webhooks"))
    retention = lazy("chalicelib.services.retention")
    access = lazy("chalicelib.services.access")

app = Chalice(app_name="packer-registry")
app.register_middleware(observe, "all")
app.register_middleware(guard(app.routes), "http")


@app.authorizer(ttl_seconds=0)  # no caching: a deleted token stops working at once
def registry_auth(auth_request: AuthRequest) -> AuthResponse:
    return auth.authorize(auth_request)


app.register_blueprint(hcp.blueprint())  # the HCP Packer-compatible API (chalicelib/api/hcp; it reads tokens itself)


def api(path: str, **options: Any) -> Callable[..., Any]:
    """A route behind the token authorizer (roles are checked by the error middleware)."""
    return app.route(path, authorizer=registry_auth, **options)

# Read at deploy time to wire the S3 trigger and the run-task queue; scripts/deploy.sh sets
# them from the stack.
MANIFEST_BUCKET = os.environ.get("MANIFEST_BUCKET", "packer-manifests")
RUN_TASK_QUEUE = os.environ.get("RUN_TASK_QUEUE", "packer-registry-run-tasks")
WEBHOOK_QUEUE = os.environ.get("WEBHOOK_QUEUE", "packer-registry-webhooks")


# ---- events -----------------------------------------------------------------------------

@app.on_s3_event(bucket=MANIFEST_BUCKET, events=["s3:ObjectCreated:*"])
def ingest_manifest(event: S3Event) -> None:
    ingest.handle_s3_event(event.to_dict())


@app.schedule(Rate(1, unit=Rate.HOURS))
def sweep(event: CloudWatchEvent) -> None:
    compliance.sweep()


@app.on_sqs_message(queue=RUN_TASK_QUEUE, batch_size=1)
def run_task(event: SQSEvent) -> None:
    """HCP Terraform run-task requests that POST /runtasks/hcp-terraform queued: check the
    plan, send the result (services/runtasks.py)."""
    for record in event:
        runtasks.process(record.body)


@app.on_sqs_message(queue=WEBHOOK_QUEUE, batch_size=1)
def webhook_delivery(event: SQSEvent) -> None:
    """The registry's audit events (EventBridge rule -> queue) and queued retries: send them
    to the webhooks that want them (services/webhooks.py)."""
    for record in event:
        webhooks.handle(record.body)


# ---- buckets ----------------------------------------------------------------------------

@api("/buckets", methods=["GET"])
def list_buckets() -> Response:
    request = current_request(app)
    return page(*buckets.list_buckets(*list_params(request), see_restricted=sees_restricted(request),
                                      filters=filters(request)))


@api("/buckets", methods=["POST"])
def create_bucket() -> Response:
    request = current_request(app)
    return respond(buckets.create_bucket(body(request, models.CreateBucket), actor(request)), 201)


@api("/buckets/{bucket}", methods=["GET"])
def get_bucket(bucket: str) -> Response:
    return respond(buckets.get_bucket(bucket, sees_restricted(current_request(app))))


@api("/buckets/{bucket}", methods=["PATCH"])
def update_bucket(bucket: str) -> Response:
    request = current_request(app)
    return respond(buckets.update_bucket(bucket, body(request, models.UpdateBucket), actor(request)))


@api("/buckets/{bucket}", methods=["DELETE"])
def delete_bucket(bucket: str) -> Response:
    return respond(buckets.delete_bucket(bucket, actor(current_request(app))))


@api("/buckets/{bucket}/access", methods=["GET"])
def get_bucket_access(bucket: str) -> Response:
    return respond(access.get_access(bucket))


@api("/buckets/{bucket}/access", methods=["PUT"])
def put_bucket_access(bucket: str) -> Response:
    request = current_request(app)
    return respond(access.set_access(bucket, body(request, models.SetBucketAccess), actor(request)))


# ---- versions ---------------------------------------------------------------------------

@api("/buckets/{bucket}/versions", methods=["GET"])
def list_versions(bucket: str) -> Response:
    request = current_request(app)
    return page(*versions.list_versions(bucket, *list_params(request), see_restricted=sees_restricted(request),
                                        filters=filters(request)))


@api("/buckets/{bucket}/versions/{version}", methods=["GET"])
def get_version(bucket: str, version: str) -> Response:
    return respond(versions.get_version(bucket, version, sees_restricted(current_request(app))))


@api("/buckets/{bucket}/versions/{version}", methods=["DELETE"])
def delete_version(bucket: str, version: str) -> Response:
    request = current_request(app)
    return respond(lifecycle.delete_version(bucket, version, flag(request, "rollback_channels"), actor(request)))


@api("/buckets/{bucket}/versions/{version}/revoke", methods=["POST"])
def revoke_version(bucket: str, version: str) -> Response:
    request = current_request(app)
    return respond(lifecycle.revoke(bucket, version, body(request, models.RevokeRequest), actor(request)))


@api("/buckets/{bucket}/versions/{version}/restore", methods=["POST"])
def restore_version(bucket: str, version: str) -> Response:
    return respond(lifecycle.restore(bucket, version, actor(current_request(app))))


# ---- bulk revocation ----------------------------------------------------------------------

@api("/buckets/{bucket}/revocations", methods=["POST"])
def revoke_in_bucket(bucket: str) -> Response:
    request = current_request(app)
    return respond(*revocations.start_in_bucket(bucket, body(request, models.BucketRevocationRequest),
                                                actor(request)))


@api("/revocations", methods=["POST"])
def revoke_across_buckets() -> Response:
    request = current_request(app)
    return respond(*revocations.start_across_buckets(body(request, models.RevocationRequest), actor(request)))


@api("/revocations/{revocation_id}", methods=["GET"])
def get_revocation(revocation_id: str) -> Response:
    request = current_request(app)
    return respond(revocations.get_job(revocation_id, is_admin(request), sees_restricted(request)))


@api("/buckets/{bucket}/versions/{version}/ancestry", methods=["GET"])
def version_ancestry(bucket: str, version: str) -> Response:
    return respond(ancestry.ancestry(bucket, version, sees_restricted(current_request(app))))


@api("/buckets/{bucket}/versions/{version}/descendants", methods=["GET"])
def version_descendants(bucket: str, version: str) -> Response:
    request = current_request(app)
    return respond(ancestry.descendants(bucket, version, int_param(request, "depth", 5),
                                        query(request).get("next_token") or None))


# ---- retention policies -------------------------------------------------------------------

@api("/buckets/{bucket}/retention", methods=["GET"])
def get_retention(bucket: str) -> Response:
    return respond(retention.get_policy(bucket))


@api("/buckets/{bucket}/retention", methods=["PUT"])
def put_retention(bucket: str) -> Response:
    request = current_request(app)
    return respond(retention.put_policy(bucket, body(request, models.RetentionRequest), actor(request)))


@api("/buckets/{bucket}/retention", methods=["DELETE"])
def delete_retention(bucket: str) -> Response:
    return respond(retention.delete_policy(bucket, actor(current_request(app))))


@api("/buckets/{bucket}/retention/preview", methods=["GET"])
def retention_preview(bucket: str) -> Response:
    return respond(retention.preview(bucket, *list_params(current_request(app))))


# ---- channels ---------------------------------------------------------------------------

@api("/buckets/{bucket}/channels", methods=["GET"])
def list_channels(bucket: str) -> Response:
    request = current_request(app)
    return page(*channels.list_channels(bucket, *list_params(request), see_restricted=sees_restricted(request)))


@api("/buckets/{bucket}/channels", methods=["POST"])
def create_channel(bucket: str) -> Response:
    request = current_request(app)
    return respond(channels.create_channel(bucket, body(request, models.CreateChannel), actor(request)), 201)


@api("/buckets/{bucket}/channels/{channel}", methods=["GET"])
def get_channel(bucket: str, channel: str) -> Response:
    return respond(channels.get_channel(bucket, channel, sees_restricted(current_request(app))))


@api("/buckets/{bucket}/channels/{channel}", methods=["PATCH"])
def update_channel(bucket: str, channel: str) -> Response:
    request = current_request(app)
    return respond(channels.update_channel(bucket, channel, body(request, models.UpdateChannel), actor(request)))


@api("/buckets/{bucket}/channels/{channel}", methods=["DELETE"])
def delete_channel(bucket: str, channel: str) -> Response:
    return respond(channels.delete_channel(bucket, channel, actor(current_request(app))))


@api("/buckets/{bucket}/channels/{channel}/history", methods=["GET"])
def channel_history(bucket: str, channel: str) -> Response:
    request = current_request(app)
    return page(*channels.history(bucket, channel, *list_params(request), see_restricted=sees_restricted(request)))


@api("/buckets/{bucket}/channels/{channel}/artifact", methods=["GET"])
def consumer_query(bucket: str, channel: str) -> Response:
    request = current_request(app)
    params = query(request)
    return respond(serving.serve(bucket, channel, params.get("platform"), params.get("region"),
                                 params.get("component_type"), serving.parse_labels(params.get("labels")),
                                 sees_restricted(request)))


# ---- artifacts and compliance -------------------------------------------------------------------------

@api("/artifacts/{external_id}", methods=["GET"])
def get_artifact(external_id: str) -> Response:
    return respond(artifacts.lookup(unquote(external_id), sees_restricted(current_request(app))))


@api("/artifacts", methods=["GET"])
def get_artifact_by_id() -> Response:
    """For IDs with slashes (Azure resource IDs): GET /artifacts?id=/subscriptions/..."""
    request = current_request(app)
    return respond(artifacts.lookup(required(request, "id"), sees_restricted(request)))


@api("/compliance/check", methods=["POST"])
def compliance_check() -> Response:
    request = current_request(app)
    return respond(artifacts.check_body(json_body(request), sees_restricted(request)))


@api("/compliance/sweep", methods=["POST"])
def compliance_sweep() -> Response:
    return respond(compliance.sweep())


@api("/compliance/report", methods=["GET"])
def compliance_report() -> Response:
    request = current_request(app)
    return respond(compliance.report(*list_params(request), see_restricted=sees_restricted(request)))


# ---- ingestions -------------------------------------------------------------------------

@api("/ingestions", methods=["GET"])
def list_ingestions() -> Response:
    request = current_request(app)
    return page(*ingest.list_ingestions(*list_params(request), filters=filters(request)))


# ---- tokens -----------------------------------------------------------------------------

@api("/buckets/{bucket}/events", methods=["GET"])
def bucket_events(bucket: str) -> Response:
    request = current_request(app)
    return page(*audit.list_events(bucket, *list_params(request), see_restricted=sees_restricted(request),
                                   filters=filters(request)))


@api("/events", methods=["GET"])
def registry_events() -> Response:
    """The registry-wide trail: token changes and rejected manifests without a bucket."""
    request = current_request(app)
    return page(*audit.list_events(None, *list_params(request), filters=filters(request)))


@api("/whoami", methods=["GET"])
def whoami() -> Response:
    """Who the token is: name, role, token id (the page uses it to show or hide actions)."""
    return respond(auth.whoami(current_request(app).context.get("authorizer")))


@api("/tokens", methods=["GET"])
def list_tokens() -> Response:
    return page(*auth.list_tokens(*list_params(current_request(app))))


@api("/tokens", methods=["POST"])
def create_token() -> Response:
    request = current_request(app)
    return respond(auth.create_token(body(request, models.CreateToken), actor(request)), 201)


@api("/tokens/{token_id}", methods=["DELETE"])
def delete_token(token_id: str) -> Response:
    return respond(auth.delete_token(token_id, actor(current_request(app))))


# ---- service principals: client credentials for the HCP-compatible API --------------------

@api("/service-principals", methods=["GET"])
def list_service_principals() -> Response:
    return page(*principals.list_principals(*list_params(current_request(app))))


@api("/service-principals", methods=["POST"])
def create_service_principal() -> Response:
    request = current_request(app)
    return respond(principals.create_principal(body(request, models.CreateServicePrincipal), actor(request)), 201)


@api("/service-principals/{client_id}", methods=["DELETE"])
def delete_service_principal(client_id: str) -> Response:
    return respond(principals.delete_principal(client_id, actor(current_request(app))))


# ---- webhooks (admin) --------------------------------------------------------------------

@api("/webhooks", methods=["GET"])
def list_webhooks() -> Response:
    return page(*webhooks.list_webhooks(*list_params(current_request(app))))


@api("/webhooks", methods=["POST"])
def create_webhook() -> Response:
    request = current_request(app)
    return respond(webhooks.create_webhook(body(request, models.CreateWebhook), actor(request)), 201)


@api("/webhooks/{webhook_id}", methods=["GET"])
def get_webhook(webhook_id: str) -> Response:
    return respond(webhooks.get_webhook(webhook_id))


@api("/webhooks/{webhook_id}", methods=["DELETE"])
def delete_webhook(webhook_id: str) -> Response:
    return respond(webhooks.delete_webhook(webhook_id, actor(current_request(app))))


@api("/webhooks/{webhook_id}/deliveries", methods=["GET"])
def webhook_deliveries(webhook_id: str) -> Response:
    return page(*webhooks.deliveries(webhook_id, *list_params(current_request(app))))


# Public (the client authenticates in the request); every media type reaches the view, so a
# form post is never Chalice's 415 (api/oauth.py answers what it cannot read).
@app.route("/oauth2/token", methods=["POST"], content_types=["*/*"])
def oauth2_token() -> Response:
    return oauth.token(current_request(app))


# Public: HCP Terraform authenticates with the request's HMAC signature (X-TFC-Task-Signature),
# checked before anything else; any media type reaches the view. The path is runtasks.ENDPOINT.
@app.route("/runtasks/hcp-terraform", methods=["POST"], content_types=["*/*"])
def run_task_request() -> Response:
    request = current_request(app)
    return respond(runtasks.receive(request.raw_body or b"", request.headers.get("x-tfc-task-signature")))


# ---- the page and the API description ---------------------------------------------------
# (each route above has its OpenAPI declaration, by view function name, in chalicelib/api/openapi.py)

@app.route("/", methods=["GET"])
def web_page() -> Response:
    return web.page("index.html")


@app.route("/static/{asset}", methods=["GET"])
def static_asset(asset: str) -> Response:
    return web.page(asset)


@app.route("/openapi.json", methods=["GET"])
def openapi_document() -> Response:
    """The native API's description (the HCP Packer-compatible routes are HashiCorp's API: not listed)."""
    return respond(openapi.document(app.routes))
