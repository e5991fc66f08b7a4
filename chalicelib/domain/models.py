"""Pydantic models at the edges: HTTP request bodies and the JSON the API returns.

Every body the API answers with is one of the `Out` models below (or a `Page` of them), and
`GET /openapi.json` is generated from them (openapi.py): what a model says is what the
route answers. An `Out` model is dumped whole: every field is present, null when unset,
except a field that says it is left out (`next_token`), and nothing else is."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, RootModel, StringConstraints

from .enums import (
    AncestryStatus,
    AuditAction,
    BucketRole,
    FoundBy,
    HistoryCause,
    IngestionStatus,
    JobStatus,
    ResolvedAt,
    RevocationType,
    Role,
    SkipReason,
    Verdict,
    VersionStatus,
)
from .names import (  # noqa: F401 - re-exported: the name rules live in names.py
    BUCKET_NAME_PATTERN,
    CHANNEL_NAME_PATTERN,
    FINGERPRINT_PATTERN,
    VERSION_NAME,
    VERSION_REF_PATTERN,
)
from .platforms import canonical
from .access import BUCKET_ROLES, MAX_MEMBERS

BucketName = Annotated[str, StringConstraints(pattern=BUCKET_NAME_PATTERN)]
# A platform as the API shows it: builds stored under an old name (`gcp`) show the name their
# plugin reports to HCP Packer (`gce`), as builds ingested since do (platforms.py).
Platform = Annotated[str, AfterValidator(canonical)]
# Caps on what a request may store: a bucket item and the audit event that carries its
# labels twice (before and after) stay far below DynamoDB's 400 KB (50 x 384 characters is
# about 19 KB a copy).
MAX_LABELS, MAX_LABEL_KEY, MAX_LABEL_VALUE, MAX_DESCRIPTION = 50, 128, 256, 1024


MAX_PREFIXES, MAX_PREFIX = 20, 256


def _at_most(limit: int, what: str) -> BeforeValidator:
    """The count first: 500 labels are one problem, not 500 (pydantic counts after the items)."""
    def check(value: Any) -> Any:
        if isinstance(value, (dict, list)) and len(value) > limit:
            raise ValueError(f"at most {limit} {what}, not {len(value)}")
        return value
    return BeforeValidator(check)


LabelMap = Annotated[dict[Annotated[str, StringConstraints(min_length=1, max_length=MAX_LABEL_KEY)],
                          Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE)]],
                     Field(max_length=MAX_LABELS), _at_most(MAX_LABELS, "labels")]
# S3 key prefixes a bucket accepts manifests from (buckets.check_manifest_key); empty: any key.
ManifestPrefixes = Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_PREFIX)]],
                             Field(max_length=MAX_PREFIXES), _at_most(MAX_PREFIXES, "manifest_prefixes")]
Description = Annotated[str, StringConstraints(max_length=MAX_DESCRIPTION)]
VersionRef = Annotated[str, StringConstraints(pattern=VERSION_REF_PATTERN)]  # `v3` or a fingerprint
Moment = Annotated[str, StringConstraints(max_length=64)]  # a time or a duration, parsed later



class Out(BaseModel):
    """A response body (or part of one): dumped whole, so its schema requires every field
    (defaults included) and allows no other; fields unknown to the model are dropped when an
    item is read into it, never echoed."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True,
                              json_schema_extra={"additionalProperties": False})


# A page's `next_token`: present (opaque, signed) while more items remain, else left out.
NextToken = Annotated[str, Field(exclude_if=lambda token: not token, description=(
    "present while more items remain: pass it as `next_token` for the next page"))]


class Body(BaseModel):
    """A request body: unknown fields are an error, not silently dropped, and types are
    strict (a boolean is `true` or `false`, never `"true"`, `1` or `"yes"`)."""

    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re")  # names.py uses look-ahead


class CreateBucket(Body):
    name: BucketName
    description: Description = ""
    labels: LabelMap = Field(default_factory=dict)
    manifest_prefixes: ManifestPrefixes = Field(default_factory=list)


class UpdateBucket(Body):
    """PATCH: absent (or null) fields are left as they are; `manifest_prefixes: []` lifts the rule."""

    description: Description | None = None
    labels: LabelMap | None = None
    manifest_prefixes: ManifestPrefixes | None = None


class Artifact(Out):
    external_id: str
    region: str | None = None


# What a build keeps of its manifest's `files` (manifest.kept_files applies it): a build item
# and each channel's copy of its artifacts stay far below DynamoDB's 400 KB item limit.
MAX_FILES = 100  # files per build
MAX_FILE_NAME = 1024  # characters of one name
MAX_FILE_NAMES = 16 * 1024  # characters of names per build, all files together
FILES = (f"the manifest's `files` (what local builders such as qemu, vmware-iso, virtualbox produce), in its order: "
         f"at most {MAX_FILES} and {MAX_FILE_NAMES:,} characters of names per build, "
         f"a name cut at {MAX_FILE_NAME:,} characters")
