"""What the HCP API answers for what it does not serve, on API Gateway as under `make run`:
any path under `/packer/`, `/resource-manager/` or `/2019-12-10/` that no route has is
grpc-gateway's HTTP 404 code 5, a method a route does not have its HTTP 501 code 12 (with
`Allow`), in the HCP error shape (errors.py), never the native one, and before any
authentication (as API Gateway answers an unknown route).

API Gateway answers a path or method it has no resource for itself (MISSING_AUTHENTICATION_TOKEN),
with one gateway response for every path (scripts/deploy.sh sets it to the native shape). So
the HCP tree is filled in Chalice's routes, which become API Gateway's resources
(`fill`): every method on every HCP route path and on every path between a prefix and a
route (the methods no view has go to `hcp_unserved`); and a greedy `{proxy+}` child, every
method, under each of those paths that has no variable child, so that a path the API does
not define ends on one of them: at each level API Gateway matches a literal child first, then
the one variable child (which, where it exists, matches any segment, and has such a proxy
below it). Chalice's local gateway (`make run`, the tests) matches `{proxy+}` as one segment;
a deeper unknown path there is answered the same by local/runner.py's gateway.

`answer()` is what the error middleware (errors.handle) returns for these before anything
else; `hcp_unserved` is the view Chalice routes them to, answering the same.
"""

from __future__ import annotations

from typing import Iterable

from chalice import Blueprint, Response
from chalice.app import Request

from . import ROOTS
from .errors import error, method_not_allowed

METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")
PROXY = "{proxy+}"
NOT_FOUND = 5
_SERVED: dict[str, frozenset[str]] = {}  # route path -> the methods a view serves


def fill(blueprint: Blueprint, declared: Iterable[tuple[str, str]], content_types: list[str]) -> None:
    """Register `hcp_unserved` on the blueprint for every (path, method) of the HCP tree that
    `declared` (method, path) leaves out, and the `{proxy+}` catch-alls."""
    served: dict[str, set[str]] = {}
    for method, path in declared:
        served.setdefault(path, set()).add(method)
    _SERVED.clear()
    _SERVED.update({path: frozenset(methods) for path, methods in served.items()})
    nodes, children = _tree(served)
    for node in sorted(nodes):
        missing = [m for m in METHODS if m not in served.get(node, ())]
        if missing:
            blueprint.route(node, methods=missing, content_types=content_types)(hcp_unserved)
        if not any(child.startswith("{") for child in children.get(node, ())):
            blueprint.route(f"{node}/{PROXY}", methods=list(METHODS), content_types=content_types)(hcp_unserved)


def _tree(paths: Iterable[str]) -> tuple[set[str], dict[str, set[str]]]:
    """Every path from a root to a route (the roots and routes included), and each one's
    children's segments."""
    nodes: set[str] = set(ROOTS)
    children: dict[str, set[str]] = {}
    for path in paths:
        segments = path.strip("/").split("/")
        for depth in range(1, len(segments) + 1):
            node = "/" + "/".join(segments[:depth])
            nodes.add(node)
            if depth < len(segments):
                children.setdefault(node, set()).add(segments[depth])
    return nodes, children


def served() -> list[tuple[str, str]]:
    """(method, path template) of every HCP route a view serves."""
    return sorted((method, path) for path, methods in _SERVED.items() for method in methods)


def answer(method: str, route: str, path: str) -> Response | None:
    """The answer to a request the HCP routes do not serve (`route`: the path template it
    matched, `path` as asked); None when a view serves it."""
    methods = _SERVED.get(route)
    if methods is None:
        return not_found(method, path)
    if method not in methods:
        return method_not_allowed(method, sorted(methods))
    return None


def not_found(method: str, path: str) -> Response:
    """grpc-gateway's answer for a path no route has."""
    return error(NOT_FOUND, f"Not Found: {method} {path[:200]} is not an HCP Packer API route")


def hcp_unserved(**params: str) -> Response:
    """The view of what the HCP routes do not serve (errors.handle answers first; this
    answers the same if it ever runs alone)."""
    from .routes import request

    current: Request = request()
    context = current.context or {}
    return answer(current.method, context.get("resourcePath", ""), context.get("path", "")) \
        or not_found(current.method, context.get("path", ""))

