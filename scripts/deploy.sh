#!/usr/bin/env bash
# Usage: scripts/deploy.sh STAGE   (dev or prod; uses the caller's AWS credentials and region)
#
# 1. `aws cloudformation deploy` of deploy/resources.yaml as stack
#    packer-registry-resources-STAGE: the table and the manifest bucket, kept apart from
#    the app so that `chalice delete` or a bad app deploy never touches data.
# 2. Bucket-name wiring. The bucket's real name comes from the stack (by default
#    packer-manifests-STAGE-ACCOUNT-REGION, since bucket names are global), but Chalice
#    reads it from files: the stage's MANIFEST_BUCKET in .chalice/config.json and the
#    ARNs in .chalice/policy-STAGE.json. scripts/wire_stage.py rewrites both in place
#    from the stack outputs (table ARN too, which pins account and region). The rewrite
#    is idempotent and the files stay plain, hand-readable JSON that `chalice deploy`
#    uses as is; no template/generated-file pair to keep in sync. The committed files
#    carry placeholder names (packer-manifests-STAGE); after a deploy they show what
#    was deployed, and committing that is optional.
# 3. app.py reads MANIFEST_BUCKET at import time for @app.on_s3_event, which is how
#    `chalice deploy` learns which bucket to subscribe to. Chalice sets the stage's
#    environment_variables (now the real bucket) before importing app.py; the script
#    exports the same value as well so it holds whatever Chalice version runs.
# 4. `chalice deploy --stage STAGE`; its state goes to .chalice/deployed/ (gitignored):
#    keep that directory for later deploys from this checkout.
set -euo pipefail

STAGE="${1:?usage: $0 STAGE (dev|prod)}"
case "$STAGE" in
  dev | prod) ;;
  *) echo "error: unknown stage '$STAGE' (expected dev or prod)" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."
STACK="packer-registry-resources-$STAGE"

if ! aws sts get-caller-identity --output text --query Account >/dev/null 2>&1; then
  echo "error: no usable AWS credentials (aws sts get-caller-identity failed)." >&2
  echo "       Configure credentials (AWS_PROFILE, aws sso login, ...) and retry." >&2
  exit 1
fi
REGION="${AWS_REGION:-${AWS_DEFAULT_REGION:-$(aws configure get region || true)}}"
if [ -z "$REGION" ]; then
  echo "error: no AWS region: set AWS_REGION or configure a default region." >&2
  exit 1
fi
# Same region for the aws CLI and for Chalice's boto3 session.
export AWS_DEFAULT_REGION="$REGION" AWS_REGION="$REGION"

echo "==> stack $STACK in $REGION"
aws cloudformation deploy \
  --template-file deploy/resources.yaml \
  --stack-name "$STACK" \
  --parameter-overrides "Stage=$STAGE" \
  --no-fail-on-empty-changeset

OUTPUTS="$(aws cloudformation describe-stacks --stack-name "$STACK" \
  --query 'Stacks[0].Outputs' --output json)"
python scripts/wire_stage.py "$STAGE" "$OUTPUTS"

MANIFEST_BUCKET="$(python -c 'import json, sys
print(json.load(open(".chalice/config.json"))["stages"][sys.argv[1]]["environment_variables"]["MANIFEST_BUCKET"])' "$STAGE")"
export MANIFEST_BUCKET
echo "==> chalice deploy --stage $STAGE (table/bucket from $STACK, bucket $MANIFEST_BUCKET)"
chalice deploy --stage "$STAGE"
