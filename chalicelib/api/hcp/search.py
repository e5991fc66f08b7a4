"""SearchExternalArtifact (`POST P/_search/external_artifact`): which buckets, versions and
builds made a cloud artifact, from the artifact index the native `GET /artifacts/{id}` reads
(services/artifacts.producers), one page at a time (`pagination.page_size`,
`pagination.next_page_token`).

`external_identifier` is required (400 code 3 without it); `platform` and `region` narrow the
builds. Each match is `{bucket: {id, name, labels}, version: {id, name, fingerprint, status,
revoke_at, revocation_*, author_id}, build}` as the SDK's ExternalArtifact has them; an
artifact no build made answers no matches (`artifacts: []`), not an error, as a search does.
A viewer gets builds without the labels it may not see, as everywhere.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...runtime.lazy import lazy
from . import wire
from .requests import Body, text

if TYPE_CHECKING:
    from ...services import artifacts, serving
else:
    artifacts, serving = lazy("chalicelib.services.artifacts"), lazy("chalicelib.services.serving")

Json = dict[str, Any]
VERSION_FIELDS = ("id", "name", "fingerprint", "status", "revoke_at", "revocation_message", "revocation_author",
                  "revocation_type", "author_id")


def search_external_artifact(data: Body, see_restricted: bool, limit: int, token: str | None) -> Json:
    external_id = text(data, "external_identifier", required=True) or ""
    found, next_token = artifacts.producers(external_id, text(data, "platform") or None,
                                            text(data, "region") or None, limit, token)
    hidden = serving.hidden_labels(see_restricted)
    matches = []
    for version, build, bucket in found:
        shaped = wire.version(version)
        matches.append({
            "bucket": {"id": wire.ulid(bucket), "name": bucket.bucket, **({"labels": bucket.labels} if bucket.labels
                                                                          else {})},
            "version": {k: shaped[k] for k in VERSION_FIELDS if k in shaped},
            "build": wire.build(build, shaped["id"], hidden)})
    return {"artifacts": matches, "pagination": {"next_page_token": next_token} if next_token else {}}
