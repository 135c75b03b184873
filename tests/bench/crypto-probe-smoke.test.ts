// The crypto-in-Envoy probe's smoke mode (BENCH_SMOKE=1 BENCH_SCALING=crypto): the probe builds,
// verifies its RS256 and ES256 signatures inside Envoy at k = 0 and 1 (a failed verify would be a
// 500 or a refused configuration), runs in Node, and the report is written. ~20 s; speed is not
// asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBenchSmoke } from './run-bench.ts';
import type { CryptoInEnvoyReport } from '../../bench/lib/crypto-in-envoy.ts';

const hasWrk = ['/usr/bin/wrk', '/usr/local/bin/wrk'].some(existsSync);

test('bench crypto probe smoke: verifies in Envoy and in Node, writes its report', { skip: hasWrk ? false : 'wrk is not installed (npm run bench installs it)', timeout: 120_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'cellauth-bench-crypto-'));
  try {
    const { code, log } = await runBenchSmoke({ BENCH_SCALING: 'crypto', BENCH_OUT_DIR: out, BENCH_PROBE_NODE: '' }, 100_000);
    const json = readdirSync(out).find((f) => f.endsWith('-smoke-crypto-in-envoy.json'));
    assert.ok(json, `no report; bench log:\n${log.slice(-3000)}`);
    const r = JSON.parse(readFileSync(join(out, json), 'utf8')) as CryptoInEnvoyReport;
    assert.equal(r.mode, 'smoke');
    for (const alg of ['RS256', 'ES256']) {
      for (const k of [0, 1]) {
        const p = r.points.find((x) => x.alg === alg && x.k === k && x.variant === 'filter');
        assert.ok(p && p.statusOk && p.rps > 0, `${alg} k=${k} did not answer 200`);
      }
      const d = r.derived.find((x) => x.alg === alg && x.series === 'filter');
      assert.ok(d && d.nodeCpu > 0 && d.envoyMean4 > 0, `${alg}: no per-verify figures`);
    }
    assert.ok(existsSync(join(out, json.replace(/\.json$/, '.md'))));
    assert.equal(code, 0, `bench exited with ${code}; log:\n${log.slice(-3000)}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
