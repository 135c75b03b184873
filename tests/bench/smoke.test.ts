// The bench's smoke mode, end to end: every configuration starts (real Envoy, real STS + OPA),
// answers every workload with the expected statuses (200 valid, 401 invalid), and the report
// files are written. Speed is NOT asserted here; it belongs to `npm run bench`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../lib/build-filter.ts';
import { runBenchSmoke } from './run-bench.ts';
import { CONFIGS } from '../../bench/lib/configs.ts';
import { ALGS, CELL } from '../../bench/lib/tokens.ts';
import { KINDS } from '../../bench/lib/workloads.ts';
import type { Report } from '../../bench/lib/report.ts';

const hasWrk = ['/usr/bin/wrk', '/usr/local/bin/wrk'].some(existsSync);

test('bench smoke: every configuration answers and reports', { skip: hasWrk ? false : 'wrk is not installed (npm run bench installs it)', timeout: 330_000 }, async () => {
  // OPA over ext_authz gRPC: built once (cached; scripts/bench.sh --deps builds it too).
  execFileSync('bash', [join(repoRoot, 'scripts/install-opa-extauthz.sh')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 180_000 });
  const out = mkdtempSync(join(tmpdir(), 'cellauth-bench-smoke-'));
  try {
    const { code, log } = await runBenchSmoke({ BENCH_OUT_DIR: out }, 120_000);

    const files = readdirSync(out);
    const base = files.find((f) => f.endsWith('-smoke.json'))?.replace(/\.json$/, '');
    assert.ok(base, `no report JSON written; bench log:\n${log.slice(-3000)}`);
    for (const ext of ['md', 'png']) assert.ok(files.includes(`${base}.${ext}`), `missing ${base}.${ext}`);
    const png = readFileSync(join(out, `${base}.png`));
    assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], 'chart is not a PNG');

    const report = JSON.parse(readFileSync(join(out, `${base}.json`), 'utf8')) as Report;
    assert.equal(report.mode, 'smoke');
    for (const cfg of CONFIGS.filter((c) => !c.profileOnly)) {
      const outcome = report.outcomes.find((o) => o.config === cfg.id);
      assert.equal(outcome?.state, 'ran', `${cfg.id}: ${outcome?.state} ${outcome?.reason ?? ''}`);
      assert.ok(outcome!.memoryBefore!.rssKiB > 0 && outcome!.memoryAfter!.rssKiB > 0, `${cfg.id}: no memory sample`);
      // The bench rule is really enforced: a verified token with the wrong scope is refused.
      if (cfg.enforcesPolicy) assert.equal(outcome!.policyDenial, 403, `${cfg.id}: policy not enforced`);
      const workloads = cfg.ignoresTokens ? ['ES256 single'] : ALGS.flatMap((a) => KINDS.map((k) => `${a} ${k}`));
      for (const w of workloads) {
        const row = report.rows.find((r) => r.config === cfg.id && r.workload === w);
        assert.ok(row, `${cfg.id} / ${w}: no row`);
        const want = cfg.ignoresTokens || !w.endsWith('invalid') ? 200 : 401;
        assert.equal(row.expectedStatus, want);
        assert.deepEqual(row.preflight, row.preflight.map(() => want), `${cfg.id} / ${w}: preflight statuses`);
        assert.ok(row.preflight.length > 0 && row.wrk.requests > 0, `${cfg.id} / ${w}: no requests`);
        // wrk counts every status >= 400 as a status error: all or none, depending on the workload.
        assert.equal(row.wrk.status_errors, want === 200 ? 0 : row.wrk.requests, `${cfg.id} / ${w}: statuses under load`);
        assert.ok(row.statusOk);
        if (cfg.needsSts || cfg.needsOpaExtAuthz) assert.ok(row.helperCpuUsPerReq >= 0, `${cfg.id} / ${w}: no helper CPU`);
        // The rows measure the path they are named for: single-token rows hit cellauth's token
        // cache on every measured request, distinct rows miss it.
        if (cfg.counters?.some((n) => n.endsWith('token_cache_hit'))) {
          const c = row.counters!;
          const hit = c[`cellauth.${CELL}.token_cache_hit`], miss = c[`cellauth.${CELL}.token_cache_miss`];
          if (w.endsWith('single')) assert.ok(hit > 0 && miss === 0, `${cfg.id} / ${w}: token cache ${hit} hits, ${miss} misses`);
          if (w.endsWith('distinct')) assert.ok(miss > 0, `${cfg.id} / ${w}: token cache ${hit} hits, ${miss} misses`);
        }
      }
    }
    for (const t of ['authz CPU per request, all processes, vs OPA over ext_authz gRPC (ES256, one token)', 'authz throughput vs jwt_authn + RBAC (ES256, one token)']) {
      const target = report.targets.find((x) => x.what === t);
      assert.ok(target && target.met !== null, `target "${t}" not evaluated`);
    }
    assert.match(readFileSync(join(out, `${base}.md`), 'utf8'), /\| configuration \| workload \| req\/s \|/);
    assert.equal(code, 0, `bench exited with ${code}; log:\n${log.slice(-3000)}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
