#!/usr/bin/env bash
# Builds a pinned istioctl with `go install` into the git-ignored .tools/bin, ONCE.
# istio.io/istio tags are not semver ("1.28.0"), and the Go module proxy refuses them,
# so the pin is the pseudo-version the proxy resolves for a main-branch commit.
# If go refuses (replace directives, proxy refusal, build failure) the reason goes to
# .tools/istioctl.unavailable and we exit 0: tests then skip istioctl and say why.
set -uo pipefail
ISTIOCTL_VERSION="${ISTIOCTL_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
stamp="$bin/.istioctl-$ISTIOCTL_VERSION"
unavailable="$root/.tools/istioctl.unavailable"
if [[ -f "$stamp" && -x "$bin/istioctl" ]]; then exit 0; fi
# One attempt only: a recorded failure is not retried unless the file is removed.
if [[ -f "$unavailable" ]]; then cat "$unavailable" >&2; exit 0; fi
mkdir -p "$bin"
echo "[install-istioctl] istioctl@$ISTIOCTL_VERSION into $bin (go install; a large build)" >&2
log="$(mktemp)"
if GOBIN="$bin" GOFLAGS=-mod=mod nice -n 10 go install "istio.io/istio/istioctl/cmd/istioctl@$ISTIOCTL_VERSION" >"$log" 2>&1; then
  "$bin/istioctl" version --remote=false 2>&1 | head -1 >&2
  touch "$stamp"
else
  { echo "go install istio.io/istio/istioctl/cmd/istioctl@$ISTIOCTL_VERSION failed ($(date -u +%Y-%m-%d)):"; tail -n 20 "$log"; } >"$unavailable"
  cat "$unavailable" >&2
fi
rm -f "$log"
exit 0
