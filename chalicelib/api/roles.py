"""Roles and which route needs which: checked on every request, so kept light to import.

Roles, each including the one before: `none` (nothing but what its bucket bindings give),
`viewer` (all reads, the consumer query, `POST /compliance/check`, the HCP API's artifact search),
`contributor` (bucket, channel, version and revocation changes, deleting buckets as HCP Packer's
Contributor does, retention policies and their preview, `POST /compliance/sweep`), `admin` (token, service
principal and webhook management, the registry-wide trail, bulk revocation across buckets, the run task's key and
settings, the HCP registry's creation, (de)activation and deletion, bucket access policies). `POST /oauth2/token` is public: the client authenticates
in the request itself (api/oauth.py); so is `POST /runtasks/hcp-terraform`, authenticated by
HCP Terraform's HMAC signature (services/runtasks.py). The HCP API's run-task key
(`GET …/runtasks/{task_type}`, `PATCH …/runtasks/hmac`) is a credential that makes the run task
connect, and only whoever registers the task in HCP Terraform (an admin) needs it: admins only.

Where the role is held (domain/access.py): every route has a *scope*, and a route without one
is refused, whatever the caller's role (fail closed: a new route is nobody's until its rule is
written here). A route whose path names the bucket (`{bucket}`, `{bucket_name}`) is judged on
that bucket: the higher of the project role and the caller's binding on it. Any other route
is declared in `_SCOPES`: the project role alone (`PROJECT`), any caller a credential
identifies (`IDENTIFIED`: who it is, the organization and project), or the role on the project
or on at least one bucket (`BUCKETS`: lists and lookups across buckets, and routes that name
their bucket in the query or the body, whose services answer only about the buckets the caller
may see, domain/access.py `visible`, and check the bucket they name).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Mapping

from ..domain.access import Access, allows
from ..domain.enums import Role
from ..errors import Forbidden, Unauthorized
from .hcp import IAM, PACKER, RESOURCE_MANAGER, RESOURCE_MANAGER_IAM


class Scope(StrEnum):
    """Where a route's role must be held (see the module's docstring)."""

    BUCKET = "bucket"
    PROJECT = "project"
    BUCKETS = "buckets"
    IDENTIFIED = "identified"


# Routes that need more than the default (GET: viewer; any other method: contributor).
_ROUTE_ROLES: dict[tuple[str, str], Role] = {
    ("POST", "/compliance/check"): Role.VIEWER,
    # A search, sent as a POST (its body names the artifact): a read.
    ("POST", f"{PACKER}/organizations/{{organization_id}}/projects/{{project_id}}/_search/external_artifact"):
        Role.VIEWER,
    # The preview names every channel holding a version, restricted ones and `latest` too.
    ("GET", "/buckets/{bucket}/retention/preview"): Role.CONTRIBUTOR,
    ("GET", "/tokens"): Role.ADMIN,
    ("GET", "/events"): Role.ADMIN,
    ("POST", "/revocations"): Role.ADMIN,  # bulk revocation across buckets (a bucket's own: contributor)
    ("POST", "/tokens"): Role.ADMIN,
    ("DELETE", "/tokens/{token_id}"): Role.ADMIN,
    ("GET", "/service-principals"): Role.ADMIN,
    ("POST", "/service-principals"): Role.ADMIN,
    ("DELETE", "/service-principals/{client_id}"): Role.ADMIN,
    ("GET", "/webhooks"): Role.ADMIN,
    ("POST", "/webhooks"): Role.ADMIN,
    ("GET", "/webhooks/{webhook_id}"): Role.ADMIN,
    ("DELETE", "/webhooks/{webhook_id}"): Role.ADMIN,
    ("GET", "/webhooks/{webhook_id}/deliveries"): Role.ADMIN,
    ("GET", f"{PACKER}/organizations/{{organization_id}}/projects/{{project_id}}/runtasks/{{task_type}}"):
        Role.ADMIN,
    ("PATCH", f"{PACKER}/organizations/{{organization_id}}/projects/{{project_id}}/runtasks/hmac"): Role.ADMIN,
    ("GET", f"{PACKER}/organizations/{{organization_id}}/projects/{{project_id}}/runtasks/hmac"): Role.ADMIN,
    # What the run task lets through, and the HCP registry's own state (services/registry.py).
    ("PATCH", f"{PACKER}/organizations/{{organization_id}}/projects/{{project_id}}/runtasks/config"): Role.ADMIN,
    ("PUT", f"{PACKER}/organizations/{{organization_id}}/projects/{{project_id}}/registry"): Role.ADMIN,
    ("PATCH", f"{PACKER}/organizations/{{organization_id}}/projects/{{project_id}}/registry"): Role.ADMIN,
    ("DELETE", f"{PACKER}/organizations/{{organization_id}}/projects/{{project_id}}/registry"): Role.ADMIN,
    # Who may do what on a bucket: its admins (the project's, and those bound to it as admin).
    ("PUT", "/buckets/{bucket}/access"): Role.ADMIN,
    ("PUT", RESOURCE_MANAGER_IAM): Role.ADMIN,
}
P = f"{PACKER}/organizations/{{organization_id}}/projects/{{project_id}}"
BUCKET_PARAMETERS = ("bucket", "bucket_name")  # the native and the HCP name of the bucket in a path
_PROJECT_ROUTES = {
    "/buckets": ("POST",), "/revocations": ("POST",), "/compliance/sweep": ("POST",),
    "/compliance/report": ("GET",), "/ingestions": ("GET",), "/events": ("GET",),
    "/tokens": ("GET", "POST"), "/tokens/{token_id}": ("DELETE",),
    "/service-principals": ("GET", "POST"), "/service-principals/{client_id}": ("DELETE",),
    "/webhooks": ("GET", "POST"), "/webhooks/{webhook_id}": ("GET", "DELETE"),
    "/webhooks/{webhook_id}/deliveries": ("GET",),
    f"{P}/buckets": ("PUT",), f"{P}/runtasks/{{task_type}}": ("GET",), f"{P}/runtasks/hmac": ("GET", "PATCH"),
    # HCP Packer 2023-01-01 operations on the project itself, declared before they are served
    # so that whoever serves them finds their rule: the registry, the run task's settings,
    # enforced blocks (their linked buckets are named in the body, not the path).
    f"{P}/registry": ("PUT", "PATCH", "DELETE"), f"{P}/runtasks/config": ("GET", "PATCH"),
    f"{P}/enforced_blocks": ("GET", "PUT"),
    f"{P}/enforced_blocks/{{enforced_block_id}}": ("GET", "PATCH", "DELETE"),
    f"{P}/enforced_blocks/{{enforced_block_id}}/versions": ("GET", "PUT"),
    f"{P}/enforced_blocks/{{enforced_block_id}}/versions/{{enforced_block_version_id}}": ("PATCH", "DELETE"),
    f"{P}/enforced_blocks/{{enforced_block_id}}/versions/{{enforced_block_version_id}}/buckets": ("GET", "POST"),
}
_BUCKETS_ROUTES = {
    "/buckets": ("GET",), "/revocations/{revocation_id}": ("GET",), "/artifacts/{external_id}": ("GET",),
    "/artifacts": ("GET",), "/compliance/check": ("POST",),
    f"{P}/buckets": ("GET",), f"{P}/_search/external_artifact": ("POST",),
    RESOURCE_MANAGER_IAM: ("GET", "PUT"),  # the bucket is the query's or the body's `resource_name`
}
_IDENTIFIED_ROUTES = {
    "/whoami": ("GET",), f"{RESOURCE_MANAGER}/organizations": ("GET",),
    f"{RESOURCE_MANAGER}/organizations/{{id}}": ("GET",), f"{RESOURCE_MANAGER}/projects": ("GET",),
    f"{RESOURCE_MANAGER}/projects/{{id}}": ("GET",), f"{P}/registry": ("GET",),
    # HCP's BatchGetPrincipals: the names and kinds of credentials, by id (the provider's IAM resources)
    f"{IAM}/organizations/{{organization_id}}/principals": ("GET",),
}
_SCOPES: dict[tuple[str, str], Scope] = {
    (method, route): scope
    for scope, table in ((Scope.PROJECT, _PROJECT_ROUTES), (Scope.BUCKETS, _BUCKETS_ROUTES),
                         (Scope.IDENTIFIED, _IDENTIFIED_ROUTES))
    for route, methods in table.items() for method in methods}

# Routes anyone may call: the page, its assets, the API description, the token endpoint and
# the run-task endpoint (they authenticate in the request itself).
PUBLIC = {("GET", "/"), ("GET", "/openapi.json"), ("GET", "/static/{asset}"), ("POST", "/oauth2/token"),
          ("POST", "/runtasks/hcp-terraform")}


def required_role(method: str, route: str) -> Role | None:
    if (method, route) in PUBLIC:
        return None
    return _ROUTE_ROLES.get((method, route), Role.VIEWER if method == "GET" else Role.CONTRIBUTOR)


def scope(method: str, route: str) -> Scope | None:
    """Where the route's role must be held; None: no rule (the route is refused)."""
    if any(f"{{{name}}}" in route for name in BUCKET_PARAMETERS):
        return Scope.BUCKET
    return _SCOPES.get((method, route))


