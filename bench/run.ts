// npm run bench: cellauth in Envoy against native jwt_authn and a Cellery-style ext_authz round
// trip to the STS, in one invocation (issue 5). Environment:
//   BENCH_SECONDS (10)  BENCH_WARMUP (2)  BENCH_CONNECTIONS (16)  BENCH_POOL (10000)
//   BENCH_ROUNDS (5): a row's measured seconds are split into rounds, interleaved across configurations
//   BENCH_CONFIGS=id,id (subset, for profiling)  BENCH_WORKLOADS='RS256 single,...' (subset)  BENCH_OUT_DIR (bench/results)
//   BENCH_SMOKE=1: 1 s per row, no warm-up, 200-token pools: proves every configuration starts,
//                  answers with the expected statuses and reports; asserts nothing about speed.
//   BENCH_SOAK=1:  the memory soak only (1,000,000 requests over 100,000 distinct tokens).
//   BENCH_SCALING: the scaling sweeps (bench/lib/scaling.ts). Unset: a full run does the matrix and
//                  then every sweep, a smoke run none; `none`: no sweeps; a list (concurrency,jwks,
//                  rules,zipf,sts or all): only those sweeps, without the matrix (smoke: tiny sweeps).
//                  `crypto` (not in `all`; also part of every full run, its target joining the main
//                  table): the AssemblyScript verifiers in Envoy vs Node (bench/lib/crypto-in-envoy.ts),
//                  written as <date>-crypto-in-envoy.{json,md}.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { ensureFilterBuilt, repoRoot } from '../tests/lib/build-filter.ts';
import { writeChart } from './lib/chart.ts';
import { CONFIGS } from './lib/configs.ts';
import { describeMachine } from './lib/machine.ts';
import { runMatrix, type Params } from './lib/matrix.ts';
import { writeReport, type Report } from './lib/report.ts';
import { runSoak } from './lib/soak.ts';
import { runSweep, SWEEPS, type SweepId } from './lib/scaling.ts';
import { cryptoTargets, runCryptoInEnvoy } from './lib/crypto-in-envoy.ts';
import { stopAllSessions } from './lib/session.ts';
import { evaluateTargets } from './lib/targets.ts';
import { jwksOf, makeKeys, mintPool } from './lib/tokens.ts';
import { prepareWorkloads } from './lib/workloads.ts';

const env = process.env;
const smoke = env.BENCH_SMOKE === '1';
const soakMode = env.BENCH_SOAK === '1';
const num = (v: string | undefined, d: number) => (v !== undefined && v !== '' && Number.isFinite(Number(v)) ? Number(v) : d);
const log = (m: string) => process.stderr.write(`[bench] ${m}\n`);

const machine = describeMachine();
const params: Params = {
  seconds: smoke ? 1 : num(env.BENCH_SECONDS, 10),
  warmupSeconds: smoke ? 0 : num(env.BENCH_WARMUP, 2),
  connections: num(env.BENCH_CONNECTIONS, smoke ? 4 : 16),
  poolSize: smoke ? 200 : num(env.BENCH_POOL, 10_000),
  pin: machine.nproc >= 2,
  rounds: smoke ? 1 : Math.max(1, Math.floor(num(env.BENCH_ROUNDS, 5))),
};
const outDir = env.BENCH_OUT_DIR ?? fileURLToPath(new URL('./results/', import.meta.url));
const date = new Date().toISOString().slice(0, 10);
const only = env.BENCH_CONFIGS ? new Set(env.BENCH_CONFIGS.split(',')) : undefined;
const scalingEnv = (env.BENCH_SCALING ?? '').trim();
const sweepsOnly = scalingEnv !== '' && scalingEnv !== 'none';
// The crypto-in-Envoy probe: when named, and in every full run (its target joins the main table).
const cryptoProbe = scalingEnv.split(',').map((x) => x.trim()).includes('crypto') || (scalingEnv === '' && !smoke && !only && !env.BENCH_WORKLOADS);
const sweeps: SweepId[] = scalingEnv === 'none' ? [] : sweepsOnly
  ? (scalingEnv === 'all' ? [...SWEEPS] : scalingEnv.split(',').map((x) => x.trim()).filter((x): x is SweepId => (SWEEPS as readonly string[]).includes(x)))
  : (smoke || only || env.BENCH_WORKLOADS ? [] : [...SWEEPS]);

