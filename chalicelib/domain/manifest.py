"""Parse a `packer-manifest.json` into runs of builds: pure, no AWS.

Rules (also in the README, "Manifest conventions"):
- Each build's bucket name comes from `custom_data.bucket_name`, else the S3 object
  metadata `bucket-name`, else the key: its first path segment (`ubuntu-base/x.json`),
  or for a key at the root its file name without extension (`ubuntu-base.json`). A
  manifest's own file name at the root (`packer-manifest.json`, `manifest.json`) names no
  bucket: such a build needs the metadata or custom_data, else it is rejected saying so.
- Its fingerprint comes from `custom_data.fingerprint`, else metadata `fingerprint`
  (which then applies to every run in the object), else `packer_run_uuid`; a build with
  neither is a run of its own, fingerprinted `build-<content hash>`.
- Builds are grouped into runs by (bucket, fingerprint): one run becomes one version.
- Parent hints come from custom_data (`parent_bucket`, `parent_channel`, `parent_version`,
  `source_artifact`, or `source_ami` / `source_image`) else the metadata of the same
  names hyphenated.
- A build is identified by a hash of its whole manifest entry, so the same build uploaded
  twice is one build, and builds that differ only in custom_data (e.g. `arch`) stay two.
- `custom_data` becomes the build's labels (non-string values JSON-encoded).
- `files` (what local builders such as qemu or vmware-iso produce) are kept, capped so a
  build item and a channel's copy stay far below DynamoDB's 400 KB: see `kept_files`.
A manifest of more than MAX_BUILDS entries is rejected whole: what ingesting it costs grows
with it, and no single Packer run writes that many. A build that fails validation is reported with its index and reason; the others land.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .models import (
    BUCKET_NAME_PATTERN,
    FINGERPRINT_PATTERN,
    MAX_FILE_NAME,
    MAX_FILE_NAMES,
    MAX_FILES,
    Artifact,
    BuildFile,
    ParentHint,
)
from . import ids
from .names import shown
from .platforms import identifies, platform_for, split_artifact_id

MAX_MANIFEST_BYTES = 20 * 1024 * 1024
MAX_NESTING = 64
MAX_BUILDS = 1000  # entries in `builds`: Packer appends every run to the file unless it is removed
_MAX_SIZE = 2**63 - 1  # larger (or negative) sizes are junk: kept as unknown, not stored as numbers
# File names Packer users give the manifest itself: at the root of the manifest bucket they
# say nothing about which image it is, so they do not name a bucket (compared lower-case).
MANIFEST_FILE_STEMS = frozenset({"packer-manifest", "packer_manifest", "manifest"})
HINT_KEYS = ("parent_bucket", "parent_channel", "parent_version", "source_artifact")
SOURCE_ALIASES = ("source_artifact", "source_ami", "source_image")
_BUCKET_RE = re.compile(BUCKET_NAME_PATTERN)
_FINGERPRINT_RE = re.compile(FINGERPRINT_PATTERN)


class ManifestBuild(BaseModel):
    """One entry of a manifest's `builds` list, as Packer's manifest post-processor writes it."""

    model_config = ConfigDict(extra="allow", strict=False)

    name: str
    builder_type: str
    artifact_id: str
    build_time: int | None = None
    files: list[BuildFile] | None = None
    packer_run_uuid: str | None = None
    custom_data: dict[str, Any] | None = None

    @field_validator("name", "builder_type", "artifact_id")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be empty")
        return value


@dataclass
class ParsedBuild:
    id: str
    name: str
    builder_type: str
    platform: str
    labels: dict[str, str]
    packer_run_uuid: str | None
    build_time: str | None
    source_artifact: str | None
    artifacts: list[Artifact]
    indexed_ids: list[str]
    files: list[BuildFile] = field(default_factory=list)  # at most MAX_FILES
    file_count: int = 0  # how many the manifest listed
    parent: ParentHint | None = None  # this build's own parent (the HCP API's parent ids, resolved)
    extra: dict[str, Any] = field(default_factory=dict)  # stored on the build as is (the HCP API's fields)

    @property
    def component_type(self) -> str:
        return f"{self.builder_type}.{self.name}"


@dataclass
class ParsedRun:
    """A version to record: from a manifest, or a draft of the HCP API completing (which
    brings its id, template type, author and unresolvable parent ids)."""

    bucket: str
    fingerprint: str
    parent_hint: ParentHint | None
    builds: list[ParsedBuild] = field(default_factory=list)
    version_id: str | None = None
    template_type: str | None = None
    author: str | None = None
    unresolved: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ParsedManifest:
    runs: list[ParsedRun]
    problems: list[str]
    build_count: int  # entries in `builds`, valid or not


def parse_manifest(raw: bytes, key: str, metadata: dict[str, str] | None = None) -> ParsedManifest:
    """Parse raw bytes; never raises for bad input, reports it in `problems` instead."""
    metadata = {k.lower(): v for k, v in (metadata or {}).items()}
    document, problem = _load_json(raw)
    if problem:
        return ParsedManifest([], [problem], 0)
    if not isinstance(document, dict):
        return ParsedManifest([], [f"the manifest must be a JSON object, not {_json_type(document)}"], 0)
    builds = document.get("builds")
    if not isinstance(builds, list):
        what = "missing" if builds is None else f"a {_json_type(builds)}, not a list"
        return ParsedManifest([], [f"'builds' is {what}: not a Packer manifest"], 0)
    if not builds:
        return ParsedManifest([], ["'builds' is empty: nothing to record"], 0)
    if len(builds) > MAX_BUILDS:
        return ParsedManifest([], [f"'builds' has {len(builds)} entries; the limit is {MAX_BUILDS} per manifest "
                                   "(upload a fresh manifest per Packer run rather than one that keeps growing, "
                                   "or split it)"], len(builds))

    runs: dict[tuple[str, str], ParsedRun] = {}
    problems: list[str] = []
    for index, entry in enumerate(builds):
        try:
            bucket, fingerprint, hint, build = _parse_build(entry, key, metadata)
        except _BuildProblem as exc:
            problems.append(f"builds[{index}]{_label(entry)}: {exc}")
            continue
        run = runs.setdefault((bucket, fingerprint), ParsedRun(bucket, fingerprint, hint))
        if run.parent_hint is None:
            run.parent_hint = hint
        if all(b.id != build.id for b in run.builds):
            run.builds.append(build)
    return ParsedManifest(list(runs.values()), problems, len(builds))


class _BuildProblem(ValueError):
    pass


def _load_json(raw: bytes) -> tuple[Any, str | None]:
    if len(raw) > MAX_MANIFEST_BYTES:
        return None, f"the object is {len(raw)} bytes; the limit is {MAX_MANIFEST_BYTES}"
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text: invalid byte at offset {exc.start}"
    if _nesting_depth(text) > MAX_NESTING:
        return None, f"JSON nested deeper than {MAX_NESTING} levels"
    try:
        return json.loads(text), None
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except (RecursionError, ValueError) as exc:  # pragma: no cover - guarded by _nesting_depth
        return None, f"not valid JSON: {exc}"


def _nesting_depth(text: str) -> int:
    """Deepest bracket nesting outside strings: a cheap guard before json.loads recurses."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _parse_build(entry: Any, key: str, metadata: dict[str, str]) -> tuple[str, str, ParentHint | None, ParsedBuild]:
    if not isinstance(entry, dict):
        raise _BuildProblem(f"a build must be an object, not {_json_type(entry)}")
    try:
        build = ManifestBuild.model_validate(entry)
    except ValidationError as exc:
        raise _BuildProblem(_describe(exc)) from None
    try:  # a lone surrogate escape (\ud800) is valid JSON but cannot be stored as UTF-8
        json.dumps(entry, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise _BuildProblem("contains a string that is not valid Unicode (a lone surrogate escape)") from None
    custom = build.custom_data or {}
    bucket = _text(custom.get("bucket_name")) or metadata.get("bucket-name") or bucket_from_key(key)
    if not bucket and names_no_bucket(key):
        file_name = key.lstrip("/")
        raise _BuildProblem(
            f"the key {key!r} is a manifest's file name at the root of the manifest bucket, not a bucket name: "
            f"upload it as <bucket-name>/{file_name}, or set the object metadata bucket-name "
            "(aws s3 cp --metadata bucket-name=<bucket-name>), or custom_data.bucket_name in the Packer template"
        )
    if not bucket or not _BUCKET_RE.fullmatch(bucket):
        raise _BuildProblem(
            f"bucket name {shown(bucket or '')!r} is not valid (letters, digits, '.', '_', '-'; up to 64; "
            "set custom_data.bucket_name or the object metadata bucket-name)"
        )
    build_id = entry_build_id(entry, build.build_time)
    run_uuid = (build.packer_run_uuid or "").strip() or None
    fingerprint = _text(custom.get("fingerprint")) or metadata.get("fingerprint") or run_uuid or f"build-{build_id}"
    if not _FINGERPRINT_RE.fullmatch(fingerprint):
        raise _BuildProblem(f"fingerprint {shown(fingerprint)!r} is not valid (1-128 of A-Z a-z 0-9 . _ : + = @ -, not vN)")
    platform = platform_for(build.builder_type)
    split = split_artifact_id(platform, build.artifact_id)
    source = next((_text(custom.get(k)) for k in SOURCE_ALIASES if _text(custom.get(k))), None)
    source = source or metadata.get("source-artifact")
    hint = _parent_hint(custom, metadata, source)
    parsed = ParsedBuild(
        id=build_id,
        name=build.name,
        builder_type=build.builder_type,
        platform=platform,
        labels={k: v if isinstance(v, str) else json.dumps(v, sort_keys=True) for k, v in custom.items()},
        packer_run_uuid=run_uuid,
        build_time=_iso(build.build_time),
        source_artifact=source,
        artifacts=[Artifact(external_id=a.external_id, region=a.region) for a in split],
        indexed_ids=sorted({a.external_id for a in split if identifies(platform, a.external_id)}),
        files=kept_files(build.files or []),
        file_count=len(build.files or []),
    )
    return bucket, fingerprint, hint, parsed


def kept_files(files: list[BuildFile]) -> list[BuildFile]:
    """The files a build keeps, in the manifest's order: at most MAX_FILES, whose names
    total at most MAX_FILE_NAMES characters, each name cut to MAX_FILE_NAME (ending in
    '…'); a size that is negative or past 2^63 becomes unknown (None).

    The build item and every channel copy of its artifacts carry these, so the cap keeps
    both far below DynamoDB's 400 KB item limit whatever a manifest lists (a build keeps
    `file_count`, so a reader can tell a cut list).
    """
    kept: list[BuildFile] = []
    budget = MAX_FILE_NAMES
    for file in files[:MAX_FILES]:
        name = file.name if len(file.name) <= MAX_FILE_NAME else file.name[:MAX_FILE_NAME - 1] + "…"
        if len(name) > budget:
            break
        budget -= len(name)
        size = file.size if file.size is not None and 0 <= file.size <= _MAX_SIZE else None
        kept.append(BuildFile(name=name, size=size))
    return kept


# Keys under this prefix of the manifest bucket are the registry's own (SBOMs the HCP API
# stored), never manifests: ingestion skips them.
RESERVED_PREFIX = "_registry/"


def bucket_from_key(key: str) -> str:
    """`ubuntu-base/2026-11-25.json` → `ubuntu-base`; `ubuntu-base.json` → `ubuntu-base`;
    `packer-manifest.json` (a manifest's own name, at the root) → "" (no bucket)."""
    key = key.lstrip("/")
    first, sep, _ = key.partition("/")
    if sep:
        return first
    return "" if names_no_bucket(key) else _stem(first)


def names_no_bucket(key: str) -> bool:
    """Whether the key is a manifest's usual file name (`packer-manifest.json`, any case) at
    the root: `aws s3 cp packer-manifest.json s3://<manifest bucket>/` gives no bucket name."""
    key = key.lstrip("/")
    return "/" not in key and _stem(key).lower() in MANIFEST_FILE_STEMS


def _stem(name: str) -> str:
    return name.rsplit(".", 1)[0] if "." in name else name


def entry_build_id(entry: Any, build_time: int | None) -> str:
    """A build's id: a ULID (what HCP's clients expect), derived from its manifest entry (the
    build time's milliseconds, 80 bits of the entry's content_hash), so the same entry
    delivered again is the same build (idempotent ingestion)."""
    return ids.derived(_iso(build_time), content_hash(entry))


def content_hash(entry: Any) -> str:
    """A stable 16-hex-digit hash of a JSON value (key order does not matter)."""
    canonical = json.dumps(entry, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _parent_hint(custom: dict[str, Any], metadata: dict[str, str], source: str | None) -> ParentHint | None:
    values = {k: _text(custom.get(k)) or metadata.get(k.replace("_", "-")) for k in HINT_KEYS}
    values["source_artifact"] = source
    if not any(values.values()):
        return None
    return ParentHint(
        bucket=values["parent_bucket"],
        channel=values["parent_channel"],
        version=values["parent_version"],
        source_artifact=values["source_artifact"],
    )


def _text(value: Any) -> str | None:
    return value.strip() or None if isinstance(value, str) else None


def _iso(epoch: int | None) -> str | None:
    if not epoch or epoch < 0 or epoch > 32503680000:  # 0 means "unknown"; beyond year 3000 is junk
        return None
    return datetime.fromtimestamp(epoch, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "build"
        parts.append(f"{where}: {error['msg']}")
    return "; ".join(parts)


def _label(entry: Any) -> str:
    if isinstance(entry, dict) and isinstance(entry.get("name"), str):
        return f" ({entry['name']})"
    return ""


def _json_type(value: Any) -> str:
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )
