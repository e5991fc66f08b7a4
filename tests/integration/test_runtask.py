"""The HCP Terraform run task (issue 13, item 4): the HCP API's `GET …/runtasks/validation` and
`PATCH …/runtasks/hmac`, and the run-task endpoint `POST /runtasks/hcp-terraform` end to end
against a small fake HCP Terraform on loopback (tests/support.py FakeHcpTerraform): signed
requests queued, the queue delivered to the `run_task` function exactly as the local runner
delivers it (local.runner.sqs_event), the plan downloaded with the run's token, the result
PATCHed back."""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import boto3
import pytest

from chalicelib.api.http import public_url
from chalicelib.domain.addresses import Policy, literal_address
from chalicelib.services import outbound, runtasks
from local.runner import sqs_event
from support import ADMIN_TOKEN, FakeHcpTerraform, manifest, mint, sign
from support import terraform_plan as plan

ENDPOINT = "/runtasks/hcp-terraform"
QUEUE = "packer-registry-run-tasks"  # the `local` stage's RUN_TASK_QUEUE
REVOKED_AMI, OLD_AMI, CURRENT_AMI = "ami-0aaaaaaaaaaaaaaa1", "ami-0bbbbbbbbbbbbbbb1", "ami-0bbbbbbbbbbbbbbb2"
UNTRACKED_AMI = "ami-0fffffffffffffff9"


@pytest.fixture
def queue(moto_aws) -> str:
    """The run-task queue, as the local runner provisions it."""
    return boto3.client("sqs").create_queue(QueueName=QUEUE)["QueueUrl"]


class RunTask:
    """The run task as HCP Terraform and the terraform-provider-hcp use it."""

    def __init__(self, registry: Any, queue: str) -> None:
        self.registry, self.client, self.queue = registry, registry.client, queue

    def hcp(self, method: str, path: str, token: str = ADMIN_TOKEN, raw: bytes = b"",
            headers: dict[str, str] | None = None) -> tuple[int, dict]:
        def call(verb: str, url: str) -> Any:
            return getattr(self.client.http, verb)(url, body=raw, headers={
                "Authorization": f"Bearer {token}", "Content-Type": "application/json", **(headers or {})})

        organization = json.loads(call("get", "/resource-manager/2019-12-10/organizations").body)["organizations"]
        project = json.loads(call("get", "/resource-manager/2019-12-10/projects").body)["projects"]
        prefix = f"/packer/2023-01-01/organizations/{organization[0]['id']}/projects/{project[0]['id']}"
        response = call(method.lower(), f"{prefix}/{path}")
        return response.status_code, json.loads(response.body)

    def key(self) -> str:
        status, answer = self.hcp("GET", "runtasks/validation")
        assert status == 200, answer
        return answer["hmac_key"]

    def post(self, body: bytes, signature: str | None) -> tuple[int, dict]:
        """What HCP Terraform sends: the raw body, signed (or not)."""
        headers = {"Content-Type": "application/json", **({"X-TFC-Task-Signature": signature} if signature else {})}
        response = self.client.http.post(ENDPOINT, body=body, headers=headers)
        return response.status_code, json.loads(response.body)

    def deliver(self) -> int:
        """Hand every queued request to `run_task` as the local runner's poller does (the same
        event); how many there were."""
        sqs = boto3.client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=self.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        delivered = 0
        while messages := sqs.receive_message(QueueUrl=self.queue, MaxNumberOfMessages=10).get("Messages"):
            for message in messages:
                self.client.lambda_.invoke("run_task", sqs_event(message, arn))
                sqs.delete_message(QueueUrl=self.queue, ReceiptHandle=message["ReceiptHandle"])
                delivered += 1
        return delivered

    def check(self, fake: FakeHcpTerraform, **fields: Any) -> dict:
        """A signed post-plan request for `fake`'s plan, delivered; the one result PATCHed back."""
        status, answer = self.post(body := fake.run_task_request(**fields), sign(self.key(), body))
        assert (status, answer["queued"]) == (200, True), answer
        assert self.deliver() == 1
        (result,) = fake.callbacks()
        return result


