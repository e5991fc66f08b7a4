"""Point a Chalice stage at the resources its CloudFormation stack created, and at its domain.

Usage: python scripts/wire_stage.py STAGE OUTPUTS_JSON
       python scripts/wire_stage.py --custom-domain STAGE DOMAIN_NAME CERTIFICATE_ARN REGION
  OUTPUTS_JSON: the stack's outputs as `aws cloudformation describe-stacks
  --query 'Stacks[0].Outputs'` prints them ([{"OutputKey": .., "OutputValue": ..}]).

Rewrites, in place and idempotently (a second run with the same outputs changes nothing):
- .chalice/config.json: the stage's REGISTRY_TABLE, MANIFEST_BUCKET, EVENT_BUS_NAME,
  RUN_TASK_QUEUE and WEBHOOK_QUEUE;
- .chalice/<the stage's iam_policy_file>, in Resource and in Condition values:
  - every DynamoDB table ARN becomes the stack's TableArn and every S3 ARN the stack's
    ManifestBucketArn, keeping any suffix (`/index/*`, `/*`);
  - every EventBridge event-bus ARN becomes the stack's EventBusArn;
  - each queue's ARN (by the queue's name) becomes the stack's RunTaskQueueArn or
    WebhookQueueArn;
  - SSM and KMS ARNs keep their resource part (the parameter name, `key/*`) but get the
    partition, region and account of the stack, read from TableArn;
  - `kms:ViaService` values (`ssm.*.amazonaws.com`) get the stack's region.
  Other ARNs (logs) are left as they are.

With --custom-domain, sets the stage's `api_gateway_custom_domain` (Chalice creates the API
Gateway domain name and maps it to the stage at an empty base path, `url_prefix` "/"), so the
API, /oauth2/token included, answers at https://DOMAIN_NAME/ with no stage prefix: what the
HCP Packer clients need. The domain and the ACM certificate's ARN are checked first (an
edge-optimized API, Chalice's default, needs its certificate in us-east-1; a regional one in
REGION); an error says what is wrong and writes nothing (exit 2).
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
EVENT_BUS_ARN = re.compile(r"^arn:[^:]+:events:[^:]*:[^:]*:event-bus/[^/]+$")
QUEUE_ARN = re.compile(r"^arn:[^:]+:sqs:[^:]*:[^:]*:[^:/]+$")
REGIONAL_ARN = re.compile(r"^arn:[^:]+:(?P<service>ssm|kms):[^:]*:[^:]*:(?P<resource>.+)$")
VIA_SERVICE = re.compile(r"^(?P<service>[a-z0-9-]+)\.[^.]+\.(?P<domain>amazonaws\.com.*)$")
ARN_PARTS = re.compile(r"^arn:(?P<partition>[^:]+):[^:]+:(?P<region>[^:]+):(?P<account>\d{12}):")
# A DNS name API Gateway accepts for a custom domain: lower case, labels of at most 63 characters.
DOMAIN_NAME = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$")
CERTIFICATE_ARN = re.compile(r"^arn:aws[a-z-]*:acm:(?P<region>[a-z0-9-]+):\d{12}:certificate/[A-Za-z0-9-]+$")
QUEUES = ("RunTaskQueue", "WebhookQueue")  # the stack's queues: outputs <queue>Name and <queue>Arn
EDGE_CERTIFICATE_REGION = "us-east-1"  # CloudFront serves edge-optimized domains from there


class Wiring:
    """The rewrites one stack's outputs call for."""

    def __init__(self, outputs: dict[str, str]) -> None:
        self.table_arn = outputs["TableArn"]
        self.bucket_arn = outputs["ManifestBucketArn"]
        self.bus_arn = outputs["EventBusArn"]
        # Each queue's ARN by its name (the policy names queues by name, any region and account).
        self.queue_arns = {outputs[f"{queue}Name"]: outputs[f"{queue}Arn"] for queue in QUEUES}
        parts = ARN_PARTS.match(self.table_arn)
        if not parts:
            raise ValueError(f"TableArn {self.table_arn!r} names no region and account")
        self.partition, self.region, self.account = parts.group("partition", "region", "account")

    def arn(self, arn: str) -> str:
        for pattern, new in ((TABLE_ARN, self.table_arn), (BUCKET_ARN, self.bucket_arn)):
            match = pattern.match(arn)
            if match:
                return new + (match.group("suffix") or "")
        if EVENT_BUS_ARN.match(arn):
            return self.bus_arn
        if QUEUE_ARN.match(arn):
            return self.queue_arns.get(arn.rsplit(":", 1)[1], arn)
        match = REGIONAL_ARN.match(arn)
        if match:
            return (f"arn:{self.partition}:{match.group('service')}:{self.region}:{self.account}:"
                    f"{match.group('resource')}")
        return arn

    def via_service(self, value: str) -> str:
        match = VIA_SERVICE.match(value)
        return f"{match.group('service')}.{self.region}.{match.group('domain')}" if match else value

    def condition(self, condition: dict[str, Any]) -> dict[str, Any]:
        for operator in condition.values():
            for key, values in operator.items():
                rewrite = self.via_service if key.lower() == "kms:viaservice" else self.arn
                operator[key] = _each(values, rewrite)
        return condition

    def policy(self, policy: dict[str, Any]) -> dict[str, Any]:
        for statement in policy["Statement"]:
            if "Resource" in statement:
                statement["Resource"] = _each(statement["Resource"], self.arn)
            if "Condition" in statement:
                self.condition(statement["Condition"])
        return policy


