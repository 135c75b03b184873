#!/usr/bin/env bash
# The whole test suite: as-pect unit tests, then every Node test file (emulator, crypto
# conformance, STS with real OPA, real Envoy e2e, Istio rendering, bench smoke).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh
export WYCHEPROOF_DIR="${WYCHEPROOF_DIR:-$root/../shared/vectors/wycheproof}"
echo "== as-pect unit tests" >&2
npx asp --config as-pect.config.js --summary
echo "== node tests (emulator, crypto, sts, e2e, istio, bench smoke)" >&2
mapfile -t files < <(find tests -name '*.test.ts' -not -path '*/node_modules/*' | sort)
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
