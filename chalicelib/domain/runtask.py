"""HCP Terraform's run-task protocol, the pure parts: the request's signature, which request
is only HCP Terraform's verification, and the task result the registry sends back.

The protocol (developer.hashicorp.com/terraform/cloud-docs/api-docs/run-tasks/run-tasks-integration;
go-tfe `run_task_request.go`, `run_tasks_integration.go`):
- HCP Terraform POSTs a JSON payload (`payload_version` 1, `access_token`, `stage`,
  `plan_json_api_url` from the post-plan stage on, `task_result_callback_url`,
  `task_result_enforcement_level`, `run_id`, `workspace_name`, ...) to the run task's URL,
  signed with the HMAC key it was given: `X-TFC-Task-Signature` is the hex HMAC-SHA512 of the
  raw body. The endpoint answers 200 at once (anything else is retried).
- When a run task is created, HCP Terraform sends a verification request whose
  `access_token` is `test-token`; it only needs its 200.
- The result goes back as `PATCH task_result_callback_url` (`Authorization: Bearer
  <access_token>`, `Content-Type: application/vnd.api+json`) with a JSON:API `task-results`
  document: `status` passed / failed, a `message`, and `task-result-outcomes`, each with an
  `outcome-id`, a `description`, a markdown `body` and `tags` whose `level` is error,
  warning or info.

What passes (HCP Packer's own run task, developer.hashicorp.com/hcp/docs/packer/reference/run-task):
a resource the plan creates or replaces with a revoked image fails the run (an error
outcome); the same resource updated in place, or left unchanged, only warns (so an unrelated
change such as a tag is never blocked); an out-of-date image warns; a current one is an info
outcome; an image the registry never saw gets no outcome (it is counted in the message), unless
the run task's `on_untracked_image` says WARN (a warning) or FAIL (treated as a revoked one).
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable
from urllib.parse import urlsplit

from .enums import Verdict
from .plans import ImageUse

if TYPE_CHECKING:
    from .models import ComplianceResult

SIGNATURE_HEADER = "X-TFC-Task-Signature"
VERIFICATION_TOKEN = "test-token"  # the access token of the request sent when a run task is created
PASSED, FAILED = "passed", "failed"
ERROR, WARNING, INFO = "error", "warning", "info"
MAX_OUTCOMES = 100  # the most severe first; the message says how many more were left out
MAX_DESCRIPTION = 250  # characters: a one-line summary
MAX_BODY = 8000  # characters of an outcome's markdown body
DEPLOYING = {"create"}  # actions that put the image on a new resource (a replacement includes a create)


def signature(key: str, body: bytes) -> str:
    """The `X-TFC-Task-Signature` HCP Terraform sends: hex HMAC-SHA512 of the raw body."""
    return hmac.new(key.encode(), body, hashlib.sha512).hexdigest()


def signed(key: str, body: bytes, header: str | None) -> bool:
    """Whether `header` is the body's signature under `key` (compared in constant time)."""
    return bool(header) and hmac.compare_digest(signature(key, body), (header or "").strip().lower())


def http_url(value: str | None, field_name: str) -> str:
    """`value` when it is an absolute http(s) URL with a host; ValueError otherwise (the plan
    and callback URLs come signed from HCP Terraform, but a file:// or gopher:// one is never
    fetched whatever signed it)."""
    parts = urlsplit(value or "")
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{field_name} must be an http(s) URL")
    return value or ""


def is_verification(access_token: str | None, callback_url: str | None) -> bool:
    """HCP Terraform's request when a run task is created (access token `test-token`), or one
    with nowhere to report to: acknowledged, nothing else."""
    return access_token == VERIFICATION_TOKEN or not callback_url


# ---- the task result ------------------------------------------------------------------------

REVOKED, KEPT_REVOKED, OUTDATED, CURRENT = "Revoked", "Revoked, not redeployed", "Outdated", "Current"
UNTRACKED, KEPT_UNTRACKED = "Untracked", "Untracked, allowed"
_LEVELS = {REVOKED: ERROR, UNTRACKED: ERROR, KEPT_REVOKED: WARNING, KEPT_UNTRACKED: WARNING, OUTDATED: WARNING,
           CURRENT: INFO}
_RANK = {label: rank for rank, label in enumerate(_LEVELS)}  # the worst first
_FAILING = (REVOKED, UNTRACKED)
# The run task's `on_untracked_image` (HCP's RunTaskBehaviour; services/registry.py keeps it):
# UNSET, no outcome for an image the registry does not track (it is only counted); WARN, a
# warning; FAIL, an error that fails the run where the plan creates or replaces the resource,
# and a warning where it is updated in place or unchanged, as for a revoked image.
UNSET, WARN, FAIL = "UNSET", "WARN", "FAIL"


