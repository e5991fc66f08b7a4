"""Routes and event handlers only: every decision lives in chalicelib/.

The chalicelib modules are loaded on first use (chalicelib/lazy.py), so a cold Lambda loads
only what its request needs: the consumer query, for one, never imports pydantic.
"""

import os
from urllib.parse import unquote

from chalice import Chalice, Rate

from chalicelib.http import (
    actor,
    body,
    flag,
    guard,
    int_param,
    json_body,
    list_params,
    page,
    required,
    respond,
    sees_restricted,
)
from chalicelib.lazy import lazy
from chalicelib.observability import observe

ancestry, artifacts, audit, auth, buckets, channels, compliance, ingest, lifecycle, models, openapi, serving, \
    versions, web = (lazy(f"chalicelib.{name}") for name in (
        "ancestry", "artifacts", "audit", "auth", "buckets", "channels", "compliance", "ingest", "lifecycle",
        "models", "openapi", "serving", "versions", "web"))

app = Chalice(app_name="packer-registry")
app.register_middleware(observe, "all")
app.register_middleware(guard(app.routes), "http")


@app.authorizer(ttl_seconds=0)  # no caching: a deleted token stops working at once
def registry_auth(auth_request):
    return auth.authorize(auth_request)


def api(path, **options):
    """A route behind the token authorizer (roles are checked by the error middleware)."""
    return app.route(path, authorizer=registry_auth, **options)

# Read at deploy time to wire the S3 trigger; scripts/deploy.sh sets it from the stack.
MANIFEST_BUCKET = os.environ.get("MANIFEST_BUCKET", "packer-manifests")


# ---- events -----------------------------------------------------------------------------

@app.on_s3_event(bucket=MANIFEST_BUCKET, events=["s3:ObjectCreated:*"])
def ingest_manifest(event):
    ingest.handle_s3_event(event.to_dict())


@app.schedule(Rate(1, unit=Rate.HOURS))
def sweep(event):
    compliance.sweep()


# ---- buckets ----------------------------------------------------------------------------

@api("/buckets", methods=["GET"])
def list_buckets():
    request = app.current_request
    return page(*buckets.list_buckets(*list_params(request), see_restricted=sees_restricted(request)))


@api("/buckets", methods=["POST"])
def create_bucket():
    request = app.current_request
    return respond(buckets.create_bucket(body(request, models.CreateBucket), actor(request)), 201)


@api("/buckets/{bucket}", methods=["GET"])
def get_bucket(bucket):
    return respond(buckets.get_bucket(bucket, sees_restricted(app.current_request)))


@api("/buckets/{bucket}", methods=["PATCH"])
def update_bucket(bucket):
    request = app.current_request
    return respond(buckets.update_bucket(bucket, body(request, models.UpdateBucket), actor(request)))


@api("/buckets/{bucket}", methods=["DELETE"])
def delete_bucket(bucket):
    return respond(buckets.delete_bucket(bucket, actor(app.current_request)))


# ---- versions ---------------------------------------------------------------------------

@api("/buckets/{bucket}/versions", methods=["GET"])
def list_versions(bucket):
    request = app.current_request
    return page(*versions.list_versions(bucket, *list_params(request), see_restricted=sees_restricted(request)))


@api("/buckets/{bucket}/versions/{version}", methods=["GET"])
def get_version(bucket, version):
    return respond(versions.get_version(bucket, version, sees_restricted(app.current_request)))


@api("/buckets/{bucket}/versions/{version}", methods=["DELETE"])
def delete_version(bucket, version):
    request = app.current_request
    return respond(lifecycle.delete_version(bucket, version, flag(request, "rollback_channels"), actor(request)))


@api("/buckets/{bucket}/versions/{version}/revoke", methods=["POST"])
def revoke_version(bucket, version):
    request = app.current_request
    return respond(lifecycle.revoke(bucket, version, body(request, models.RevokeRequest), actor(request)))


@api("/buckets/{bucket}/versions/{version}/restore", methods=["POST"])
def restore_version(bucket, version):
    return respond(lifecycle.restore(bucket, version, actor(app.current_request)))


@api("/buckets/{bucket}/versions/{version}/ancestry", methods=["GET"])
def version_ancestry(bucket, version):
    return respond(ancestry.ancestry(bucket, version, sees_restricted(app.current_request)))


@api("/buckets/{bucket}/versions/{version}/descendants", methods=["GET"])
def version_descendants(bucket, version):
    return respond(ancestry.descendants(bucket, version, int_param(app.current_request, "depth", 5)))


