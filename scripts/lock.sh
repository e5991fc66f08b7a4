#!/usr/bin/env bash
# Usage: scripts/lock.sh [--upgrade]   (make lock; make lock UPGRADE=1)
#
# Resolves the ranges into the locks, exact versions with the hashes of every file PyPI holds
# for them (uv pip compile, pinned below):
#   requirements.in      ->  requirements.txt       what Lambda ships: for its python3.11 on
#                                                   manylinux x86_64 (glibc 2.17, below the
#                                                   runtime's 2.26), wheels only
#   requirements-dev.in  ->  requirements-dev.txt   the dev tools (.venv): every platform, Python
#                                                   3.11 and later, held to requirements.txt's versions
# A version already in a lock stays unless the ranges exclude it (--upgrade: the newest each
# range allows). Needs PyPI, nothing else: uv is installed at its pinned version into .cache/.
# After a merge, rerun it: a lock left with conflict markers is first cut down to the pins of both
# sides (what it prefers), then regenerated from the merged .in files.
set -euo pipefail
cd "$(dirname "$0")/.."

UV_VERSION=0.13.10
TOOL=".cache/uv-$UV_VERSION"
if [ ! -x "$TOOL/bin/uv" ]; then
  "${PYTHON:-python3}" -m venv "$TOOL"
  "$TOOL/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi

for lock in requirements.txt requirements-dev.txt; do
  if [ -f "$lock" ] && grep -q '^<<<<<<< ' "$lock"; then
    grep -oE '^[A-Za-z0-9._-]+==[^ ;\\]+' "$lock" > "$lock.pins" && mv "$lock.pins" "$lock"
  fi
done

compile=("$TOOL/bin/uv" pip compile --quiet --generate-hashes --python-version 3.11
         --custom-compile-command "make lock" "$@")
"${compile[@]}" requirements.in -o requirements.txt --python-platform x86_64-manylinux2014 --only-binary :all:
"${compile[@]}" requirements-dev.in -o requirements-dev.txt --universal --constraint requirements.txt