def checked(run_task: RunTask, *resources: tuple[str, str, list[str]], **plan_options: Any) -> dict:
    """The seeded registry's result for a plan of `resources` (terraform_plan's arguments)."""
    seed(run_task.registry)
    with FakeHcpTerraform() as fake:
        fake.plan = plan(*resources, **plan_options)
        return run_task.check(fake)


@pytest.fixture
def run_task(registry, queue) -> RunTask:
    return RunTask(registry, queue)


def seed(registry) -> None:
    """`base` v1 (revoked), `web` v1 (outdated by v2) and v2 (current)."""
    registry.upload("base/m.json", manifest({"packer_run_uuid": "b1", "artifact_id": f"us-east-1:{REVOKED_AMI}"}))
    registry.send("post", "/buckets/base/versions/v1/revoke", {"reason": "CVE-2025-0001"})
    for run, ami in (("w1", OLD_AMI), ("w2", CURRENT_AMI)):
        registry.upload(f"web/{run}.json", manifest({"packer_run_uuid": run, "artifact_id": f"us-east-1:{ami}"}))


def outcomes(result: dict) -> dict[str, dict]:
    """The result's outcomes by outcome-id (the resource address)."""
    data = result["data"]
    assert data["type"] == "task-results"
    return {o["attributes"]["outcome-id"]: o["attributes"] for o in data["relationships"]["outcomes"]["data"]
            if o["type"] == "task-result-outcomes"}


def levels(outcome: dict) -> list[str]:
    return [tag["level"] for tag in outcome["tags"]["Status"]]


# ---- the HCP API: the URL and the key -------------------------------------------------------------

def test_validation_answers_the_endpoint_and_a_key_kept_across_calls(run_task):
    status, first = run_task.hcp("GET", "runtasks/validation",
                                 headers={"Host": "packer.example.com", "X-Forwarded-Proto": "https"})
    assert status == 200 and set(first) == {"api_url", "hmac_key"}
    assert first["api_url"] == f"https://packer.example.com{ENDPOINT}"
    assert len(first["hmac_key"]) >= 32
    assert run_task.key() == first["hmac_key"]  # made once, then kept


def test_the_endpoint_url_follows_registry_public_url_and_api_gateways_stage(run_task, monkeypatch):
    monkeypatch.setenv("REGISTRY_PUBLIC_URL", "https://registry.example.com/")
    assert run_task.hcp("GET", "runtasks/validation")[1]["api_url"] == f"https://registry.example.com{ENDPOINT}"
    monkeypatch.delenv("REGISTRY_PUBLIC_URL")
    from chalice.app import Request

    route = "/packer/2023-01-01/organizations/{organization_id}/projects/{project_id}/runtasks/{task_type}"
    event = {"multiValueQueryStringParameters": None, "headers": {"host": "abc.execute-api.eu-west-1.amazonaws.com",
                                                                   "x-forwarded-proto": "https"},
             "pathParameters": {"organization_id": "o", "project_id": "p", "task_type": "validation"},
             "requestContext": {"httpMethod": "GET", "resourcePath": route,
                                "path": "/api/packer/2023-01-01/organizations/o/projects/p/runtasks/validation"},
             "httpMethod": "GET", "body": None, "isBase64Encoded": False, "stageVariables": None}
    assert public_url(Request(event)) == "https://abc.execute-api.eu-west-1.amazonaws.com/api"


def test_only_the_validation_task_type_exists(run_task):
    # runtasks/config is GetRunTaskConfig; runtasks/hmac, a path of its own (its PATCH), is a type too
    for task_type in ("enforcement", "hmac"):
        status, answer = run_task.hcp("GET", f"runtasks/{task_type}")
        assert (status, answer["code"]) == (404, 5) and "validation" in answer["message"], task_type


def test_the_key_is_for_admins_only(run_task):
    """Whoever holds the key can make the run task connect (to HCP Terraform's hosts only, since
    issue 22): in HCP, only whoever registers the task in HCP Terraform, an admin, sees it."""
    for role in ("viewer", "contributor"):
        token = mint(run_task.registry, role)
        for method, path in (("GET", "runtasks/validation"), ("PATCH", "runtasks/hmac")):
            status, answer = run_task.hcp(method, path, token=token)
            assert (status, answer["code"]) == (403, 7), (role, method, answer)
            assert "admin" in answer["message"]
    admin = mint(run_task.registry, "admin")
    assert run_task.hcp("GET", "runtasks/validation", token=admin)[0] == 200
    assert run_task.hcp("PATCH", "runtasks/hmac", token=admin)[0] == 200


