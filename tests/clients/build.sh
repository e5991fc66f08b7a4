#!/usr/bin/env bash
# Build the real HCP clients the tests drive, from the versions pinned in this folder's Go modules:
#   packer-X.Y.Z/                  ->  $CLIENTS_CACHE/bin/packer-X.Y.Z   (one module per Packer line: their requirements differ)
#   terraform-provider-hcp-X.Y.Z/  ->  $CLIENTS_CACHE/bin/terraform-provider-hcp-X.Y.Z/terraform-provider-hcp
#                                      (a folder per version: what a CLI configuration's dev_overrides names)
#   opentofu-X.Y.Z/                ->  $CLIENTS_CACHE/bin/opentofu-X.Y.Z, only where no `terraform` is on PATH
#                                      (or CLIENTS_OPENTOFU=1): the Terraform core the provider tests run then
#   hcp-sdk-go/                    ->  compiled into the build cache only, for the Go contract tests
#   test-sshd/                     ->  $CLIENTS_CACHE/bin/test-sshd-<hash of its sources>: a test-only SSH/SFTP
#                                      server, the machine of `null` builds whose provisioners need one
# A binary that already exists for its pinned version is not rebuilt, so a warm run takes a second.
# Everything Go downloads or compiles stays in $CLIENTS_CACHE (default ~/.cache/registry-clients/, outside
# the clone, so fresh clones and CI runs on the same machine share it):
# CI caches that one folder between runs. Prints the path of each binary built or found, one a line, on
# stdout; progress goes to stderr. Usage: tests/clients/build.sh
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

# build MODULE_DIR PACKAGE BINARY [LDFLAGS]: `go build` of PACKAGE as the module pins it, unless BINARY
# exists; into a temporary name first, so an interrupted build never leaves a binary the skip would trust.
build() {
  local module="$1" package="$2" binary="$3" ldflags="-s -w ${4:-}"
  if [[ ! -x "$binary" ]]; then
    echo "build.sh: building $(basename "$module") ..." >&2
    local start=$SECONDS
    mkdir -p "$(dirname "$binary")"
    (cd "$module" && go build -trimpath -ldflags="$ldflags" -o "$binary.partial" "$package")
    mv "$binary.partial" "$binary"
    echo "build.sh: built $(basename "$module") in $((SECONDS - start)) s" >&2
  fi
  echo "$binary"
}

for module in "$here"/packer-*/; do
  module="${module%/}"
  build "$module" github.com/hashicorp/packer "$cache/bin/$(basename "$module")"
done

for module in "$here"/terraform-provider-hcp-*/; do
  module="${module%/}"
  build "$module" github.com/hashicorp/terraform-provider-hcp "$cache/bin/$(basename "$module")/terraform-provider-hcp"
done

# The provider tests run the machine's terraform when it has one, else OpenTofu; version.dev=no as
# OpenTofu's release builds set it (.goreleaser.yaml), so it reports 1.12.6, not 1.12.6-dev.
if [[ "${CLIENTS_OPENTOFU:-}" == 1 ]] || ! command -v terraform >/dev/null; then
  for module in "$here"/opentofu-*/; do
    module="${module%/}"
    build "$module" github.com/opentofu/opentofu/cmd/tofu "$cache/bin/$(basename "$module")" \
      "-X github.com/opentofu/opentofu/version.dev=no"
  done
fi

# A test-only SSH/SFTP server on loopback (test-sshd/main.go): the machine a real `packer build` with
# the null builder connects to, so that provisioners needing a communicator (hcp-sbom) run without a
# cloud. Its binary's name holds a hash of its go.sum and source, so a change of either builds it again.
build "$here/test-sshd" . "$cache/bin/test-sshd-$(sha256sum "$here/test-sshd/go.sum" "$here/test-sshd/main.go" | sha256sum | cut -c1-16)"

# The SDK for the contract tests: compile its packages once; a stamp per go.sum skips the warm case.
sdk_stamp="$cache/bin/.hcp-sdk-go-$(sha256sum "$here/hcp-sdk-go/go.sum" | cut -c1-16)"
if [[ ! -e "$sdk_stamp" ]]; then
  echo "build.sh: compiling hcp-sdk-go ..." >&2
  start=$SECONDS
  (cd "$here/hcp-sdk-go" && go build -trimpath ./...)
  touch "$sdk_stamp"
  echo "build.sh: compiled hcp-sdk-go in $((SECONDS - start)) s" >&2
fi
