"""Roles and which route needs which: checked on every request, so kept light to import.

Roles, each including the one before: `viewer` (all reads, the consumer query,
`POST /compliance/check`, the HCP API's artifact search), `contributor` (bucket, channel, version and revocation changes, deleting buckets as HCP Packer's
Contributor does, retention policies and their preview, `POST /compliance/sweep`), `admin` (token, service
principal and webhook management, the registry-wide trail, bulk revocation across buckets, the run task's key and
settings, the HCP registry's creation, (de)activation and deletion). `POST /oauth2/token` is public: the client authenticates
in the request itself (api/oauth.py); so is `POST /runtasks/hcp-terraform`, authenticated by
HCP Terraform's HMAC signature (services/runtasks.py). The HCP API's run-task key
(`GET …/runtasks/{task_type}`, `PATCH …/runtasks/hmac`) is a credential that makes the run task
connect, and only whoever registers the task in HCP Terraform (an admin) needs it: admins only.
"""

from __future__ import annotations

from typing import Any

from ..domain.enums import Role
from ..errors import Forbidden, Unauthorized
from .hcp import PACKER

ROLES = tuple(Role)  # in order: each includes the ones before

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
}
# Routes anyone may call: the page, its assets, the API description, the token endpoint and
# the run-task endpoint (they authenticate in the request itself).
PUBLIC = {("GET", "/"), ("GET", "/openapi.json"), ("GET", "/static/{asset}"), ("POST", "/oauth2/token"),
          ("POST", "/runtasks/hcp-terraform")}


def required_role(method: str, route: str) -> Role | None:
    if (method, route) in PUBLIC:
        return None
    return _ROUTE_ROLES.get((method, route), Role.VIEWER if method == "GET" else Role.CONTRIBUTOR)


def allows(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


def enforce(context: dict[str, Any] | None, method: str, route: str) -> dict[str, Any] | None:
    """Raise 401/403 unless the caller may call this route; returns the identity."""
    needed = required_role(method, route)
    if needed is None:
        return None
    context = context or {}
    if not context.get("role"):
        raise Unauthorized(f"a valid bearer token is required: {context.get('error', 'send Authorization: Bearer <token>')}")
    if not allows(context["role"], needed):
        raise Forbidden(f"{method} {route} needs the {needed} role; token {context.get('name')!r} is {context['role']}")
    return context
