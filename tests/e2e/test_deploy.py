"""Deployment artefacts: the resources template, the stage IAM policies, the scripts.

All offline: nothing here talks to AWS. deploy.sh runs against stub `aws` and `chalice`
commands; package.sh runs for real (Chalice downloads wheels from the package index).
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pytest
from cfnlint.decode import cfn_yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[2]
TEMPLATE = REPO / "deploy" / "resources.yaml"
CHALICE_DIR = REPO / ".chalice"

if str(REPO) not in sys.path:  # also when run as `pytest`, not `python -m pytest`
    sys.path.insert(0, str(REPO))
from chalicelib.api import web  # noqa: E402
from local.gateway import UNAUTHORIZED  # noqa: E402
from chalicelib.storage.schema import TTL, table_definition  # noqa: E402
from local.runner import NO_SUCH_ROUTE  # noqa: E402


def _load_wire_stage():
    spec = importlib.util.spec_from_file_location("wire_stage", REPO / "scripts" / "wire_stage.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


wire_stage = _load_wire_stage()


def _plain(node: Any) -> Any:
    """cfn-lint's YAML nodes as plain dicts/lists/strings."""
    return json.loads(json.dumps(node))


def _template() -> dict[str, Any]:
    return _plain(cfn_yaml.load(str(TEMPLATE)))


def _config() -> dict[str, Any]:
    return json.loads((CHALICE_DIR / "config.json").read_text())


def _policy_stages() -> list[str]:
    return [name for name, stage in _config()["stages"].items() if "iam_policy_file" in stage]


def _statements(node: Any) -> Iterator[dict[str, Any]]:
    """Every IAM statement anywhere in a JSON/YAML document."""
    if isinstance(node, dict):
        statements = node.get("Statement")
        if statements is not None:
            yield from statements if isinstance(statements, list) else [statements]
        for value in node.values():
            yield from _statements(value)
    elif isinstance(node, list):
        for value in node:
            yield from _statements(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# --- the resources template ------------------------------------------------------------


def test_cfn_lint_reports_nothing() -> None:
    # Via the running interpreter, so the venv's cfn-lint is used wherever its bin/ is.
    run = subprocess.run(
        [sys.executable, "-c", "import sys; from cfnlint.runner import main; sys.exit(main())",
         str(TEMPLATE)],
        capture_output=True, text=True, timeout=120,
    )
    # Exit code is a bitmask: 2 errors, 4 warnings, 8 informational.
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == ""


def test_table_keys_match_schema() -> None:
    props = _template()["Resources"]["RegistryTable"]["Properties"]
    expected = table_definition("ignored")
    by_name = lambda items, key: sorted(items, key=lambda i: i[key])  # noqa: E731

    assert props["BillingMode"] == expected["BillingMode"]
    assert props["KeySchema"] == expected["KeySchema"]
    assert by_name(props["AttributeDefinitions"], "AttributeName") == by_name(
        expected["AttributeDefinitions"], "AttributeName"
    )
    assert by_name(props["GlobalSecondaryIndexes"], "IndexName") == by_name(
        expected["GlobalSecondaryIndexes"], "IndexName"
    )
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL, "Enabled": True}


def test_stateful_resources_are_retained_and_protected() -> None:
    resources = _template()["Resources"]
    for name in ("RegistryTable", "ManifestBucket"):
        assert resources[name]["DeletionPolicy"] == "Retain", name
        assert resources[name]["UpdateReplacePolicy"] == "Retain", name
    table = resources["RegistryTable"]["Properties"]
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["SSESpecification"]["SSEEnabled"] is True
    bucket = resources["ManifestBucket"]["Properties"]
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    outputs = set(_template()["Outputs"])
    assert {"TableName", "TableArn", "ManifestBucketName", "ManifestBucketArn"} <= outputs


def test_template_declares_the_event_bus() -> None:
    template = _template()
    bus = template["Resources"]["EventBus"]
    assert bus["Type"] == "AWS::Events::EventBus"
    assert bus["Properties"]["Name"] == {"Fn::Sub": "packer-registry-${Stage}"}
    outputs = template["Outputs"]
    assert outputs["EventBusName"]["Value"] == {"Ref": "EventBus"}  # Ref of a bus is its name
    assert outputs["EventBusArn"]["Value"] == {"Fn::GetAtt": ["EventBus", "Arn"]}
    # No SecureString here: CloudFormation cannot create one (deploy.sh does).
    assert not [r for r in template["Resources"].values() if r["Type"].startswith("AWS::SSM::")]


def test_template_declares_the_run_task_queue() -> None:
    """The queue app.py's run_task function consumes: named as each stage's RUN_TASK_QUEUE,
    encrypted, messages (which hold a run's access token) short-lived, and a visibility
    timeout above the function's timeout, as a Lambda event source requires."""
    template = _template()
    queue = template["Resources"]["RunTaskQueue"]
    assert queue["Type"] == "AWS::SQS::Queue"
    properties = queue["Properties"]
    assert properties["QueueName"] == {"Fn::Sub": "packer-registry-run-tasks-${Stage}"}
    assert properties["SqsManagedSseEnabled"] is True
    assert properties["MessageRetentionPeriod"] <= 3600
    for stage in _policy_stages():
        config = _config()["stages"][stage]
        assert config["environment_variables"]["RUN_TASK_QUEUE"] == f"packer-registry-run-tasks-{stage}"
        assert properties["VisibilityTimeout"] > config["lambda_functions"]["run_task"]["lambda_timeout"]
    outputs = template["Outputs"]
    assert outputs["RunTaskQueueName"]["Value"] == {"Fn::GetAtt": ["RunTaskQueue", "QueueName"]}
    assert outputs["RunTaskQueueArn"]["Value"] == {"Fn::GetAtt": ["RunTaskQueue", "Arn"]}


