"""Routes and event handlers only: every decision lives in chalicelib/."""

import os

from chalice import Chalice, Rate

from chalicelib import buckets, ingest, versions
from chalicelib.http import body, handle_errors, list_params, page, respond
from chalicelib.models import CreateBucket, UpdateBucket
from chalicelib.observability import logger, observe

app = Chalice(app_name="packer-registry")
app.register_middleware(observe, "all")
app.register_middleware(handle_errors, "http")

# Read at deploy time to wire the S3 trigger; scripts/deploy.sh sets it from the stack.
MANIFEST_BUCKET = os.environ.get("MANIFEST_BUCKET", "packer-manifests")


# ---- events -----------------------------------------------------------------------------

@app.on_s3_event(bucket=MANIFEST_BUCKET, events=["s3:ObjectCreated:*"])
def ingest_manifest(event):
    ingest.handle_s3_event(event.to_dict())


@app.schedule(Rate(1, unit=Rate.HOURS))
def sweep(event):
    logger.info("sweep ran", extra={"applied": 0})


# ---- buckets ----------------------------------------------------------------------------

@app.route("/buckets", methods=["GET"])
def list_buckets():
    return page(*buckets.list_buckets(*list_params(app.current_request)))


@app.route("/buckets", methods=["POST"])
def create_bucket():
    return respond(buckets.create_bucket(body(app.current_request, CreateBucket)), 201)


@app.route("/buckets/{bucket}", methods=["GET"])
def get_bucket(bucket):
    return respond(buckets.get_bucket(bucket))


@app.route("/buckets/{bucket}", methods=["PATCH"])
def update_bucket(bucket):
    return respond(buckets.update_bucket(bucket, body(app.current_request, UpdateBucket)))


@app.route("/buckets/{bucket}", methods=["DELETE"])
def delete_bucket(bucket):
    return respond(buckets.delete_bucket(bucket))


# ---- versions ---------------------------------------------------------------------------

@app.route("/buckets/{bucket}/versions", methods=["GET"])
def list_versions(bucket):
    return page(*versions.list_versions(bucket, *list_params(app.current_request)))


@app.route("/buckets/{bucket}/versions/{version}", methods=["GET"])
def get_version(bucket, version):
    return respond(versions.get_version(bucket, version))


@app.route("/buckets/{bucket}/versions/{version}", methods=["DELETE"])
def delete_version(bucket, version):
    return respond(versions.delete_version(bucket, version))


# ---- ingestions -------------------------------------------------------------------------

@app.route("/ingestions", methods=["GET"])
def list_ingestions():
    request = app.current_request
    status = (request.query_params or {}).get("status")
    return page(*ingest.list_ingestions(status, *list_params(request)))
