#!/usr/bin/env bash
# Build the real HCP clients the tests drive, from the versions pinned in this folder's Go modules:
#   packer-X.Y.Z/   ->  $CLIENTS_CACHE/bin/packer-X.Y.Z   (one module per Packer line: their requirements differ)
#   hcp-sdk-go/     ->  compiled into the build cache only, for the Go contract tests
# A binary that already exists for its pinned version is not rebuilt, so a warm run takes a second.
# Everything Go downloads or compiles stays in $CLIENTS_CACHE (default ~/.cache/registry-clients/, outside
# the clone, so fresh clones and CI runs on the same machine share it):
# CI caches that one folder between runs. Prints the path of each packer binary, one a line, on stdout;
# progress goes to stderr. Usage: tests/clients/build.sh
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cache="${CLIENTS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/registry-clients}"
mkdir -p "$cache/bin"
cache="$(cd "$cache" && pwd)"

if ! command -v go >/dev/null; then
  echo "build.sh: the go command is not installed (the real clients are built from source)" >&2
  exit 127
fi

export GOMODCACHE="$cache/gomod" GOCACHE="$cache/gocache"
export CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false"

# One build at a time on this machine, whoever asks (parallel test workers, make clients): the
# second caller waits, then finds the binaries made.
exec 9>"$cache/.lock"
flock 9

for module in "$here"/packer-*/; do
  module="${module%/}"
  name="$(basename "$module")"                  # packer-1.16.0
  binary="$cache/bin/$name"
  if [[ ! -x "$binary" ]]; then
    echo "build.sh: building $name ..." >&2
    start=$SECONDS
    # Into a temporary name first: an interrupted build never leaves a binary the skip would trust.
    (cd "$module" && go build -trimpath -ldflags="-s -w" -o "$binary.partial" github.com/hashicorp/packer)
    mv "$binary.partial" "$binary"
    echo "build.sh: built $name in $((SECONDS - start)) s" >&2
  fi
  echo "$binary"
done

# The SDK for the contract tests: compile its packages once; a stamp per go.sum skips the warm case.
sdk_stamp="$cache/bin/.hcp-sdk-go-$(sha256sum "$here/hcp-sdk-go/go.sum" | cut -c1-16)"
if [[ ! -e "$sdk_stamp" ]]; then
  echo "build.sh: compiling hcp-sdk-go ..." >&2
  start=$SECONDS
  (cd "$here/hcp-sdk-go" && go build -trimpath ./...)
  touch "$sdk_stamp"
  echo "build.sh: compiled hcp-sdk-go in $((SECONDS - start)) s" >&2
fi