def _each(values: Any, rewrite: Any) -> Any:
    if isinstance(values, str):
        return rewrite(values)
    if isinstance(values, list):
        return [rewrite(v) if isinstance(v, str) else v for v in values]
    return values


def rewrite_policy(policy: dict[str, Any], outputs: dict[str, str]) -> dict[str, Any]:
    return Wiring(outputs).policy(policy)


def wire(chalice_dir: Path, stage: str, outputs: dict[str, str]) -> None:
    wiring = Wiring(outputs)  # validates the outputs before anything is written
    config_path = chalice_dir / "config.json"
    config = json.loads(config_path.read_text())
    stage_config = config["stages"][stage]
    env = stage_config.setdefault("environment_variables", {})
    env["REGISTRY_TABLE"] = outputs["TableName"]
    env["MANIFEST_BUCKET"] = outputs["ManifestBucketName"]
    env["EVENT_BUS_NAME"] = outputs["EventBusName"]
    env["RUN_TASK_QUEUE"] = outputs["RunTaskQueueName"]
    env["WEBHOOK_QUEUE"] = outputs["WebhookQueueName"]

    policy_path = chalice_dir / stage_config["iam_policy_file"]
    policy = wiring.policy(json.loads(policy_path.read_text()))
    config_path.write_text(json.dumps(config, indent=2) + "\n")
    policy_path.write_text(json.dumps(policy, indent=2) + "\n")


def custom_domain(domain_name: str, certificate_arn: str, endpoint_type: str, region: str) -> dict[str, str]:
    """Chalice's `api_gateway_custom_domain` serving the API at the domain's root, or ValueError."""
    if not DOMAIN_NAME.match(domain_name):
        raise ValueError(f"DOMAIN_NAME {domain_name!r} is not a lower-case DNS name such as packer.example.com")
    match = CERTIFICATE_ARN.match(certificate_arn)
    if not match:
        raise ValueError(f"CERTIFICATE_ARN {certificate_arn!r} is not an ACM certificate ARN "
                         "(arn:aws:acm:REGION:ACCOUNT:certificate/ID)")
    needed = {"EDGE": EDGE_CERTIFICATE_REGION, "REGIONAL": region}.get(endpoint_type)
    if needed is None:
        raise ValueError(f"a custom domain needs an EDGE or REGIONAL API, not {endpoint_type}")
    if match.group("region") != needed:
        raise ValueError(f"CERTIFICATE_ARN is in {match.group('region')}; an {endpoint_type} API's certificate "
                         f"must be in {needed}")
    return {"domain_name": domain_name, "certificate_arn": certificate_arn, "url_prefix": "/"}


def wire_domain(chalice_dir: Path, stage: str, domain_name: str, certificate_arn: str, region: str) -> None:
    """Set the stage's custom domain (its endpoint type as the stage config says, else Chalice's EDGE)."""
    config_path = chalice_dir / "config.json"
    config = json.loads(config_path.read_text())
    stage_config = config["stages"][stage]
    endpoint_type = stage_config.get("api_gateway_endpoint_type") or config.get("api_gateway_endpoint_type", "EDGE")
    stage_config["api_gateway_custom_domain"] = custom_domain(domain_name, certificate_arn, endpoint_type, region)
    config_path.write_text(json.dumps(config, indent=2) + "\n")


def main(argv: list[str]) -> int:
    if len(argv) == 6 and argv[1] == "--custom-domain":
        try:
            wire_domain(CHALICE_DIR, *argv[2:])
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        return 0
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    stage, raw = argv[1], json.loads(argv[2])
    outputs = {o["OutputKey"]: o["OutputValue"] for o in raw}
    wire(CHALICE_DIR, stage, outputs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
