"""The HCP Packer 2023-01-01 routes, and the resource-manager routes its clients call: routes
only (each answer is made in resources.py), registered by app.py as a Chalice Blueprint.

Every route sits behind the app's token authorizer, which app.py defines and so hands in
(`blueprint(registry_auth)`); the roles are the native API's (GET: viewer, any other
method: contributor), checked with the organization and project in the path by the error
middleware (errors.handle), so a view takes them as `**location` and leaves them. Every route takes any Content-Type (`*/*`) and reads its body
as JSON, as grpc-gateway does, so Chalice never answers 415 on them (listing
application/octet-stream beside application/json instead would fail `chalice deploy`'s
check that a route's content types agree on being binary).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from chalice import Blueprint, Response
from chalice.app import ChaliceAuthorizer, Request

from ...runtime.lazy import lazy
from ..http import actor, flag, query, respond, sees_restricted
from . import PACKER, RESOURCE_MANAGER

if TYPE_CHECKING:  # loaded on a route's first use, as app.py loads its modules: a cold start
    from . import enforced, requests, resources, sboms, vulns  # for the native API (the consumer query) never pays
else:
    requests, resources = lazy("chalicelib.api.hcp.requests"), lazy("chalicelib.api.hcp.resources")
    enforced, sboms = lazy("chalicelib.api.hcp.enforced"), lazy("chalicelib.api.hcp.sboms")
    vulns = lazy("chalicelib.api.hcp.vulns")

hcp = Blueprint(__name__)
CONTENT_TYPES = ["*/*"]
P = f"{PACKER}/organizations/{{organization_id}}/projects/{{project_id}}"
B = f"{P}/buckets/{{bucket_name}}"
V = f"{B}/versions/{{fingerprint}}"
_ROUTES: list[tuple[str, str, Callable[..., Response]]] = []


def route(method: str, path: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Declare a route; blueprint() registers them all behind the authorizer."""
    def declare(view: Callable[..., Response]) -> Callable[..., Response]:
        _ROUTES.append((method, path, view))
        return view
    return declare


def blueprint(authorizer: ChaliceAuthorizer) -> Blueprint:
    """The routes, each behind `authorizer`, as the Blueprint app.py registers."""
    for method, path, view in _ROUTES:
        hcp.route(path, methods=[method], authorizer=authorizer, content_types=CONTENT_TYPES)(view)
    return hcp


def request() -> Request:
    return hcp.current_request


def body() -> dict[str, Any]:
    return requests.body(request())


def who() -> str:
    return actor(request())


def sees() -> bool:
    return sees_restricted(request())


# ---- resource manager: the one organization and project -----------------------------------

@route("GET", f"{RESOURCE_MANAGER}/organizations")
def hcp_list_organizations() -> Response:
    return respond(resources.organizations())


@route("GET", f"{RESOURCE_MANAGER}/organizations/{{id}}")
def hcp_get_organization(id: str) -> Response:  # noqa: A002 - the SDK's parameter name
    return respond(resources.organization(id))


@route("GET", f"{RESOURCE_MANAGER}/projects")
def hcp_list_projects() -> Response:
    params = query(request())
    return respond(resources.projects(params.get("scope.id"), params.get("scope.type")))


@route("GET", f"{RESOURCE_MANAGER}/projects/{{id}}")
def hcp_get_project(id: str) -> Response:  # noqa: A002
    return respond(resources.project(id))


@route("GET", f"{P}/registry")
def hcp_get_registry(**location: str) -> Response:
    return respond(resources.registry())


# ---- enforced provisioner blocks (api/hcp/enforced.py) --------------------------------------

E = f"{P}/enforced_blocks"
EV = f"{E}/{{enforced_block_id}}/versions/{{enforced_block_version_id}}"


@route("GET", f"{E}/bucket/{{bucket_name}}")
def hcp_enforced_blocks(bucket_name: str, **location: str) -> Response:
    return respond(enforced.by_bucket(bucket_name))


@route("GET", E)
def hcp_list_enforced_blocks(**location: str) -> Response:
    return respond(enforced.list_blocks(*requests.page(request())))


@route("PUT", E)
def hcp_create_enforced_block(**location: str) -> Response:
    return respond(enforced.create_block(body(), who()))


@route("GET", f"{E}/{{enforced_block_id}}")
def hcp_get_enforced_block(enforced_block_id: str, **location: str) -> Response:
    return respond(enforced.get_block(enforced_block_id))


@route("PATCH", f"{E}/{{enforced_block_id}}")
def hcp_update_enforced_block(enforced_block_id: str, **location: str) -> Response:
    return respond(enforced.update_block(enforced_block_id, body(), who()))


