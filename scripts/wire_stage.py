"""Point a Chalice stage at the resources its CloudFormation stack created.

Usage: python scripts/wire_stage.py STAGE OUTPUTS_JSON
  OUTPUTS_JSON: the stack's outputs as `aws cloudformation describe-stacks
  --query 'Stacks[0].Outputs'` prints them ([{"OutputKey": .., "OutputValue": ..}]).

Rewrites, in place and idempotently (a second run with the same outputs changes nothing):
- .chalice/config.json: the stage's REGISTRY_TABLE and MANIFEST_BUCKET;
- .chalice/<the stage's iam_policy_file>: every DynamoDB table ARN becomes the stack's
  TableArn and every S3 ARN the stack's ManifestBucketArn, keeping any suffix
  (`/index/*`, `/*`). Other statements (logs, later SSM or EventBridge) are left as they are.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

CHALICE_DIR = Path(__file__).resolve().parent.parent / ".chalice"
TABLE_ARN = re.compile(r"^arn:[^:]+:dynamodb:[^:]*:[^:]*:table/[^/]+(?P<suffix>/.*)?$")
BUCKET_ARN = re.compile(r"^arn:[^:]+:s3:::[^/]+(?P<suffix>/.*)?$")


def rewrite_arn(arn: str, table_arn: str, bucket_arn: str) -> str:
    for pattern, new in ((TABLE_ARN, table_arn), (BUCKET_ARN, bucket_arn)):
        match = pattern.match(arn)
        if match:
            return new + (match.group("suffix") or "")
    return arn


def rewrite_policy(policy: dict[str, Any], table_arn: str, bucket_arn: str) -> dict[str, Any]:
    for statement in policy["Statement"]:
        resources = statement.get("Resource")
        if isinstance(resources, str):
            statement["Resource"] = rewrite_arn(resources, table_arn, bucket_arn)
        elif isinstance(resources, list):
            statement["Resource"] = [rewrite_arn(r, table_arn, bucket_arn) for r in resources]
    return policy


def wire(chalice_dir: Path, stage: str, outputs: dict[str, str]) -> None:
    config_path = chalice_dir / "config.json"
    config = json.loads(config_path.read_text())
    stage_config = config["stages"][stage]
    env = stage_config.setdefault("environment_variables", {})
    env["REGISTRY_TABLE"] = outputs["TableName"]
    env["MANIFEST_BUCKET"] = outputs["ManifestBucketName"]
    config_path.write_text(json.dumps(config, indent=2) + "\n")

    policy_path = chalice_dir / stage_config["iam_policy_file"]
    policy = json.loads(policy_path.read_text())
    rewrite_policy(policy, outputs["TableArn"], outputs["ManifestBucketArn"])
    policy_path.write_text(json.dumps(policy, indent=2) + "\n")


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    stage, raw = argv[1], json.loads(argv[2])
    outputs = {o["OutputKey"]: o["OutputValue"] for o in raw}
    wire(CHALICE_DIR, stage, outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
