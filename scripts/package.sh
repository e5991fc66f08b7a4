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

# The lock (requirements.txt) is resolved for Lambda's python3.11, and Chalice names the
# runtime after the Python it runs under: another Python would ship a package the lock was not made for.
python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11) and
    f"error: package with Python 3.11 (the lock and the python3.11 runtime), not {sys.version.split()[0]}")'

# Chalice packages a copy of the project (app.py, chalicelib/, .chalice/ less Chalice's caches and
# deployed state) whose vendor/ holds the dependencies and which has no requirements.txt: Chalice's
# own download checks no hash (and fetches Lambda-platform wheels unchecked on any other machine).
# Here every file is checked against the lock's hashes (--require-hashes), as the wheels of
# Lambda's platform (manylinux x86_64, CPython 3.11) whatever this machine is; vendor/bin (console
# scripts naming this machine's Python) is dropped.
BUILD="$(mktemp -d)"
trap 'rm -rf "$BUILD"' EXIT
tar -c --exclude=__pycache__ --exclude='*.pyc' --exclude=.chalice/deployments --exclude=.chalice/deployed \
  --exclude=.chalice/venv app.py chalicelib .chalice | tar -x -C "$BUILD"
LAMBDA_PLATFORMS=()
for minor in $(seq 17 26); do LAMBDA_PLATFORMS+=(--platform "manylinux_2_${minor}_x86_64"); done
LAMBDA_PLATFORMS+=(--platform manylinux2014_x86_64)
python -m pip install --quiet --disable-pip-version-check --require-hashes --no-compile \
  --only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 "${LAMBDA_PLATFORMS[@]}" \
  --target "$BUILD/vendor" -r requirements.txt
rm -rf "$BUILD/vendor/bin"

rm -rf "$OUTDIR/app"
mkdir -p "$OUTDIR"
chalice --project-dir "$BUILD" package --pkg-format terraform --stage "$STAGE" "$OUTDIR/app"
# What Lambda runs only: app.py, chalicelib/ and requirements.txt's packages. The local runner (local/),
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
