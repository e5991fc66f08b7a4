"""DeleteBuild (`DELETE P/buckets/{b}/versions/{fingerprint}/builds/{build_id}`), with HCP
Packer's rule for complete versions (services/drafts.delete_build).

HCP's SDK says only "deletes a build in the provided version"; HCP Packer's model is that a
complete version is immutable (its builds are what was released: a build of one takes no
change, FailedPrecondition "This version is complete…"). So: a build of a version still
running (a draft) is deleted, with its SBOMs; a build of a complete version is refused, HTTP
400 code 9, and the version is deleted instead (DeleteVersion). An unknown bucket, version or
build is 404 code 5, as DeleteVersion answers. The answer is `{}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import NotFound
from ...runtime.lazy import lazy
from .resources import bucket_item

if TYPE_CHECKING:
    from ...services import drafts
else:
    drafts = lazy("chalicelib.services.drafts")


def delete_build(bucket: str, fingerprint: str, build_id: str, actor: str) -> dict[str, Any]:
    try:
        drafts.delete_build(bucket, fingerprint, build_id, actor)
    except NotFound:
        bucket_item(bucket)  # a missing bucket says so (read only on this path)
        raise
    return {}
