#!/usr/bin/env bash
# Builds the three binaries that tests/istio/apiserver.test.ts runs a real control plane with,
# into the git-ignored .tools/bin, ONCE each (a stamp per pinned version):
#   kine            github.com/k3s-io/kine (the etcd API over SQLite, so no etcd)       ~2.5 min
#   kube-apiserver  k8s.io/kubernetes, built inside scripts/k8s-wrapper (see its go.mod)  ~6 min
#   pilot-discovery istiod, from the same istio.io/istio pseudo-version as istioctl       ~1.5-4 min
# (times on 2 cores with an empty build cache; docs/istio.md has the measured ones).
# `go install` refuses k8s.io/kubernetes (its go.mod replaces the k8s.io staging modules with
# ./staging paths), so scripts/k8s-wrapper is a module of ours that requires it plus every
# staging module at the matching v0.x version, with a committed go.sum.
# A build that fails records why in .tools/<name>.unavailable and the script exits 0: the tests
# then skip and print that reason. No retry loop: delete that file to try again.
# Usage: install-k8s.sh [kine|kube-apiserver|pilot-discovery ...]   (default: all three)
set -uo pipefail
KINE_VERSION="${KINE_VERSION:-v0.17.5}"
K8S_VERSION="v1.37.2"    # pinned by scripts/k8s-wrapper/go.mod (change it there, then go mod tidy)
ISTIO_VERSION="${ISTIO_VERSION:-v0.0.0-20260827124520-eed52ebb66ad}"   # = install-istioctl.sh
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.tools/bin"
mkdir -p "$bin"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# The machine has 2 cores shared with everything else: builds run niced; GOFLAGS=-p=1 from the
# caller makes them gentler still.

# build NAME VERSION-STAMP COMMAND...: runs COMMAND (which must write $bin/NAME) unless done.
build() {
  local name="$1" version="$2"; shift 2
  local stamp="$bin/.$name-$version" unavailable="$root/.tools/$name.unavailable"
  if [[ -f "$stamp" && -x "$bin/$name" ]]; then return 0; fi
  if [[ -f "$unavailable" ]]; then cat "$unavailable" >&2; return 0; fi
  echo "[install-k8s] $name@$version into $bin (a large Go build, once)" >&2
  local start=$SECONDS
  if nice -n 10 "$@" >"$log" 2>&1 && [[ -x "$bin/$name" ]]; then
    touch "$stamp"
    echo "[install-k8s] $name built in $((SECONDS - start)) s" >&2
  else
    { echo "building $name@$version failed (after $((SECONDS - start)) s): $*"; tail -n 20 "$log"; } >"$unavailable"
    cat "$unavailable" >&2
  fi
}

want="${*:-kine kube-apiserver pilot-discovery}"
for what in $want; do
  case "$what" in
    kine)
      build kine "$KINE_VERSION" env GOBIN="$bin" GOFLAGS="${GOFLAGS:-} -mod=mod" go install "github.com/k3s-io/kine@$KINE_VERSION" ;;
    kube-apiserver)
      build kube-apiserver "$K8S_VERSION" \
        bash -c 'cd "$1/scripts/k8s-wrapper" && go build -o "$2/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver' _ "$root" "$bin" ;;
    pilot-discovery)
      build pilot-discovery "$ISTIO_VERSION" env GOBIN="$bin" GOFLAGS="${GOFLAGS:-} -mod=mod" go install "istio.io/istio/pilot/cmd/pilot-discovery@$ISTIO_VERSION" ;;
    *) echo "[install-k8s] unknown binary: $what" >&2; exit 2 ;;
  esac
done
exit 0
