#!/usr/bin/env bash
# Builds bench/opa-extauthz (OPA behind Envoy's ext_authz gRPC API, the bench's stand-in for
# opa-envoy-plugin) into the project-local, git-ignored .tools/bin. Its module pins go-control-plane's
# envoy protos v1.40.0 and OPA at the same version as scripts/install-opa.sh; every dependency
# comes from the Go module proxy (go.sum checks them). Idempotent: rebuilt only when the sources
# change (the stamp is a hash of go.mod, go.sum and main.go). First build: a minute or two.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src="$root/bench/opa-extauthz"
bin="$root/.tools/bin"
hash=$(cat "$src/go.mod" "$src/go.sum" "$src"/*.go | sha256sum | cut -c1-16)
stamp="$bin/.opa-extauthz-$hash"
if [[ -f "$stamp" && -x "$bin/opa-extauthz" ]]; then exit 0; fi
mkdir -p "$bin"
echo "[install-opa-extauthz] building bench/opa-extauthz into $bin" >&2
start=$(date +%s)
cd "$src"
GOFLAGS=-mod=mod nice -n 10 go build -trimpath -o "$bin/opa-extauthz.tmp" .
mv "$bin/opa-extauthz.tmp" "$bin/opa-extauthz"
rm -f "$bin"/.opa-extauthz-*
touch "$stamp"
echo "[install-opa-extauthz] built in $(( $(date +%s) - start ))s" >&2
