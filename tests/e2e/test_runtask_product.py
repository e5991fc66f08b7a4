"""The HCP Terraform run task under `make run`: the endpoint the HCP API names, a signed request
from a fake HCP Terraform on loopback, the run-task queue delivered by the runner's poller to
the `run_task` function, the result PATCHed back; a wrong signature changes nothing."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

from product import start_product, wait_for
from support import FakeHcpTerraform, manifest, sign, terraform_plan

TOKEN = "run-task-product-token"
REVOKED_AMI, CURRENT_AMI = "ami-0aaaaaaaaaaaaaaa1", "ami-0ccccccccccccccc1"


def post(url: str, body: bytes, signature: str) -> int:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-TFC-Task-Signature": signature})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_make_run_checks_a_plan_for_hcp_terraform_and_reports_back():
    with start_product(TOKEN) as product, FakeHcpTerraform() as fake:
        for bucket, ami in (("base", REVOKED_AMI), ("web", CURRENT_AMI)):
            product.s3.put_object(Bucket="packer-manifests", Key=f"{bucket}/packer-manifest.json",
                                  Body=json.dumps(manifest({"artifact_id": f"us-east-1:{ami}"})).encode())
            wait_for(f"{bucket} v1", lambda: product.call("GET", f"/buckets/{bucket}/versions/v1")[0] == 200,
                     20, product.proc)
        assert product.call("POST", "/buckets/base/versions/v1/revoke", {"reason": "CVE-2025-0002"})[0] == 200

        organization = product.call("GET", "/resource-manager/2019-12-10/organizations")[1]["organizations"][0]["id"]
        project = product.call("GET", "/resource-manager/2019-12-10/projects")[1]["projects"][0]["id"]
        status, task = product.call("GET", f"/packer/2023-01-01/organizations/{organization}/projects/{project}"
                                           "/runtasks/validation")
        assert status == 200 and task["api_url"] == f"{product.url}/runtasks/hcp-terraform"

        fake.plan = terraform_plan(("aws_instance.web", CURRENT_AMI, ["create"]),
                                   ("aws_instance.legacy", REVOKED_AMI, ["create"]))
        body = fake.run_task_request()
        assert post(task["api_url"], body, sign(task["hmac_key"], body + b"x")) == 401
        assert post(task["api_url"], body, sign(task["hmac_key"], body)) == 200
        (result,) = wait_for("the run task's result", fake.callbacks, 20, product.proc)

        assert result["data"]["attributes"]["status"] == "failed"
        outcomes = {o["attributes"]["outcome-id"]: o["attributes"]["tags"]["Status"][0]["level"]
                    for o in result["data"]["relationships"]["outcomes"]["data"]}
        assert outcomes == {"aws_instance.legacy": "error", "aws_instance.web": "info"}
        # the refused request reached nothing: one download and one callback, for the signed one
        assert [(r["method"], r["path"]) for r in fake.requests] == [("GET", "/plan"), ("PATCH", "/callback")]
        assert fake.TOKEN not in "".join(product.output())  # never logged


def test_make_run_connects_to_loopback_127_0_0_1_only():
    """The `local` stage allows the run task 127.0.0.1 and localhost (RUNTASK_ALLOWED_HOSTS) on
    loopback (RUNTASK_ALLOW_PRIVATE); 127.0.0.2 plays a host it must not reach (issue 22)."""
    with start_product(TOKEN) as product, FakeHcpTerraform() as fake, FakeHcpTerraform("127.0.0.2") as other:
        organization = product.call("GET", "/resource-manager/2019-12-10/organizations")[1]["organizations"][0]["id"]
        project = product.call("GET", "/resource-manager/2019-12-10/projects")[1]["projects"][0]["id"]
        task = product.call("GET", f"/packer/2023-01-01/organizations/{organization}/projects/{project}"
                                   "/runtasks/validation")[1]
        other.plan = fake.plan = terraform_plan(("aws_instance.web", CURRENT_AMI, ["create"]))
        elsewhere = fake.run_task_request(plan_json_api_url=f"{other.url}/plan")
        assert post(task["api_url"], elsewhere, sign(task["hmac_key"], elsewhere)) == 400

        fake.redirect = f"{other.url}/archive/plan"
        body = fake.run_task_request()
        assert post(task["api_url"], body, sign(task["hmac_key"], body)) == 200
        (result,) = wait_for("the run task's result", fake.callbacks, 20, product.proc)
        assert result["data"]["attributes"] == {"status": "failed", "message": "the plan could not be downloaded"}
        assert other.requests == []
