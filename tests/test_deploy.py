"""Deployment artefacts: the resources template, the stage IAM policies, the scripts.

All offline: nothing here talks to AWS. deploy.sh runs against stub `aws` and `chalice`
commands; package.sh runs for real (Chalice downloads wheels from the package index).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
from cfnlint.decode import cfn_yaml

REPO = Path(__file__).resolve().parent.parent
TEMPLATE = REPO / "deploy" / "resources.yaml"
CHALICE_DIR = REPO / ".chalice"

if str(REPO) not in sys.path:  # also when run as `pytest`, not `python -m pytest`
    sys.path.insert(0, str(REPO))
from chalicelib.schema import table_definition  # noqa: E402


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


def _assert_policy_names_stage(policy: dict[str, Any], stage: str, env: dict[str, str]) -> None:
    table, bucket = env["REGISTRY_TABLE"], env["MANIFEST_BUCKET"]
    resources = [r for s in policy["Statement"] for r in _as_list(s["Resource"])]
    dynamo = [r for r in resources if ":dynamodb:" in r]
    s3 = [r for r in resources if r.startswith("arn:aws:s3:::")]
    assert {r.split(":table/", 1)[1] for r in dynamo} == {table, f"{table}/index/*"}
    assert set(s3) == {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"}
    logs = [r for r in resources if ":logs:" in r]
    assert logs and all(f":log-group:/aws/lambda/packer-registry-{stage}" in r for r in logs)
    for other in ("dev", "prod"):
        if other != stage:
            assert not any(f"-{other}" in r for r in resources), f"{stage} policy names {other}"


@pytest.mark.parametrize("stage", ["dev", "prod"])
def test_stage_policy_names_the_stage_resources(stage: str) -> None:
    config = _config()["stages"][stage]
    assert config["iam_policy_file"] == f"policy-{stage}.json"
    policy = json.loads((CHALICE_DIR / config["iam_policy_file"]).read_text())
    _assert_policy_names_stage(policy, stage, config["environment_variables"])
    assert config["environment_variables"]["REGISTRY_TABLE"] == f"packer-registry-{stage}"


# --- deploy-time wiring ----------------------------------------------------------------


def _fake_outputs(stage: str) -> dict[str, str]:
    bucket = f"packer-manifests-{stage}-123456789012-eu-west-1"
    return {
        "TableName": f"packer-registry-{stage}",
        "TableArn": f"arn:aws:dynamodb:eu-west-1:123456789012:table/packer-registry-{stage}",
        "ManifestBucketName": bucket,
        "ManifestBucketArn": f"arn:aws:s3:::{bucket}",
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
    policy = json.loads(first["policy-prod.json"])
    _assert_policy_names_stage(policy, "prod", env)
    assert outputs["TableArn"] in json.dumps(policy)
    # The other stage is untouched.
    assert config["dev"] == _config()["stages"]["dev"]
    assert first["policy-dev.json"] == (CHALICE_DIR / "policy-dev.json").read_text()


FAKE_AWS = """#!/usr/bin/env bash
echo "aws $*" >> "$FAKE_LOG"
case "$1 $2" in
  "sts get-caller-identity") [ -n "$FAKE_NO_CREDS" ] && exit 255; echo 123456789012 ;;
  "configure get") echo eu-west-1 ;;
  "cloudformation deploy") ;;
  "cloudformation describe-stacks") echo "$FAKE_OUTPUTS" ;;
  *) echo "unexpected aws call: $*" >&2; exit 9 ;;
esac
"""
FAKE_CHALICE = """#!/usr/bin/env bash
echo "chalice $* bucket=$MANIFEST_BUCKET region=$AWS_REGION" >> "$FAKE_LOG"
"""


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
    log = tmp_path / "calls.log"
    outputs = [{"OutputKey": k, "OutputValue": v} for k, v in _fake_outputs(stage).items()]
    env = {
        "PATH": os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]]),
        "HOME": str(tmp_path),
        "FAKE_LOG": str(log),
        "FAKE_OUTPUTS": json.dumps(outputs),
        **extra_env,
    }
    run = subprocess.run(["bash", str(work / "scripts" / "deploy.sh"), stage],
                         env=env, capture_output=True, text=True, timeout=60)
    return run, work


def test_deploy_script_wires_stack_outputs_into_chalice(tmp_path: Path) -> None:
    run, work = _run_deploy(tmp_path, "dev")
    assert run.returncode == 0, run.stdout + run.stderr
    calls = (tmp_path / "calls.log").read_text().splitlines()
    assert any("cloudformation deploy" in c and "packer-registry-resources-dev" in c
               and "Stage=dev" in c and "deploy/resources.yaml" in c for c in calls)
    bucket = _fake_outputs("dev")["ManifestBucketName"]
    # chalice deploy runs last, with the stack's bucket exported for @app.on_s3_event.
    assert calls[-1] == f"chalice deploy --stage dev bucket={bucket} region=eu-west-1"
    env = json.loads((work / ".chalice" / "config.json").read_text())["stages"]["dev"]["environment_variables"]
    assert env["MANIFEST_BUCKET"] == bucket
    policy = json.loads((work / ".chalice" / "policy-dev.json").read_text())
    _assert_policy_names_stage(policy, "dev", env)


def test_deploy_script_fails_clearly_without_credentials(tmp_path: Path) -> None:
    run, _ = _run_deploy(tmp_path, "prod", FAKE_NO_CREDS="1")
    assert run.returncode == 1
    assert "AWS credentials" in run.stderr
    calls = (tmp_path / "calls.log").read_text()
    assert "cloudformation" not in calls and "chalice" not in calls


# --- make package ----------------------------------------------------------------------


@pytest.mark.skipif(not (REPO / "app.py").exists(), reason="app.py not written yet: nothing to package")
def test_package_builds_terraform_for_the_stage(tmp_path: Path) -> None:
    stage = "prod"
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    # Prove it needs no AWS: no credentials, no config files, no instance metadata.
    for var in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_DEFAULT_REGION", "AWS_REGION"):
        env.pop(var, None)
    env.update(AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true")
    run = subprocess.run(["bash", str(REPO / "scripts" / "package.sh"), stage, str(tmp_path)],
                         env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr

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
    assert len(names) >= 3  # API handler, S3 ingestion, schedule sweep
    assert resources["aws_api_gateway_rest_api"]
    # The hand-written policy is what the roles get.
    policy = json.loads((CHALICE_DIR / stage_config["iam_policy_file"]).read_text())
    for role_policy in resources["aws_iam_role_policy"].values():
        assert json.loads(role_policy["policy"]) == policy
