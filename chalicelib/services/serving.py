"""The consumer query: "which artifact for bucket X, channel Y, platform Z, region R?".

One GetItem: every channel item carries a copy of its version's builds and artifacts
(channels.py writes it whenever the channel moves or its version changes); a version too
large for one item is read from its copy pages with one Query more (copies.py). This module imports only
storage and the stdlib-only domain.platforms, so answering it is all a cold Lambda has to load.

Platforms are compared by their current names (`platforms.canonical`): `platform=gcp` finds the
`gce` artifacts a googlecompute build has now, and `platform=gce` those of versions stored under
`gcp` before the registry followed the plugins' names; answers name the current platform.
"""

from __future__ import annotations

from typing import Any

from . import copies
from .. import storage
from ..storage.entities import Channel
from ..domain.enums import RevocationType, VersionStatus
from ..domain.platforms import canonical
from ..errors import BadRequest, Conflict, NotFound

PARENT_CHANNEL_LABEL = "parent_channel"  # a build label naming its parent's channel (custom_data)
# Build labels a viewer never sees nor matches: the parent's channel may be restricted, and
# whether it is, or was, is not the viewer's to learn (so even a public one's is left out).
VIEWER_HIDDEN_LABELS = frozenset({PARENT_CHANNEL_LABEL})


def hidden_labels(see_restricted: bool) -> frozenset[str]:
    """The build labels the caller neither sees nor matches (none for contributors)."""
    return frozenset() if see_restricted else VIEWER_HIDDEN_LABELS


def seen_labels(labels: dict[str, str] | None, see_restricted: bool) -> dict[str, str]:
    """A build's labels as the caller sees them."""
    hidden = hidden_labels(see_restricted)
    return {k: v for k, v in (labels or {}).items() if k not in hidden}


def get_item(bucket: str, name: str, see_restricted: bool = True) -> Channel:  # pragma: no mutate block
    """A channel the caller may see: one GetItem, then `visible` (left out of mutation testing:
    it reads DynamoDB; the rule is `visible`)."""
    return visible(storage.channels.channel(bucket, name), bucket, name, see_restricted)


def visible(item: Channel | None, bucket: str, name: str, see_restricted: bool = True) -> Channel:
    """The channel item; a restricted one does not exist for callers who may not see it (as in
    HCP Packer, viewers get a 404, not a 403, so its existence does not leak). Open unless
    told otherwise: contributors and the registry's own reads see every channel."""
    if not item or (item.restricted and not see_restricted):
        raise NotFound(f"bucket {bucket!r} has no channel {name!r}")
    return item


def serve(bucket: str, name: str, platform: str | None, region: str | None,
          component_type: str | None = None, labels: dict[str, str] | None = None,
          see_restricted: bool = True) -> dict[str, Any]:  # pragma: no mutate block
    """The artifact to use: one GetItem (a large version's copy pages: one Query more), then
    the pure rules `check_servable` and `choose` (this shell reads DynamoDB, so mutation
    testing leaves it to the integration tests)."""
    if not platform:
        raise BadRequest("platform is required (e.g. platform=aws)")
    item = get_item(bucket, name, see_restricted)
    check_servable(item, bucket, name)
    builds = copies.read(bucket, item.number, item.copy) if item.copy and item.number else item.builds or []
    return choose(item, bucket, name, builds, platform, region, component_type, labels, see_restricted)


def check_servable(item: Channel, bucket: str, name: str) -> None:
    """A channel serves something only when it holds a version that is not revoked."""
    if not item.version:
        raise NotFound(f"channel {name!r} of bucket {bucket!r} is not assigned to a version")
    if item.version_status == VersionStatus.REVOKED:
        raise Conflict(revoked_message(name, item.version, item.revocation or {}))