FILE_COUNT = "how many files the manifest listed: more than the length of `files` means the list was cut"


class BuildFile(Out):
    """A file a build produced (a qemu disk, an OVF, a Vagrant box), as Packer's manifest lists it."""

    name: str
    size: int | None = None  # bytes; null when the manifest does not say


class Build(Out):
    id: str
    component_type: str
    name: str
    builder_type: str
    platform: Platform
    status: Literal["UNSET", "RUNNING", "DONE", "FAILED", "CANCELLED"] = Field(
        "DONE", description="DONE for every build of a recorded version; the others only while a version published "
                            "through the HCP API is running")
    labels: dict[str, str] = Field(default_factory=dict)
    packer_run_uuid: str | None = None
    build_time: str | None = None
    source_artifact: str | None = None
    artifacts: list[Artifact] = Field(default_factory=list)
    files: list[BuildFile] = Field(default_factory=list, description=FILES)
    file_count: int = Field(0, description=FILE_COUNT)
    created_at: str


class ParentHint(Out):
    """What a manifest says about a version's parent; resolved by the ancestry logic."""

    bucket: str | None = None
    channel: str | None = None
    version: str | None = None
    source_artifact: str | None = None


class AncestryFinding(Out):
    """Why a parent link needs attention: its own status (not the version's worst), the
    sentence that says what happened and what to do about it, and how the link was found
    (`how`: reported by Packer through the HCP API, named in a manifest, or matched from a
    source artifact; null for an inherited revocation, or a finding stored by an older
    release)."""

    status: AncestryStatus | None = None
    message: str
    how: str | None = None


class UntrackedSource(Out):
    """A build's source artifact the registry does not hold (a public or marketplace image, a
    vendor's container image): the version has no parent through it. Information, not a
    finding. The sweep keeps looking for it for UNTRACKED_SOURCE_WINDOW after `recorded_at`
    (a parent's manifest may arrive after its child's), then stops."""

    source_artifact: str
    region: str | None = None
    recorded_at: str
    message: str = Field(description='"source not tracked: ami-0abc (us-east-1)"')


class ParentLink(Out):
    """A resolved parent: which version, taken from which channel (if any), found how; for a
    `parent_channel` hint, whether through the channel's history at the build time or as it
    was when the version was recorded, and that in words (`resolution`). For a viewer, when
    the channel is restricted, `channel` and `resolved_at` are null and `resolution` names only
    the parent version."""

    bucket: str
    version: str
    fingerprint: str
    channel: str | None = None
    found_by: FoundBy
    source_artifact: str | None = Field(None, description="the source artifact it was matched from")
    resolved_at: ResolvedAt | None = None
    resolution: str | None = None
    how: str | None = Field(None, description=(
        "how it was found: reported by Packer through the HCP API, named in a manifest, or matched from a "
        "source artifact"))


class Version(Out):
    bucket: str
    name: str
    number: int
    fingerprint: str
    id: str | None = Field(None, description="ULID (the HCP API's version id); versions recorded before ids have none")
    status: VersionStatus = VersionStatus.ACTIVE
    created_at: str
    updated_at: str
    build_count: int = 0
    parent_hint: ParentHint | None = None
    parents: list[ParentLink] | None = None
    unresolved: list[dict[str, str]] | None = None
    untracked: list[UntrackedSource] | None = None
    ancestry_status: AncestryStatus | None = None
    ancestry_messages: list[str] | None = None
    ancestry_findings: list[AncestryFinding] | None = None
    revocation: "Revocation | None" = None
    builds: list[Build] | None = None


class BucketChannel(Out):
    """A channel as the bucket list shows it."""

    name: str
    version: str | None = None
    version_status: VersionStatus | None = None
    restricted: bool = False


class Bucket(Out):
    name: str
    description: str = ""
    labels: dict[str, str] = Field(default_factory=dict)
    created_at: str
    updated_at: str
    version_count: int = 0
    latest_version: str | None = Field(None, description="null for a viewer: `latest` is restricted")
    manifest_prefixes: list[str] = Field(default_factory=list, description=(
        "S3 key prefixes manifests for this bucket must be uploaded under; empty: any key"))
    status_counts: dict[str, int] | None = Field(None, description=(
        "versions by status (active, running, revoked, revocation_scheduled) and flagged versions by ancestry "
        "status (out_of_date, parent_revoked, undetermined); only non-zero counts. null for a bucket created "
        "before they were kept"))
    channels: list[BucketChannel] | None = Field(None, description=(
        "the bucket's channels (a viewer's without the restricted ones), by name; null for a bucket created "
        "before they were kept"))


class IngestedVersion(Out):
    bucket: str
    version: str
    fingerprint: str
    builds_added: int
    created: bool
    # Why the run was recorded against this version without storing anything (it already
    # held every artifact of the run: domain/duplicates.py); None when the run was stored.
    duplicate: str | None = None


class Ingestion(Out):
    id: str
    s3_bucket: str
    key: str
    etag: str
    status: IngestionStatus
    received_at: str
    reasons: list[str] = Field(default_factory=list)
    versions: list[IngestedVersion] = Field(default_factory=list)


