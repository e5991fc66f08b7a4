"""Property tests of the pure parts: manifest parsing, artifact ID splitting, hashing,
builder → platform."""

from __future__ import annotations

import json
import os
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from chalicelib.domain.ids import is_ulid
from chalicelib.domain.manifest import (
    ManifestBuild,
    entry_build_id,
    MANIFEST_FILE_STEMS,
    MAX_FILE_NAME,
    MAX_FILE_NAMES,
    MAX_FILES,
    ParsedManifest,
    bucket_from_key,
    content_hash,
    kept_files,
    parse_manifest,
)
from chalicelib.domain.models import BUCKET_NAME_PATTERN, FINGERPRINT_PATTERN, BuildFile
from chalicelib.domain.platforms import _PLATFORMS, _REGION_PREFIXED, platform_for, split_artifact_id

# 200 examples a property in `make test`; `make unit` and `make mutate` ask for fewer (PROPERTY_EXAMPLES),
# to stay fast. Derandomized: the same examples every run, so a mutant's verdict is repeatable.
PROPERTIES = settings(max_examples=int(os.environ.get("PROPERTY_EXAMPLES", "200")), deadline=None,
                      derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---- strategies -------------------------------------------------------------------------

# Text includes lone surrogates now and then: valid JSON (`"\\ud800"`), not storable as UTF-8.
texts = st.text(max_size=12) | st.text(st.characters(categories=["Cs", "Ll", "Nd", "Zs", "Cc"]), max_size=4)
json_scalars = (st.none() | st.booleans() | st.integers(-2**70, 2**70)
                | st.floats(allow_nan=False, allow_infinity=False) | texts)
json_values = st.recursive(json_scalars, lambda children: st.lists(children, max_size=5)
                           | st.dictionaries(texts, children, max_size=5), max_leaves=25)
safe_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                         | st.text(max_size=12),
                         lambda children: st.lists(children, max_size=5)
                         | st.dictionaries(st.text(max_size=10), children, max_size=5), max_leaves=25)
BUILDERS = [prefix.rstrip("-") + ("-ebs" if prefix.endswith("-") else "") for prefix, _ in _PLATFORMS]
builder_types = st.sampled_from(BUILDERS) | st.text(min_size=1, max_size=20)
names = st.text(min_size=1, max_size=20)
# Packer-shaped build entries, with junk mixed into every field Packer writes.
custom_data = st.none() | st.dictionaries(
    st.sampled_from(["bucket_name", "fingerprint", "parent_bucket", "parent_channel", "parent_version",
                     "source_ami", "source_image", "source_artifact", "arch", "os"]) | st.text(max_size=8),
    st.text(max_size=12) | json_scalars, max_size=5)
build_entries = st.fixed_dictionaries(
    {"name": names, "builder_type": builder_types,
     "artifact_id": st.text(max_size=60) | st.sampled_from(["us-east-1:ami-1,us-west-2:ami-2", "sha256:abc", "VM"])},
    optional={"build_time": st.none() | st.integers(-10, 2**40), "files": st.none() | st.lists(
                  st.fixed_dictionaries({"name": st.text(max_size=10)},
                                        optional={"size": st.none() | st.integers(-2**70, 2**70)}),
                  max_size=3),
              "packer_run_uuid": st.none() | st.sampled_from(["", "run-a", "run-b", " run-a "]) | st.text(max_size=12),
              "custom_data": custom_data,
              "extra": json_values})
manifests = st.fixed_dictionaries({"builds": st.lists(build_entries | json_values, max_size=8)},
                                  optional={"last_run_uuid": st.text(max_size=10)})
keys = st.sampled_from(["ubuntu-base/packer-manifest.json", "web.json", "/lead/x.json", "x", "", "packer-manifest.json",
                        "Manifest.JSON"]) | st.text(max_size=30)
metadata = st.dictionaries(st.sampled_from(["bucket-name", "fingerprint", "parent-bucket", "source-artifact",
                                            "Bucket-Name"]), st.text(max_size=12), max_size=3)


