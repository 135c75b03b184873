#!/usr/bin/env bash
# The two-cell demo: one command builds what it needs, starts everything on 127.0.0.1, runs the
# scenario and stops. Every process runs in one process group, and all temp files live in one
# directory under .run/; both are removed on a normal end, on an error and on Ctrl-C.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
# CELLAUTH_DEMO_SKIP_BOOTSTRAP=1 skips the (cached, idempotent) install and build step.
if [[ "${CELLAUTH_DEMO_SKIP_BOOTSTRAP:-0}" != 1 ]]; then bash scripts/bootstrap.sh; fi

mkdir -p .run
run="$(mktemp -d "$root/.run/demo.XXXXXX")"
pgid=""
cleanup() {
  trap - EXIT INT TERM
  if [[ -n "$pgid" ]] && kill -0 -- "-$pgid" 2>/dev/null; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  fi
  rm -rf "$run"
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM

# Node's os.tmpdir() follows TMPDIR: every STS, OPA and Envoy temp dir lands in $run.
# setsid: the demo and all its children form one process group we can stop as a whole.
TMPDIR="$run" setsid node --import tsx demo/main.ts &
pgid=$!
set +e
wait "$pgid"
status=$?
set -e
exit "$status"
