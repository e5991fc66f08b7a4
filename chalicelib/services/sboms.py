"""SBOMs of builds published through the HCP API, and the packages they list.

**Upload** (UploadSbom, Packer's `hcp-sbom` provisioner): taken only while the build is
running, as HCP Packer takes it (else a 400 in its words, whether or not the version is
complete). The document is read (domain/sboms.py: zstd, CycloneDX 1.4–1.6 or SPDX 2.x JSON,
its packages) before anything is stored, so a refused one changes nothing. Then, in this
order: both objects in the manifest bucket under `_registry/sboms/<bucket>/<fp>/<build id>/`
(ingestion skips that prefix): the original as sent (`<name>.<sbom id>.<format>.json.zst`)
and the decompressed JSON that GetSbom's URL serves (`….json`); one package item per package
(storage/sboms.py, BatchWriteItem); its purls queued for the sweep's check against OSV
(services/vulns.py); last, the SBOM named on its build, in a transaction conditioned on the
build still running with the SBOMs read (noting the queued purls for the sweep). Until that commits nothing names
what was written, and on any failure it is deleted again; an SBOM uploaded again under its
name replaces the earlier one, whose objects and packages go only once the new one is named.
An unnamed SBOM gets a fresh ULID name, as HCP Packer names it.

**Reads**: ListSboms and GetSbom read the build (a GetItem and a Query); GetSbom answers a
presigned S3 URL of the decompressed document (15 minutes; under `make run` the moto server's
URL). The package lists are one Query a page (by build, or by bucket through its index).

**Deletion**: a version's or draft's SBOMs go with it (delete): per build that names any, the
objects (one S3 listing and one delete) and the package items (one Query of their keys, then
BatchWriteItem), after the version is gone; a failure is logged, never raised.
"""

from __future__ import annotations

import base64
import binascii
import os
from typing import TYPE_CHECKING, Any, Callable, Iterable

from botocore.exceptions import ClientError

from . import publishing, vulns
from .. import storage
from ..domain import ids, sboms as rules
from ..domain.builds import FINGERPRINT
from ..domain.enums import BuildStatus, SweepWork
from ..domain.manifest import RESERVED_PREFIX
from ..errors import BadRequest, NotFound
from ..runtime import aws
from ..runtime.clock import now_iso
from ..runtime.observability import logger
from ..storage import entities
from .retry import retrying

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ObjectIdentifierTypeDef

PREFIX = f"{RESERVED_PREFIX}sboms/"
MAX_COMPRESSED_BYTES = 4 * 1024 * 1024  # base64 of it must fit Lambda's 6 MB request payload
NOT_RUNNING = "This build's status isn't Running, so sboms can not be uploaded"  # HCP Packer's words
DOWNLOAD_SECONDS = 900
Sbom = dict[str, Any]  # an SBOM as its build names it: id, name, format, key, document, size, packages


def manifest_bucket() -> str:
    return os.environ.get("MANIFEST_BUCKET", "packer-manifests")


def prefix(bucket: str, fingerprint: str, build_id: str) -> str:
    """Where a build's SBOM objects are stored in the manifest bucket."""
    return f"{PREFIX}{bucket}/{fingerprint}/{build_id}/"


# ---- upload -------------------------------------------------------------------------------

def upload(bucket: str, fingerprint: str, build_id: str, name: str | None, sbom_format: str, compressed: str,
           actor: str) -> Sbom:
    """Store an SBOM of a running build and its packages (the module's docstring): the SBOM as
    its build now names it. DynamoDB: the build's read (a GetItem and a Query), a BatchWriteItem
    per 25 packages, the transaction naming it (again, with the read, on a lost race); S3: two
    puts. Replacing an SBOM of the same name adds one Query of the build's package keys and the
    deletes."""
    body, name = _request(sbom_format, compressed, name)
    version, build = _running(bucket, fingerprint, build_id)
    try:
        document = rules.read(body, sbom_format)
    except rules.Refused as refused:
        raise BadRequest(str(refused)) from None
    sbom_id, now = ids.new(), now_iso()
    key = f"{prefix(bucket, fingerprint, build_id)}{name}.{sbom_id}.{sbom_format.lower()}.json"
    sbom: Sbom = {"id": sbom_id, "name": name, "format": sbom_format, "key": f"{key}.zst", "document": key,
                  "size": len(body), "packages": len(document.packages), "uploaded_at": now, "uploaded_by": actor}
    packages = [entities.Package(bucket, fingerprint, version.id or "", build_id, build.component_type, sbom_id, name,
                                 sbom_format, p.name, p.version, p.purl, p.ecosystem, now) for p in document.packages]
    try:
        _put_object(sbom["key"], body, "application/zstd", sbom)
        _put_object(key, document.raw, "application/json", sbom)
        storage.sboms.put(packages)
        queued = vulns.queue_upload([p.purl for p in packages], now)  # for the sweep's check against OSV
        replaced = _name_on_build(bucket, fingerprint, build, sbom, noted=queued)
    except BaseException:  # nothing names what this upload wrote: it goes (an earlier SBOM of the name stays)
        _discard(bucket, fingerprint, build_id, sbom, [p.item_key() for p in packages])
        raise
    if replaced:
        _discard(bucket, fingerprint, build_id, replaced)
        vulns.bucket_changed(bucket)
    return sbom