# ---- channels ---------------------------------------------------------------------------

ChannelName = Annotated[str, StringConstraints(pattern=CHANNEL_NAME_PATTERN)]


class CreateChannel(Body):
    name: ChannelName
    version: VersionRef | None = None
    restricted: bool = False
    description: Description = ""


class UpdateChannel(Body):
    """PATCH: `version` absent leaves the assignment alone; `"version": null` unassigns."""

    version: VersionRef | None = None
    restricted: bool | None = None
    description: Description | None = None


class Revocation(Out):
    reason: str
    revoked_at: str | None = None
    revoke_at: str | None = None
    revoked_by: str | None = None
    revocation_type: RevocationType = RevocationType.DIRECT
    inherited_from: str | None = None
    skip_descendants_revocation: bool = False
    disable_rollback_channels: bool = False
    cascade_pending: bool | None = None


class Channel(Out):
    bucket: str
    name: str
    description: str = ""
    restricted: bool = False
    managed: bool = False
    version: str | None = None
    fingerprint: str | None = None
    version_status: VersionStatus | None = None
    revocation: Revocation | None = None
    created_at: str
    updated_at: str
    created_by: str | None = None
    updated_by: str | None = None


class HistoryEntry(Out):
    channel: str
    from_version: str | None = None
    to_version: str | None = None
    at: str
    author: str
    cause: HistoryCause


class ServedArtifact(Out):
    """The consumer query's answer: what a Terraform module or Packer template should use."""

    bucket: str
    channel: str
    version: str
    fingerprint: str
    build_id: str
    component_type: str
    platform: Platform
    region: str | None = None
    external_id: str
    labels: dict[str, str] = Field(default_factory=dict)
    build_time: str | None = None
    files: list[BuildFile] = Field(default_factory=list, description=FILES)
    file_count: int = Field(0, description=FILE_COUNT)
    created_at: str


# revoke_in: days, hours, minutes, seconds in that order, at least one; blanks around ignored
# (lifecycle.parse_when reads it and names what is wrong; the schema says it to clients).
DURATION_PATTERN = r"^\s*(?=[0-9])(?:[0-9]+d)?(?:[0-9]+h)?(?:[0-9]+m)?(?:[0-9]+s)?\s*$"
Duration = Annotated[Moment, Field(json_schema_extra={"pattern": DURATION_PATTERN})]
Time = Annotated[Moment, Field(json_schema_extra={"format": "date-time"})]  # ISO 8601, checked by the service


class RevokeRequest(Body):
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    revoke_at: Time | None = Field(None, description=(
        "ISO 8601 with a time zone: when to revoke; past or now revokes now"))
    revoke_in: Duration | None = Field(None, description="from now: `30d`, `2h45m`, `90s`; `0s` revokes now")
    skip_descendants_revocation: bool = False
    disable_rollback_channels: bool = False


Version.model_rebuild()


# ---- bulk revocation (services/revocations.py) --------------------------------------------

MAX_EXTERNAL_IDS, MAX_EXTERNAL_ID, MAX_BUCKETS = 100, 512, 100
ExternalIds = Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=MAX_EXTERNAL_ID)]],
                        Field(max_length=MAX_EXTERNAL_IDS), _at_most(MAX_EXTERNAL_IDS, "external_ids")]


class ParentVersion(Body):
    """A version other versions were built on."""

    bucket: BucketName
    version: VersionRef = Field(description="`v3`, a fingerprint or an id")


class RevocationFilter(Body):
    """Which versions: every criterion given must hold, and at least one must be given."""

    created_before: Time | None = Field(None, description="ISO 8601 with a time zone: versions created before it")
    labels: LabelMap | None = Field(None, description="versions with a build that has every one of these labels")
    parent: ParentVersion | None = Field(None, description="versions built on this version (bucket and version)")
    external_ids: ExternalIds | None = Field(None, description=(
        f"versions with a build that made any of these artifacts (at most {MAX_EXTERNAL_IDS})"))


class BucketRevocationRequest(RevokeRequest):
    """`POST /buckets/{bucket}/revocations`: the single revocation's fields, for every
    version of the bucket the filter selects."""

    filter: RevocationFilter
    dry_run: bool = Field(False, description="answer what would be revoked and change nothing")


class RevocationRequest(BucketRevocationRequest):
    """`POST /revocations`: across buckets."""

    buckets: Annotated[list[BucketName], Field(max_length=MAX_BUCKETS), _at_most(MAX_BUCKETS, "buckets")] | None = \
        Field(None, description="only these buckets (default: every bucket)")


class ParentVersionRef(Out):
    bucket: str
    version: str


class SelectedFilter(Out):
    """A job's filter as stored: `created_before` in UTC, `parent.version` as its name."""

    created_before: str | None = None
    labels: dict[str, str] | None = None
    parent: ParentVersionRef | None = None
    external_ids: list[str] | None = None