@dataclass
class Resource:
    """One resource's images that the registry tracks, judged: the worst label wins."""

    address: str
    label: str = CURRENT
    summary: str = ""
    lines: list[str] = field(default_factory=list)


def task_result(uses: list[ImageUse], results: Iterable[ComplianceResult],
                on_untracked: str = UNSET) -> dict[str, object]:
    """The callback's JSON:API document for a plan's image uses and the compliance check's
    verdict on each image: `failed` when a resource the plan creates or replaces uses a
    revoked image (or, with `on_untracked` FAIL, one the registry does not track), else
    `passed`; one outcome per resource using a registry image (and, unless `on_untracked` is
    UNSET, per resource using an untracked one)."""
    verdicts = {r.artifact: r for r in results}
    resources: dict[str, Resource] = {}
    addresses, tracked = set(), set()
    for use in uses:
        addresses.add(use.address)
        verdict = verdicts.get(use.image)
        untracked = verdict is None or verdict.verdict == Verdict.UNKNOWN
        if not untracked:
            tracked.add(use.address)
        elif on_untracked not in (WARN, FAIL):
            continue
        resource = resources.setdefault(use.address, Resource(use.address))
        if untracked:
            label, summary = _judge_untracked(use, on_untracked)
            resource.lines.append(f"- `{use.image}`: the registry has no record of it")
        else:
            assert verdict is not None
            label, summary = _judge(use, verdict)
            resource.lines.append(f"- `{use.image}` ({verdict.bucket} {verdict.version}): {verdict.message}")
        if not resource.summary or _RANK[label] < _RANK[resource.label]:
            resource.label, resource.summary = label, summary
    ranked = sorted(resources.values(), key=lambda r: _RANK[r.label])
    labels = [r.label for r in ranked]
    status = FAILED if any(label in _FAILING for label in labels) else PASSED
    counts = (f"{labels.count(REVOKED)} deploy a revoked image, {labels.count(KEPT_REVOKED)} keep one (updated in "
              f"place or unchanged: a warning), {labels.count(OUTDATED)} use an outdated one, "
              f"{labels.count(CURRENT)} are current, {len(addresses - tracked)} use only images the registry "
              f"does not track")
    more = f" {len(ranked) - MAX_OUTCOMES} more resources are not listed." if len(ranked) > MAX_OUTCOMES else ""
    ending = ""
    if REVOKED in labels:
        ending = " A revoked image is being deployed: the run task fails."
    elif UNTRACKED in labels:
        ending = " An image the registry does not track is being deployed, which the run task refuses: it fails."
    message = f"{len(addresses)} resources use images: {counts}.{ending}{more}"
    return {"data": {"type": "task-results", "attributes": {"status": status, "message": message},
                     "relationships": {"outcomes": {"data": [_outcome(r) for r in ranked[:MAX_OUTCOMES]]}}}}


def failure(message: str) -> dict[str, object]:
    """A `failed` result with no outcomes: the plan could not be checked (why, in `message`)."""
    return {"data": {"type": "task-results", "attributes": {"status": FAILED, "message": message}}}


def _judge(use: ImageUse, result: ComplianceResult) -> tuple[str, str]:
    """(label, one-line summary) of one resource's image."""
    named = f"{use.image} ({result.bucket} {result.version})"
    if result.verdict == Verdict.REVOKED:
        if not use.actions or DEPLOYING & set(use.actions):
            return REVOKED, f"{use.address} deploys {named}, which is revoked"
        how = "updated in place" if "update" in use.actions else "unchanged"
        return KEPT_REVOKED, f"{use.address} ({how}) uses {named}, which is revoked"
    if result.verdict == Verdict.OUT_OF_DATE:
        return OUTDATED, f"{use.address} uses {named}, which is out of date"
    return CURRENT, f"{use.address} uses {named}, which is current"


def _judge_untracked(use: ImageUse, on_untracked: str) -> tuple[str, str]:
    """(label, one-line summary) of a resource's image the registry does not track: an
    error only with FAIL and where the plan deploys it (creates or replaces the resource)."""
    if on_untracked == FAIL and (not use.actions or DEPLOYING & set(use.actions)):
        return UNTRACKED, f"{use.address} deploys {use.image}, which the registry does not track"
    return KEPT_UNTRACKED, f"{use.address} uses {use.image}, which the registry does not track"


def _outcome(resource: Resource) -> dict[str, object]:
    return {"type": "task-result-outcomes", "attributes": {
        "outcome-id": resource.address,
        "description": _cut(resource.summary, MAX_DESCRIPTION),
        "body": _cut("\n".join(resource.lines), MAX_BODY),
        "tags": {"Status": [{"label": resource.label, "level": _LEVELS[resource.label]}]}}}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