def _request(sbom_format: str, compressed: str, name: str | None) -> tuple[bytes, str]:
    """The compressed SBOM's bytes and its name (a new ULID when it has none), as far as the
    request alone says they are right (a 400 for what is not)."""
    if sbom_format not in rules.FORMATS:
        raise BadRequest(f"format must be one of {', '.join(rules.FORMATS)}, not {sbom_format!r}")
    try:
        body = base64.b64decode(compressed, validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("compressed_sbom is not base64") from None
    if not body:
        raise BadRequest("compressed_sbom is empty")
    if len(body) > MAX_COMPRESSED_BYTES:
        raise BadRequest(f"the SBOM is {len(body):,} bytes compressed; the limit is {MAX_COMPRESSED_BYTES:,} "
                         "(an API Gateway request to Lambda carries at most 6 MB)")
    name = name or ids.new()
    if not FINGERPRINT.fullmatch(name):
        raise BadRequest(f"SBOM name {name[:80]!r} is not valid: 1 to 40 of A-Z a-z 0-9 . _ -")
    return body, name


def _running(bucket: str, fingerprint: str, build_id: str) -> publishing.Built:
    """The build and its version; NotFound when either is missing; HCP Packer's refusal when the
    build is not running (checked first: a complete version's builds are all done)."""
    version, build = publishing.get_build(bucket, fingerprint, build_id)
    if build.status != BuildStatus.RUNNING or not isinstance(build, entities.DraftBuild):
        raise BadRequest(NOT_RUNNING)
    return version, build


def _name_on_build(bucket: str, fingerprint: str, build: entities.Build, sbom: Sbom, noted: bool) -> Sbom | None:
    """Name the SBOM on its build, replacing one of the same name: the one replaced, if any.
    The build as read first, then as read again after a lost race; refused once it is not running.
    `noted`: its purls are queued, noted for the sweep in the same transaction."""
    read = [build]
    note = [storage.sweep.note_work(SweepWork.VULNS, sbom["uploaded_at"])] if noted else []

    def attempt() -> Sbom | None:
        current = read.pop() if read else _running(bucket, fingerprint, build.id)[1]
        named = current.sboms or []
        storage.transact([storage.sboms.record(current, [*(s for s in named if s.get("name") != sbom["name"]), sbom]),
                          *note])
        # (not this very SBOM: after a commit whose answer was lost, the retry finds it named)
        return next((s for s in named if s.get("name") == sbom["name"] and s.get("id") != sbom["id"]), None)

    return retrying(attempt, what=f"recording an SBOM of build {build.id}")


def _put_object(key: str, body: bytes, content_type: str, sbom: Sbom) -> None:
    aws.client("s3").put_object(Bucket=manifest_bucket(), Key=key, Body=body, ContentType=content_type,
                                Metadata={"format": sbom["format"], "name": sbom["name"], "sbom-id": sbom["id"]})


# ---- reads --------------------------------------------------------------------------------

def list_sboms(bucket: str, fingerprint: str, build_id: str) -> list[Sbom]:
    """The SBOMs the build names (its read: a GetItem and a Query), each with an id (one
    stored before SBOMs had ids gets one derived from its build and name)."""
    build = publishing.get_build(bucket, fingerprint, build_id)[1]
    return [{**s, "id": s.get("id") or ids.derived(None, "sbom", build_id, s["name"])} for s in build.sboms or []]


def download_url(bucket: str, fingerprint: str, build_id: str, name: str) -> str:
    """A presigned URL of the SBOM's decompressed JSON (DOWNLOAD_SECONDS); NotFound when the
    build names no SBOM so called. One stored before the registry kept the decompressed copy
    gets it now (an S3 read and put)."""
    sbom = next((s for s in list_sboms(bucket, fingerprint, build_id) if s["name"] == name), None)
    if sbom is None:
        raise NotFound(f"The sbom with name {name} does not exist in build {build_id}.")
    key = sbom.get("document") or _decompressed_copy(sbom)
    return aws.client("s3").generate_presigned_url(
        "get_object", ExpiresIn=DOWNLOAD_SECONDS,
        Params={"Bucket": manifest_bucket(), "Key": key, "ResponseContentType": "application/json",
                "ResponseContentDisposition": f'attachment; filename="{name}.json"'})


def _decompressed_copy(sbom: Sbom) -> str:
    """Write the decompressed JSON beside an SBOM stored compressed only; its key."""
    s3, key = aws.client("s3"), str(sbom["key"]).removesuffix(".zst")
    body = s3.get_object(Bucket=manifest_bucket(), Key=sbom["key"])["Body"].read()
    try:
        raw = rules.decompress(body)
    except rules.Refused as refused:
        raise BadRequest(f"the stored SBOM cannot be read: {refused}") from None
    _put_object(key, raw, "application/json", sbom)
    return key


def build_packages(bucket: str, fingerprint: str, build_id: str, token: str | None, limit: int,
                   **narrowed: str | None) -> tuple[list[entities.Package], str | None]:
    """A page of a build's packages: one Query; the build's read too when the page is empty,
    so that a missing build is a 404 (NotFound)."""
    found, next_token = storage.sboms.build_page(bucket, fingerprint, build_id, token, limit, **narrowed)
    if not found and not next_token:
        publishing.get_build(bucket, fingerprint, build_id)
    return found, next_token


def bucket_packages(bucket: str, token: str | None, limit: int,
                    **narrowed: str | None) -> tuple[list[entities.Package], str | None]:
    """A page of the packages of the bucket's builds: one Query; a GetItem of the bucket too
    when the page is empty (NotFound without it)."""
    found, next_token = storage.sboms.bucket_page(bucket, token, limit, **narrowed)
    if not found and not next_token and not storage.buckets.bucket(bucket, consistent=False):
        raise NotFound(f"The bucket with identifier {bucket} does not exist.")
    return found, next_token


# ---- deletion -----------------------------------------------------------------------------

def delete(bucket: str, fingerprint: str, builds: Iterable[entities.Build]) -> None:
    """Delete the SBOMs of a deleted version's (or draft's) builds, their objects and packages
    (ingested builds have none): per build that names any, one Query of its package keys and a
    BatchWriteItem per 25, one S3 listing and one delete. Run once the version is gone, so a
    failure cannot be retried through the API: it is logged with what is left, never raised."""
    with_sboms = [build for build in builds if build.sboms]
    for build in with_sboms:
        _delete_packages(lambda: storage.sboms.sbom_keys(bucket, fingerprint, build.id), build.id)
        _delete_objects(prefix(bucket, fingerprint, build.id))
    if with_sboms:
        vulns.bucket_changed(bucket)  # its vulnerabilities and summary, made again without them


def delete_objects(bucket: str) -> None:
    """Delete the SBOM objects of a deleted bucket (its package items went with its partition):
    an S3 listing and a delete per 1,000 objects; a failure is logged, never raised."""
    _delete_objects(f"{PREFIX}{bucket}/")


def _discard(bucket: str, fingerprint: str, build_id: str, sbom: Sbom,
             packages: list[storage.table.Item] | None = None) -> None:
    """Delete one SBOM's objects and package items (`packages`: their keys when known, else
    found by its id; one stored before SBOMs had ids has none)."""
    if packages is not None:
        known = packages
        _delete_packages(lambda: known, build_id)
    elif sbom.get("id"):
        _delete_packages(lambda: storage.sboms.sbom_keys(bucket, fingerprint, build_id, sbom["id"]), build_id)
    _delete_objects(sbom.get("document") or sbom["key"])  # a prefix of both objects


def _delete_packages(found: Callable[[], list[storage.table.Item]], build_id: str) -> None:
    try:
        storage.sboms.delete(found())
    except (ClientError, storage.StorageError) as exc:
        logger.error("SBOM packages not deleted", extra={"build_id": build_id, "error": str(exc)})


def _delete_objects(prefix: str) -> None:
    """Delete every object under `prefix`, every version of it (the manifest bucket is
    versioned on AWS); a failure is logged with the prefix left, never raised."""
    s3, bucket = aws.client("s3"), manifest_bucket()
    try:
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix):
            listed = [*page.get("Versions", []), *page.get("DeleteMarkers", [])]
            doomed: list[ObjectIdentifierTypeDef] = [{"Key": v["Key"], "VersionId": v["VersionId"]} for v in listed]
            if doomed:
                failed = s3.delete_objects(Bucket=bucket, Delete={"Objects": doomed, "Quiet": True}).get("Errors")
                if failed:
                    logger.error("SBOM objects not deleted", extra={"prefix": prefix, "errors": failed[:10]})
    except ClientError as exc:
        logger.error("SBOM objects not deleted", extra={"prefix": prefix, "error": str(exc)})