class SkippedCounts(Out):
    already_revoked: int = 0
    running: int = Field(0, description="still being built (numbered running versions and HCP drafts)")
    not_found: int = Field(0, description="deleted after an index named them")


class RevocationCounts(Out):
    matched: int = Field(0, description="versions the filter selected so far (skipped ones included)")
    revoked: int = 0
    scheduled: int = Field(0, description="scheduled for `revoke_at` instead (a future revocation)")
    skipped: SkippedCounts = Field(default_factory=SkippedCounts)
    failed: int = 0


class RevocationFailure(Out):
    bucket: str
    version: str
    reason: str


class RevocationJob(Out):
    """A bulk revocation and its progress (`GET /revocations/{revocation_id}`)."""

    id: str
    status: JobStatus
    bucket: str | None = Field(None, description="the bucket of a bucket's revocation; null across buckets")
    buckets: list[str] | None = None
    filter: SelectedFilter
    reason: str
    revoke_at: str | None = None
    skip_descendants_revocation: bool = False
    disable_rollback_channels: bool = False
    counts: RevocationCounts
    failures: list[RevocationFailure] = Field(default_factory=list, description="the first failures, at most 20")
    batches: int = Field(0, description="batches applied so far")
    selection_finished: bool = Field(False, description="every candidate has been read (batches may remain)")
    created_by: str
    created_at: str
    updated_at: str
    finished_at: str | None = None


class RevocationTarget(Out):
    bucket: str
    version: str
    status: VersionStatus | None = Field(None, description="null: deleted since an index named it")
    action: Literal["revoke", "schedule", "skip"]
    skip_reason: SkipReason | None = None


class DescendantTarget(Out):
    bucket: str
    version: str
    status: VersionStatus
    inherited_from: str = Field(description="`bucket/vN` of the selected version it descends from")


class RevocationPreview(Out):
    """A dry run's answer: nothing was written."""

    dry_run: bool = True
    filter: SelectedFilter
    versions: list[RevocationTarget]
    truncated: bool = Field(description="more versions match than listed")
    descendants: list[DescendantTarget] = Field(description=(
        "not yet revoked versions built (directly or not) on the ones that would be revoked; empty with "
        "skip_descendants_revocation"))
    descendants_truncated: bool


# ---- tokens -----------------------------------------------------------------------------

# A token's or service principal's name: the actor of the audit trail (auth.check_name
# refuses the registry's own actor names).
CredentialName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@:-]{0,63}$")]
RoleName = Annotated[Role, Field(strict=False)]  # the JSON string: strict mode takes only Role members from Python


class CreateToken(Body):
    name: CredentialName
    role: RoleName
    expires_at: Time | None = Field(None, description=(
        "ISO 8601 with a time zone: when the token stops working; must be in the future"))


class Token(Out):
    """A token as listed: never its secret."""

    id: str
    name: str
    role: Role
    created_at: str
    created_by: str | None = None
    last_used_at: str | None = None
    expires_at: str | None = None


class CreatedToken(Token):
    """A new token, with its secret (shown in this answer only)."""

    secret: str = Field(description="the bearer token")


class Identity(Out):
    """The caller, as its token identifies it."""

    name: str | None
    role: Role | None
    token_id: str | None = Field(description=(
        "`bootstrap-admin` for the bootstrap token, the `client_id` for a service principal's access token"))
    buckets: dict[str, Role] = Field(default_factory=dict, description=(
        "its bucket bindings (bucket: role); its role on a bucket is the higher of `role` and its binding there"))


# ---- bucket access (services/access.py) ---------------------------------------------------

BucketRoleName = Annotated[BucketRole, Field(strict=False)]  # the JSON string (see RoleName)
MemberId = Annotated[str, StringConstraints(pattern=r"^(?:[0-9a-f]{16}|[0-9a-f]{32})$")]


class AccessMember(Out):
    id: str = Field(description="a token's id (16 hex digits) or a service principal's client_id (32)")
    type: Literal["token", "service_principal"]
    name: str | None = Field(None, description="the credential's name")


class AccessBinding(Out):
    role: BucketRole
    members: list[AccessMember]


class BucketAccess(Out):
    """Who is bound to a bucket, by role (each role once, viewer first; only roles with members)."""

    bucket: str
    bindings: list[AccessBinding]
    etag: str = Field(description="send it back with a change: the change is refused (409) if the policy changed "
                                  "since it was read")
    updated_at: str | None = None
    updated_by: str | None = None


class AccessBindingRequest(Body):
    role: BucketRoleName
    members: Annotated[list[MemberId], Field(max_length=MAX_MEMBERS), _at_most(MAX_MEMBERS, "members")]


class SetBucketAccess(Body):
    """`PUT /buckets/{bucket}/access`: the whole policy, replacing the one there."""

    bindings: Annotated[list[AccessBindingRequest], Field(max_length=len(BUCKET_ROLES)), _at_most(len(BUCKET_ROLES), "bindings")]
    etag: Annotated[str, StringConstraints(max_length=32)] | None = Field(None, description=(
        "the etag read: refused (409) if the policy changed since; omitted: applied over whatever is there"))