def storable_hash(value: Any) -> str | None:
    """The entry's build id, or None for a value with a lone surrogate (such entries are rejected)."""
    try:
        return entry_build_id(value, ManifestBuild.model_validate(value).build_time)
    except (UnicodeEncodeError, ValueError):  # ValueError: an entry parse_manifest rejects
        return None


def as_read(document: Any) -> Any:
    """The document as the parser sees it after json.dumps: JSON joins an escaped surrogate
    pair ("\\ud94b\\udcba") into one character, which the Python value still holds as two."""
    return json.loads(json.dumps(document))


def check_invariants(parsed: ParsedManifest, document: Any = None) -> None:
    """What holds for any input: problems or runs, never neither; runs non-empty and
    distinct; every valid build entry kept in exactly one run, every invalid one reported."""
    assert isinstance(parsed, ParsedManifest)
    assert parsed.problems or parsed.runs, "neither a problem nor a run"
    assert all(isinstance(p, str) and p for p in parsed.problems)
    assert len({(r.bucket, r.fingerprint) for r in parsed.runs}) == len(parsed.runs), "a run split in two"
    homes: dict[str, list[tuple[str, str]]] = {}
    for run in parsed.runs:
        assert run.builds, "an empty run"
        for build in run.builds:
            assert is_ulid(build.id)
            assert build.artifacts and all(isinstance(a.external_id, str) for a in build.artifacts)
            homes.setdefault(build.id, []).append((run.bucket, run.fingerprint))
    assert all(len(h) == 1 for h in homes.values()), "a build in two runs (or twice in one)"
    if document is None:
        return
    builds = document.get("builds") if isinstance(document, dict) else None
    if parsed.build_count:  # the document was read: each entry is either kept or reported
        assert isinstance(builds, list) and parsed.build_count == len(builds)
        rejected = {int(m.group(1)) for p in parsed.problems if (m := re.match(r"builds\[(\d+)\]", p))}
        kept = {storable_hash(e) for i, e in enumerate(builds) if i not in rejected}
        assert None not in kept, "an entry kept that cannot be stored as UTF-8"
        assert kept == set(homes), "a valid entry without a run, or a run build from nowhere"
    else:
        assert not parsed.runs and len(parsed.problems) == 1, parsed.problems


# ---- parse_manifest ---------------------------------------------------------------------

@PROPERTIES
@given(raw=st.binary(max_size=300), key=keys, meta=metadata)
@example(raw=b"", key="", meta={})
@example(raw=b"\xef\xbb\xbf{}", key="a.json", meta={})
@example(raw=b"[" * 100 + b"]" * 100, key="a/b", meta={})
@example(raw=b'{"builds": [{"name": "\\ud800", "builder_type": "x", "artifact_id": "y"}]}', key="a/b", meta={})
def test_parse_manifest_never_raises_on_bytes(raw, key, meta):
    check_invariants(parse_manifest(raw, key, meta))


@PROPERTIES
@given(document=json_values, key=keys)
def test_parse_manifest_never_raises_on_json_values(document, key):
    check_invariants(parse_manifest(json.dumps(document).encode(), key), as_read(document))


@PROPERTIES
@given(document=manifests, key=keys, meta=metadata)
def test_parse_manifest_on_packer_shaped_manifests(document, key, meta):
    document = as_read(document)
    parsed = parse_manifest(json.dumps(document).encode(), key, meta)
    check_invariants(parsed, document)
    for run in parsed.runs:
        for build in run.builds:
            entry = next(e for e in document["builds"] if isinstance(e, dict) and storable_hash(e) == build.id)
            assert build.name == entry["name"] and build.builder_type == entry["builder_type"]
            assert build.platform == platform_for(entry["builder_type"])
            assert set(build.indexed_ids) <= {a.external_id for a in build.artifacts}
            listed = entry.get("files") or []
            assert build.file_count == len(listed)
            assert [f.name for f in build.files] == [f["name"] for f in listed]  # short lists: kept whole