def choose(item: Channel, bucket: str, name: str, builds: list[dict[str, Any]], platform: str,
           region: str | None, component_type: str | None = None, labels: dict[str, str] | None = None,
           see_restricted: bool = True) -> dict[str, Any]:
    """Which of a channel's artifacts answers the consumer query (pure: `item` is the channel,
    `builds` its version's builds with their artifacts).

    `region` may be left out when the matching artifacts are all in one region or
    region-less (GCP images, Docker images), otherwise it is a 400 that lists the regions.
    A region given for a region-less artifact does not exclude it (a module may pass its
    region whatever the platform), but an artifact in exactly that region is preferred.
    `component_type` and `labels` narrow the builds further.
    Among several matches the answer is deterministic: the newest build wins (latest
    `build_time`; a build without one loses to any build with one), then the latest
    ingestion (`created_at`), then the alphabetically first component type, external ID
    and build ID.
    """
    artifacts = [{**{k: v for k, v in b.items() if k != "artifacts"}, "platform": canonical(b["platform"]), **a}
                 for b in builds for a in b["artifacts"]]
    platform = canonical(platform)
    hidden = hidden_labels(see_restricted)  # never matched, as if no build carried them
    matches = [a for a in artifacts
               if a["platform"] == platform
               and (region is None or a.get("region") in (region, None))
               and (component_type is None or a["component_type"] == component_type)
               and all(k not in hidden and a.get("labels", {}).get(k) == v for k, v in (labels or {}).items())]
    if region is not None and any(a.get("region") == region for a in matches):
        matches = [a for a in matches if a.get("region") == region]
    if not matches:
        wanted = [f"platform={platform}"] + ([f"region={region}"] if region else []) + (
            [f"component_type={component_type}"] if component_type else []) + (
            [f"labels={','.join(f'{k}:{v}' for k, v in labels.items())}"] if labels else [])
        raise NotFound(f"{item.version} on channel {name!r} has no artifact for {' '.join(wanted)}; "
                       f"it has: {_available(artifacts, platform if component_type or labels else None)}")
    regions = {a.get("region") for a in matches}
    if region is None and len(regions) > 1:
        raise BadRequest(f"platform {platform} has artifacts in several regions; pass region= one of "
                         + ", ".join(sorted(r or "(none)" for r in regions)))
    # Two stable sorts: ascending names first, then newest first (ties keep that order).
    ordered = sorted(matches, key=lambda a: (a["component_type"], a["external_id"], a["build_id"]))
    ordered.sort(key=lambda a: (a.get("build_time") or "", a["created_at"]), reverse=True)
    best = ordered[0]
    labels = seen_labels(best.get("labels"), see_restricted)
    # The shape of models.ServedArtifact (not imported: pydantic is not needed to answer).
    return {"bucket": bucket, "channel": name, "version": item.version, "fingerprint": item.fingerprint,
            "build_id": best["build_id"], "component_type": best["component_type"], "platform": best["platform"],
            "region": best.get("region"), "external_id": best["external_id"], "labels": labels,
            "build_time": best.get("build_time"), "files": best.get("files", []),
            "file_count": best.get("file_count", 0), "created_at": best["created_at"]}


def revoked_message(channel: str, version: str, revocation: dict[str, Any]) -> str:
    """Why a channel serves nothing: who revoked its version, when and why, and (for an
    inherited revocation) from which ancestor."""
    origin = (f" (inherited from its ancestor {revocation['inherited_from']})"
              if revocation.get("revocation_type") == RevocationType.INHERITED and revocation.get("inherited_from") else "")
    return (f"channel {channel!r} holds {version}, revoked{origin} at {revocation.get('revoked_at')} "
            f"by {revocation.get('revoked_by')}: {revocation.get('reason')}")


def _available(artifacts: list[dict[str, Any]], platform: str | None = None) -> str:
    """What a channel does serve: platforms with their regions (and, when the query filtered
    by component type or labels, the component types of the platform asked for)."""
    if not artifacts:
        return "no artifacts"
    found: dict[str, set[str]] = {}
    for a in artifacts:
        found.setdefault(a["platform"], set()).add(a.get("region") or "-")
    text = "; ".join(f"{p} in {', '.join(sorted(r - {'-'}))}" + (" and region-less" if "-" in r else "")
                     if r != {"-"} else p for p, r in sorted(found.items()))
    components = sorted({a["component_type"] for a in artifacts if a["platform"] == platform})
    if components:
        text += f" (component types for {platform}: {', '.join(components)})"
    return text


def parse_labels(raw: str | None) -> dict[str, str]:
    """`os:ubuntu,arch:arm64` → {"os": "ubuntu", "arch": "arm64"}."""
    if not raw:
        return {}
    labels = {}
    for pair in raw.split(","):
        key, sep, value = pair.partition(":")
        if not sep or not key.strip():
            raise BadRequest(f"labels must look like key:value,key:value, not {raw!r}")
        labels[key.strip()] = value.strip()
    return labels
