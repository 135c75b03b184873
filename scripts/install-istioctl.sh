#!/usr/bin/env bash
# Builds a pinned istioctl with `go install` into the git-ignored .tools/bin, ONCE, and with the
# same module cache Istio's own Wasm image fetcher as a small CLI (tests/istio/ocifetch).
# istio.io/istio tags are not semver ("1.28.0") and the Go module proxy refuses them, so the pin
# is the pseudo-version the proxy resolves for a main-branch commit.
# If go refuses (replace directives, proxy refusal, build failure) the reason goes to
# .tools/istioctl.unavailable and we exit 0: tests then skip and say why. No retry loop: delete
# that file to try again.
set -uo pipefail
ISTIOCTL_VERSION="${ISTIOCTL_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
stamp="$bin/.istioctl-$ISTIOCTL_VERSION"
unavailable="$root/.tools/istioctl.unavailable"
mkdir -p "$bin"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT

if [[ ! -f "$stamp" || ! -x "$bin/istioctl" ]]; then
  if [[ -f "$unavailable" ]]; then cat "$unavailable" >&2; exit 0; fi
  echo "[install-istioctl] istioctl@$ISTIOCTL_VERSION into $bin (go install; a large build)" >&2
  if GOBIN="$bin" GOFLAGS=-mod=mod nice -n 10 go install "istio.io/istio/istioctl/cmd/istioctl@$ISTIOCTL_VERSION" >"$log" 2>&1; then
    touch "$stamp"
  else
    { echo "go install istio.io/istio/istioctl/cmd/istioctl@$ISTIOCTL_VERSION failed:"; tail -n 20 "$log"; } >"$unavailable"
    cat "$unavailable" >&2
    exit 0
  fi
fi

# The fetcher pins the same istio.io/istio version in its go.mod.
if [[ ! -x "$bin/cellauth-ocifetch" ]]; then
  echo "[install-istioctl] Istio's Wasm image fetcher (tests/istio/ocifetch) into $bin" >&2
  (cd "$root/tests/istio/ocifetch" && GOFLAGS=-mod=mod nice -n 10 go build -o "$bin/cellauth-ocifetch" .) >"$log" 2>&1 \
    || { echo "[install-istioctl] cellauth-ocifetch did not build (its test will skip):"; tail -n 5 "$log"; } >&2
fi
exit 0