def test_concurrent_first_requests_agree_on_the_key(moto_server):
    """Every cold process asking for the key at once gets the one stored first (driven 10 times):
    the answer each gives the Terraform provider is the key requests are checked against."""
    from chalicelib.services import runtasks
    from chalicelib.storage import keys, table

    for _ in range(10):
        table.delete(keys.run_task())
        barrier, answers = threading.Barrier(6), []

        def first_request() -> None:
            barrier.wait()
            answers.append(runtasks.hmac_key())

        threads = [threading.Thread(target=first_request) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert len(answers) == 6 and len(set(answers)) == 1
        assert runtasks.hmac_key() == answers[0]


@pytest.mark.parametrize("raw", [b"", b"null", b"{}"])
def test_regenerating_the_key_replaces_it_at_once(run_task, raw):
    old = run_task.key()
    status, answer = run_task.hcp("PATCH", "runtasks/hmac", raw=raw)
    assert status == 200 and set(answer) == {"hmac_key"} and answer["hmac_key"] != old
    assert run_task.key() == answer["hmac_key"]
    body = json.dumps({"access_token": "test-token", "stage": "test"}).encode()
    assert run_task.post(body, sign(old, body))[0] == 401  # the old key stops at once
    assert run_task.post(body, sign(answer["hmac_key"], body))[0] == 200
    events = run_task.registry.get("/events")["items"]
    (event,) = [e for e in events if e["action"] == "runtask.hmac_regenerated"]
    assert event["actor"] == "bootstrap-admin" and old not in json.dumps(events)
    assert answer["hmac_key"] not in json.dumps(events)


def test_a_regeneration_body_must_be_an_object(run_task):
    status, answer = run_task.hcp("PATCH", "runtasks/hmac", raw=b"[1]")
    assert (status, answer["code"]) == (400, 3)


# ---- the endpoint: signatures and the verification request ------------------------------------------

def test_a_missing_or_wrong_signature_is_a_401_and_nothing_else_happens(run_task):
    with FakeHcpTerraform() as fake:
        fake.plan = plan(("aws_instance.web", REVOKED_AMI, ["create"]))
        key, body = run_task.key(), fake.run_task_request()
        for signature in (None, "", sign(key, body + b" "), sign(key + "x", body), sign(key, body)[:-2] + "00",
                          "not hex at all"):
            status, answer = run_task.post(body, signature)
            assert (status, answer["error"]) == (401, "Unauthorized"), signature
            assert key not in json.dumps(answer) and fake.TOKEN not in json.dumps(answer)
        assert run_task.deliver() == 0  # nothing queued
        assert fake.requests == []  # no download, no callback


def test_nothing_is_accepted_before_a_key_exists(run_task):
    body = json.dumps({"access_token": "test-token"}).encode()
    assert run_task.post(body, sign("", body))[0] == 401


def test_the_verification_request_is_acknowledged_and_nothing_else(run_task):
    with FakeHcpTerraform() as fake:
        body = fake.run_task_request(access_token="test-token", stage="test")
        status, answer = run_task.post(body, sign(run_task.key(), body).upper())  # hex in either case
        assert status == 200 and answer["queued"] is False
        assert run_task.deliver() == 0 and fake.requests == []


def test_a_signed_request_with_a_url_that_is_not_http_is_refused(run_task):
    with FakeHcpTerraform() as fake:
        for field in ("plan_json_api_url", "task_result_callback_url"):
            body = fake.run_task_request(**{field: "file:///etc/passwd"})
            status, answer = run_task.post(body, sign(run_task.key(), body))
            assert (status, answer["error"]) == (400, "BadRequest") and field in answer["message"]
        assert run_task.deliver() == 0 and fake.requests == []


# ---- end to end: the plan checked, the result sent --------------------------------------------------

def test_a_revoked_image_being_deployed_fails_the_run_with_that_resource(run_task, caplog):
    seed(run_task.registry)
    caplog.set_level(logging.DEBUG, logger="packer-registry")  # the registry's own log lines, all levels
    with FakeHcpTerraform() as fake:
        fake.plan = plan(("aws_instance.web", REVOKED_AMI, ["create"]),
                         ("module.app.aws_instance.api", CURRENT_AMI, ["create"]),
                         ("aws_instance.vendor", UNTRACKED_AMI, ["create"]))
        result = run_task.check(fake)
        (patch,) = [r for r in fake.requests if r["method"] == "PATCH"]
        key = run_task.key()
    assert patch["path"] == "/callback" and patch["headers"]["Authorization"] == f"Bearer {fake.TOKEN}"
    assert patch["headers"]["Content-Type"] == "application/vnd.api+json"
    (download,) = [r for r in fake.requests if r["method"] == "GET"]
    assert download["path"] == "/plan"
    attributes = result["data"]["attributes"]
    assert attributes["status"] == "failed"
    assert "3 resources" in attributes["message"] and "1 deploy a revoked image" in attributes["message"]
    found = outcomes(result)
    assert set(found) == {"aws_instance.web", "module.app.aws_instance.api"}  # the untracked image: no outcome
    assert levels(found["aws_instance.web"]) == ["error"]
    assert REVOKED_AMI in found["aws_instance.web"]["description"] and "CVE-2025-0001" in found["aws_instance.web"]["body"]
    assert levels(found["module.app.aws_instance.api"]) == ["info"]
    assert "run task queued" in caplog.text and "run task result sent" in caplog.text
    assert fake.TOKEN not in caplog.text and key not in caplog.text  # never logged


@pytest.mark.parametrize("behaviour, actions, status, level", [
    ("WARN", ["create"], "passed", "warning"), ("FAIL", ["create"], "failed", "error"),
    ("FAIL", ["update"], "passed", "warning"), ("UNSET", ["create"], "passed", None)])
def test_an_untracked_image_is_judged_as_the_run_task_settings_say(run_task, behaviour, actions, status, level):
    """UpdateRunTaskConfig's `on_untracked_image` (issue 23): WARN warns, FAIL fails a resource
    the plan creates or replaces (an in-place update only warns, as for a revoked image), UNSET
    leaves the image uncounted but in the message, as before."""
    status_code, answer = run_task.hcp("PATCH", "runtasks/config", raw=json.dumps(
        {"on_untracked_image": behaviour}).encode())
    assert (status_code, answer) == (200, {"on_untracked_image": behaviour})
    result = checked(run_task, ("aws_instance.vendor", UNTRACKED_AMI, actions),
                     ("aws_instance.web", CURRENT_AMI, ["create"]))
    attributes = result["data"]["attributes"]
    assert attributes["status"] == status and "1 use only images the registry does not track" in attributes["message"]
    found = outcomes(result)
    assert levels(found["aws_instance.web"]) == ["info"]
    if level is None:
        assert "aws_instance.vendor" not in found
    else:
        assert levels(found["aws_instance.vendor"]) == [level]
        assert UNTRACKED_AMI in found["aws_instance.vendor"]["description"]
        assert "does not track" in found["aws_instance.vendor"]["description"]


def test_a_plan_with_current_images_passes(run_task):
    result = checked(run_task, ("aws_instance.web", CURRENT_AMI, ["create"]))
    assert result["data"]["attributes"]["status"] == "passed"
    assert levels(outcomes(result)["aws_instance.web"]) == ["info"]


def test_an_outdated_image_passes_with_a_warning(run_task):
    result = checked(run_task, ("aws_instance.web", OLD_AMI, ["create"]))
    assert result["data"]["attributes"]["status"] == "passed"
    outcome = outcomes(result)["aws_instance.web"]
    assert levels(outcome) == ["warning"] and "out of date" in outcome["description"]
    # why, in the words a viewer gets: HCP Terraform shows it to everyone with the workspace,
    # so it names no restricted channel (`latest` is one)
    assert "web has a newer version than v1" in outcome["body"] and "latest" not in json.dumps(result)


@pytest.mark.parametrize("actions, status, level", [
    (["update"], "passed", "warning"), (["no-op"], "passed", "warning"),
    (["delete", "create"], "failed", "error"), (["create", "delete"], "failed", "error")])
def test_a_revoked_image_fails_only_a_resource_created_or_replaced(run_task, actions, status, level):
    """As HCP Packer's run task: an in-place update (or no change) only warns."""
    result = checked(run_task, ("aws_launch_template.web", REVOKED_AMI, actions))
    assert result["data"]["attributes"]["status"] == status
    assert levels(outcomes(result)["aws_launch_template.web"]) == [level]


def test_an_image_resolved_by_an_hcp_packer_data_source_is_checked_where_it_is_used(run_task):
    result = checked(run_task, ("aws_instance.web", REVOKED_AMI, ["create"]), data_source=REVOKED_AMI)
    assert result["data"]["attributes"]["status"] == "failed"
    assert set(outcomes(result)) == {"aws_instance.web"}  # the data source itself is no resource deployed


def test_the_plan_redirect_is_followed_without_the_token(run_task):
    seed(run_task.registry)
    with FakeHcpTerraform() as fake:
        fake.redirect, fake.plan = True, plan(("aws_instance.web", REVOKED_AMI, ["create"]))
        result = run_task.check(fake)
    assert result["data"]["attributes"]["status"] == "failed"
    first, archive = [r for r in fake.requests if r["method"] == "GET"]
    assert first["headers"]["Authorization"] == f"Bearer {fake.TOKEN}"
    assert archive["path"] == "/archive/plan" and "Authorization" not in archive["headers"]


@pytest.mark.parametrize("setup", [
    {"plan_status": 403}, {"plan_status": 404}, {"plan": {"not": "a plan"}}, {"plan": "not JSON at all"},
    {"plan": [[[]] * 3] * 3}, {"redirect": "http://127.0.0.1:9/nothing-listens-here-and-it-is-not-followed-anyway"},
])
def test_a_plan_that_cannot_be_read_fails_the_task_saying_only_that(run_task, setup, caplog):
    """Whatever the plan URL answered (a status, something that is not a plan, a redirect
    elsewhere), the result says the same sentence: it tells whoever signed the request nothing
    about the URL (issue 22, item 1). The reason is in the registry's log."""
    caplog.set_level(logging.WARNING, logger="packer-registry")
    with FakeHcpTerraform() as fake:
        for name, value in setup.items():
            setattr(fake, name, value)
        if "redirect" in setup:
            fake.redirect = setup["redirect"].replace("127.0.0.1:9", "127.0.0.2:9")  # a host not allowed
        result = run_task.check(fake)
    assert result["data"]["attributes"] == {"status": "failed", "message": runtasks.NOT_DOWNLOADED}
    assert "relationships" not in result["data"]
    assert "the plan could not be downloaded" in caplog.text and fake.TOKEN not in caplog.text


def test_a_request_without_a_plan_fails_naming_the_stage_to_use(run_task):
    with FakeHcpTerraform() as fake:
        body = fake.run_task_request(stage="pre_plan", plan_json_api_url=None)
        status, answer = run_task.post(body, sign(run_task.key(), body))
        assert status == 200 and run_task.deliver() == 1
        (result,) = fake.callbacks()
    assert result["data"]["attributes"]["status"] == "failed"
    assert "pre_plan" in result["data"]["attributes"]["message"] and "post-plan" in result["data"]["attributes"]["message"]
    assert [r["method"] for r in fake.requests] == ["PATCH"]  # nothing to download


@pytest.mark.parametrize("callback_status, retried", [(503, True), (500, True), (422, False), (401, False)])
def test_a_callback_refused_with_a_5xx_is_delivered_again(run_task, callback_status, retried):
    """HCP Terraform failing: the function raises, so the queue delivers the request again (the
    local runner and Lambda alike); a 4xx is final (the run's token expired, or a result was
    already sent), so it does not."""
    from chalicelib.services.runtasks import Retry

    seed(run_task.registry)
    with FakeHcpTerraform() as fake:
        fake.plan, fake.callback_status = plan(("aws_instance.web", CURRENT_AMI, ["create"])), callback_status
        body = fake.run_task_request()
        run_task.post(body, sign(run_task.key(), body))
        sqs = boto3.client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=run_task.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        (message,) = sqs.receive_message(QueueUrl=run_task.queue)["Messages"]
        if retried:
            with pytest.raises(Retry, match=str(callback_status)):
                run_task.client.lambda_.invoke("run_task", sqs_event(message, arn))
            fake.callback_status = 200
        run_task.client.lambda_.invoke("run_task", sqs_event(message, arn))
        assert len(fake.callbacks()) == (2 if retried else 1)
        assert fake.callbacks()[-1]["data"]["attributes"]["status"] == "passed"


def test_a_plan_server_that_cannot_be_reached_is_retried(run_task):
    from chalicelib.services.runtasks import Retry

    with FakeHcpTerraform() as fake:
        body = fake.run_task_request(plan_json_api_url="http://127.0.0.1:9/plan")  # discard port: refused
        run_task.post(body, sign(run_task.key(), body))
        sqs = boto3.client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=run_task.queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        (message,) = sqs.receive_message(QueueUrl=run_task.queue)["Messages"]
        with pytest.raises(Retry):
            run_task.client.lambda_.invoke("run_task", sqs_event(message, arn))
        assert fake.callbacks() == []


# ---- where the run task connects (issue 22, item 1): 127.0.0.2 plays a host not allowed -----------

def reasons(caplog) -> str:
    """The reasons the registry logged (the `reason` of its warnings), one per line."""
    return "\n".join(str(getattr(record, "reason", "")) for record in caplog.records)


def as_on_aws(monkeypatch, *hosts: str, allow_private: bool = True) -> None:
    """The run task's policy with RUNTASK_ALLOWED_HOSTS = `hosts` (chalice's test client would
    put the `local` stage's value back during each call, so the function is replaced)."""
    monkeypatch.setattr(runtasks, "policy", lambda: Policy(
        allow_private, runtasks.ALLOW_PRIVATE_VARIABLE, frozenset(hosts), runtasks.ALLOWED_HOSTS_VARIABLE))


@pytest.mark.parametrize("field, path", [("plan_json_api_url", "/plan"), ("task_result_callback_url", "/callback")])
def test_a_url_on_a_host_not_allowed_is_a_400_and_nothing_is_fetched(run_task, field, path):
    with FakeHcpTerraform() as fake, FakeHcpTerraform("127.0.0.2") as other:
        other.plan = fake.plan = plan(("aws_instance.web", CURRENT_AMI, ["create"]))
        body = fake.run_task_request(**{field: f"{other.url}{path}"})
        status, answer = run_task.post(body, sign(run_task.key(), body))
        assert (status, answer["error"]) == (400, "BadRequest"), answer
        assert answer["message"].startswith(f"{field}: 127.0.0.2 is not a host RUNTASK_ALLOWED_HOSTS allows"), answer
        assert run_task.deliver() == 0
        assert other.requests == [] and fake.requests == []


def test_the_default_hosts_are_hcp_terraforms(run_task, monkeypatch):
    """Unset, RUNTASK_ALLOWED_HOSTS is HCP Terraform's US and EU hosts and their archives."""
    monkeypatch.setattr(runtasks.settings, "names", lambda variable, default: default)  # the setting unset
    body = json.dumps({"access_token": "t", "stage": "post_plan", "plan_json_api_url": "https://tfe.example.com/p",
                       "task_result_callback_url": "https://app.terraform.io/api/v2/task-results/tr-1/callback"})
    status, answer = run_task.post(body.encode(), sign(run_task.key(), body.encode()))
    assert status == 400 and answer["message"] == (
        "plan_json_api_url: tfe.example.com is not a host RUNTASK_ALLOWED_HOSTS allows (app.eu.terraform.io, "
        "app.terraform.io, archivist.eu.terraform.io, archivist.terraform.io)"), answer


def test_a_redirect_to_a_host_not_allowed_is_not_followed(run_task, caplog):
    seed(run_task.registry)
    caplog.set_level(logging.WARNING, logger="packer-registry")
    with FakeHcpTerraform() as fake, FakeHcpTerraform("127.0.0.2") as other:
        other.plan = fake.plan = plan(("aws_instance.web", REVOKED_AMI, ["create"]))
        fake.redirect = f"{other.url}/archive/plan"
        result = run_task.check(fake)
    assert result["data"]["attributes"] == {"status": "failed", "message": runtasks.NOT_DOWNLOADED}
    assert other.requests == []  # never connected to
    assert [(r["method"], r["path"]) for r in fake.requests] == [("GET", "/plan"), ("PATCH", "/callback")]
    assert "127.0.0.2 is not a host RUNTASK_ALLOWED_HOSTS allows" in reasons(caplog)  # the operator sees why


def test_a_redirect_to_an_allowed_name_at_a_refused_address_is_not_followed(run_task, monkeypatch, caplog):
    """Every hop's host is resolved and each address checked; the connection goes to the
    address checked, the URL's host in `Host`."""
    caplog.set_level(logging.WARNING, logger="packer-registry")
    as_on_aws(monkeypatch, "hcp.example.test", "archive.example.test")
    answers = {"hcp.example.test": "127.0.0.1", "archive.example.test": "169.254.169.254"}
    monkeypatch.setattr(outbound, "resolve", lambda host, port: [literal_address(answers[host])])
    with FakeHcpTerraform() as fake:
        fake.plan, port = plan(("aws_instance.web", CURRENT_AMI, ["create"])), fake.url.rsplit(":", 1)[1]
        fake.redirect = f"http://archive.example.test:{port}/archive/plan"
        body = fake.run_task_request(plan_json_api_url=f"http://hcp.example.test:{port}/plan",
                                     task_result_callback_url=f"http://hcp.example.test:{port}/callback")
        run_task.post(body, sign(run_task.key(), body))
        assert run_task.deliver() == 1
        (result,) = fake.callbacks()
    assert result["data"]["attributes"] == {"status": "failed", "message": runtasks.NOT_DOWNLOADED}
    assert [(r["method"], r["path"], r["headers"]["Host"]) for r in fake.requests] == [
        ("GET", "/plan", f"hcp.example.test:{port}"), ("PATCH", "/callback", f"hcp.example.test:{port}")]
    assert "169.254.169.254 is a link-local or cloud metadata address" in reasons(caplog)


def test_a_callback_at_a_refused_address_is_not_sent_and_not_retried(run_task, monkeypatch, caplog):
    caplog.set_level(logging.WARNING, logger="packer-registry")
    as_on_aws(monkeypatch, "127.0.0.1", "hcp.example.test")
    monkeypatch.setattr(outbound, "resolve", lambda host, port: [literal_address("fd00:ec2::254")])
    with FakeHcpTerraform() as fake:
        fake.plan = plan(("aws_instance.web", CURRENT_AMI, ["create"]))
        port = fake.url.rsplit(":", 1)[1]
        result = fake.run_task_request(task_result_callback_url=f"http://hcp.example.test:{port}/callback")
        run_task.post(result, sign(run_task.key(), result))
        assert run_task.deliver() == 1  # no Retry raised: a refusal does not change on another delivery
        assert fake.callbacks() == []
    assert "fd00:ec2::254 is a link-local or cloud metadata address" in reasons(caplog)


def test_loopback_is_refused_unless_private_addresses_are_allowed(run_task, monkeypatch, caplog):
    """As on AWS (RUNTASK_ALLOW_PRIVATE unset), an allowed name that resolves to a loopback
    or private address is refused: here the plan's; the callback, on another name, gets the
    failure."""
    caplog.set_level(logging.WARNING, logger="packer-registry")
    as_on_aws(monkeypatch, "127.0.0.1", "plans.example.test", allow_private=False)
    monkeypatch.setattr(outbound, "resolve", lambda host, port: [literal_address("10.0.0.7")])
    monkeypatch.setattr(runtasks, "_send", lambda url, token, document: sent.append(document) or 200)
    sent: list[dict] = []
    with FakeHcpTerraform() as fake:
        body = fake.run_task_request(plan_json_api_url="https://plans.example.test/plan")
        run_task.post(body, sign(run_task.key(), body))
        assert run_task.deliver() == 1 and fake.requests == []
    assert [d["data"]["attributes"]["message"] for d in sent] == [runtasks.NOT_DOWNLOADED]
    assert "10.0.0.7 is a loopback or private address (RUNTASK_ALLOW_PRIVATE is off)" in reasons(caplog)