def test_template_declares_the_webhook_queue_and_its_rule() -> None:
    """The queue app.py's webhook_delivery function consumes: named as each stage's
    WEBHOOK_QUEUE, fed by a rule on the registry's bus that EventBridge alone may send for,
    with a dead-letter queue, and a visibility timeout above the function's timeout."""
    template = _template()
    resources = template["Resources"]
    properties = resources["WebhookQueue"]["Properties"]
    assert properties["QueueName"] == {"Fn::Sub": "packer-registry-webhooks-${Stage}"}
    assert properties["SqsManagedSseEnabled"] is True
    assert properties["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"]}
    for stage in _policy_stages():
        config = _config()["stages"][stage]
        assert config["environment_variables"]["WEBHOOK_QUEUE"] == f"packer-registry-webhooks-{stage}"
        assert properties["VisibilityTimeout"] > config["lambda_functions"]["webhook_delivery"]["lambda_timeout"]
    rule = resources["WebhookRule"]["Properties"]
    assert rule["EventBusName"] == {"Ref": "EventBus"}
    assert rule["EventPattern"] == {"source": ["packer-registry"]}
    assert rule["Targets"] == [{"Id": "webhook-queue", "Arn": {"Fn::GetAtt": ["WebhookQueue", "Arn"]}}]
    (statement,) = resources["WebhookQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["WebhookRule", "Arn"]}}}
    outputs = template["Outputs"]
    assert outputs["WebhookQueueName"]["Value"] == {"Fn::GetAtt": ["WebhookQueue", "QueueName"]}
    assert outputs["WebhookQueueArn"]["Value"] == {"Fn::GetAtt": ["WebhookQueue", "Arn"]}


# --- IAM policies ----------------------------------------------------------------------


def _policy_documents() -> dict[str, Any]:
    docs = {p.name: json.loads(p.read_text()) for p in sorted(CHALICE_DIR.glob("*.json"))}
    docs.update({p.name: _plain(cfn_yaml.load(str(p))) for p in sorted((REPO / "deploy").glob("*.yaml"))})
    return docs


def test_no_wildcard_actions() -> None:
    checked = 0
    for name, doc in _policy_documents().items():
        for statement in _statements(doc):
            for key in ("Action", "NotAction"):
                for action in _as_list(statement.get(key, [])):
                    assert "*" not in action, f"{name}: wildcard action {action!r}"
                    checked += 1
    assert checked > 0, "found no IAM statements to check"


def test_actions_are_real_iam_actions() -> None:
    # cfn-lint ships the IAM service-authorization data; a typo or a non-action such as
    # dynamodb:TransactWriteItems (transactions are authorised per item) fails here.
    import cfnlint

    known = json.loads((Path(cfnlint.__file__).parent / "data" / "AdditionalSpecs" / "Policies.json").read_text())
    for stage in _policy_stages():
        policy = json.loads((CHALICE_DIR / _config()["stages"][stage]["iam_policy_file"]).read_text())
        for statement in policy["Statement"]:
            for action in _as_list(statement["Action"]):
                service, name = action.split(":")
                assert name.lower() in known[service]["Actions"], f"{stage}: unknown action {action}"


def _for_service(policy: dict[str, Any], service: str) -> list[dict[str, Any]]:
    """The statements that grant any action of `service`."""
    return [s for s in policy["Statement"]
            if any(a.split(":", 1)[0] == service for a in _as_list(s.get("Action", [])))]


def _condition_values(statement: dict[str, Any]) -> list[str]:
    return [v for operator in statement.get("Condition", {}).values()
            for values in operator.values() for v in _as_list(values)]


def _assert_policy_names_stage(policy: dict[str, Any], stage: str, env: dict[str, str]) -> None:
    table, bucket = env["REGISTRY_TABLE"], env["MANIFEST_BUCKET"]
    bus, parameters = env["EVENT_BUS_NAME"], [env["REGISTRY_ADMIN_TOKEN_PARAM"], env["REGISTRY_SIGNING_KEY_PARAM"]]
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow" and "Resource" in statement, statement
        assert not {"NotAction", "NotResource", "NotPrincipal"} & set(statement), statement
    resources = [r for s in policy["Statement"] for r in _as_list(s["Resource"])]
    dynamo = [r for r in resources if ":dynamodb:" in r]
    s3 = [r for r in resources if r.startswith("arn:aws:s3:::")]
    assert {r.split(":table/", 1)[1] for r in dynamo} == {table, f"{table}/index/*"}
    assert set(s3) == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*", f"arn:aws:s3:::{bucket}/_registry/sboms/*"}
    # Writes and deletions in the bucket: only the SBOMs the HCP API stores (uploaded manifests are only read).
    writes = [s for s in _for_service(policy, "s3") if any(a.startswith(("s3:Put", "s3:Delete")) for a in s["Action"])]
    assert [(_as_list(s["Resource"]), sorted(s["Action"])) for s in writes] == [
        ([f"arn:aws:s3:::{bucket}/_registry/sboms/*"], ["s3:DeleteObject", "s3:DeleteObjectVersion", "s3:PutObject"])]
    logs = [r for r in resources if ":logs:" in r]
    assert logs and all(f":log-group:/aws/lambda/packer-registry-{stage}" in r for r in logs)

    # Audit events: PutEvents on the stage's bus and nothing else of EventBridge.
    (events,) = _for_service(policy, "events")
    assert events["Action"] == ["events:PutEvents"]
    (bus_arn,) = _as_list(events["Resource"])
    assert re.fullmatch(rf"arn:aws:events:[^:]+:[^:]+:event-bus/{re.escape(bus)}", bus_arn), bus_arn
    assert "Condition" not in events

    # The run-task and webhook queues: what the API (the webhook function, for retries) sends
    # and each consuming function's event source needs, on the stage's queues only.
    for queue in (env["RUN_TASK_QUEUE"], env["WEBHOOK_QUEUE"]):
        sqs = [s for s in _for_service(policy, "sqs") if _as_list(s["Resource"])[0].endswith(f":{queue}")]
        assert sorted(a for s in sqs for a in s["Action"]) == sorted([
            "sqs:GetQueueUrl", "sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage",
            "sqs:GetQueueAttributes"]), queue
    for statement in _for_service(policy, "sqs"):
        (queue_arn,) = _as_list(statement["Resource"])
        queues = "|".join(re.escape(q) for q in (env["RUN_TASK_QUEUE"], env["WEBHOOK_QUEUE"]))
        assert re.fullmatch(rf"arn:aws:sqs:[^:]+:[^:]+:(?:{queues})", queue_arn), queue_arn

    # The admin token and the page-token signing key: GetParameter on those two parameters,
    # nothing else of SSM.
    assert all(parameter.startswith(f"/packer-registry/{stage}/") for parameter in parameters)
    (ssm,) = _for_service(policy, "ssm")
    assert ssm["Action"] == ["ssm:GetParameter"]
    parameter_arns = _as_list(ssm["Resource"])
    assert len(parameter_arns) == len(parameters)
    for parameter, parameter_arn in zip(parameters, parameter_arns):
        assert re.fullmatch(rf"arn:aws:ssm:[^:]+:[^:]+:parameter{re.escape(parameter)}", parameter_arn)

    # Their decryption: kms:Decrypt only, only when SSM asks for it, only for those parameters.
    (kms,) = _for_service(policy, "kms")
    assert kms["Action"] == ["kms:Decrypt"]
    assert all(re.fullmatch(r"arn:aws:kms:[^:]+:[^:]+:(key|alias)/.+", r) for r in _as_list(kms["Resource"]))
    assert re.fullmatch(r"[A-Za-z0-9]+", kms["Sid"]) and "Ssm" in kms["Sid"]  # says why
    assert set(kms["Condition"]) <= {"StringEquals", "StringLike"}, kms["Condition"]
    keys = {k.lower(): _as_list(v) for operator in kms["Condition"].values() for k, v in operator.items()}
    via = keys["kms:viaservice"]
    assert via and all(re.fullmatch(r"ssm\.[a-z0-9*-]+\.amazonaws\.com", v) for v in via), via
    assert keys["kms:encryptioncontext:parameter_arn"] == parameter_arns

    for other in ("dev", "prod"):
        if other != stage:
            named = resources + [v for s in policy["Statement"] for v in _condition_values(s)]
            assert not any(f"-{other}" in r or f"/{other}/" in r for r in named), f"{stage} policy names {other}"


def _assert_pinned(policy: dict[str, Any], region: str, account: str) -> None:
    """After wiring, the bus, parameter and key ARNs and ViaService name region and account."""
    for service in ("events", "sqs", "ssm", "kms"):
        for statement in _for_service(policy, service):
            for arn in _as_list(statement["Resource"]) + [
                    v for v in _condition_values(statement) if v.startswith("arn:")]:
                assert arn.split(":")[3:5] == [region, account], arn
            for value in [v for v in _condition_values(statement) if not v.startswith("arn:")]:
                assert value == f"ssm.{region}.amazonaws.com", value


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_stage_policy_names_the_stage_resources(stage: str) -> None:
    config = _config()["stages"][stage]
    assert config["iam_policy_file"] == f"policy-{stage}.json"
    policy = json.loads((CHALICE_DIR / config["iam_policy_file"]).read_text())
    env = config["environment_variables"]
    _assert_policy_names_stage(policy, stage, env)
    assert env["REGISTRY_TABLE"] == f"packer-registry-{stage}"
    # The bus deploy/resources.yaml names packer-registry-${Stage}, and the parameter
    # scripts/deploy.sh creates.
    assert env["EVENT_BUS_NAME"] == f"packer-registry-{stage}"
    assert env["REGISTRY_ADMIN_TOKEN_PARAM"] == f"/packer-registry/{stage}/admin-token"
    assert env["REGISTRY_SIGNING_KEY_PARAM"] == f"/packer-registry/{stage}/signing-key"


# --- deploy-time wiring ----------------------------------------------------------------


def _fake_outputs(stage: str) -> dict[str, str]:
    bucket = f"packer-manifests-{stage}-123456789012-eu-west-1"
    return {
        "TableName": f"packer-registry-{stage}",
        "TableArn": f"arn:aws:dynamodb:eu-west-1:123456789012:table/packer-registry-{stage}",
        "ManifestBucketName": bucket,
        "ManifestBucketArn": f"arn:aws:s3:::{bucket}",
        "EventBusName": f"packer-registry-{stage}",
        "EventBusArn": f"arn:aws:events:eu-west-1:123456789012:event-bus/packer-registry-{stage}",
        "RunTaskQueueName": f"packer-registry-run-tasks-{stage}",
        "RunTaskQueueArn": f"arn:aws:sqs:eu-west-1:123456789012:packer-registry-run-tasks-{stage}",
        "WebhookQueueName": f"packer-registry-webhooks-{stage}",
        "WebhookQueueArn": f"arn:aws:sqs:eu-west-1:123456789012:packer-registry-webhooks-{stage}",
    }


def test_wire_stage_rewrites_only_that_stage_and_is_idempotent(tmp_path: Path) -> None:
    chalice_dir = shutil.copytree(CHALICE_DIR, tmp_path / ".chalice",
                                  ignore=shutil.ignore_patterns("deployments", "deployed"))
    outputs = _fake_outputs("prod")
    wire_stage.wire(chalice_dir, "prod", outputs)
    first = {p.name: p.read_text() for p in chalice_dir.glob("*.json")}
    wire_stage.wire(chalice_dir, "prod", outputs)
    assert {p.name: p.read_text() for p in chalice_dir.glob("*.json")} == first

    config = json.loads(first["config.json"])["stages"]
    env = config["prod"]["environment_variables"]
    assert env["MANIFEST_BUCKET"] == outputs["ManifestBucketName"]
    assert env["EVENT_BUS_NAME"] == outputs["EventBusName"]
    policy = json.loads(first["policy-prod.json"])
    _assert_policy_names_stage(policy, "prod", env)
    assert outputs["TableArn"] in json.dumps(policy)
    assert _for_service(policy, "events")[0]["Resource"] == outputs["EventBusArn"]
    assert env["RUN_TASK_QUEUE"] == outputs["RunTaskQueueName"]
    assert env["WEBHOOK_QUEUE"] == outputs["WebhookQueueName"]
    assert {s["Resource"] for s in _for_service(policy, "sqs")} == {outputs["RunTaskQueueArn"],
                                                                   outputs["WebhookQueueArn"]}
    parameter_arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/packer-registry/prod/admin-token"
    assert _for_service(policy, "ssm")[0]["Resource"] == [parameter_arn, parameter_arn.replace("admin-token", "signing-key")]
    kms = _for_service(policy, "kms")[0]
    assert kms["Resource"] == "arn:aws:kms:eu-west-1:123456789012:key/*"
    assert parameter_arn in json.dumps(kms["Condition"])
    assert "ssm.eu-west-1.amazonaws.com" in json.dumps(kms["Condition"])
    _assert_pinned(policy, "eu-west-1", "123456789012")
    # The other stage is untouched.
    assert config["dev"] == _config()["stages"]["dev"]
    assert first["policy-dev.json"] == (CHALICE_DIR / "policy-dev.json").read_text()


def test_wire_stage_rewrites_condition_values_and_lists() -> None:
    outputs = _fake_outputs("dev")
    policy = {"Statement": [
        {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": ["arn:aws:kms:*:*:key/*"],
         "Condition": {"StringEquals": {"kms:ViaService": ["ssm.*.amazonaws.com"]},
                       "StringLike": {"kms:EncryptionContext:PARAMETER_ARN": [
                           "arn:aws:ssm:*:*:parameter/packer-registry/dev/admin-token"]}}},
        {"Effect": "Allow", "Action": ["logs:PutLogEvents"],
         "Resource": "arn:aws:logs:*:*:log-group:/aws/lambda/packer-registry-dev*"},
    ]}
    wired = wire_stage.rewrite_policy(json.loads(json.dumps(policy)), outputs)
    kms, logs = wired["Statement"]
    assert kms["Resource"] == ["arn:aws:kms:eu-west-1:123456789012:key/*"]
    assert kms["Condition"] == {
        "StringEquals": {"kms:ViaService": ["ssm.eu-west-1.amazonaws.com"]},
        "StringLike": {"kms:EncryptionContext:PARAMETER_ARN": [
            "arn:aws:ssm:eu-west-1:123456789012:parameter/packer-registry/dev/admin-token"]},
    }
    assert logs == policy["Statement"][1]  # left alone
    assert wire_stage.rewrite_policy(json.loads(json.dumps(wired)), outputs) == wired


# The stubs log each call as a JSON list of its arguments, so the tests see them exactly.
LOG_CALL = """python -c 'import json, os, sys
with open(os.environ["FAKE_LOG"], "a") as log:
    log.write(json.dumps(sys.argv[1:]) + "\\n")' \\"""
REST_API_ID = "a1b2c3d4e5"
FAKE_AWS = f"""#!/usr/bin/env bash
{LOG_CALL}
  aws "$@"
case "$1 $2" in
  "sts get-caller-identity") [ -n "$FAKE_NO_CREDS" ] && exit 255; echo 123456789012 ;;
  "configure get") echo eu-west-1 ;;
  "cloudformation deploy") ;;
  "cloudformation describe-stacks") echo "$FAKE_OUTPUTS" ;;
  "ssm describe-parameters")
    [ -n "$FAKE_SSM_DENIED" ] && {{ echo "AccessDeniedException" >&2; exit 254; }}
    echo "${{FAKE_PARAMETER_COUNT:-0}}" ;;
  "ssm put-parameter") echo '{{"Version": 1, "Tier": "Standard"}}' ;;
  "apigateway put-gateway-response") echo '{{}}' ;;
  "apigateway create-deployment") echo '{{"id": "d3pl0y"}}' ;;
  *) echo "unexpected aws call: $*" >&2; exit 9 ;;
esac
"""
# Writes the deployed state as Chalice 1.x does, naming the REST API.
FAKE_CHALICE = f"""#!/usr/bin/env bash
{LOG_CALL}
  chalice "$@" "bucket=$MANIFEST_BUCKET" "region=$AWS_REGION"
[ -n "$FAKE_NO_STATE" ] && exit 0
mkdir -p .chalice/deployed
cat > ".chalice/deployed/$3.json" <<STATE
{{"resources": [
  {{"name": "api_handler", "resource_type": "lambda_function",
    "lambda_arn": "arn:aws:lambda:eu-west-1:123456789012:function:packer-registry-$3"}},
  {{"name": "rest_api", "resource_type": "rest_api", "rest_api_id": "{REST_API_ID}",
    "rest_api_url": "https://{REST_API_ID}.execute-api.eu-west-1.amazonaws.com/api/"}}
 ], "schema_version": "2.0", "backend": "api"}}
STATE
"""


def _calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _option(call: list[str], name: str) -> str | None:
    """The value of --name in a logged call, given as `--name value` or `--name=value`."""
    for i, arg in enumerate(call):
        if arg == name:
            return call[i + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    return None


def _run_deploy(tmp_path: Path, stage: str, **extra_env: str) -> tuple[subprocess.CompletedProcess, Path]:
    """deploy.sh in a copy of the repo, with stub aws/chalice that log their calls."""
    work = tmp_path / "repo"
    for part in ("scripts", "deploy"):
        shutil.copytree(REPO / part, work / part)
    shutil.copytree(CHALICE_DIR, work / ".chalice", ignore=shutil.ignore_patterns("deployments", "deployed"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in (("aws", FAKE_AWS), ("chalice", FAKE_CHALICE)):
        (bin_dir / name).write_text(body)
        (bin_dir / name).chmod(0o755)
    run = subprocess.run(["bash", str(work / "scripts" / "deploy.sh"), stage],
                         env={**_stub_env(tmp_path, stage), **extra_env}, capture_output=True, text=True, timeout=60)
    return run, work


def _stub_env(tmp_path: Path, stage: str = "prod") -> dict[str, str]:
    """The environment deploy.sh runs in: the stubs first on PATH, their log, the stack's outputs."""
    outputs = [{"OutputKey": k, "OutputValue": v} for k, v in _fake_outputs(stage).items()]
    return {
        "PATH": os.pathsep.join([str(tmp_path / "bin"), str(Path(sys.executable).parent), os.environ["PATH"]]),
        "HOME": str(tmp_path),
        "FAKE_LOG": str(tmp_path / "calls.log"),
        "FAKE_OUTPUTS": json.dumps(outputs),
    }


def _index(calls: list[list[str]], *prefix: str) -> list[int]:
    return [i for i, c in enumerate(calls) if c[:len(prefix)] == list(prefix)]


def test_deploy_script_wires_stack_outputs_into_chalice(tmp_path: Path) -> None:
    run, work = _run_deploy(tmp_path, "dev")
    assert run.returncode == 0, run.stdout + run.stderr
    calls = _calls(tmp_path)
    lines = [" ".join(c) for c in calls]
    assert any("cloudformation deploy" in c and "packer-registry-resources-dev" in c
               and "Stage=dev" in c and "deploy/resources.yaml" in c for c in lines)
    bucket = _fake_outputs("dev")["ManifestBucketName"]
    # chalice deploy runs once, with the stack's bucket exported for @app.on_s3_event.
    (chalice,) = _index(calls, "chalice")
    assert calls[chalice] == ["chalice", "deploy", "--stage", "dev", f"bucket={bucket}", "region=eu-west-1"]
    env = json.loads((work / ".chalice" / "config.json").read_text())["stages"]["dev"]["environment_variables"]
    assert env["MANIFEST_BUCKET"] == bucket
    assert env["EVENT_BUS_NAME"] == "packer-registry-dev"
    policy = json.loads((work / ".chalice" / "policy-dev.json").read_text())
    _assert_policy_names_stage(policy, "dev", env)
    _assert_pinned(policy, "eu-west-1", "123456789012")


# API Gateway's own message for an unknown route called with a bearer token: it quotes the header.
GATEWAY_MESSAGE = ('Authorization header requires \'Credential\' parameter. Authorization=Bearer '
                   'secret-token-0123456789"quoted"')


def _gateway_body(template: str) -> dict[str, Any]:
    """A gateway response template rendered as API Gateway would, parsed as JSON."""
    message = GATEWAY_MESSAGE
    rendered = (template.replace("$context.error.messageString", json.dumps(message))
                .replace("$context.error.responseType", "BAD_REQUEST_BODY"))
    assert "$" not in rendered, f"unrendered variable in {template!r}"
    body = json.loads(rendered)
    assert set(body) == {"error", "message"} and all(isinstance(v, str) and v for v in body.values())
    return body


def test_deploy_script_creates_missing_admin_token_and_gateway_responses(tmp_path: Path) -> None:
    run, work = _run_deploy(tmp_path, "dev", FAKE_PARAMETER_COUNT="0")
    assert run.returncode == 0, run.stdout + run.stderr
    calls = _calls(tmp_path)
    (stack,) = _index(calls, "aws", "cloudformation", "deploy")
    parameter = "/packer-registry/dev/admin-token"
    lookup, key_lookup = _index(calls, "aws", "ssm", "describe-parameters")
    put, key_put = _index(calls, "aws", "ssm", "put-parameter")
    (chalice,) = _index(calls, "chalice", "deploy")
    responses = _index(calls, "aws", "apigateway", "put-gateway-response")
    (redeploy,) = _index(calls, "aws", "apigateway", "create-deployment")
    # The token exists before the app can ask for it; API Gateway is set up after chalice
    # deploy (which rewrites the API) and redeployed last so the responses take effect.
    assert stack < lookup < put < key_lookup < key_put < chalice < min(responses) <= max(responses) < redeploy \
        == len(calls) - 1

    assert f"Values={parameter}" in _option(calls[lookup], "--parameter-filters")
    assert _option(calls[put], "--type") == "SecureString"
    assert _option(calls[put], "--name") == parameter
    assert "--overwrite" not in calls[put] and "--key-id" not in calls[put]  # aws/ssm key
    token = _option(calls[put], "--value")
    assert token and len(token) >= 43 and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    assert any(arg.startswith("--value=") for arg in calls[put])  # a token may start with "-"
    # Printed once, for the user to keep; nowhere else.
    assert run.stdout.count(token) == 1 and token not in run.stderr
    assert "keep it" in run.stdout
    for path in work.rglob("*"):
        if path.is_file():
            assert token not in path.read_text(errors="ignore"), path

    # The page-token signing key: created the same way, and printed nowhere.
    key_parameter = "/packer-registry/dev/signing-key"
    assert f"Values={key_parameter}" in _option(calls[key_lookup], "--parameter-filters")
    assert (_option(calls[key_put], "--type"), _option(calls[key_put], "--name")) == ("SecureString", key_parameter)
    assert "--overwrite" not in calls[key_put]
    key = _option(calls[key_put], "--value")
    assert key and len(key) >= 43 and key != token
    assert key not in run.stdout + run.stderr

    by_type = {_option(calls[i], "--response-type"): calls[i] for i in responses}
    assert set(by_type) == {"UNAUTHORIZED", "ACCESS_DENIED", "MISSING_AUTHENTICATION_TOKEN",
                            "DEFAULT_4XX", "DEFAULT_5XX"}
    assert len(responses) == len(by_type)
    for call in by_type.values():
        assert _option(call, "--rest-api-id") == REST_API_ID
        assert set(json.loads(_option(call, "--response-templates"))) == {"application/json"}
    body = {t: _gateway_body(json.loads(_option(c, "--response-templates"))["application/json"])
            for t, c in by_type.items()}
    status = {t: _option(c, "--status-code") for t, c in by_type.items()}
    assert status == {"UNAUTHORIZED": "401", "ACCESS_DENIED": "403", "MISSING_AUTHENTICATION_TOKEN": "404",
                      "DEFAULT_4XX": None, "DEFAULT_5XX": None}
    assert body["UNAUTHORIZED"] == UNAUTHORIZED  # what make run's local gateway answers too
    assert body["ACCESS_DENIED"]["error"] == "Forbidden"
    # An unknown route: the same 404 as under make run, and nothing of the request in it.
    assert body["MISSING_AUTHENTICATION_TOKEN"] == NO_SUCH_ROUTE
    # No 4xx repeats API Gateway's message, which may quote request headers (ACCESS_DENIED's
    # is the authorizer's own); the 5xx one carries it (already a quoted JSON string).
    for response_type in set(body) - {"ACCESS_DENIED", "DEFAULT_5XX"}:
        assert "secret-token" not in json.dumps(body[response_type]), response_type
    assert body["DEFAULT_4XX"]["error"] == "BAD_REQUEST_BODY" and "BAD_REQUEST_BODY" in body["DEFAULT_4XX"]["message"]
    assert body["DEFAULT_5XX"]["message"] == GATEWAY_MESSAGE
    assert _option(calls[redeploy], "--rest-api-id") == REST_API_ID
    assert _option(calls[redeploy], "--stage-name") == "api"


def test_deploy_script_never_overwrites_an_existing_admin_token(tmp_path: Path) -> None:
    run, _ = _run_deploy(tmp_path, "prod", FAKE_PARAMETER_COUNT="1")
    assert run.returncode == 0, run.stdout + run.stderr
    calls = _calls(tmp_path)
    assert _index(calls, "aws", "ssm", "describe-parameters")
    assert not _index(calls, "aws", "ssm", "put-parameter")
    assert not any("--overwrite" in c for c in calls)
    assert "exists" in run.stdout
    # The rest of the deploy still happens.
    assert _index(calls, "chalice", "deploy") and _index(calls, "aws", "apigateway", "create-deployment")


def test_deploy_script_stops_when_it_cannot_tell_whether_the_token_exists(tmp_path: Path) -> None:
    run, _ = _run_deploy(tmp_path, "dev", FAKE_SSM_DENIED="1")
    assert run.returncode != 0
    calls = _calls(tmp_path)
    assert not _index(calls, "aws", "ssm", "put-parameter") and not _index(calls, "chalice")


def test_deploy_script_fails_clearly_without_chalice_state(tmp_path: Path) -> None:
    run, _ = _run_deploy(tmp_path, "dev", FAKE_PARAMETER_COUNT="1", FAKE_NO_STATE="1")
    assert run.returncode != 0
    assert ".chalice/deployed/dev.json" in run.stderr
    assert not _index(_calls(tmp_path), "aws", "apigateway")


def test_deploy_script_fails_clearly_without_credentials(tmp_path: Path) -> None:
    run, _ = _run_deploy(tmp_path, "prod", FAKE_NO_CREDS="1")
    assert run.returncode == 1
    assert "AWS credentials" in run.stderr
    calls = (tmp_path / "calls.log").read_text()
    assert "cloudformation" not in calls and "chalice" not in calls and "ssm" not in calls


# --- the custom domain (the HCP clients need the API and /oauth2/token at the host root) -----

DOMAIN = "packer.example.com"
EDGE_CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-4e5f-4678-9abc-def012345678"


def _stage_config(work: Path, stage: str) -> dict[str, Any]:
    return json.loads((work / ".chalice" / "config.json").read_text())["stages"][stage]


def _chalice_rest_api(work: Path, stage: str) -> Any:
    """The REST API Chalice would deploy from the stage config in `work`: its own config lookup
    (with the defaults `chalice deploy` applies) and application graph, for a one-route app."""
    from chalice import Chalice
    from chalice.config import Config
    from chalice.constants import DEFAULT_APIGATEWAY_STAGE_NAME, DEFAULT_ENDPOINT_TYPE
    from chalice.deploy import models
    from chalice.deploy.appgraph import ApplicationGraphBuilder

    app = Chalice("packer-registry")
    app.route("/")(lambda: {})
    config = Config(chalice_stage=stage, user_provided_params={"chalice_app": app, "project_dir": str(work)},
                    config_from_disk=json.loads((work / ".chalice" / "config.json").read_text()),
                    default_params={"api_gateway_stage": DEFAULT_APIGATEWAY_STAGE_NAME,
                                    "api_gateway_endpoint_type": DEFAULT_ENDPOINT_TYPE, "autogen_policy": True})
    (rest_api,) = [r for r in ApplicationGraphBuilder().build(config, stage).resources
                   if isinstance(r, models.RestAPI)]
    return rest_api


def test_make_deploy_passes_the_domain_and_certificate_to_the_script() -> None:
    run = subprocess.run(["make", "-n", "-o", ".venv/.installed", "deploy", "STAGE=prod", f"DOMAIN_NAME={DOMAIN}",
                          f"CERTIFICATE_ARN={EDGE_CERTIFICATE}"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    command = run.stdout.replace("\\\n", " ")
    assert f'DOMAIN_NAME="{DOMAIN}"' in command and f'CERTIFICATE_ARN="{EDGE_CERTIFICATE}"' in command
    assert "scripts/deploy.sh prod" in command


def test_deploy_with_a_domain_serves_the_api_at_the_domains_root(tmp_path: Path) -> None:
    run, work = _run_deploy(tmp_path, "prod", FAKE_PARAMETER_COUNT="1", DOMAIN_NAME=DOMAIN,
                            CERTIFICATE_ARN=EDGE_CERTIFICATE)
    assert run.returncode == 0, run.stdout + run.stderr
    stage = _stage_config(work, "prod")
    assert stage["api_gateway_custom_domain"] == {"domain_name": DOMAIN, "certificate_arn": EDGE_CERTIFICATE,
                                                  "url_prefix": "/"}
    assert "api_gateway_custom_domain" not in _stage_config(work, "dev")
    # What chalice deploy makes of it: the domain with the certificate, mapped to the stage at
    # the empty base path (API Gateway's "(none)"), on the default edge-optimized API.
    rest_api = _chalice_rest_api(work, "prod")
    assert rest_api.endpoint_type == "EDGE"
    domain = rest_api.domain_name
    assert (domain.domain_name, domain.certificate_arn) == (DOMAIN, EDGE_CERTIFICATE)
    assert (domain.api_mapping.mount_path, domain.api_mapping.api_gateway_stage) == ("(none)", "api")
    # Set before chalice deploy runs, which creates the domain and its mapping.
    (chalice,) = _index(_calls(tmp_path), "chalice", "deploy")
    assert chalice > max(_index(_calls(tmp_path), "aws", "cloudformation", "deploy"))
    # The user is told what is left to do (DNS) and what Packer needs.
    assert f"HCP_API_ADDRESS={DOMAIN} HCP_AUTH_URL=https://{DOMAIN}" in run.stdout
    assert "AliasDomainName" in run.stdout


def test_deploy_without_a_domain_stays_as_it_was(tmp_path: Path) -> None:
    run, work = _run_deploy(tmp_path, "prod", FAKE_PARAMETER_COUNT="1")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "api_gateway_custom_domain" not in _stage_config(work, "prod")
    assert _chalice_rest_api(work, "prod").domain_name is None
    assert "HCP_API_ADDRESS" not in run.stdout


def test_a_later_deploy_without_the_parameters_keeps_the_domain(tmp_path: Path) -> None:
    run, work = _run_deploy(tmp_path, "prod", FAKE_PARAMETER_COUNT="1", DOMAIN_NAME=DOMAIN,
                            CERTIFICATE_ARN=EDGE_CERTIFICATE)
    assert run.returncode == 0, run.stdout + run.stderr
    again = subprocess.run(["bash", str(work / "scripts" / "deploy.sh"), "prod"], capture_output=True, text=True,
                           timeout=60, env={**_stub_env(tmp_path), "FAKE_PARAMETER_COUNT": "1"})
    assert again.returncode == 0, again.stdout + again.stderr
    assert _stage_config(work, "prod")["api_gateway_custom_domain"]["domain_name"] == DOMAIN
    assert f"HCP_API_ADDRESS={DOMAIN}" in again.stdout


def test_a_regional_stage_takes_a_certificate_of_its_region(tmp_path: Path) -> None:
    regional = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-4e5f-4678-9abc-def012345678"
    work = tmp_path / "regional"
    shutil.copytree(CHALICE_DIR, work / ".chalice", ignore=shutil.ignore_patterns("deployments", "deployed"))
    config = json.loads((work / ".chalice" / "config.json").read_text())
    config["stages"]["prod"]["api_gateway_endpoint_type"] = "REGIONAL"
    (work / ".chalice" / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="must be in eu-west-1"):
        wire_stage.wire_domain(work / ".chalice", "prod", DOMAIN, EDGE_CERTIFICATE, "eu-west-1")
    wire_stage.wire_domain(work / ".chalice", "prod", DOMAIN, regional, "eu-west-1")
    rest_api = _chalice_rest_api(work, "prod")
    assert (rest_api.endpoint_type, rest_api.domain_name.certificate_arn) == ("REGIONAL", regional)
    assert rest_api.domain_name.api_mapping.mount_path == "(none)"


@pytest.mark.parametrize(("extra", "says"), [
    ({"DOMAIN_NAME": DOMAIN}, "give DOMAIN_NAME and CERTIFICATE_ARN together"),
    ({"CERTIFICATE_ARN": EDGE_CERTIFICATE}, "give DOMAIN_NAME and CERTIFICATE_ARN together"),
    ({"DOMAIN_NAME": "Packer.Example.com", "CERTIFICATE_ARN": EDGE_CERTIFICATE}, "not a lower-case DNS name"),
    ({"DOMAIN_NAME": "https://packer.example.com", "CERTIFICATE_ARN": EDGE_CERTIFICATE}, "not a lower-case DNS name"),
    ({"DOMAIN_NAME": DOMAIN, "CERTIFICATE_ARN": "arn:aws:iam::123456789012:server-certificate/x"},
     "not an ACM certificate ARN"),
    ({"DOMAIN_NAME": DOMAIN, "CERTIFICATE_ARN": EDGE_CERTIFICATE.replace("us-east-1", "eu-west-1")},
     "an EDGE API's certificate must be in us-east-1"),
])
def test_a_wrong_domain_or_certificate_stops_before_anything_is_deployed(tmp_path: Path, extra: dict[str, str],
                                                                          says: str) -> None:
    run, work = _run_deploy(tmp_path, "prod", **extra)
    assert run.returncode == 2
    assert says in run.stderr
    calls = _calls(tmp_path)
    assert not _index(calls, "aws", "cloudformation") and not _index(calls, "aws", "ssm") and not _index(calls, "chalice")
    assert "api_gateway_custom_domain" not in _stage_config(work, "prod")


# --- make package ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def packaged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`scripts/package.sh prod <dir>` (what `make package` runs), once for this module."""
    return _package(tmp_path_factory.mktemp("package"))


def _package(out: Path) -> Path:
    """Run `scripts/package.sh prod out` as `make package` does, with no AWS configuration."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    # Prove it needs no AWS: no credentials, no config files, no instance metadata.
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_DEFAULT_REGION", "AWS_REGION"):
        env.pop(var, None)
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true")
    run = subprocess.run(["bash", str(REPO / "scripts" / "package.sh"), "prod", str(out)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return out


def _files(root: Path) -> dict[str, bytes]:
    return {path.relative_to(root).as_posix(): path.read_bytes() for path in sorted(root.rglob("*")) if path.is_file()}


def _entries(package: Path) -> list[tuple[str, tuple[int, ...], int, int]]:
    """deployment.zip's entries in order: name, date, mode bits and CRC of the contents."""
    with zipfile.ZipFile(package) as archive:
        return [(e.filename, e.date_time, e.external_attr, e.CRC) for e in archive.infolist()]


def test_two_package_builds_are_byte_identical(packaged: Path, tmp_path: Path) -> None:
    """Reproducible builds: building the package again from the same tree and lock gives the same
    bytes: deployment.zip, the Terraform beside it and the resources template. `make
    reproducible` runs it (from .ci/run), not `make test`: the second build takes about 8 s."""
    again = _package(tmp_path / "again")
    first, second = _entries(packaged / "app" / "deployment.zip"), _entries(again / "app" / "deployment.zip")
    assert first == second, [f"{a} != {b}" for a, b in zip(first, second) if a != b][:5] or "entries added or lost"
    first_files, second_files = _files(packaged), _files(again)
    assert sorted(first_files) == sorted(second_files)
    assert [name for name in first_files if first_files[name] != second_files[name]] == []


def _pins(lock: Path) -> dict[str, str]:
    """A lock's `name==version` pins (canonical names); each must carry its hashes."""
    pins = {}
    for entry in re.split(r"\n(?=[^\s#])", lock.read_text()):
        if match := re.match(r"([A-Za-z0-9._-]+)==([^\s;\\]+)", entry):
            assert "--hash=sha256:" in entry, f"{lock.name}: {match[0]} has no hash"
            pins[canonicalize_name(match[1])] = match[2]
    return pins


def _ranges(*sources: str) -> list[Requirement]:
    return [Requirement(line.split("#")[0]) for source in sources
            for line in (REPO / source).read_text().splitlines() if line.strip() and line[0] not in "#-"]


def test_the_locks_hold_every_range_pinned_with_hashes() -> None:
    """requirements.txt (what Lambda ships) and requirements-dev.txt (the venv) pin a version with
    hashes within every range of requirements.in and requirements-dev.in, the same versions of what
    both hold (the tests run what ships): an edited range without `make lock` fails here. moto
    and chalice are exact in the ranges already (local/ patches moto's internals)."""
    shipped, dev = _pins(REPO / "requirements.txt"), _pins(REPO / "requirements-dev.txt")
    for lock, sources in ((shipped, ("requirements.in",)), (dev, ("requirements.in", "requirements-dev.in"))):
        for wanted in _ranges(*sources):
            name = canonicalize_name(wanted.name)
            assert name in lock and wanted.specifier.contains(lock[name], prereleases=True), f"{wanted}: {lock.get(name)}"
    assert {name: dev[name] for name in shipped} == shipped
    exact = {canonicalize_name(r.name): str(r.specifier) for r in _ranges("requirements-dev.in")}
    assert exact["moto"].startswith("==") and exact["chalice"].startswith("==")


def test_the_lambda_package_ships_exactly_the_lock(packaged: Path) -> None:
    """deployment.zip holds every package requirements.txt pins, at that version, and no other
    (boto3 and botocore come with the Lambda runtime)."""
    with zipfile.ZipFile(packaged / "app" / "deployment.zip") as archive:
        folders = {name.split("/")[0] for name in archive.namelist()}
    shipped = dict(folder.removesuffix(".dist-info").rsplit("-", 1) for folder in folders if folder.endswith(".dist-info"))
    assert {canonicalize_name(name): version for name, version in shipped.items()} == _pins(REPO / "requirements.txt")


def test_package_builds_terraform_for_the_stage(packaged: Path) -> None:
    stage, tmp_path = "prod", packaged
    assert (tmp_path / "resources.yaml").read_text() == TEMPLATE.read_text()
    assert (tmp_path / "app" / "deployment.zip").stat().st_size > 0
    resources = json.loads((tmp_path / "app" / "chalice.tf.json").read_text())["resource"]
    stage_config = _config()["stages"][stage]

    (notification,) = resources["aws_s3_bucket_notification"].values()
    assert notification["bucket"] == stage_config["environment_variables"]["MANIFEST_BUCKET"]
    assert notification["lambda_function"][0]["events"] == ["s3:ObjectCreated:*"]
    rules = resources["aws_cloudwatch_event_rule"].values()
    assert any(r.get("schedule_expression") == "rate(1 hour)" for r in rules)
    names = {f["function_name"] for f in resources["aws_lambda_function"].values()}
    assert f"packer-registry-{stage}" in names  # the API handler
    assert len(names) >= 4  # API handler, S3 ingestion, schedule sweep, run-task checks
    # The run-task queue feeds run_task, the webhook queue webhook_delivery, one message at a time.
    mappings = resources["aws_lambda_event_source_mapping"].values()
    assert len(mappings) == 2 and all(m["batch_size"] == 1 for m in mappings)
    for queue in ("RUN_TASK_QUEUE", "WEBHOOK_QUEUE"):
        assert any(stage_config["environment_variables"][queue] in json.dumps(m["event_source_arn"]) for m in mappings)
    assert resources["aws_api_gateway_rest_api"]
    # The hand-written policy is what the roles get.
    policy = json.loads((CHALICE_DIR / stage_config["iam_policy_file"]).read_text())
    for role_policy in resources["aws_iam_role_policy"].values():
        assert json.loads(role_policy["policy"]) == policy
    # The page ships whole: every file the web route may serve (its ES modules too) is in the package.
    with zipfile.ZipFile(tmp_path / "app" / "deployment.zip") as package:
        shipped = set(package.namelist())
    missing = {f"chalicelib/api/assets/{name}" for name in web.ASSETS} - shipped
    assert not missing, f"page files missing from deployment.zip: {sorted(missing)}"


def test_the_lambda_package_holds_no_moto_no_local_runner_and_no_cli(packaged: Path) -> None:
    with zipfile.ZipFile(packaged / "app" / "deployment.zip") as archive:
        names = archive.namelist()
    assert "app.py" in names and "chalicelib/services/ingest.py" in names
    tops = {name.split("/")[0] for name in names}
    assert not {"moto", "local", "cli", "werkzeug", "tests", "bench"} & tops, sorted(tops)
    assert not [n for n in names if n.startswith(("chalicelib/local", "moto"))]


def test_the_lambda_package_ships_zstandard_built_for_the_lambda_runtime(packaged: Path) -> None:
    """UploadSbom reads Packer's zstd-compressed SBOMs with the zstandard package: the zip holds
    it with its native extension for Lambda's Python 3.11 on x86_64 Linux (a manylinux wheel)."""
    with zipfile.ZipFile(packaged / "app" / "deployment.zip") as archive:
        names = archive.namelist()
    assert "zstandard/__init__.py" in names, sorted(n for n in names if "zstd" in n.lower())
    assert [n for n in names if n.startswith("zstandard/") and n.endswith("cpython-311-x86_64-linux-gnu.so")], \
        sorted(n for n in names if n.startswith("zstandard/"))


def test_the_lambda_package_ships_bytecode_that_never_checks_its_source(packaged: Path) -> None:
    """Lambda's /var/task is read-only: without bytecode in the zip every cold start compiles
    every module. Each module ships a .pyc of this Python's tag beside its .py, hash-based and
    unchecked (PEP 552 flags 0b01), so the loader neither stats nor re-reads the source."""
    tag = sys.implementation.cache_tag
    with zipfile.ZipFile(packaged / "app" / "deployment.zip") as archive:
        names = set(archive.namelist())
        sources = sorted(n for n in names if n.endswith(".py") and "/" in n)
        assert "app.py" in names and sources
        for source in ["app.py", *sources]:
            folder, _, module = source.rpartition("/")
            compiled = f"{folder + '/' if folder else ''}__pycache__/{module[:-3]}.{tag}.pyc"
            assert compiled in names, f"{source} ships without {compiled}"
            flags = int.from_bytes(archive.read(compiled)[4:8], "little")
            assert flags == 0b01, f"{compiled}: flags {flags:#b}, not hash-based with check_source off"


def test_no_lambda_code_imports_moto() -> None:
    """What Lambda runs (app.py, chalicelib/) never imports moto, the local runner or the CLI."""
    for path in [REPO / "app.py", *sorted((REPO / "chalicelib").rglob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""] if node.level == 0 else []
            else:
                continue
            for module in modules:
                assert module.split(".")[0] not in ("moto", "local", "cli"), f"{path.relative_to(REPO)} imports {module}"
