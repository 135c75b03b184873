#!/usr/bin/env bash
# Installs a pinned ORY Hydra (OAuth 2.0 / OpenID Connect provider) into the project-local,
# git-ignored .tools/bin, for the e2e tests and the demo's edge identity provider.
# Hydra's go.mod has replace directives (so `go install module@version` refuses it): the pinned
# module is downloaded from the Go module proxy and built as the main module, its in-repo client
# replaced by the published github.com/ory/hydra-client-go/v2 of the same API. Built with sqlite
# so `DSN=memory` works. Idempotent: a second run is a no-op. A first build takes several minutes.
set -euo pipefail
HYDRA_VERSION="${HYDRA_VERSION:-v2.3.0}"
HYDRA_CLIENT_VERSION="${HYDRA_CLIENT_VERSION:-v2.2.1}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
stamp="$bin/.hydra-$HYDRA_VERSION"
# A failed build is recorded here and not retried on every run (delete the file to try again).
unavailable="$root/.tools/hydra-$HYDRA_VERSION.unavailable"
if [[ -f "$stamp" && -x "$bin/hydra" ]]; then exit 0; fi
if [[ -f "$unavailable" ]]; then cat "$unavailable" >&2; exit 1; fi
mkdir -p "$bin"
echo "[install-hydra] hydra@$HYDRA_VERSION into $bin (go build from the module proxy; first build takes several minutes)" >&2
start=$(date +%s)
dir=$(GOFLAGS=-mod=mod go mod download -json "github.com/ory/hydra/v2@$HYDRA_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[[ -d "$dir" ]] || { echo "[install-hydra] module download failed" >&2; exit 1; }
src=$(mktemp -d)
trap 'chmod -R u+w "$src" 2>/dev/null; rm -rf "$src"' EXIT
cp -r "$dir/." "$src/"
chmod -R u+w "$src"
cd "$src"
go mod edit -dropreplace github.com/ory/hydra-client-go/v2 -require "github.com/ory/hydra-client-go/v2@$HYDRA_CLIENT_VERSION"
log="$src/build.log"
if ! GOFLAGS=-mod=mod CGO_ENABLED=1 nice -n 10 go build -tags sqlite,sqlite_omit_load_extension -trimpath \
  -ldflags "-X github.com/ory/hydra/v2/driver/config.Version=$HYDRA_VERSION" -o "$bin/hydra.tmp" . >"$log" 2>&1; then
  { echo "go build of github.com/ory/hydra/v2@$HYDRA_VERSION failed:"; tail -n 20 "$log"; } >"$unavailable"
  cat "$unavailable" >&2
  exit 1
fi
mv "$bin/hydra.tmp" "$bin/hydra"
"$bin/hydra" version 2>&1 | sed -n 1,2p >&2 || true
echo "[install-hydra] built in $(( $(date +%s) - start ))s" >&2
touch "$stamp"