# ---- service principals and the OAuth2 token endpoint -----------------------------------

class CreateServicePrincipal(Body):
    name: CredentialName
    role: RoleName


class ServicePrincipal(Out):
    """Client credentials for the HCP-compatible API, as listed: never the secret."""

    client_id: str
    name: str
    role: Role
    created_at: str
    created_by: str | None = None


class CreatedServicePrincipal(ServicePrincipal):
    """A new service principal, with its secret (shown in this answer only)."""

    client_secret: str = Field(description="`HCP_CLIENT_SECRET`: exchanged at `POST /oauth2/token` for an "
                                           "access token")


class TokenRequest(BaseModel):
    """`POST /oauth2/token`, form-encoded (RFC 6749 §4.4): the client credentials in HTTP Basic
    (`client_id:client_secret`, each URL-escaped) or in these form fields. Parameters it
    does not know are ignored, as RFC 6749 says."""

    model_config = ConfigDict(extra="allow")

    grant_type: Literal["client_credentials"]
    audience: str = Field("", description="ignored (the HCP clients send `https://api.hashicorp.cloud`)")
    client_id: str = Field("", description="when not in HTTP Basic")
    client_secret: str = Field("", description="when not in HTTP Basic")


class AccessToken(Out):
    """An access token for `Authorization: Bearer` on every route, native ones included."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(description="seconds the token is valid for")


class OAuthError(Out):
    """The token endpoint's errors, in OAuth 2.0's shape (RFC 6749 §5.2)."""

    error: Literal["invalid_request", "invalid_client", "unsupported_grant_type"]
    error_description: str


# ---- lists and errors -------------------------------------------------------------------

class Error(Out):
    """Every error the API answers (http.error writes it without pydantic, so the consumer
    query's 404 and 409 need no import)."""

    error: str = Field(description="a code: BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed, "
                                   "Conflict, Contention, ServiceUnavailable, InternalError, ...")
    message: str


Item = TypeVar("Item")


FILTERED_NOTE = ("filters are applied to one page of the list as read: this page may hold fewer than `limit` "
                 "items, even none, while `next_token` says more remain")


class Page(Out, Generic[Item]):
    """One page of a list (http.page); the OpenAPI document names each kind (`BucketPage`)."""

    items: list[Item]
    next_token: NextToken = ""


class FilteredPage(Page[Item], Generic[Item]):
    """A page of a list that takes filters: `filtered` and `note` are present only when
    filters were applied to the page read (see FILTERED_NOTE)."""

    filtered: Annotated[bool, Field(exclude_if=lambda filtered: not filtered, description=(
        "present (true) when filters were applied to the page read"))] = False
    note: Annotated[str, Field(exclude_if=lambda note: not note, description=(
        "present on a filtered page: " + FILTERED_NOTE))] = ""


class BucketPage(FilteredPage[Bucket]):
    pass


class VersionPage(FilteredPage[Version]):
    pass


class ChannelPage(Page[Channel]):
    pass


class HistoryPage(Page[HistoryEntry]):
    pass


class IngestionPage(Page[Ingestion]):
    pass


class TokenPage(Page[Token]):
    pass


class ServicePrincipalPage(Page[ServicePrincipal]):
    pass


# ---- ancestry ---------------------------------------------------------------------------

class VersionSummary(Out):
    """A version as ancestry answers name it (a child, a node of the descendant tree)."""

    bucket: str
    version: str
    fingerprint: str
    status: VersionStatus
    ancestry_status: AncestryStatus | None = None
    revocation: Revocation | None = None


class AncestryLink(Out):
    """A parent link with its live status; `found_by: unresolved` for a hint that matched
    nothing (then only what the hint named is set). For a viewer, when the channel is
    restricted, `channel` and `resolved_at` are null and `resolution` names only the parent
    version."""

    bucket: str | None = None
    version: str | None = None
    fingerprint: str | None = None
    channel: str | None = None
    source_artifact: str | None = None
    found_by: FoundBy
    resolved_at: ResolvedAt | None = None
    resolution: str | None = None
    status: AncestryStatus
    message: str
    how: str | None = None


class Ancestry(Out):
    """A version's parents (with live status), its sources not tracked (information) and
    direct children."""

    bucket: str
    version: str
    fingerprint: str
    status: VersionStatus
    ancestry_status: AncestryStatus | None = None
    parents: list[AncestryLink]
    untracked: list[UntrackedSource] = Field(default_factory=list)
    children: list[VersionSummary]


class DescendantNode(VersionSummary):
    children: list[DescendantNode] = Field(default_factory=list)


class ContinuedNode(Out):
    """More children of a node an earlier page returned (not the root): hang `children`
    under the node named by `bucket` and `version`."""

    bucket: str
    version: str
    children: list[DescendantNode]


class Descendants(Out):
    """One page of the descendant tree, read breadth first to `depth` levels.

    `root` is the version asked about, on every page, with the nodes of this page whose
    parent is the root as its `children`; a node found on this page carries the nodes of
    this page found under it as its `children`. The first page's nodes all hang under
    `root` (so `continued` is empty); a later page's nodes whose parent an earlier page
    returned are in `continued`, grouped by that parent. To read the whole tree, keep one
    node per (bucket, version) and append each page's children to them. `count`: the nodes
    of this page (the root left out). `truncated`: the tree goes on beyond what the pages
    up to this one returned: `next_token` is set, or `depth` leaves descendants out (or
    the walk's frontier overflowed, see ancestry.descendants)."""

    root: DescendantNode
    continued: list[ContinuedNode] = Field(default_factory=list)
    count: int
    truncated: bool
    next_token: NextToken = ""


# ---- artifacts and compliance -----------------------------------------------------------

class ArtifactMatch(Out):
    bucket: str
    version: str
    fingerprint: str
    build_id: str
    platform: Platform
    status: VersionStatus
    ancestry_status: AncestryStatus | None = None
    ancestry_messages: list[str] = Field(default_factory=list)
    ancestry_findings: list[AncestryFinding] = Field(default_factory=list)
    revocation: Revocation | None = None


class ArtifactLookup(ArtifactMatch):
    """The newest version that produced an artifact (its fields), and every match, newest first."""

    external_id: str
    matches: list[ArtifactMatch]


class ArtifactList(BaseModel):
    """`POST /compliance/check`: the artifact IDs to check (plans.artifact_ids_from_request
    reads the body; this model describes it)."""

    model_config = ConfigDict(extra="allow")
    artifacts: list[Annotated[str, StringConstraints(pattern=r"\S")]] = Field(max_length=1000)


class TerraformChange(BaseModel):
    actions: list[str] = Field(default_factory=list,
                               description="a change whose actions are all `delete` is skipped")
    after: Any = None
    after_unknown: Any = None


class TerraformResource(BaseModel):
    """A resource of a plan's or state's module, or a planned change (`change`)."""

    address: str | None = None
    mode: str | None = None
    type: str | None = None
    name: str | None = None
    values: Any = None
    change: TerraformChange | None = None


class TerraformModule(BaseModel):
    resources: list[TerraformResource] = Field(default_factory=list)
    child_modules: list[dict[str, Any]] = Field(default_factory=list)


class TerraformValues(BaseModel):
    root_module: TerraformModule | None = None


class TerraformPlan(BaseModel):
    """`terraform show -json` output, a plan or a state (only the parts read are described):
    image IDs are read from planned_values, values and resource_changes[].change.after."""

    model_config = ConfigDict(json_schema_extra={
        "anyOf": [{"required": ["planned_values"]}, {"required": ["resource_changes"]},
                  {"required": ["format_version", "terraform_version"]}],
        "not": {"required": ["artifacts"]}})
    format_version: str | None = None
    terraform_version: str | None = None
    planned_values: TerraformValues | None = None
    values: TerraformValues | None = None
    resource_changes: list[TerraformResource] | None = None


class ComplianceCheckRequest(RootModel[ArtifactList | TerraformPlan]):
    """Either `{"artifacts": [...]}` or a Terraform plan or state as printed by
    `terraform show -json`."""


class ComplianceResult(Out):
    artifact: str
    verdict: Verdict
    message: str
    bucket: str | None = Field(None, description="null for an unknown artifact")
    version: str | None = Field(None, description="null for an unknown artifact")


class VerdictCounts(Out):
    ok: int = 0
    out_of_date: int = 0
    revoked: int = 0
    unknown: int = 0


class ComplianceCheck(Out):
    passed: bool = Field(description="false when any artifact is revoked")
    counts: VerdictCounts
    results: list[ComplianceResult]


class RunTaskRequest(BaseModel):
    """What HCP Terraform POSTs to the run-task endpoint (its run-task integration payload;
    only the fields the registry reads are described, any other is ignored). It must carry
    `X-TFC-Task-Signature`: the hex HMAC-SHA512 of the raw body under the run task's HMAC key."""

    model_config = ConfigDict(extra="ignore")
    payload_version: int | None = Field(None, description="1")
    access_token: str = Field(description="the run's token for the plan download and the callback; "
                                          "`test-token` in the verification request sent when the run task is created")
    stage: str | None = Field(None, description="pre_plan, post_plan, pre_apply, post_apply")
    plan_json_api_url: str | None = Field(None, description="where the plan JSON is (post_plan and later stages)")
    task_result_callback_url: str | None = Field(None, description="where the result is PATCHed")
    task_result_enforcement_level: str | None = Field(None, description="mandatory or advisory")
    run_id: str | None = None
    workspace_name: str | None = None
    organization_name: str | None = None


class RunTaskReceipt(Out):
    """The run-task endpoint's answer: the check runs after it, and its result goes to the
    callback URL."""

    queued: bool = Field(description="false for HCP Terraform's verification request, which is only acknowledged")
    message: str


class RevokedChannel(Out):
    bucket: str
    channel: str
    version: str | None = None
    revocation: Revocation | None = None


class UpcomingRevocation(Out):
    bucket: str
    version: str
    revoke_at: str | None = None
    reason: str | None = None


class Exposure(Out):
    """The biggest risks now (compliance.exposure), each list capped."""

    channels_serving_revoked: list[RevokedChannel] = Field(default_factory=list, description=(
        "channels holding a revoked version: consumers get a 409 from them (restricted ones only for contributors)"))
    channels_serving_revoked_truncated: bool = Field(False, description="more than the list shows")
    upcoming_revocations: list[UpcomingRevocation] = Field(
        default_factory=list, description="scheduled revocations still to come, soonest first")
    upcoming_revocations_truncated: bool = Field(False, description="more than the list shows")


class CascadeRun(Out):
    source: str = Field(description="`bucket/vN` whose revocation or restore is carried down")
    mode: str | None = None
    versions_changed: int
    finished: bool


class AncestryChange(Out):
    """A version whose ancestry status a sweep changed (`from`, `to`)."""

    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True)
    bucket: str
    version: str
    was: AncestryStatus | None = Field(None, alias="from")
    now: AncestryStatus | None = Field(None, alias="to")
    messages: list[str] = Field(default_factory=list)
    findings: list[AncestryFinding] = Field(default_factory=list)