@route("DELETE", f"{E}/{{enforced_block_id}}")
def hcp_delete_enforced_block(enforced_block_id: str, **location: str) -> Response:
    return respond(enforced.delete_block(enforced_block_id, who()))


@route("GET", f"{E}/{{enforced_block_id}}/versions")
def hcp_enforced_block_versions(enforced_block_id: str, **location: str) -> Response:
    return respond(enforced.versions(enforced_block_id, *requests.page(request())))


@route("PUT", f"{E}/{{enforced_block_id}}/versions")
def hcp_create_enforced_block_version(enforced_block_id: str, **location: str) -> Response:
    return respond(enforced.create_version(enforced_block_id, body(), who()))


@route("PATCH", EV)
def hcp_update_enforced_block_version(enforced_block_id: str, enforced_block_version_id: str,
                                      **location: str) -> Response:
    return respond(enforced.update_version(enforced_block_id, enforced_block_version_id, body(), who()))


@route("DELETE", EV)
def hcp_delete_enforced_block_version(enforced_block_id: str, enforced_block_version_id: str,
                                      **location: str) -> Response:
    return respond(enforced.delete_version(enforced_block_id, enforced_block_version_id, who()))


@route("GET", f"{EV}/buckets")
def hcp_enforced_block_linked_buckets(enforced_block_id: str, enforced_block_version_id: str,
                                      **location: str) -> Response:
    return respond(enforced.linked_buckets(enforced_block_id, enforced_block_version_id, *requests.page(request())))


@route("POST", f"{EV}/buckets")
def hcp_manage_enforced_block_linked_buckets(enforced_block_id: str, enforced_block_version_id: str,
                                             **location: str) -> Response:
    return respond(enforced.manage_links(enforced_block_id, enforced_block_version_id, body(), who()))


# ---- buckets -------------------------------------------------------------------------------

@route("GET", f"{P}/buckets")
def hcp_list_buckets(**location: str) -> Response:
    return respond(resources.list_buckets(*requests.page(request())))


@route("PUT", f"{P}/buckets")
def hcp_create_bucket(**location: str) -> Response:
    return respond(resources.create_bucket(body(), who()))


@route("GET", B)
def hcp_get_bucket(bucket_name: str, **location: str) -> Response:
    return respond(resources.get_bucket(bucket_name, sees()))


@route("PATCH", B)
def hcp_update_bucket(bucket_name: str, **location: str) -> Response:
    return respond(resources.update_bucket(bucket_name, body(), who(), sees()))


@route("DELETE", B)
def hcp_delete_bucket(bucket_name: str, **location: str) -> Response:
    return respond(resources.delete_bucket(bucket_name, who()))


@route("GET", f"{B}/ancestry")
def hcp_bucket_ancestry(bucket_name: str, **location: str) -> Response:
    params = query(request())
    return respond(resources.bucket_ancestry(bucket_name, requests.ancestry_type(request()),
                                             params.get("version_fingerprint") or None,
                                             params.get("channel_name") or None, sees(), *requests.page(request())))


# ---- versions and builds ---------------------------------------------------------------------

@route("GET", f"{B}/versions")
def hcp_list_versions(bucket_name: str, **location: str) -> Response:
    return respond(resources.list_versions(bucket_name, *requests.page(request())))


@route("POST", f"{B}/versions")
def hcp_create_version(bucket_name: str, **location: str) -> Response:
    return respond(resources.create_version(bucket_name, body(), who()))


@route("GET", V)
def hcp_get_version(bucket_name: str, fingerprint: str, **location: str) -> Response:
    return respond(resources.get_version(bucket_name, fingerprint, sees()))


@route("PATCH", V)
def hcp_update_version(bucket_name: str, fingerprint: str, **location: str) -> Response:
    return respond(resources.update_version(bucket_name, fingerprint, body(), who()))


@route("DELETE", V)
def hcp_delete_version(bucket_name: str, fingerprint: str, **location: str) -> Response:
    return respond(resources.delete_version(bucket_name, fingerprint, flag(request(), "rollback_channels"), who()))


@route("GET", f"{V}/builds")
def hcp_list_builds(bucket_name: str, fingerprint: str, **location: str) -> Response:
    return respond(resources.list_builds(bucket_name, fingerprint, sees()))


@route("POST", f"{V}/builds")
def hcp_create_build(bucket_name: str, fingerprint: str, **location: str) -> Response:
    return respond(resources.create_build(bucket_name, fingerprint, body(), who()))


@route("GET", f"{V}/builds/{{build_id}}")
def hcp_get_build(bucket_name: str, fingerprint: str, build_id: str, **location: str) -> Response:
    return respond(resources.get_build(bucket_name, fingerprint, build_id, sees()))


