"""The HCP Terraform run task: the registry checks each plan for revoked and outdated images,
as HCP Packer's artifact validation run task does (domain/runtask.py has the protocol and
what passes).

- `validation()` / `regenerate_hmac()` answer the HCP API's `GET …/runtasks/validation` and
  `PATCH …/runtasks/hmac` (terraform-provider-hcp's `hcp_packer_run_task`): the endpoint URL
  to register in HCP Terraform and the HMAC key it signs requests with (admins only,
  api/roles.py: whoever holds the key makes the run task connect). The key is made on
  first use (kept with `if_not_exists`, so concurrent first requests answer the same key) and
  replaced by the PATCH, after which the old one is refused at once (every request reads it:
  one GetItem). The replacement is an audit event that never holds the key.
- `receive()` is the endpoint (`POST /runtasks/hcp-terraform`, public: the signature is the
  authentication). A missing or wrong `X-TFC-Task-Signature` is a 401 and nothing else
  happens. HCP Terraform's verification request is acknowledged and nothing else. A request
  whose plan or callback URL is not http(s) on a host RUNTASK_ALLOWED_HOSTS names is a 400.
  Any other request is queued (SQS queue `RUN_TASK_QUEUE`) and answered 200 at once.
- `process()` runs for each queued request (the `run_task` function, fed by the queue on AWS
  and by the local runner's poller under `make run`): it downloads the plan JSON with the
  run's access token, runs the compliance check (`artifacts.check`, the one behind
  `POST /compliance/check`: hard-coded image IDs and those a data source such as
  `hcp_packer_artifact` resolved alike, since both are values in the plan), judges images the
  registry does not track as the registry's `on_untracked_image` says (services/registry.py,
  the HCP API's `…/runtasks/config`: one GetItem), and PATCHes the callback URL with the result. Both connections go through services/outbound.py under
  `policy()`: the allowed hosts, and the outbound-address policy on the address actually
  connected to, for the plan's redirect hops too (HCP Terraform answers the plan URL with a
  temporary redirect to a signed archivist URL; the token never follows it); the callback
  follows no redirect. A plan that cannot be downloaded or read (refused, a 4xx, not JSON,
  not a plan, too large) fails the task saying only NOT_DOWNLOADED, whatever the reason (it is
  logged): the result must not tell whoever signed the request what a URL answered. A
  network error or a 5xx (from the plan download or the callback) raises, so the queue
  delivers the request again.

Neither the access token nor the HMAC key is ever logged or put in a response other than the
key's own routes. The messages name no restricted channel (the check runs as a viewer would
see it): HCP Terraform shows them to everyone with access to the workspace.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
from typing import Any
from urllib.parse import urlsplit

from . import artifacts, audit, outbound, registry
from .identity import Misconfigured
from .. import storage
from ..domain import plans, runtask
from ..domain.addresses import Policy
from ..domain.models import RunTaskReceipt, RunTaskRequest
from ..errors import BadRequest, NotFound, Unauthorized
from ..runtime import aws, settings
from ..runtime.clock import now_iso
from ..runtime.observability import logger
from ..storage import entities

ENDPOINT = "/runtasks/hcp-terraform"  # the run-task URL's path, below the API's public base URL
TASK_TYPE = "validation"  # the only run-task type HCP Packer has
QUEUE_VARIABLE = "RUN_TASK_QUEUE"
TARGET = "runtask/hcp-terraform"
MAX_PLAN_BYTES = 25 << 20  # bytes of plan JSON read; a larger plan fails the task
MAX_ANSWER = 64 << 10  # bytes of the callback's answer read (and dropped)
HTTP_TIMEOUT = 30  # seconds for each request to HCP Terraform
MAX_REDIRECTS = 3  # HCP Terraform answers the plan URL with one, to its archive
ALLOWED_HOSTS_VARIABLE = "RUNTASK_ALLOWED_HOSTS"
ALLOW_PRIVATE_VARIABLE = "RUNTASK_ALLOW_PRIVATE"
# HCP Terraform (its US and EU hosts) and archivist, where it redirects plan downloads (a signed URL)
DEFAULT_HOSTS = ("app.terraform.io", "app.eu.terraform.io", "archivist.terraform.io", "archivist.eu.terraform.io")
NOT_DOWNLOADED = "the plan could not be downloaded"  # all a failed download's task result says
_queue: tuple[Any, str, str] | None = None  # (the SQS client, the queue name, its URL)


class Retry(Exception):
    """A failure worth another delivery (a network error, HCP Terraform's 5xx): raised out of
    the handler, so the queue delivers the request again."""


# ---- the key and the URL (the HCP API's runtasks routes) --------------------------------------

def validation(task_type: str, base_url: str) -> dict[str, str]:
    """`GET …/runtasks/{task_type}`: the run-task URL and HMAC key to register in HCP Terraform."""
    if task_type != TASK_TYPE:
        raise NotFound(f"The run task type {task_type} does not exist; the registry serves {TASK_TYPE}.")
    return {"api_url": base_url.rstrip("/") + ENDPOINT, "hmac_key": hmac_key()}


def hmac_key() -> str:
    """The current key, made on first use."""
    stored = storage.registry.run_task_key()
    return (stored or storage.registry.keep_run_task_key(_new_key())).hmac_key


def regenerate_hmac(actor: str) -> dict[str, str]:
    """`PATCH …/runtasks/hmac`: a new key, in force at once; the audit event names no key."""
    new = _new_key()
    audit.commit([storage.registry.replace_run_task_key(new),
                  audit.event_action(None, "runtask.hmac_regenerated", TARGET, actor)])
    return {"hmac_key": new.hmac_key}


def _new_key() -> entities.RunTaskKey:
    return entities.RunTaskKey(hmac_key=secrets.token_urlsafe(48), created_at=now_iso())


# ---- the endpoint -------------------------------------------------------------------------------

def receive(raw: str | bytes, signature: str | None) -> RunTaskReceipt:
    """A request from HCP Terraform: checked against the key, then queued (or, for the
    verification request, only acknowledged)."""
    body = raw.encode() if isinstance(raw, str) else raw
    stored = storage.registry.run_task_key()
    if stored is None or not runtask.signed(stored.hmac_key, body, signature):
        raise Unauthorized(f"{runtask.SIGNATURE_HEADER} must be the hex HMAC-SHA512 of the request body under the "
                           "run task's HMAC key (the HCP API's GET …/runtasks/validation answers it)")
    request = _parse(body)
    if runtask.is_verification(request.access_token, request.task_result_callback_url):
        return RunTaskReceipt(queued=False, message="verification request acknowledged")
    allowed = policy()
    try:
        job = {"access_token": request.access_token, "run_id": request.run_id, "stage": request.stage,
               "task_result_callback_url": _allowed(request.task_result_callback_url, "task_result_callback_url",
                                                    allowed),
               "plan_json_api_url": request.plan_json_api_url and _allowed(request.plan_json_api_url,
                                                                          "plan_json_api_url", allowed)}
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    sqs, url = _queue_url()
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(job))
    logger.info("run task queued", extra={"run_id": request.run_id, "stage": request.stage,
                                          "workspace": request.workspace_name})
    return RunTaskReceipt(queued=True, message="the plan is being checked; the result goes to the callback URL")


def policy() -> Policy:
    """Where the run task may connect: the hosts RUNTASK_ALLOWED_HOSTS names (default
    DEFAULT_HOSTS), at addresses the outbound policy allows (loopback and private ones only
    with RUNTASK_ALLOW_PRIVATE, as under `make run`)."""
    return Policy(allow_private=settings.flag(ALLOW_PRIVATE_VARIABLE), private_setting=ALLOW_PRIVATE_VARIABLE,
                  hosts=frozenset(settings.names(ALLOWED_HOSTS_VARIABLE, DEFAULT_HOSTS)),
                  hosts_setting=ALLOWED_HOSTS_VARIABLE)


def _allowed(url: str | None, field: str, allowed: Policy) -> str:
    """`url` when it is an http(s) URL on an allowed host; ValueError naming `field` otherwise
    (so a request HCP Terraform could not have sent is a 400, not a result that never comes)."""
    checked = runtask.http_url(url, field)
    reason = allowed.refused_host(urlsplit(checked).hostname or "")
    if reason:
        raise ValueError(f"{field}: {reason}")
    return checked


def _parse(body: bytes) -> RunTaskRequest:
    from pydantic import ValidationError

    try:
        return RunTaskRequest.model_validate_json(body)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"]) or "body"
        raise BadRequest(f"not a run-task request: {where}: {problem['msg']}") from None


def _queue_url() -> tuple[Any, str]:
    """The SQS client and the run-task queue's URL (looked up once per client and name)."""
    global _queue
    sqs, name = aws.client("sqs"), os.environ.get(QUEUE_VARIABLE, "")
    if not name:
        raise Misconfigured(f"{QUEUE_VARIABLE} is not set: the run-task queue's name")
    if _queue is None or _queue[:2] != (sqs, name):
        _queue = (sqs, name, sqs.get_queue_url(QueueName=name)["QueueUrl"])
    return sqs, _queue[2]


# ---- the check, after the answer ----------------------------------------------------------------

def process(message: str) -> None:
    """One queued request: check its plan and PATCH the result to HCP Terraform. Raises
    Retry when another delivery may succeed."""
    job = json.loads(message)
    document = _check(job)
    status = _send(job["task_result_callback_url"], job["access_token"], document)
    logger.info("run task result sent" if status else "run task result not sent",
                extra={"run_id": job.get("run_id"), "callback_status": status,
                       "result": document["data"]["attributes"]["status"]})  # type: ignore[index]


def _check(job: dict[str, Any]) -> dict[str, object]:
    """The task result for the job's plan (a failure saying why when there is none to check;
    only NOT_DOWNLOADED when the plan could not be fetched or read, the reason in the log)."""
    if not job.get("plan_json_api_url"):
        return runtask.failure(f"nothing to check at the {job.get('stage') or 'unknown'} stage: the registry checks "
                               "the plan's images; attach this run task at the post-plan stage")
    try:
        uses = plans.image_uses(json.loads(_download(job["plan_json_api_url"], job["access_token"])))
    except (ValueError, RecursionError) as exc:  # refused, a 4xx, not JSON, not a plan, or over the size limit
        logger.warning("run task: the plan could not be downloaded",
                       extra={"run_id": job.get("run_id"), "reason": str(exc)[:300]})
        return runtask.failure(NOT_DOWNLOADED)
    images = list(dict.fromkeys(use.image for use in uses))
    if len(images) > plans.MAX_ARTIFACTS:
        return runtask.failure(f"the plan uses {len(images)} distinct images; the registry checks at most "
                               f"{plans.MAX_ARTIFACTS}")
    return runtask.task_result(uses, artifacts.check(images, see_restricted=False).results,
                               registry.current().on_untracked_image)


def _download(url: str, token: str) -> bytes:
    """The plan JSON, at most MAX_PLAN_BYTES, following HCP Terraform's redirect to its archive
    (every hop under the policy; the token goes to `url` only). ValueError when refused, on a
    4xx or beyond the size (none changes on a retry); Retry on a network error or a 5xx."""
    try:
        answer = outbound.request("GET", url, policy(), headers={"Accept": "application/json"},
                                  secret_headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT,
                                  max_bytes=MAX_PLAN_BYTES, redirects=MAX_REDIRECTS)
    except (OSError, http.client.HTTPException) as exc:
        raise Retry(f"the plan download failed: {type(exc).__name__}") from None
    if answer.status >= 500 or answer.status == 429:
        raise Retry(f"the plan download answered HTTP {answer.status}")
    if not 200 <= answer.status < 300:
        raise ValueError(f"the plan download answered HTTP {answer.status}")
    if len(answer.body) > MAX_PLAN_BYTES:
        raise ValueError(f"the plan JSON is larger than {MAX_PLAN_BYTES >> 20} MB")
    return answer.body


def _send(url: str, token: str, document: dict[str, object]) -> int | None:
    """PATCH the result to HCP Terraform (no redirect followed); its HTTP status, or None when
    the policy refuses the URL (logged: nowhere to report to). A 3xx or 4xx is final (logged:
    the run's token expired, or the result was already sent); a 5xx or a network error is Retry."""
    try:
        answer = outbound.request("PATCH", url, policy(), headers={"Content-Type": "application/vnd.api+json"},
                                  secret_headers={"Authorization": f"Bearer {token}"}, timeout=HTTP_TIMEOUT,
                                  max_bytes=MAX_ANSWER, body=json.dumps(document).encode())
    except outbound.Refused as exc:
        logger.warning("run task: the callback URL is refused", extra={"reason": str(exc)[:300]})
        return None
    except (OSError, http.client.HTTPException) as exc:
        raise Retry(f"the callback failed: {type(exc).__name__}") from None
    if answer.status >= 500 or answer.status == 429:
        raise Retry(f"the callback answered HTTP {answer.status}")
    if not 200 <= answer.status < 300:
        logger.warning("HCP Terraform refused the run task result", extra={"callback_status": answer.status})
    return answer.status
