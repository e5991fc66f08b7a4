"""The HCP Packer–compatible API: the 2023-01-01 Packer service and the resource-manager
routes its clients call, so that an unmodified `packer` and terraform-provider-hcp talk to the
registry (../shared/hcp/HCP-API-COMPAT.md is the specification).

    routes.py     the routes (a Chalice Blueprint app.py registers), thin like app.py
    resources.py  what each route answers: the registry's services called, wire.py applied
    wire.py       entities as HCP JSON: snake_case, enum strings, int64 as strings, RFC 3339
    requests.py   request bodies and query parameters read as grpc-gateway reads them
    errors.py     the error shape `{"code", "message", "details"}` and its middleware
    iam.py        bucket IAM policies and principals as the resource manager and IAM answer them

These routes are not in `GET /openapi.json`, which documents the native API.
"""

from __future__ import annotations

PACKER = "/packer/2023-01-01"
RESOURCE_MANAGER = "/resource-manager/2019-12-10"
# The resource manager's IAM policies and the IAM service's principals (bucket access: iam.py).
RESOURCE_MANAGER_IAM = "/2019-12-10/resource-manager/resources/iam-policy"
IAM = "/iam/2019-12-10"
PREFIXES = (f"{PACKER}/", f"{RESOURCE_MANAGER}/", "/2019-12-10/", f"{IAM}/")


def serves(path: str) -> bool:
    """Whether a route (its path template, or a request path) belongs to the HCP API."""
    return path.startswith(PREFIXES)