class ResolvedParent(ParentLink):
    number: int


class ParentsResolved(Out):
    bucket: str
    number: int
    parent: ResolvedParent


class RepairedChannel(Out):
    bucket: str
    channel: str
    version: str | None = None
    was: VersionStatus | None = None
    now: VersionStatus | None = None


class SweepReport(Exposure):
    """What one compliance sweep did (a report stored by an older release may lack lists:
    they read as empty)."""

    started_at: str
    finished_at: str
    revocations_applied: list[str] = Field(default_factory=list, description=(
        "`bucket/vN` of each scheduled revocation applied"))
    cascades: list[CascadeRun] = Field(default_factory=list)
    ancestry_changes: list[AncestryChange] = Field(default_factory=list)
    parents_resolved: list[ParentsResolved] = Field(default_factory=list)
    channels_repaired: list[RepairedChannel] = Field(default_factory=list)
    markers_processed: int = 0
    more_pending: bool = False


class FlaggedVersion(Out):
    bucket: str
    version: str
    number: int
    ancestry_status: AncestryStatus
    messages: list[str] = Field(default_factory=list)
    findings: list[AncestryFinding] = Field(default_factory=list)
    flagged_at: str


class ReportCounts(Out):
    out_of_date: int = 0
    parent_revoked: int = 0
    undetermined: int = 0
    unresolved_parents: int = 0
    channels_serving_revoked: int = 0
    upcoming_revocations: int = 0
    abandoned_drafts: int = Field(0, description="abandoned drafts listed (at most 100: see abandoned_drafts_truncated)")


