"""The HCP Packer 2023-01-01 routes, and the resource-manager routes its clients call: routes
only (each answer is made in resources.py), registered by app.py as a Chalice Blueprint.

No route sits behind API Gateway's authorizer: the error middleware (errors.handle) reads
the bearer token itself (services/auth.identify, as the authorizer does for the native API),
so that a request without an `Authorization` header is answered in the HCP error shape (HTTP
401 code 16) rather than by API Gateway in the native one. The roles are the native API's
(GET: viewer, any other method: contributor), checked with the organization and project in
the path by that middleware, so a view takes them as `**location` and leaves them. What no
route serves (another path under the HCP prefixes, another method) is unserved.py's. Every
route takes any Content-Type (`*/*`) and reads its body as JSON, as grpc-gateway does, so
Chalice never answers 415 on them (listing application/octet-stream beside application/json
instead would fail `chalice deploy`'s check that a route's content types agree on being
binary).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

from chalice import Blueprint, Response
from chalice.app import Request

from ...runtime.lazy import lazy
from ..http import actor, flag, query, respond, sees_restricted
from . import IAM, PACKER, RESOURCE_MANAGER, RESOURCE_MANAGER_IAM, unserved

if TYPE_CHECKING:  # loaded on a route's first use, as app.py loads its modules: a cold start
    from . import builds, enforced, iam, promotion, registry, requests, resources, sboms, search, vulns  # for the native API (the consumer query) never pays for them
else:
    requests, resources = lazy("chalicelib.api.hcp.requests"), lazy("chalicelib.api.hcp.resources")
    builds, enforced, iam, promotion, registry, sboms, search, vulns = (
        lazy(f"chalicelib.api.hcp.{name}")
        for name in ("builds", "enforced", "iam", "promotion", "registry", "sboms", "search", "vulns"))

hcp = Blueprint(__name__)
CONTENT_TYPES = ["*/*"]
P = f"{PACKER}/organizations/{{organization_id}}/projects/{{project_id}}"
B = f"{P}/buckets/{{bucket_name}}"
V = f"{B}/versions/{{fingerprint}}"
_ROUTES: list[tuple[str, str, Callable[..., Response]]] = []


def route(method: str, path: str) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
    """Declare a route; blueprint() registers them all."""
    def declare(view: Callable[..., Response]) -> Callable[..., Response]:
        _ROUTES.append((method, path, view))
        return view
    return declare


def blueprint() -> Blueprint:
    """The routes, and what answers the paths and methods they leave out (unserved.fill),
    as the Blueprint app.py registers."""
    for method, path, view in _ROUTES:
        hcp.route(path, methods=[method], content_types=CONTENT_TYPES)(view)
    unserved.fill(hcp, [(method, path) for method, path, _ in _ROUTES], CONTENT_TYPES)
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


# ---- bucket access: the resource manager's IAM policy of a bucket, the IAM service's principals (iam.py)

@route("GET", RESOURCE_MANAGER_IAM)
def hcp_get_iam_policy() -> Response:
    return respond(iam.get_policy(query(request()).get("resource_name")))


@route("PUT", RESOURCE_MANAGER_IAM)
def hcp_set_iam_policy() -> Response:
    return respond(iam.set_policy(body(), who()))


@route("GET", f"{IAM}/organizations/{{organization_id}}/principals")
def hcp_batch_get_principals(**location: str) -> Response:
    params = request().query_params
    return respond(iam.principals(params.getlist("principal_ids") if params else []))


@route("GET", f"{P}/registry")
def hcp_get_registry(**location: str) -> Response:
    return respond(resources.registry())


@route("PUT", f"{P}/registry")
def hcp_create_registry(**location: str) -> Response:
    return respond(registry.create_registry(body(), who()))


@route("PATCH", f"{P}/registry")
def hcp_update_registry(**location: str) -> Response:
    return respond(registry.update_registry(body(), who()))


@route("DELETE", f"{P}/registry")
def hcp_delete_registry(**location: str) -> Response:
    return respond(registry.delete_registry(who()))


@route("POST", f"{P}/_search/external_artifact")
def hcp_search_external_artifact(**location: str) -> Response:
    return respond(search.search_external_artifact(body(), sees(), *requests.page(request())))


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
    return respond(resources.list_buckets(*requests.page(request()), sees()))


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


@route("DELETE", f"{V}/builds/{{build_id}}")
def hcp_delete_build(bucket_name: str, fingerprint: str, build_id: str, **location: str) -> Response:
    return respond(builds.delete_build(bucket_name, fingerprint, build_id, who()))


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


@route("POST", f"{B}/channels/assign")
def hcp_assign_channel_version(bucket_name: str, **location: str) -> Response:
    return respond(promotion.assign_channel_version(bucket_name, body(), who()))


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


# A channel named `assign` is reached through these: the path AssignChannelVersion has (a
# resource of its own on API Gateway, which matches it before `{channel_name}`).
ASSIGN = "assign"


@route("GET", f"{B}/channels/{ASSIGN}")
def hcp_get_channel_assign(bucket_name: str, **location: str) -> Response:
    return hcp_get_channel(bucket_name, ASSIGN, **location)


@route("PATCH", f"{B}/channels/{ASSIGN}")
def hcp_update_channel_assign(bucket_name: str, **location: str) -> Response:
    return hcp_update_channel(bucket_name, ASSIGN, **location)


@route("DELETE", f"{B}/channels/{ASSIGN}")
def hcp_delete_channel_assign(bucket_name: str, **location: str) -> Response:
    return hcp_delete_channel(bucket_name, ASSIGN, **location)


@route("GET", f"{B}/channels/{ASSIGN}/history")
def hcp_channel_history_assign(bucket_name: str, **location: str) -> Response:
    return hcp_channel_history(bucket_name, ASSIGN, **location)


# ---- the HCP Terraform run task (services/runtasks.py, imported on first use) -----------------

@route("GET", f"{P}/runtasks/{{task_type}}")
def hcp_get_run_task(task_type: str, **location: str) -> Response:
    """The run-task URL and HMAC key (admins only: the key is a credential, roles.py)."""
    from ...services import runtasks
    from ..http import public_url

    return respond(runtasks.validation(task_type, public_url(request())))


@route("GET", f"{P}/runtasks/hmac")
def hcp_get_run_task_hmac(**location: str) -> Response:
    """GetRegistryTFCRunTaskAPI for the task type `hmac` (a path of its own here, as the PATCH
    has it): as HCP answers any type but `validation`, 404 code 5."""
    return hcp_get_run_task("hmac", **location)


@route("PATCH", f"{P}/runtasks/hmac")
def hcp_regenerate_run_task_hmac(**location: str) -> Response:
    from ...services import runtasks

    body()  # empty, null or {} (the provider sends no fields); anything but an object is a 400
    return respond(runtasks.regenerate_hmac(who()))


@route("GET", f"{P}/runtasks/config")
def hcp_get_run_task_config(**location: str) -> Response:
    return respond(registry.run_task_config())


@route("PATCH", f"{P}/runtasks/config")
def hcp_update_run_task_config(**location: str) -> Response:
    return respond(registry.update_run_task_config(body(), who()))
