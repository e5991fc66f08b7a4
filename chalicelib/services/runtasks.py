"""The HCP Terraform run task: the registry checks each plan for revoked and outdated images,
as HCP Packer's artifact validation run task does (domain/runtask.py has the protocol and
what passes).

- `validation()` / `regenerate_hmac()` answer the HCP API's `GET …/runtasks/validation` and
  `PATCH …/runtasks/hmac` (terraform-provider-hcp's `hcp_packer_run_task`): the endpoint URL
  to register in HCP Terraform and the HMAC key it signs requests with. The key is made on
  first use (kept with `if_not_exists`, so concurrent first requests answer the same key) and
  replaced by the PATCH, after which the old one is refused at once (every request reads it:
  one GetItem). The replacement is an audit event that never holds the key.
- `receive()` is the endpoint (`POST /runtasks/hcp-terraform`, public: the signature is the
  authentication). A missing or wrong `X-TFC-Task-Signature` is a 401 and nothing else
  happens. HCP Terraform's verification request is acknowledged and nothing else. Any other
  request is queued (SQS queue `RUN_TASK_QUEUE`) and answered 200 at once.
- `process()` runs for each queued request (the `run_task` function, fed by the queue on AWS
  and by the local runner's poller under `make run`): it downloads the plan JSON with the
  run's access token, runs the compliance check (`artifacts.check`, the one behind
  `POST /compliance/check`: hard-coded image IDs and those a data source such as
  `hcp_packer_artifact` resolved alike, since both are values in the plan), and PATCHes the
  callback URL with the result. A plan that cannot be downloaded (HTTP 4xx), read or checked
  fails the task with the reason; a network error or a 5xx (from the plan download or the
  callback) raises, so the queue delivers the request again.

Neither the access token nor the HMAC key is ever logged or put in a response other than the
key's own routes. The messages name no restricted channel (the check runs as a viewer would
see it): HCP Terraform shows them to everyone with access to the workspace.
"""

from __future__ import annotations

import json
import os
import secrets
import urllib.error
import urllib.request
from typing import Any

from . import artifacts, audit
from .identity import Misconfigured
from .. import storage
from ..domain import plans, runtask
from ..domain.models import RunTaskReceipt, RunTaskRequest
from ..errors import BadRequest, NotFound, Unauthorized
from ..runtime import aws
from ..runtime.clock import now_iso
from ..runtime.observability import logger
from ..storage import entities

ENDPOINT = "/runtasks/hcp-terraform"  # the run-task URL's path, below the API's public base URL
TASK_TYPE = "validation"  # the only run-task type HCP Packer has
QUEUE_VARIABLE = "RUN_TASK_QUEUE"
TARGET = "runtask/hcp-terraform"
MAX_PLAN_BYTES = 25 << 20  # bytes of plan JSON read; a larger plan fails the task, saying so
HTTP_TIMEOUT = 30  # seconds for each request to HCP Terraform
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
    try:
        job = {"access_token": request.access_token, "run_id": request.run_id, "stage": request.stage,
               "task_result_callback_url": runtask.http_url(request.task_result_callback_url,
                                                            "task_result_callback_url"),
               "plan_json_api_url": request.plan_json_api_url and runtask.http_url(request.plan_json_api_url,
                                                                                  "plan_json_api_url")}
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    sqs, url = _queue_url()
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(job))
    logger.info("run task queued", extra={"run_id": request.run_id, "stage": request.stage,
                                          "workspace": request.workspace_name})
    return RunTaskReceipt(queued=True, message="the plan is being checked; the result goes to the callback URL")


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
    status = _send(runtask.http_url(job["task_result_callback_url"], "task_result_callback_url"),
                   job["access_token"], document)
    logger.info("run task result sent", extra={"run_id": job.get("run_id"), "callback_status": status,
                                               "result": document["data"]["attributes"]["status"]})  # type: ignore[index]


def _check(job: dict[str, Any]) -> dict[str, object]:
    """The task result for the job's plan (a failure saying why when there is none to check)."""
    if not job.get("plan_json_api_url"):
        return runtask.failure(f"nothing to check at the {job.get('stage') or 'unknown'} stage: the registry checks "
                               "the plan's images; attach this run task at the post-plan stage")
    try:
        plan = json.loads(_download(runtask.http_url(job["plan_json_api_url"], "plan_json_api_url"),
                                    job["access_token"]))
        uses = plans.image_uses(plan)
    except (ValueError, RecursionError) as exc:  # not JSON, not a plan, or over the size limit
        return runtask.failure(f"the registry could not check the plan: {exc}")
    images = list(dict.fromkeys(use.image for use in uses))
    if len(images) > plans.MAX_ARTIFACTS:
        return runtask.failure(f"the plan uses {len(images)} distinct images; the registry checks at most "
                               f"{plans.MAX_ARTIFACTS}")
    return runtask.task_result(uses, artifacts.check(images, see_restricted=False).results)


class _NoTokenOnRedirect(urllib.request.HTTPRedirectHandler):
    """Follow redirects (HCP Terraform answers the plan URL with a 307 to a signed archive
    URL) only to http(s); the token is an unredirected header, so it never follows them."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str) -> Any:
        runtask.http_url(newurl, "the plan's redirect")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _download(url: str, token: str) -> bytes:
    """The plan JSON, at most MAX_PLAN_BYTES (ValueError beyond, or on a 4xx: neither
    changes on a retry; Retry on a network error or a 5xx)."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    request.add_unredirected_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.build_opener(_NoTokenOnRedirect).open(request, timeout=HTTP_TIMEOUT) as response:
            data: bytes = response.read(MAX_PLAN_BYTES + 1)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise Retry(f"the plan download answered HTTP {exc.code}") from None
        raise ValueError(f"the plan download answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise Retry(f"the plan download failed: {type(exc).__name__}") from None
    if len(data) > MAX_PLAN_BYTES:
        raise ValueError(f"the plan JSON is larger than {MAX_PLAN_BYTES >> 20} MB")
    return data


def _send(url: str, token: str, document: dict[str, object]) -> int:
    """PATCH the result to HCP Terraform; its HTTP status. A 4xx is final (logged: the run's
    token expired, or the result was already sent); a 5xx or a network error is Retry."""
    request = urllib.request.Request(url, data=json.dumps(document).encode(), method="PATCH", headers={
        "Content-Type": "application/vnd.api+json", "Authorization": f"Bearer {token}"})
    try:
        with urllib.request.build_opener(_NoTokenOnRedirect).open(request, timeout=HTTP_TIMEOUT) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        if exc.code >= 500 or exc.code == 429:
            raise Retry(f"the callback answered HTTP {exc.code}") from None
        logger.warning("HCP Terraform refused the run task result", extra={"callback_status": exc.code})
        return exc.code
    except (urllib.error.URLError, OSError) as exc:
        raise Retry(f"the callback failed: {type(exc).__name__}") from None
