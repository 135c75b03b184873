#!/usr/bin/env bash
# npm run bench: cellauth vs native jwt_authn vs Cellery-style ext_authz (issue 5).
# Installs wrk and rsvg-convert from Debian when missing (idempotent; nothing is cached in git),
# builds bench/opa-extauthz (OPA over ext_authz gRPC; cached in .tools/bin, rebuilt only when its
# sources change), brings the tree to a runnable state, then runs every configuration in one
# invocation.
#   BENCH_SECONDS=10 BENCH_SMOKE=1 BENCH_SOAK=1 ... (see bench/run.ts)
#   scripts/bench.sh --deps   only installs the tools (for CI images and scripts/test.sh)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

need=()
command -v wrk >/dev/null 2>&1 || need+=(wrk)
command -v rsvg-convert >/dev/null 2>&1 || need+=(librsvg2-bin)
command -v taskset >/dev/null 2>&1 || need+=(util-linux)
if ((${#need[@]})); then
  echo "[bench] apt-get install ${need[*]}" >&2
  sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi
bash scripts/install-opa-extauthz.sh
[[ "${1:-}" == "--deps" ]] && exit 0

bash scripts/bootstrap.sh
exec node --import tsx bench/run.ts
