#!/usr/bin/env bash
# The whole test suite: as-pect unit tests, then every Node test file (host emulator, crypto
# conformance, STS with real OPA, real Envoy e2e, Istio rendering, bench smoke), one file at a
# time. Ends with one plain summary line counting both runners.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/bootstrap.sh || { echo "bootstrap failed" >&2; exit 1; }
# istioctl for `istioctl validate` in tests/istio (cached; a first build takes ~10 min; on failure
# the reason is recorded and those tests skip saying why).
bash scripts/install-istioctl.sh
# kine, kube-apiserver and istiod (pilot-discovery) for tests/istio/control-plane.test.ts (cached;
# a first build takes ~10-15 min on 2 cores; on failure the reason is recorded and the test skips).
bash scripts/install-k8s.sh
# wrk and rsvg-convert for the bench smoke test (Debian packages, installed only when missing).
bash scripts/bench.sh --deps || echo "bench dependencies unavailable: the bench smoke test will say so" >&2
export WYCHEPROOF_DIR="${WYCHEPROOF_DIR:-$root/../shared/vectors/wycheproof}"
mkdir -p .run
echo "== as-pect unit tests" >&2
npx asp --config as-pect.config.js --summary 2>&1 | tee .run/aspect.log | awk 'length($0) < 2000'
asp_rc=${PIPESTATUS[0]}
asp_line=$(sed 's/\x1b\[[0-9;]*m//g' .run/aspect.log | grep -E '\[Tests\]:' | tail -1)
asp_pass=$(echo "$asp_line" | sed -E 's/.*: *([0-9]+) *\/ *([0-9]+).*/\1/')
asp_total=$(echo "$asp_line" | sed -E 's/.*: *([0-9]+) *\/ *([0-9]+).*/\2/')
asp_pass=${asp_pass:-0}; asp_total=${asp_total:-0}
echo "== node tests" >&2
mapfile -t files < <(find tests -name '*.test.ts' -not -path '*/node_modules/*' | sort)
node --import tsx --test --test-concurrency=1 \
  --test-reporter=spec --test-reporter-destination=stdout \
  --test-reporter=tap --test-reporter-destination=.run/node-tests.tap "${files[@]}"
node_rc=$?
np=$(grep -E '^# pass ' .run/node-tests.tap | tail -1 | awk '{print $3}')
nf=$(grep -E '^# fail ' .run/node-tests.tap | tail -1 | awk '{print $3}')
ns=$(grep -E '^# skipped ' .run/node-tests.tap | tail -1 | awk '{print $3}')
np=${np:-0}; nf=${nf:-0}; ns=${ns:-0}
passed=$((asp_pass + np))
failed=$((asp_total - asp_pass + nf))
if [[ $asp_rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi
echo "as-pect: ${asp_pass}/${asp_total}; node: ${np} passed, ${nf} failed, ${ns} skipped"
echo "${passed} passed, ${failed} failed, ${ns} skipped"
[[ $asp_rc -eq 0 && $node_rc -eq 0 && $failed -eq 0 ]]
