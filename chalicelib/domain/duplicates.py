"""One Packer run, one version, whichever doors it used (pure rules; services/duplicates.py
reads and writes).

A `packer build` that publishes through the HCP API and keeps the manifest post-processor
reaches the registry twice: its draft completes, and its `packer-manifest.json` is uploaded
to S3. The two doors name the run with different fingerprints (HCP_PACKER_BUILD_FINGERPRINT
or the git SHA; the manifest's `packer_run_uuid`), so each would make a version. A run whose
every artifact a version of the bucket already holds is recorded against that version instead.

The same artifact: the same platform and external ID (and region, where both records give
one: a manifest gives none for region-less platforms, while a plugin reports its zone,
location or directory to HCP), made by the same Packer run (`packer_run_uuid`, which Packer
writes into the manifest and sends with every HCP build). Requiring the run keeps apart
artifacts whose IDs a later build reuses for another image (a Docker `repo:tag`, an Azure
managed image or a GCE image of a fixed name). An artifact whose ID is not indexed (a local
builder's: a file path, `File`, `Null`, `VM`) names nothing beyond the machine it was built
on, and the doors name it differently (the manifest says `File`, HCP the file's name): it is
the same as the build of the same component (`file.one`) of the same Packer run. A build
without a `packer_run_uuid` (or without artifacts) matches nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .platforms import canonical

Build = Mapping[str, Any]  # a build's attributes (storage entities' `attributes()`)
# A `packer_run_uuid` that may be part of a key (Packer's are UUIDs; a manifest may say anything).
_RUN_UUID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")


def run_uuids(builds: Iterable[Build]) -> list[str]:
    """The Packer runs the builds were made by, each once, those that can be looked up."""
    return sorted({uuid for b in builds if (uuid := b.get("packer_run_uuid")) and _RUN_UUID.fullmatch(uuid)})


def indexed_ids(builds: Iterable[Build]) -> list[str]:
    """The builds' artifact IDs that the artifact index holds, each once."""
    return sorted({e for b in builds for e in b.get("indexed_ids") or ()})


def candidates(bucket: str, builds: Sequence[Build], producers: Mapping[str, tuple[str, int]],
               runs: Mapping[str, int]) -> set[int]:
    """The versions of `bucket` that may hold every artifact of the builds: those the newest
    producers of their indexed IDs name in the bucket (`producers`: ID → (bucket, number)),
    else, when none does, those their Packer runs last made there (`runs`: run → number)."""
    named = {producers[e][1] for e in indexed_ids(builds) if e in producers and producers[e][0] == bucket}
    return named or {runs[u] for u in run_uuids(builds) if u in runs}


def held(run: Sequence[Build], version: Sequence[Build]) -> list[str] | None:
    """The run's artifacts, described (`aws us-east-1 ami-1`, `packer.file file.one`), when
    every one of them is among the builds of `version` by the rule above; None otherwise."""
    described: list[str] = []
    for build in run:
        uuid, artifacts = build.get("packer_run_uuid"), build.get("artifacts") or []
        if not uuid or not artifacts:
            return None
        platform = canonical(build["platform"])
        peers = [b for b in version if b.get("packer_run_uuid") == uuid and canonical(b["platform"]) == platform]
        for artifact in artifacts:
            external_id, region = artifact["external_id"], artifact.get("region")
            if external_id in (build.get("indexed_ids") or ()):
                found = any(_same(external_id, region, a) for peer in peers for a in peer.get("artifacts") or ())
                described.append(" ".join(filter(None, (platform, region, external_id))))
            else:
                found = any(peer["component_type"] == build["component_type"] for peer in peers)
                described.append(f"{platform} {build['component_type']}")
            if not found:
                return None
    return described or None


def _same(external_id: str, region: str | None, other: Mapping[str, Any]) -> bool:
    """The same external ID, in the same region where both name one."""
    return other.get("external_id") == external_id and (not region or not other.get("region")
                                                        or other["region"] == region)