@route("PATCH", f"{V}/builds/{{build_id}}")
def hcp_update_build(bucket_name: str, fingerprint: str, build_id: str, **location: str) -> Response:
    return respond(resources.update_build(bucket_name, fingerprint, build_id, body(), who()))


# ---- SBOMs and packages (api/hcp/sboms.py) ---------------------------------------------------

@route("PUT", f"{V}/builds/{{build_id}}/sboms")
def hcp_upload_sbom(bucket_name: str, fingerprint: str, build_id: str, **location: str) -> Response:
    return respond(sboms.upload(bucket_name, fingerprint, build_id, body(), who()))


@route("GET", f"{V}/builds/{{build_id}}/sboms")
def hcp_list_sboms(bucket_name: str, fingerprint: str, build_id: str, **location: str) -> Response:
    return respond(sboms.list_sboms(bucket_name, fingerprint, build_id))


@route("GET", f"{V}/builds/{{build_id}}/sboms/{{sbom_name}}")
def hcp_get_sbom(bucket_name: str, fingerprint: str, build_id: str, sbom_name: str, **location: str) -> Response:
    return respond(sboms.get_sbom(bucket_name, fingerprint, build_id, sbom_name))


@route("GET", f"{V}/builds/{{build_id}}/packages")
def hcp_list_build_packages(bucket_name: str, fingerprint: str, build_id: str, **location: str) -> Response:
    return respond(sboms.build_packages(bucket_name, fingerprint, build_id, request()))


@route("GET", f"{B}/packages")
def hcp_list_bucket_packages(bucket_name: str, **location: str) -> Response:
    return respond(sboms.bucket_packages(bucket_name, request()))


# ---- vulnerabilities (api/hcp/vulns.py) -------------------------------------------------------

@route("GET", f"{B}/vulnerabilities")
def hcp_list_bucket_vulnerabilities(bucket_name: str, **location: str) -> Response:
    return respond(vulns.vulnerabilities(bucket_name, request(), sees()))


@route("GET", f"{B}/packages/with-vulnerabilities")
def hcp_list_bucket_packages_with_vulnerabilities(bucket_name: str, **location: str) -> Response:
    return respond(vulns.packages(bucket_name, request(), sees()))


@route("GET", f"{B}/packages/vulnerability-summary")
def hcp_list_bucket_packages_vulnerability_summary(bucket_name: str, **location: str) -> Response:
    return respond(vulns.summary(bucket_name, sees()))


# ---- channels ------------------------------------------------------------------------------

@route("GET", f"{B}/channels")
def hcp_list_channels(bucket_name: str, **location: str) -> Response:
    return respond(resources.list_channels(bucket_name, sees()))


@route("POST", f"{B}/channels")
def hcp_create_channel(bucket_name: str, **location: str) -> Response:
    return respond(resources.create_channel(bucket_name, body(), who()))


@route("DELETE", f"{B}/channels/{{channel_name}}")
def hcp_delete_channel(bucket_name: str, channel_name: str, **location: str) -> Response:
    return respond(resources.delete_channel(bucket_name, channel_name, who()))


@route("GET", f"{B}/channels/{{channel_name}}/history")
def hcp_channel_history(bucket_name: str, channel_name: str, **location: str) -> Response:
    return respond(resources.channel_history(bucket_name, channel_name, sees(), *requests.page(request())))


@route("GET", f"{B}/channels/{{channel_name}}")
def hcp_get_channel(bucket_name: str, channel_name: str, **location: str) -> Response:
    return respond(resources.get_channel(bucket_name, channel_name, sees()))


@route("PATCH", f"{B}/channels/{{channel_name}}")
def hcp_update_channel(bucket_name: str, channel_name: str, **location: str) -> Response:
    return respond(resources.update_channel(bucket_name, channel_name, body(), who()))


# ---- the HCP Terraform run task (services/runtasks.py, imported on first use) -----------------

@route("GET", f"{P}/runtasks/{{task_type}}")
def hcp_get_run_task(task_type: str, **location: str) -> Response:
    """The run-task URL and HMAC key (admins only: the key is a credential, roles.py)."""
    from ...services import runtasks
    from ..http import public_url

    return respond(runtasks.validation(task_type, public_url(request())))


@route("PATCH", f"{P}/runtasks/hmac")
def hcp_regenerate_run_task_hmac(**location: str) -> Response:
    from ...services import runtasks

    body()  # empty, null or {} (the provider sends no fields); anything but an object is a 400
    return respond(runtasks.regenerate_hmac(who()))
