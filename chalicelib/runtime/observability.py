"""Structured JSON logs and CloudWatch EMF metrics (Powertools), wired in as Chalice middleware.

Chalice middleware is not a Lambda handler, but Powertools' handler decorators wrap any
`(event, context)` callable, so every invocation runs through the standard ones: the
Logger's `inject_lambda_context` (cold start, function name, ARN, memory and request id on
each log line) and the Metrics' `log_metrics(capture_cold_start_metric=True)` (the standard
`ColdStart` metric, dimensions `function_name` and `service`, once per container after its
first successful invocation; the invocation's metrics flushed at its end). Each log line
also carries a `correlation_id`: API Gateway's request id for HTTP (`requestContext.requestId`,
the id in API Gateway's own logs), else the Lambda request id (S3 and schedule events, and
HTTP under `make run`, whose local gateway has none).
"""

from __future__ import annotations

import os
import warnings
from typing import Any, Callable

from aws_lambda_powertools import Logger, Metrics

SERVICE = "packer-registry"
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "PackerRegistry"), service=SERVICE)
# Most invocations add no metric of their own; Powertools' documented way to keep it from
# warning at each of their flushes.
warnings.filterwarnings("ignore", "No application metrics to publish")


def observe(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Every invocation through Powertools' Logger and Metrics handler decorators."""
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)

    @logger.inject_lambda_context
    @metrics.log_metrics(capture_cold_start_metric=True)
    def handle(_event: Any, lambda_context: Any) -> Any:
        logger.set_correlation_id(correlation_id(event, lambda_context))
        return get_response(event)

    return handle(event, context)


def correlation_id(event: Any, lambda_context: Any) -> str | None:
    """API Gateway's request id of an HTTP request, else the Lambda request id.

    An HTTP request's `context` is API Gateway's request context (a dict; Chalice's local
    gateway leaves out `requestId`); an event's `context` is the Lambda context itself."""
    request_context = getattr(event, "context", None)
    if isinstance(request_context, dict) and request_context.get("requestId"):
        return str(request_context["requestId"])
    return getattr(lambda_context, "aws_request_id", None)
