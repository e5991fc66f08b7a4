"""HCP Terraform's run-task protocol, the pure parts (chalicelib/domain/runtask.py): the
request's signature, the verification request, the URLs fetched, and the task result sent back
(tests/integration/test_runtask.py drives the whole run task against a fake HCP Terraform)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from chalicelib.domain import runtask
from chalicelib.domain.enums import Verdict
from chalicelib.domain.models import ComplianceResult
from chalicelib.domain.plans import ImageUse

BODY = b'{"payload_version":1,"access_token":"t","stage":"post_plan"}'


def test_the_signature_is_the_hex_hmac_sha512_of_the_raw_body():
    expected = hmac.new(b"key", BODY, hashlib.sha512).hexdigest()
    assert runtask.signature("key", BODY) == expected
    # RFC 4231, test case 2: HMAC-SHA-512 of "what do ya want for nothing?" under "Jefe"
    assert runtask.signature("Jefe", b"what do ya want for nothing?") == (
        "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
        "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737")


SIGNED = hmac.new(b"key", BODY, hashlib.sha512).hexdigest()


@pytest.mark.parametrize("header, ok", [
    (SIGNED, True), (f" {SIGNED}\n", True), (SIGNED.upper(), True),  # as sent, padded, in capitals
    (None, False), ("", False), (hmac.new(b"other", BODY, hashlib.sha512).hexdigest(), False),
    (f"sha512={SIGNED}", False)])
def test_a_request_is_signed_under_the_key(header, ok):
    assert runtask.signed("key", BODY, header) is ok


def test_a_signature_is_of_this_body():
    assert not runtask.signed("key", BODY + b" ", runtask.signature("key", BODY))


@pytest.mark.parametrize("url", ["https://app.terraform.io/api/v2/plans/plan-1/json-output",
                                 "http://127.0.0.1:8080/callback", "HTTPS://app.terraform.io/x"])
def test_http_urls_are_taken_as_they_are(url):
    assert runtask.http_url(url, "plan_json_api_url") == url


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://h/", "ftp://h/x", "http://", "https:///path",
                                 "app.terraform.io/x", "", None])
def test_other_urls_are_refused_naming_the_field(url):
    with pytest.raises(ValueError) as caught:
        runtask.http_url(url, "task_result_callback_url")
    assert str(caught.value) == "task_result_callback_url must be an http(s) URL"


def test_the_verification_request_is_only_acknowledged():
    assert runtask.is_verification("test-token", "https://app.terraform.io/callback")
    assert runtask.is_verification("a-real-token", None)
    assert runtask.is_verification("a-real-token", "")
    assert not runtask.is_verification("a-real-token", "https://app.terraform.io/callback")
    assert not runtask.is_verification(None, "https://app.terraform.io/callback")


# ---- the task result ------------------------------------------------------------------------

def result(image: str, verdict: Verdict, version: str = "v1") -> ComplianceResult:
    if verdict == Verdict.UNKNOWN:
        return ComplianceResult(artifact=image, verdict=verdict, message="not in the registry")
    return ComplianceResult(artifact=image, verdict=verdict, message=f"{verdict.value} message", bucket="base",
                            version=version)


def outcome(address: str, description: str, body: str, label: str, level: str) -> dict:
    return {"type": "task-result-outcomes", "attributes": {
        "outcome-id": address, "description": description, "body": body,
        "tags": {"Status": [{"label": label, "level": level}]}}}


def document(status: str, message: str, outcomes: list[dict]) -> dict:
    return {"data": {"type": "task-results", "attributes": {"status": status, "message": message},
                     "relationships": {"outcomes": {"data": outcomes}}}}


def listed(answer: dict) -> list[dict]:
    """The outcomes of a task result document."""
    return answer["data"]["relationships"]["outcomes"]["data"]


RESULTS = [result("ami-rev", Verdict.REVOKED), result("ami-old", Verdict.OUT_OF_DATE, "v2"),
           result("ami-ok", Verdict.OK, "v3"), result("ami-unknown", Verdict.UNKNOWN)]


def test_a_revoked_image_deployed_fails_the_run_and_comes_first():
    uses = [ImageUse("aws_instance.ok", "ami-ok", ("no-op",)), ImageUse("aws_instance.old", "ami-old", ("update",)),
            ImageUse("aws_instance.new", "ami-rev", ("create",)),
            ImageUse("aws_instance.untracked", "ami-unknown", ("create",)),
            ImageUse("aws_instance.elsewhere", "ami-never-checked", ("create",))]
    assert runtask.task_result(uses, RESULTS) == document("failed", (
        "5 resources use images: 1 deploy a revoked image, 0 keep one (updated in place or unchanged: a warning), "
        "1 use an outdated one, 1 are current, 2 use only images the registry does not track. "
        "A revoked image is being deployed: the run task fails."), [
        outcome("aws_instance.new", "aws_instance.new deploys ami-rev (base v1), which is revoked",
                "- `ami-rev` (base v1): revoked message", "Revoked", "error"),
        outcome("aws_instance.old", "aws_instance.old uses ami-old (base v2), which is out of date",
                "- `ami-old` (base v2): out_of_date message", "Outdated", "warning"),
        outcome("aws_instance.ok", "aws_instance.ok uses ami-ok (base v3), which is current",
                "- `ami-ok` (base v3): ok message", "Current", "info")])


@pytest.mark.parametrize("actions, label, summary", [
    ((), "Revoked", "r deploys ami-rev (base v1), which is revoked"),  # no change listed: judged as a deployment
    (("create",), "Revoked", "r deploys ami-rev (base v1), which is revoked"),
    (("delete", "create"), "Revoked", "r deploys ami-rev (base v1), which is revoked"),  # a replacement
    (("create", "delete"), "Revoked", "r deploys ami-rev (base v1), which is revoked"),
    (("update",), "Revoked, not redeployed", "r (updated in place) uses ami-rev (base v1), which is revoked"),
    (("no-op",), "Revoked, not redeployed", "r (unchanged) uses ami-rev (base v1), which is revoked"),
    (("read",), "Revoked, not redeployed", "r (unchanged) uses ami-rev (base v1), which is revoked")])
def test_a_revoked_image_kept_in_place_only_warns(actions, label, summary):
    document_ = runtask.task_result([ImageUse("r", "ami-rev", actions)], RESULTS)
    attributes = document_["data"]["attributes"]
    [found] = listed(document_)
    assert found["attributes"]["description"] == summary
    assert found["attributes"]["tags"] == {"Status": [{"label": label, "level": "error" if label == "Revoked"
                                                       else "warning"}]}
    assert attributes["status"] == ("failed" if label == "Revoked" else "passed")
    if label != "Revoked":
        assert attributes["message"] == (
            "1 resources use images: 0 deploy a revoked image, 1 keep one (updated in place or unchanged: a warning), "
            "0 use an outdated one, 0 are current, 0 use only images the registry does not track.")


def test_a_resource_with_several_images_is_judged_by_the_worst():
    uses = [ImageUse("r", "ami-ok"), ImageUse("r", "ami-old"), ImageUse("r", "ami-ok2"), ImageUse("r", "ami-unknown")]
    results = [*RESULTS, result("ami-ok2", Verdict.OK, "v4")]
    [found] = listed(runtask.task_result(uses, results))
    assert found == outcome("r", "r uses ami-old (base v2), which is out of date",
                            "- `ami-ok` (base v3): ok message\n- `ami-old` (base v2): out_of_date message\n"
                            "- `ami-ok2` (base v4): ok message", "Outdated", "warning")


def test_the_first_image_judged_gives_the_summary_among_equals():
    uses = [ImageUse("r", "ami-ok"), ImageUse("r", "ami-ok2")]
    [found] = listed(runtask.task_result(uses, [*RESULTS, result("ami-ok2", Verdict.OK, "v4")]))
    assert found["attributes"]["description"] == "r uses ami-ok (base v3), which is current"


def test_no_registry_image_passes_with_no_outcomes():
    uses = [ImageUse("a", "ami-unknown"), ImageUse("b", "ami-x")]
    assert runtask.task_result(uses, RESULTS) == document("passed", (
        "2 resources use images: 0 deploy a revoked image, 0 keep one (updated in place or unchanged: a warning), "
        "0 use an outdated one, 0 are current, 2 use only images the registry does not track."), [])
    assert runtask.task_result([], []) == document("passed", (
        "0 resources use images: 0 deploy a revoked image, 0 keep one (updated in place or unchanged: a warning), "
        "0 use an outdated one, 0 are current, 0 use only images the registry does not track."), [])


def test_at_most_100_outcomes_the_worst_first():
    uses = [ImageUse(f"ok{n:03}", "ami-ok") for n in range(101)] + [ImageUse("new", "ami-rev", ("create",))]
    answer = runtask.task_result(uses, RESULTS)
    shown = listed(answer)
    assert len(shown) == runtask.MAX_OUTCOMES == 100
    assert [o["attributes"]["outcome-id"] for o in shown] == ["new"] + [f"ok{n:03}" for n in range(99)]
    assert answer["data"]["attributes"]["message"].endswith(
        "A revoked image is being deployed: the run task fails. 2 more resources are not listed.")
    exactly = runtask.task_result(uses[2:], RESULTS)  # 100 resources: all listed, nothing said
    assert len(listed(exactly)) == 100
    assert exactly["data"]["attributes"]["message"].endswith("the run task fails.")


def test_long_descriptions_and_bodies_are_cut_with_an_ellipsis():
    address = "module.x." + "a" * 300
    [found] = listed(runtask.task_result([ImageUse(address, "ami-ok")], RESULTS))
    description = found["attributes"]["description"]
    assert len(description) == 250 and description == f"{address} uses ami-ok (base v3), which is current"[:249] + "…"
    many = [ImageUse("r", f"ami-{n:04}") for n in range(300)]
    results = [result(f"ami-{n:04}", Verdict.OK) for n in range(300)]
    [found] = listed(runtask.task_result(many, results))
    body = "\n".join(f"- `ami-{n:04}` (base v1): ok message" for n in range(300))
    assert len(body) > 8000 and found["attributes"]["body"] == body[:7999] + "…"


@pytest.mark.parametrize("length", [250, 249])
def test_a_description_at_the_limit_is_kept_whole(length):
    tail = " uses ami-ok (base v3), which is current"
    address = "r" * (length - len(tail))
    [found] = listed(runtask.task_result([ImageUse(address, "ami-ok")], RESULTS))
    assert found["attributes"]["description"] == address + tail


def test_a_failure_has_its_message_and_no_outcomes():
    assert runtask.failure("the registry could not check the plan: boom") == {"data": {
        "type": "task-results", "attributes": {"status": "failed",
                                               "message": "the registry could not check the plan: boom"}}}


# ---- images the registry does not track: the run task's `on_untracked_image` ------------------

@pytest.mark.parametrize("behaviour, actions, label, level, status", [
    ("WARN", ("create",), "Untracked, allowed", "warning", "passed"),
    ("WARN", ("update",), "Untracked, allowed", "warning", "passed"),
    ("FAIL", ("create",), "Untracked", "error", "failed"),
    ("FAIL", ("delete", "create"), "Untracked", "error", "failed"),
    ("FAIL", (), "Untracked", "error", "failed"),  # no change listed: judged as a deployment
    ("FAIL", ("update",), "Untracked, allowed", "warning", "passed"),
    ("FAIL", ("no-op",), "Untracked, allowed", "warning", "passed")])
def test_an_untracked_image_is_an_outcome_unless_unset(behaviour, actions, label, level, status):
    uses = [ImageUse("vendor", "ami-unknown", actions), ImageUse("other", "ami-never-checked", ("no-op",))]
    answer = runtask.task_result(uses, RESULTS, behaviour)
    deploys = "deploys" if label == "Untracked" else "uses"
    assert listed(answer)[0] == outcome("vendor", f"vendor {deploys} ami-unknown, which the registry does not track",
                                        "- `ami-unknown`: the registry has no record of it", label, level)
    assert [o["attributes"]["outcome-id"] for o in listed(answer)] == ["vendor", "other"]
    attributes = answer["data"]["attributes"]
    assert attributes["status"] == status
    assert "2 use only images the registry does not track" in attributes["message"]
    assert attributes["message"].endswith(
        "An image the registry does not track is being deployed, which the run task refuses: it fails."
        if status == "failed" else "does not track.")
    assert runtask.task_result(uses, RESULTS, "UNSET") == runtask.task_result(uses, RESULTS)
    assert listed(runtask.task_result(uses, RESULTS)) == []


def test_a_revoked_image_is_worse_than_an_untracked_one_and_said_first():
    uses = [ImageUse("r", "ami-unknown", ("create",)), ImageUse("r", "ami-rev", ("create",)),
            ImageUse("k", "ami-unknown", ("create",)), ImageUse("k", "ami-old", ("create",))]
    answer = runtask.task_result(uses, RESULTS, "FAIL")
    found = {o["attributes"]["outcome-id"]: o["attributes"]["tags"]["Status"][0]["label"] for o in listed(answer)}
    assert found == {"r": "Revoked", "k": "Untracked"}
    assert [o["attributes"]["outcome-id"] for o in listed(answer)] == ["r", "k"]
    assert answer["data"]["attributes"]["message"].endswith("A revoked image is being deployed: the run task fails.")
    assert "0 use only images the registry does not track" in answer["data"]["attributes"]["message"]
    kept = runtask.task_result([ImageUse("k", "ami-rev", ("update",)), ImageUse("u", "ami-unknown", ("update",))],
                               RESULTS, "WARN")
    assert [o["attributes"]["tags"]["Status"][0]["label"] for o in listed(kept)] == [
        "Revoked, not redeployed", "Untracked, allowed"]
