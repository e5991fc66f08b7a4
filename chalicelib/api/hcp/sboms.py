"""What the HCP routes of SBOMs and packages answer (services/sboms.py), in hcp-sdk-go's shapes:
UploadSbom `{}`, ListSboms `{"sboms": [{id, name, format}]}`, GetSbom `{"download_url"}`,
ListBuildPackages and ListBucketPackages `{"packages": [{name, version, purl, sboms}],
"pagination"}`.

A package row is one package (name, version, purl) with the SBOMs that list it: the items of
one page that name it (storage keeps them on one page: storage/sboms.py). `package_name`
(exact), `package_name_starts_with` and `package_version` narrow the lists; `sorting.order_by`
is not read (packages come by name, then version). A missing bucket, version or build is a
404 (code 5) in HCP Packer's words for a bucket, the registry's for the rest.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from chalice.app import Request

from ...errors import NotFound
from ...services import sboms
from ...storage import entities
from ..http import query
from .requests import Body, page, sbom
from .resources import _pagination, bucket_item

Json = dict[str, Any]
T = TypeVar("T")


def _in_bucket(bucket: str, answer: Callable[[], T]) -> T:
    """`answer()`, but a NotFound of a missing bucket in HCP Packer's words."""
    try:
        return answer()
    except NotFound:
        bucket_item(bucket)
        raise


def upload(bucket: str, fingerprint: str, build_id: str, data: Body, actor: str) -> Json:
    name, sbom_format, compressed = sbom(data)
    _in_bucket(bucket, lambda: sboms.upload(bucket, fingerprint, build_id, name, sbom_format, compressed, actor))
    return {}


def list_sboms(bucket: str, fingerprint: str, build_id: str) -> Json:
    found = _in_bucket(bucket, lambda: sboms.list_sboms(bucket, fingerprint, build_id))
    return {"sboms": [_sbom(s["id"], s["name"], s["format"]) for s in found]}


def get_sbom(bucket: str, fingerprint: str, build_id: str, name: str) -> Json:
    return {"download_url": _in_bucket(bucket, lambda: sboms.download_url(bucket, fingerprint, build_id, name))}


def build_packages(bucket: str, fingerprint: str, build_id: str, request: Request) -> Json:
    limit, token = page(request)
    found, next_token = _in_bucket(bucket, lambda: sboms.build_packages(
        bucket, fingerprint, build_id, token, limit, **_narrowed(request)))
    return {"packages": _rows(found), "pagination": _pagination(next_token)}


def bucket_packages(bucket: str, request: Request) -> Json:
    limit, token = page(request)
    found, next_token = _in_bucket(bucket, lambda: sboms.bucket_packages(bucket, token, limit, **_narrowed(request)))
    return {"packages": _rows(found), "pagination": _pagination(next_token)}


def _narrowed(request: Request) -> dict[str, str | None]:
    params = query(request)
    return {"name": params.get("package_name") or None, "name_prefix": params.get("package_name_starts_with") or None,
            "version": params.get("package_version") or None}


def _rows(found: list[entities.Package]) -> list[Json]:
    """One row per package (name, version, purl) with the SBOMs that list it, in the order read."""
    rows: dict[tuple[str, str, str], Json] = {}
    for item in found:
        row = rows.setdefault((item.name, item.version, item.purl), {
            "name": item.name, "version": item.version, "purl": item.purl, "sboms": []})
        shaped = _sbom(item.sbom_id, item.sbom_name, item.sbom_format)
        if shaped not in row["sboms"]:
            row["sboms"].append(shaped)
    return [{k: v for k, v in row.items() if v != ""} for row in rows.values()]


def _sbom(sbom_id: str, name: str, sbom_format: str) -> Json:
    return {"id": sbom_id, "name": name, "format": sbom_format}