def enforce(context: dict[str, Any] | None, method: str, route: str,
            params: Mapping[str, str] | None = None) -> Access | None:
    """Raise 401/403 unless the caller may call this route; returns the caller's access
    (None on a public route)."""
    needed = required_role(method, route)
    if needed is None:
        return None
    context = context or {}
    if not context.get("role"):
        raise Unauthorized(f"a valid bearer token is required: {context.get('error', 'send Authorization: Bearer <token>')}")
    access, where = Access.of(context), scope(method, route)
    who = f"token {context.get('name')!r}"
    if where is None:
        raise Forbidden(f"{method} {route} has no access rule: refused to every caller")
    if where == Scope.BUCKET:
        given = params or {}
        bucket = next(given[name] for name in BUCKET_PARAMETERS if name in given)
        if not access.may(bucket, needed):
            raise Forbidden(f"{method} {route} needs the {needed} role on bucket {bucket!r} (or on the project); "
                            f"{who} is {access.role_in(bucket)} there")
    elif where == Scope.PROJECT and not allows(access.role, needed):
        raise Forbidden(f"{method} {route} needs the {needed} role; {who} is {access.role}")
    elif where == Scope.BUCKETS and not access.may_somewhere(needed):
        raise Forbidden(f"{method} {route} needs the {needed} role on the project or on a bucket; {who} is "
                        f"{access.role} and has no such bucket binding")
    return access


def require(access: Access | None, bucket: str, needed: str) -> None:
    """403 unless the caller holds `needed` on `bucket` (a route whose bucket is in its query
    or body checks it so, before reading anything: the answer is the same whether the bucket
    exists or not)."""
    if access is not None and not access.may(bucket, needed):
        raise Forbidden(f"this needs the {needed} role on bucket {bucket!r} (or on the project); the caller is "
                        f"{access.role_in(bucket)} there")