class AbandonedDraft(Out):
    """A version started through the HCP API with no build activity for DRAFT_ABANDONED_AFTER
    (services/drafts.py): never deleted automatically; a late build done still completes it."""

    bucket: str
    fingerprint: str = Field(description="how to name it: `DELETE /buckets/{bucket}/versions/{fingerprint}` deletes it")
    id: str | None = None
    author: str | None = Field(None, description="who started it")
    created_at: str
    last_activity_at: str = Field(description="its last build activity: a build created, a status change, a heartbeat")
    age_seconds: int = Field(description="seconds since it was started")
    idle_seconds: int = Field(description="seconds since its last build activity")
    build_count: int = 0
    done_builds: int = 0


class ComplianceReport(Exposure):
    """The last sweep's findings, the versions flagged now (paginated), the abandoned drafts."""

    last_sweep: SweepReport | None
    counts: ReportCounts
    flagged: list[FlaggedVersion]
    abandoned_drafts: list[AbandonedDraft] = Field(default_factory=list, description=(
        "drafts without build activity for DRAFT_ABANDONED_AFTER (default 24h), oldest activity first"))
    abandoned_drafts_truncated: bool = Field(False, description="more than the list shows")
    next_token: NextToken = ""


# ---- retention policies ---------------------------------------------------------------------

MAX_KEEP_NEWEST = 100  # the sweep places the newest N active versions by reading from the newest


class RetentionRequest(Body):
    """A bucket's retention policy (services/retention.py, domain/retention.py): at least one
    of `keep_newest` and `keep_younger_than`; a version is kept when either keeps it."""

    keep_newest: Annotated[int, Field(ge=1, le=MAX_KEEP_NEWEST)] | None = Field(None, description=(
        f"keep the N newest active versions (1-{MAX_KEEP_NEWEST})"))
    keep_younger_than: Annotated[str, StringConstraints(max_length=16)] | None = Field(None, description=(
        "keep versions created less than this long ago: days, hours, minutes as `30d`, `12h`, `1d12h` (1h-3650d)"))
    action: Literal["revoke", "delete"] = Field(..., description=(
        "what happens to the other versions: `revoke` (reason `retention policy: …`) or `delete` "
        "(the version and its builds; manifest objects in S3 stay)"))


