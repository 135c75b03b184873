#!/usr/bin/env bash
# Installs a pinned OPA with `go install` into the project-local, git-ignored .tools/bin.
# Idempotent: a second run is a no-op.
set -euo pipefail
OPA_VERSION="${OPA_VERSION:-v1.22.2}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
stamp="$bin/.opa-$OPA_VERSION"
if [[ -f "$stamp" && -x "$bin/opa" ]]; then exit 0; fi
mkdir -p "$bin"
echo "[install-opa] opa@$OPA_VERSION into $bin (go install; first build takes a few minutes)" >&2
GOBIN="$bin" GOFLAGS=-mod=mod go install "github.com/open-policy-agent/opa@$OPA_VERSION"
"$bin/opa" version 2>&1 | sed -n 1p >&2
touch "$stamp"