/** Builds bench/opa-extauthz when its sources changed (cached; a no-op otherwise). */
function installOpaExtAuthz(l: (m: string) => void): void {
  const t0 = Date.now();
  execFileSync('bash', [join(repoRoot, 'scripts/install-opa-extauthz.sh')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (Date.now() - t0 > 2000) l(`built opa-extauthz in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

ensureFilterBuilt();
mkdirSync(outDir, { recursive: true });
const tmp = mkdtempSync(join(tmpdir(), 'cellauth-bench-'));
const cleanup = () => rmSync(tmp, { recursive: true, force: true });
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => { void stopAllSessions().finally(() => { cleanup(); process.exit(130); }); });
}
try {
  const keys = makeKeys();
  const jwks = jwksOf(keys);
  const notes = [
    'Ratios compare requests/s on the same workload; "× jwt_authn (cache)" is the reference for the cache-hit (single) rows, "× jwt_authn (no cache)" for the distinct rows.',
    'Distinct rows cycle the pool in order, so both 1000-entry caches (jwt_cache_size, cellauth tokenCache.maxEntries) miss on every request.',
    'STS rows send POST /authorize with the STS /authorize JSON body and the Authorization header. ext_authz (HTTP service) forwards method, path, content-type and body unchanged, so each check lands on the STS\'s POST /authorize: the STS has no ext_authz-shaped endpoint. Caveat: ext_authz only sees the HTTP status, so an STS "allow": false with 200 (a policy denial) would not be enforced; every bench token is allowed by policy, so the measured path is the same work as Cellery\'s (verify + OPA per request).',
    'OPA and the STS run unpinned on the same two cores as Envoy and wrk.',
  ];
  if (soakMode) {
    const target = num(env.BENCH_SOAK_REQUESTS, 1_000_000);
    const poolSize = num(env.BENCH_SOAK_POOL, 100_000);
    const t0 = Date.now();
    const pool = await mintPool(keys.ES256, poolSize);
    log(`minted ${pool.length} ES256 tokens in ${Date.now() - t0} ms`);
    const tokenFile = join(tmp, 'soak.txt');
    writeFileSync(tokenFile, pool.join('\n') + '\n', { mode: 0o600 });
    const soak = await runSoak({ id: 'ES256 distinct', alg: 'ES256', kind: 'distinct', tokenFile, tokens: pool.length, sample: [] }, jwks,
      { targetRequests: target, maxSeconds: num(env.BENCH_SOAK_SECONDS, 420), chunkSeconds: num(env.BENCH_SOAK_CHUNK, 15), connections: params.connections, pin: params.pin }, log);
    const report: Report = { date, mode: 'soak', machine, params: { ...params, poolSize, rounds: 1 }, rows: [], outcomes: [], targets: evaluateTargets([], soak).slice(-1), soak, notes: [`Flat means RSS growth <= 2 MiB between the sample after one pass over the pool and the last sample. Status errors during the soak: ${soak.statusErrors}.`] };
    const { md } = writeReport(outDir, `${date}-soak`, report);
    log(`wrote ${md}`);
  } else {
    const onlyW = env.BENCH_WORKLOADS ? new Set(env.BENCH_WORKLOADS.split(',').map((x) => x.trim())) : undefined;
    const all = await prepareWorkloads(tmp, keys, params.poolSize, log);
    const workloads = all.filter((w) => !onlyW || onlyW.has(w.id));
    const main = sweepsOnly ? undefined : await runMain(keys, jwks, workloads, notes);
    const es256 = { single: all.find((w) => w.id === 'ES256 single')!, distinct: all.find((w) => w.id === 'ES256 distinct')! };
    for (const id of sweeps) {
      log(`scaling sweep: ${id}`);
      const { report, md } = await runSweep(id, { keys, jwks, es256, params, tmp, smoke, log }, machine, outDir, date);
      log(`wrote ${md}`);
      if (report.points.length === 0 || report.points.some((p) => !p.statusOk)) { log(`sweep ${id}: a point did not answer as expected`); process.exitCode = 1; }
    }
    if (cryptoProbe) {
      log('crypto in Envoy: probe points');
      const { report, md } = await runCryptoInEnvoy({ params, tmp, smoke, log, workload: es256.single, distinct: all.filter((w) => w.kind === 'distinct'), jwks }, machine, outDir, date);
      log(`wrote ${md}`);
      if (report.points.length === 0 || report.points.some((p) => !p.statusOk) || report.real.some((x) => !x.statusOk)) { log('crypto in Envoy: a point did not answer as expected'); process.exitCode = 1; }
      if (main) {
        main.report.targets.push(...cryptoTargets(report));
        writeReport(outDir, main.base, main.report);
        log(`added the crypto-in-Envoy target to ${main.base}.md`);
      }
    }
  }
} finally {
  cleanup();
}

async function runMain(keys: ReturnType<typeof makeKeys>, jwks: ReturnType<typeof jwksOf>, workloads: Awaited<ReturnType<typeof prepareWorkloads>>, notes: string[]): Promise<{ report: Report; base: string }> {
  {
    const configs = CONFIGS.filter((c) => (only ? only.has(c.id) : !c.profileOnly));
    if (configs.some((c) => c.needsOpaExtAuthz)) installOpaExtAuthz(log);
    const [wrongScope] = await mintPool(keys.ES256, 1, 3600, 'write');
    const { rows, outcomes } = await runMatrix(configs, workloads, jwks, params, tmp, log, wrongScope);
    notes.push(`Load average at the end: ${loadavg().map((x) => x.toFixed(2)).join(' / ')}.`);
    const report: Report = { date, mode: smoke ? 'smoke' : 'full', machine, params, rows, outcomes, targets: evaluateTargets(rows), notes };
    const base = smoke ? `${date}-smoke` : date;
    const chartNote = writeChart(rows, `cellauth bench ${date}: requests/s (Envoy --concurrency 1, ${params.connections} connections)`, join(outDir, `${base}.png`));
    if (chartNote) report.notes.push(chartNote);
    const { md } = writeReport(outDir, base, report);
    log(`wrote ${md}`);
    const bad = rows.filter((r) => !r.statusOk).length + outcomes.filter((o) => o.state === 'failed').length;
    if (bad > 0) { log(`${bad} row(s) or configuration(s) did not answer as expected`); process.exitCode = 1; }
    return { report, base };
  }
}