# ---- channels ---------------------------------------------------------------------------

@api("/buckets/{bucket}/channels", methods=["GET"])
def list_channels(bucket):
    request = app.current_request
    return page(*channels.list_channels(bucket, *list_params(request), see_restricted=sees_restricted(request)))


@api("/buckets/{bucket}/channels", methods=["POST"])
def create_channel(bucket):
    request = app.current_request
    return respond(channels.create_channel(bucket, body(request, models.CreateChannel), actor(request)), 201)


@api("/buckets/{bucket}/channels/{channel}", methods=["GET"])
def get_channel(bucket, channel):
    return respond(channels.get_channel(bucket, channel, sees_restricted(app.current_request)))


@api("/buckets/{bucket}/channels/{channel}", methods=["PATCH"])
def update_channel(bucket, channel):
    request = app.current_request
    return respond(channels.update_channel(bucket, channel, body(request, models.UpdateChannel), actor(request)))


@api("/buckets/{bucket}/channels/{channel}", methods=["DELETE"])
def delete_channel(bucket, channel):
    return respond(channels.delete_channel(bucket, channel, actor(app.current_request)))


@api("/buckets/{bucket}/channels/{channel}/history", methods=["GET"])
def channel_history(bucket, channel):
    request = app.current_request
    return page(*channels.history(bucket, channel, *list_params(request), see_restricted=sees_restricted(request)))


@api("/buckets/{bucket}/channels/{channel}/artifact", methods=["GET"])
def consumer_query(bucket, channel):
    request = app.current_request
    params = request.query_params or {}
    return respond(serving.serve(bucket, channel, params.get("platform"), params.get("region"),
                                 params.get("component_type"), serving.parse_labels(params.get("labels")),
                                 sees_restricted(request)))


# ---- artifacts and compliance -------------------------------------------------------------------------

@api("/artifacts/{external_id}", methods=["GET"])
def artifact(external_id):
    return respond(artifacts.lookup(unquote(external_id), sees_restricted(app.current_request)))


@api("/artifacts", methods=["GET"])
def artifact_by_query():
    """For IDs with slashes (Azure resource IDs): GET /artifacts?id=/subscriptions/..."""
    request = app.current_request
    return respond(artifacts.lookup(required(request, "id"), sees_restricted(request)))


@api("/compliance/check", methods=["POST"])
def compliance_check():
    request = app.current_request
    return respond(artifacts.check_body(json_body(request), sees_restricted(request)))


@api("/compliance/sweep", methods=["POST"])
def run_sweep():
    return respond(compliance.sweep())


@api("/compliance/report", methods=["GET"])
def compliance_report():
    request = app.current_request
    return respond(compliance.report(*list_params(request), see_restricted=sees_restricted(request)))


# ---- ingestions -------------------------------------------------------------------------

@api("/ingestions", methods=["GET"])
def list_ingestions():
    request = app.current_request
    status = (request.query_params or {}).get("status")
    return page(*ingest.list_ingestions(status, *list_params(request)))


# ---- tokens -----------------------------------------------------------------------------

@api("/buckets/{bucket}/events", methods=["GET"])
def bucket_events(bucket):
    request = app.current_request
    return page(*audit.list_events(bucket, *list_params(request), see_restricted=sees_restricted(request)))


@api("/events", methods=["GET"])
def registry_events():
    """The registry-wide trail: token changes and rejected manifests without a bucket."""
    return page(*audit.list_events(None, *list_params(app.current_request)))


@api("/whoami", methods=["GET"])
def whoami():
    """Who the token is: name, role, token id (the page uses it to show or hide actions)."""
    return respond(auth.whoami(app.current_request.context.get("authorizer")))


@api("/tokens", methods=["GET"])
def list_tokens():
    return page(*auth.list_tokens(*list_params(app.current_request)))


@api("/tokens", methods=["POST"])
def create_token():
    request = app.current_request
    return respond(auth.create_token(body(request, models.CreateToken), actor(request)), 201)


@api("/tokens/{token_id}", methods=["DELETE"])
def delete_token(token_id):
    return respond(auth.delete_token(token_id, actor(app.current_request)))


# ---- the page and the API description ---------------------------------------------------

@app.route("/", methods=["GET"])
def index():
    return web.page("index.html")


@app.route("/static/{asset}", methods=["GET"])
def static_asset(asset):
    return web.page(asset)


@app.route("/openapi.json", methods=["GET"])
def openapi_document():
    return respond(openapi.document())