class RetentionProgress(Out):
    """Where the sweep is in the bucket: a pass goes through the versions oldest first, a
    bounded number per run, and starts again from the oldest when it is over."""

    resume_after: str | None = Field(None, description="the next run goes on after this version (null: from the oldest)")
    last_run_at: str | None = None
    last_run_acted_on: list[str] = Field(default_factory=list)
    last_pass_finished_at: str | None = None


class RetentionPolicy(Out):
    bucket: str
    keep_newest: int | None = None
    keep_younger_than: str | None = None
    action: Literal["revoke", "delete"]
    set_at: str
    set_by: str
    progress: RetentionProgress


class RetentionDecision(Out):
    """One version, and what the sweep would do to it now and why."""

    version: str
    status: VersionStatus
    created_at: str
    decision: Literal["keep", "revoke", "delete"]
    reasons: list[str]


class RetentionPreview(Out):
    """`GET …/retention/preview`: the bucket's versions oldest first, each with the sweep's
    decision now (one page; nothing is written)."""

    bucket: str
    policy: RetentionPolicy
    evaluated_at: str
    versions: list[RetentionDecision]
    pass_ends_here: bool = Field(description=(
        "true when, from a version on this page onwards, nothing can be acted on (the rest is younger than "
        "keep_younger_than or, for revoke, among the newest kept); the sweep's pass stops there too"))
    next_token: NextToken = ""


# ---- the audit trail --------------------------------------------------------------------

class AuditEvent(Out):
    """One change, recorded in the same transaction as the change."""

    id: str
    time: str
    actor: str = Field(description="a token's name, `s3:<key>` for ingestion, `sweep` for the schedule")
    actor_id: str | None = Field(None, description=(
        "who the actor is: the token id, the service principal's client id; for the registry's own actors "
        "(`bootstrap-admin`, `sweep`, `registry`, `retention`, `s3:<key>`, `anonymous`) the actor itself; "
        "null in events recorded before it was kept"))
    action: str = Field(description="e.g. bucket.created, channel.assigned, version.revoked")
    bucket: str | None = None
    target: str
    before: Any = Field(None, description="the state before the change, where it matters")
    after: Any = Field(None, description="the state after the change, where it matters")
    detail: dict[str, Any] | None = None


class AuditEventPage(FilteredPage[AuditEvent]):
    pass


class OpenAPIDocument(RootModel[dict[str, Any]]):
    """`GET /openapi.json`: an OpenAPI 3.1 document (openapi.py builds it from these models)."""


# ---- webhooks -----------------------------------------------------------------------------

MAX_WEBHOOK_BUCKETS = 100


def _audit_action(name: str) -> str:
    if name not in AuditAction.__members__.values():
        raise ValueError(f"unknown event {name[:80]!r}: events are audit actions ({', '.join(AuditAction)})")
    return name


WebhookEvent = Annotated[str, AfterValidator(_audit_action)]


class CreateWebhook(Body):
    url: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        description="http:// or https://; never a link-local or cloud metadata address")
    events: Annotated[list[WebhookEvent], Field(min_length=1, max_length=len(AuditAction)),
                      _at_most(len(AuditAction), "events")] = Field(
        description="the audit actions to deliver (GET /events shows them): bucket.created, version.revoked, ...")
    buckets: Annotated[list[BucketName], Field(max_length=MAX_WEBHOOK_BUCKETS),
                       _at_most(MAX_WEBHOOK_BUCKETS, "buckets")] = Field(
        default_factory=list, description="only events of these buckets; empty: every bucket and registry-wide events")


class Webhook(Out):
    """A webhook as listed: never its secret."""

    id: str
    url: str
    events: list[str]
    buckets: list[str]
    enabled: bool = Field(description="false once it failed for a day (see `disabled_at`)")
    created_at: str
    created_by: str | None = None
    failing_since: str | None = Field(None, description="when its current streak of failed deliveries began")
    disabled_at: str | None = None


class CreatedWebhook(Webhook):
    """A new webhook, with its secret (shown in this answer only)."""

    secret: str = Field(description="the HMAC-SHA256 key of `X-Registry-Signature`")


class WebhookPage(Page[Webhook]):
    pass


class WebhookDelivery(Out):
    """One attempt to deliver one event (a retry has the same `id`, the next `attempt`)."""

    id: str = Field(description="the delivery id: `X-Registry-Delivery`, the same on each attempt")
    event_id: str
    action: str
    attempt: int
    time: str
    success: bool
    status_code: int | None = Field(None, description="the receiver's HTTP status; null when none came")
    error: str | None = Field(None, description="why the attempt failed, when it did")
    next_retry_at: str | None = Field(None, description="when the next attempt is due; null: none will be made")


class WebhookDeliveryPage(Page[WebhookDelivery]):
    pass