@PROPERTIES
@given(document=manifests, key=keys, meta=metadata, data=st.data())
def test_build_ids_and_runs_are_stable_under_key_reordering(document, key, meta, data):
    def shuffled(value: Any) -> Any:
        if isinstance(value, dict):
            items = data.draw(st.permutations(list(value.items())))
            return {k: shuffled(v) for k, v in items}
        if isinstance(value, list):
            return [shuffled(v) for v in value]
        return value

    def summary(parsed: ParsedManifest) -> Any:
        return (sorted((r.bucket, r.fingerprint, sorted(b.id for b in r.builds)) for r in parsed.runs),
                len(parsed.problems))

    reordered = shuffled(document)
    assert summary(parse_manifest(json.dumps(document).encode(), key, meta)) == \
        summary(parse_manifest(json.dumps(reordered).encode(), key, meta))


@PROPERTIES
@given(document=manifests, meta=metadata, key=keys.filter(lambda k: "\n" not in k))
def test_every_accepted_run_has_names_the_api_accepts(document, meta, key):
    """What ingestion stores must be addressable: bucket names and fingerprints match the
    API's own patterns in full (JSON Schema / pydantic semantics: `$` is the very end)."""
    parsed = parse_manifest(json.dumps(document).encode(), key, meta)
    for run in parsed.runs:
        assert re.fullmatch(BUCKET_NAME_PATTERN.strip("^$"), run.bucket), run.bucket
        assert re.fullmatch(FINGERPRINT_PATTERN[1:-1], run.fingerprint), run.fingerprint


@PROPERTIES
@given(document=manifests, stem=st.sampled_from(sorted(MANIFEST_FILE_STEMS)), data=st.data())
def test_a_manifest_named_as_a_manifest_at_the_root_never_makes_a_bucket_of_its_name(document, stem, data):
    """Without custom_data.bucket_name or metadata, a root-level `packer-manifest.json`
    (any case, any extension) puts no build anywhere; with them, only where they say."""
    key = data.draw(st.sampled_from(["", "/"])) + "".join(
        c.upper() if data.draw(st.booleans()) else c for c in stem) + data.draw(st.sampled_from(["", ".json", ".JSON"]))
    parsed = parse_manifest(json.dumps(document).encode(), key)
    named = {e["custom_data"]["bucket_name"].strip() for e in as_read(document)["builds"]
             if isinstance(e, dict) and isinstance(e.get("custom_data"), dict)
             and isinstance(e["custom_data"].get("bucket_name"), str)}
    assert {run.bucket for run in parsed.runs} <= named


files = st.lists(st.tuples(st.integers(0, 3000), st.none() | st.integers(-2**70, 2**70)), max_size=300)


@PROPERTIES
@given(files=files)
def test_kept_files_stay_within_their_caps(files):
    listed = [BuildFile(name=f"{i}:" + "n" * length, size=size) for i, (length, size) in enumerate(files)]
    kept = kept_files(listed)
    assert len(kept) <= MAX_FILES
    assert all(len(f.name) <= MAX_FILE_NAME for f in kept)
    assert sum(len(f.name) for f in kept) <= MAX_FILE_NAMES
    assert all(f.size is None or 0 <= f.size < 2**63 for f in kept)
    for mine, theirs in zip(kept, listed):  # a prefix of the manifest's list, in its order
        assert mine.name == theirs.name or (mine.name.endswith("…") and theirs.name.startswith(mine.name[:-1]))
        assert mine.size == (theirs.size if theirs.size is not None and 0 <= theirs.size < 2**63 else None)
    if listed and len(kept) < min(len(listed), MAX_FILES):  # stopped early: the next name did not fit
        following = min(len(listed[len(kept)].name), MAX_FILE_NAME)
        assert sum(len(f.name) for f in kept) + following > MAX_FILE_NAMES


def test_a_key_with_a_trailing_newline_gives_no_bucket():
    raw = json.dumps({"builds": [{"name": "b", "builder_type": "amazon-ebs", "artifact_id": "us-east-1:ami-1"}]})
    parsed = parse_manifest(raw.encode(), "web\n/x.json")
    assert not parsed.runs, [r.bucket for r in parsed.runs]


@PROPERTIES
@given(key=st.text(max_size=40))
def test_bucket_from_key_never_raises(key):
    bucket = bucket_from_key(key)
    assert isinstance(bucket, str) and "/" not in bucket


# ---- split_artifact_id ------------------------------------------------------------------

platforms = st.sampled_from(sorted({p for _, p in _PLATFORMS})) | st.text(max_size=12)
regions = st.from_regex(r"[a-z]{2}-[a-z]+-[1-9]", fullmatch=True)
ids = st.from_regex(r"ami-[0-9a-f]{8,17}", fullmatch=True)


@PROPERTIES
@given(platform=platforms, artifact_id=st.text(max_size=80))
@example(platform="aws", artifact_id=",")
@example(platform="aws", artifact_id=" , ")
@example(platform="aws", artifact_id=":")
@example(platform="aws", artifact_id="us-east-1:")
@example(platform="packer.oracle.oci", artifact_id="ocid1.image.oc1.")
def test_split_artifact_id_never_raises_nor_returns_empty_ids(platform, artifact_id):
    split = split_artifact_id(platform, artifact_id)
    assert split, "no artifact at all"
    if artifact_id.strip():
        assert all(a.external_id for a in split), split
    for artifact in split:
        assert artifact.region is None or artifact.region


@PROPERTIES
@given(platform=st.sampled_from(sorted(_REGION_PREFIXED)),
       pairs=st.lists(st.tuples(regions, ids), min_size=1, max_size=6), spaces=st.booleans())
def test_region_prefixed_ids_round_trip(platform, pairs, spaces):
    sep = ", " if spaces else ","
    split = split_artifact_id(platform, sep.join(f"{r}:{i}" for r, i in pairs))
    assert [(a.region, a.external_id) for a in split] == pairs


@PROPERTIES
@given(artifact_id=st.text(min_size=1, max_size=60).filter(lambda s: s.strip()))
def test_ids_of_other_platforms_stay_whole(artifact_id):
    for platform in ("gce", "azure", "docker", "qemu"):
        assert [a.external_id for a in split_artifact_id(platform, artifact_id)] == [artifact_id.strip()]


# ---- content_hash and platform_for ------------------------------------------------------

@PROPERTIES
@given(value=safe_json, data=st.data())
def test_content_hash_is_stable_and_ignores_key_order(value, data):
    def shuffled(v: Any) -> Any:
        if isinstance(v, dict):
            return {k: shuffled(x) for k, x in data.draw(st.permutations(list(v.items())))}
        if isinstance(v, list):
            return [shuffled(x) for x in v]
        return v

    digest = content_hash(value)
    assert re.fullmatch(r"[0-9a-f]{16}", digest)
    assert content_hash(value) == digest
    assert content_hash(shuffled(value)) == digest
    assert content_hash(json.loads(json.dumps(value))) == digest


@PROPERTIES
@given(a=safe_json, b=safe_json)
def test_content_hash_tells_different_values_apart(a, b):
    assume(json.dumps(a, sort_keys=True) != json.dumps(b, sort_keys=True))
    assert content_hash(a) != content_hash(b)


@PROPERTIES
@given(builder_type=builder_types | st.text(max_size=40))
def test_platform_for_is_total(builder_type):
    platform = platform_for(builder_type)
    assert isinstance(platform, str)
    known = {p for _, p in _PLATFORMS}
    assert platform in known or platform == builder_type
    assert platform_for(builder_type) == platform


@pytest.mark.parametrize("builder_type, platform", [
    ("amazon-ebs", "aws"), ("amazon-chroot", "aws"), ("azure-arm", "azure"), ("googlecompute", "gce"),
    ("docker", "docker"), ("proxmox-iso", "proxmox"), ("proxmox", "proxmox"), ("oracle-oci", "packer.oracle.oci"),
    ("amazon", "amazon"), ("something-new", "something-new"), ("", ""),
])
def test_platform_for_examples(builder_type, platform):
    assert platform_for(builder_type) == platform
