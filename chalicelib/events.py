"""Registry events (`version.revoked`, `descendant.outdated`, …): logged as structured lines.

One function, so routing them elsewhere (EventBridge) is one change.
"""

from __future__ import annotations

from typing import Any

from .observability import logger


def emit(kind: str, bucket: str, **detail: Any) -> None:
    logger.info("registry event", extra={"event": kind, "bucket": bucket, "detail": detail})
