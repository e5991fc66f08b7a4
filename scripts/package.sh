#!/usr/bin/env bash
# Usage: scripts/package.sh STAGE [OUTDIR]   (OUTDIR defaults to dist)
#
# Writes OUTDIR/app/ (Chalice's Terraform package of the app) and OUTDIR/resources.yaml
# (the stateful-resources stack). Needs no AWS credentials: nothing here calls AWS.
# Terraform, not CloudFormation: `chalice package` in SAM format fails on @app.on_s3_event.
set -euo pipefail

STAGE="${1:?usage: $0 STAGE [OUTDIR]}"
cd "$(dirname "$0")/.."
OUTDIR="${2:-dist}"

# app.py evaluates @app.on_s3_event(bucket=os.environ.get("MANIFEST_BUCKET", ...)) at
# import time, and that bucket is what the Terraform notification names. Chalice 1.34
# already applies the stage's environment_variables before importing app.py; exporting
# the same value keeps that true whatever Chalice does, and fails early on a bad STAGE.
MANIFEST_BUCKET="$(python - "$STAGE" <<'EOF'
import json, sys
stages = json.load(open(".chalice/config.json"))["stages"]
if sys.argv[1] not in stages:
    sys.exit(f"unknown stage {sys.argv[1]!r}; .chalice/config.json has {sorted(stages)}")
print(stages[sys.argv[1]]["environment_variables"]["MANIFEST_BUCKET"])
EOF
)"
export MANIFEST_BUCKET
# Chalice builds a botocore session even when packaging; a region keeps it from failing
# on a machine with no AWS configuration. It does not end up in the package.
export AWS_DEFAULT_REGION="${AWS_DEFAULT_REGION:-${AWS_REGION:-us-east-1}}"

rm -rf "$OUTDIR/app"
mkdir -p "$OUTDIR"
chalice package --pkg-format terraform --stage "$STAGE" "$OUTDIR/app"
# What Lambda runs only: app.py, chalicelib/ and requirements.txt. The local runner (local/),
# moto and the command line (cli/) are not; should any ever reach the zip, stop here.
python - "$OUTDIR/app/deployment.zip" <<'EOF'
import sys, zipfile
tops = {name.split("/")[0] for name in zipfile.ZipFile(sys.argv[1]).namelist()}
if tops & {"local", "moto", "cli"}:
    sys.exit(f"error: {sys.argv[1]} contains {sorted(tops & {'local', 'moto', 'cli'})}: only app.py and chalicelib ship")
EOF
# Bytecode compiled at package time (unchecked-hash .pyc beside each .py): Lambda's read-only
# /var/task cannot cache what it compiles, so without it every cold start compiles every module.
python scripts/compile_package.py "$OUTDIR/app/deployment.zip"
cp deploy/resources.yaml "$OUTDIR/resources.yaml"
echo "packaged stage $STAGE (bucket $MANIFEST_BUCKET) into $OUTDIR/"
