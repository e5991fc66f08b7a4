"""Structured JSON logs and CloudWatch EMF metrics (Powertools), wired in as Chalice middleware."""

from __future__ import annotations

import os
from typing import Any, Callable

from aws_lambda_powertools import Logger, Metrics

SERVICE = "packer-registry"
logger = Logger(service=os.environ.get("POWERTOOLS_SERVICE_NAME", SERVICE))
metrics = Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE", "PackerRegistry"), service=SERVICE)
_cold_start = True


def observe(event: Any, get_response: Callable[[Any], Any]) -> Any:
    """Every invocation: request id and cold start on each log line, metrics flushed at the end."""
    global _cold_start
    context = getattr(event, "lambda_context", None) or getattr(event, "context", None)
    logger.append_keys(
        cold_start=_cold_start,
        function_request_id=getattr(context, "aws_request_id", None),
        function_name=getattr(context, "function_name", None),
    )
    if _cold_start:
        metrics.add_metric(name="ColdStart", unit="Count", value=1)
    _cold_start = False
    try:
        return get_response(event)
    finally:
        if metrics.metric_set:
            metrics.flush_metrics()
