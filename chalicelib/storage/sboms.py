"""Packages the SBOMs of builds list (services/sboms.py), and the SBOMs named on a build.

One item per package of each SBOM, in the bucket's partition (so a bucket's deletion takes
them with it): `PACKAGE#<fp>#<build id>#<name>#<version>#<purl digest>#<sbom id>`, so a build's
packages are one Query, by name (a name or a name prefix narrows it by key). Each is also
in two indexes (keys.package_index):

- GSI1 `PACKAGES#<bucket>` / `<name>#<version>#<purl digest>#<fp>#<build id>#<sbom id>`: the
  bucket's packages by name, one Query a page;
- GSI2 `PURL#<purl>` / `<bucket>#<fp>#<build id>#<sbom id>` (sparse: only packages with a
  purl): every build that holds a purl, in any bucket, one Query (what a vulnerability
  source that answers by purl needs, to go from an advisory to the builds it affects).

A package two SBOMs of the build list (or, in the bucket's list, several builds) is one item
each, next to each other in both orders: a page keeps them together (pages.list_page `group`).
"""

from __future__ import annotations

from typing import Any

from . import keys, table
from ..domain.enums import BuildStatus
from .entities import Build, Package
from .expressions import Action, Change, Filter
from .pages import list_page
from .schema import GSI1, PK, SK


# ---- reads ------------------------------------------------------------------------------

def build_page(bucket: str, fingerprint: str, build_id: str, token: str | None, limit: int, *,
               name: str | None = None, name_prefix: str | None = None,
               version: str | None = None) -> tuple[list[Package], str | None]:
    """One page of a build's packages by name: one Query (`name`, `name_prefix` and `version`
    narrow it, by key where they can, else by a filter: the page may be short)."""
    prefix, where = narrowed(name, name_prefix, version)
    prefix = keys.build_packages(fingerprint, build_id) + prefix
    items, next_token = list_page(keys.bucket_pk(bucket), token, prefix=prefix, limit=limit, where=where,
                                  group=_same_package)
    return [Package.from_item(i) for i in items], next_token


def bucket_page(bucket: str, token: str | None, limit: int, *, name: str | None = None, name_prefix: str | None = None,
                version: str | None = None) -> tuple[list[Package], str | None]:
    """One page of the packages of every build of the bucket, by name: one Query of GSI1
    `PACKAGES#<bucket>` (eventually consistent), narrowed as build_page is."""
    prefix, where = narrowed(name, name_prefix, version)
    items, next_token = list_page(keys.bucket_packages_pk(bucket), token, index=GSI1, prefix=prefix or None,
                                  limit=limit, where=where, group=_same_package)
    return [Package.from_item(i) for i in items], next_token


def narrowed(name: str | None, name_prefix: str | None, version: str | None) -> tuple[str, Filter]:
    """The key prefix and the filter of a list narrowed to a name (exactly: a name may hold the
    key's `#`), a name prefix, a version (by key after a name)."""
    where = Filter()
    if name is not None:
        where.equals("name", name)
    if version is not None:
        where.equals("version", version)
    if name is not None:
        return keys.package_order(name, version), where
    return name_prefix or "", where


def _same_package(item: dict[str, Any]) -> tuple[str, str, str]:
    return item["name"], item["version"], item["purl"]


def sbom_keys(bucket: str, fingerprint: str, build_id: str, sbom_id: str | None = None) -> list[table.Item]:
    """The keys of a build's packages (of one SBOM, when `sbom_id` is given): one Query of the
    build's packages, every page of it (only the keys and the SBOM id are read)."""
    where = Filter()
    if sbom_id:
        where.equals("sbom_id", sbom_id)
    return [{PK: i[PK], SK: i[SK]} for i in table.query_all(
        keys.bucket_pk(bucket), prefix=keys.build_packages(fingerprint, build_id), projection=f"{PK}, {SK}, sbom_id",
        where=where)]


# ---- writes -----------------------------------------------------------------------------

def put(packages: list[Package]) -> None:
    """Write packages, 25 to a BatchWriteItem (unconditioned: writing them again is harmless)."""
    table.put_many([p.to_item() for p in packages])


def delete(found: list[table.Item]) -> None:
    """Delete packages by key, 25 to a BatchWriteItem."""
    table.delete_many(found)


def record(build: Build, sboms: list[dict[str, Any]]) -> Action:
    """Name the build's SBOMs (`sboms` replaces its list): on the condition that the build is
    still running and its list is as read, so two uploads at once never lose one."""
    return Change(build.item_key()).equals("status", BuildStatus.RUNNING).holds("sboms", build.sboms) \
        .set("sboms", sboms).action()
