"""The HCP Packer–compatible API: the 2023-01-01 Packer service and the resource-manager
routes its clients call, so that an unmodified `packer` and terraform-provider-hcp talk to the
registry (../shared/hcp/HCP-API-COMPAT.md is the specification).

    routes.py     the routes (a Chalice Blueprint app.py registers), thin like app.py
    resources.py  what each route answers: the registry's services called, wire.py applied
    wire.py       entities as HCP JSON: snake_case, enum strings, int64 as strings, RFC 3339
    requests.py   request bodies and query parameters read as grpc-gateway reads them
    errors.py     the error shape `{"code", "message", "details"}` and its middleware
    unserved.py   what no route serves: every other path under the prefixes, every other method
    promotion.py search.py builds.py registry.py   AssignChannelVersion, SearchExternalArtifact,
                  DeleteBuild, the registry's and the run task's settings
    iam.py        bucket IAM policies and principals as the resource manager and IAM answer them

These routes are not in `GET /openapi.json`, which documents the native API.
"""

from __future__ import annotations

PACKER = "/packer/2023-01-01"
RESOURCE_MANAGER = "/resource-manager/2019-12-10"
# Everything under these is the HCP API's, served or not (unserved.py): HCP Packer's versions,
# the resource manager, its IAM policies the provider calls (`/2019-12-10/resource-manager/…`),
# and the IAM service's principals (bucket access: iam.py).
ROOTS = ("/packer", "/resource-manager", "/2019-12-10", "/iam")
PREFIXES = tuple(f"{root}/" for root in ROOTS)
RESOURCE_MANAGER_IAM = "/2019-12-10/resource-manager/resources/iam-policy"
IAM = "/iam/2019-12-10"


def serves(path: str) -> bool:
    """Whether a route (its path template, or a request path) belongs to the HCP API."""
    return path in ROOTS or path.startswith(PREFIXES)
