// The scaling sweeps' smoke mode (BENCH_SMOKE=1 BENCH_SCALING=all): every sweep starts its
// points, every point answers with the expected statuses, and each writes its report and plot.
// Tiny and short (1 s points, a 2,000-user Zipf mix); speed is not asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBenchSmoke } from './run-bench.ts';
import { SWEEPS, type SweepReport } from '../../bench/lib/scaling.ts';

const hasWrk = ['/usr/bin/wrk', '/usr/local/bin/wrk'].some(existsSync);

test('bench scaling smoke: every sweep runs and writes its plot', { skip: hasWrk ? false : 'wrk is not installed (npm run bench installs it)', timeout: 200_000 }, async () => {
  const out = mkdtempSync(join(tmpdir(), 'cellauth-bench-scaling-'));
  try {
    const { code, log } = await runBenchSmoke({ BENCH_SCALING: 'all', BENCH_OUT_DIR: out }, 170_000);
    const files = readdirSync(out);
    for (const id of SWEEPS) {
      const base = files.find((f) => f.endsWith(`-scaling-${id}.json`))?.replace(/\.json$/, '');
      assert.ok(base, `${id}: no report; bench log:\n${log.slice(-3000)}`);
      const png = readFileSync(join(out, `${base}.png`));
      assert.deepEqual([...png.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47], `${id}: plot is not a PNG`);
      const r = JSON.parse(readFileSync(join(out, `${base}.json`), 'utf8')) as SweepReport;
      assert.equal(r.mode, 'smoke');
      assert.ok(new Set(r.points.map((p) => p.x)).size >= 2, `${id}: fewer than two x values`);
      for (const p of r.points) assert.ok(p.statusOk && p.rps > 0, `${id}: ${p.series} @ ${p.x} did not answer`);
      if (id === 'zipf') for (const p of r.points) assert.ok(p.hitRate !== undefined && p.hitRate > 0 && p.hitRate < 1, `zipf: hit rate ${p.hitRate}`);
      if (id === 'sts') for (const p of r.points) assert.ok((p.stsRssMiB ?? 0) > 0, 'sts: no RSS');
    }
    assert.equal(code, 0, `bench exited with ${code}; log:\n${log.slice(-3000)}`);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
