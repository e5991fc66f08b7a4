"""What API Gateway answers by itself, made the same under Chalice's local gateway (used by
`make run`, the tests and `make bench`; never by Lambda, where API Gateway answers it).

API Gateway rejects a request with no `Authorization` header before any code runs; its
UNAUTHORIZED "gateway response" is set to the registry's JSON error shape by scripts/deploy.sh.
Chalice's local gateway answers that case with its own body instead: `local_gateway_responses()`
makes it answer as API Gateway is configured to.
"""

from __future__ import annotations

import json
from typing import Any

from chalice import local

UNAUTHORIZED = {"error": "Unauthorized", "message": "a valid bearer token is required: send Authorization: Bearer <token>"}


def local_gateway_responses() -> None:
    """Make Chalice's local gateway answer a missing Authorization header with the registry's
    JSON 401 (idempotent: patching twice wraps once)."""
    original = local.LocalGatewayAuthorizer._prepare_authorizer_event
    if getattr(original, "_registry", False):
        return

    def prepare(self: Any, arn: str, lambda_event: Any, lambda_context: Any) -> Any:
        try:
            return original(self, arn, lambda_event, lambda_context)
        except local.NotAuthorizedError as exc:
            raise local.NotAuthorizedError({**exc.headers, "Content-Type": "application/json"},
                                           json.dumps(UNAUTHORIZED).encode()) from None

    prepare._registry = True  # type: ignore[attr-defined]
    # Replacing chalice local's method is the point here (mypy forbids assigning to a method).
    local.LocalGatewayAuthorizer._prepare_authorizer_event = prepare  # type: ignore[method-assign]
