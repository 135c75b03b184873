// How cost grows (issue 12): sweeps run by `npm run bench` after the main matrix (or alone with
// BENCH_SCALING=concurrency,jwks,rules,zipf,sts). Each sweep is one interleaved runMatrix over
// its points (so machine drift lands on every point alike), written as
// bench/results/<date>-scaling-<sweep>.{json,md,png}:
//   concurrency  Envoy --concurrency 1 and 2 (per-worker token caches, shared-data JWKS)
//   jwks         inline JWKS of 1, 10 and 100 keys, the signing key last, distinct tokens
//   rules        1, 100 and 1,000 path rules, the matching one last, one token (cache hit)
//   zipf         Zipf(s=1) token mix over 100,000 users against token-cache sizes: hit rate, req/s
//   sts          the STS under RFC 8693 token-exchange load (1, 4, 16 connections): req/s, p99, RSS
// BENCH_SMOKE=1 shrinks every sweep (1 s points, 2,000 users) to prove it runs.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cellauth, chain, jwtAuthn, type BenchConfig, type ConfigId } from './configs.ts';
import { writeLineChart, type Series } from './linechart.ts';
import type { Machine } from './machine.ts';
import { hitRate, runMatrix, type Params, type Row } from './matrix.ts';
import { cpuMicros } from './memory.ts';
import { startSession, WRK_CPU } from './session.ts';
import { AUDIENCE, CELL, ISSUER, mintPool, type BenchAlg, type BenchKey } from './tokens.ts';
import type { Workload } from './workloads.ts';
import { runWrk, type WrkResult } from './wrk.ts';

export const SWEEPS = ['concurrency', 'jwks', 'rules', 'zipf', 'sts'] as const;
export type SweepId = (typeof SWEEPS)[number];

export interface SweepPoint {
  series: string;
  x: string;
  workload: string;
  rps: number;
  p50_us: number;
  p99_us: number;
  envoyCpuUsPerReq: number;
  helperCpuUsPerReq: number;
  statusOk: boolean;
  /** zipf: token-cache hit rate over the measured rounds; sts: the STS's RSS after the point, MiB. */
  hitRate?: number;
  stsRssMiB?: number;
}

export interface SweepReport {
  sweep: SweepId;
  date: string;
  mode: 'full' | 'smoke';
  title: string;
  xLabel: string;
  machine: Machine;
  params: Params;
  points: SweepPoint[];
  notes: string[];
}

interface Ctx {
  keys: Record<BenchAlg, BenchKey>;
  jwks: { keys: Record<string, unknown>[] };
  /** The main matrix's ES256 workloads (single, distinct). */
  es256: { single: Workload; distinct: Workload };
  params: Params;
  tmp: string;
  smoke: boolean;
  log: (m: string) => void;
}

const cfg = (id: string, series: string, x: string, spec: BenchConfig['spec'], extra: Partial<BenchConfig> = {}): BenchConfig =>
  ({ id: id as ConfigId, label: `${series} @ ${x}`, series, x, needsSts: false, bodyRequests: false, ignoresTokens: false, spec, ...extra });

function pointsOf(rows: Row[], configs: BenchConfig[], withWorkload: boolean): SweepPoint[] {
  return rows.map((r) => {
    const c = configs.find((x) => x.id === r.config)!;
    const p: SweepPoint = {
      series: withWorkload ? `${c.series} · ${r.workload}` : c.series!, x: c.x!, workload: r.workload,
      rps: r.wrk.rps, p50_us: r.wrk.p50_us, p99_us: r.wrk.p99_us, envoyCpuUsPerReq: r.envoyCpuUsPerReq,
      helperCpuUsPerReq: r.helperCpuUsPerReq, statusOk: r.statusOk,
    };
    const rate = hitRate(r.counters);
    if (rate !== undefined) p.hitRate = rate;
    return p;
  });
}

// ---- the sweeps ----

async function concurrency(c: Ctx): Promise<{ points: SweepPoint[]; notes: string[] }> {
  const configs: BenchConfig[] = [];
  for (const n of [1, 2]) {
    configs.push(cfg(`cellauth_c${n}`, 'cellauth host crypto', String(n), (j) => chain([cellauth(j, 'auto', false)]), { concurrency: n }));
    configs.push(cfg(`jwt_authn_cache_c${n}`, 'jwt_authn + jwt_cache', String(n), (j) => chain([jwtAuthn(j, true)]), { concurrency: n }));
  }
  const { rows } = await runMatrix(configs, [c.es256.single, c.es256.distinct], c.jwks, c.params, c.tmp, c.log);
  return { points: pointsOf(rows, configs, true), notes: [
    'With --concurrency 2 Envoy is pinned to both cores, which wrk (pinned to CPU 1) shares: on this 2-core box the second worker mostly competes with the load generator, so the point shows the per-worker state (token caches, JWKS in shared data) costs nothing extra rather than a 2x gain.',
  ] };
}

function extraKeys(n: number): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (let i = 0; i < n; i++) {
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    out.push({ ...publicKey.export({ format: 'jwk' }), kid: `extra-${i}`, alg: 'ES256', use: 'sig' });
  }
  return out;
}

async function jwks(c: Ctx): Promise<{ points: SweepPoint[]; notes: string[] }> {
  const signing = c.keys.ES256.jwk;
  const pool = extraKeys(99);
  const configs: BenchConfig[] = [];
  for (const n of [1, 10, 100]) {
    const set = { keys: [...pool.slice(0, n - 1), signing] };
    configs.push(cfg(`cellauth_k${n}`, 'cellauth host crypto', String(n), () => chain([cellauth(set, 'auto', false)])));
    configs.push(cfg(`jwt_authn_k${n}`, 'jwt_authn (no cache)', String(n), () => chain([jwtAuthn(set, false)])));
  }
  const { rows } = await runMatrix(configs, [c.es256.distinct], c.jwks, c.params, c.tmp, c.log);
  return { points: pointsOf(rows, configs, false), notes: ['Every request verifies a new ES256 token; the signing key is the last of the set (extra keys are other P-256 keys with their own kids).'] };
}

async function rules(c: Ctx): Promise<{ points: SweepPoint[]; notes: string[] }> {
  const configs: BenchConfig[] = [];
  for (const n of [1, 100, 1000]) {
    const others = Array.from({ length: n - 1 }, (_, i) => `/r${i}`);
    const cellauthRules = [...others.map((p) => ({ match: { prefix: p }, requires: 'none' })), { match: { prefix: '/' }, requires: 'required' }];
    const jwtRules = [...others.map((p) => ({ match: { prefix: p } })), { match: { prefix: '/' }, requires: { provider_name: 'bench' } }];
    configs.push(cfg(`cellauth_r${n}`, 'cellauth host crypto', String(n), (j) => chain([cellauth(j, 'auto', false, 1000, undefined, false, { rules: cellauthRules })])));
    configs.push(cfg(`jwt_authn_r${n}`, 'jwt_authn + jwt_cache', String(n), (j) => chain([jwtAuthn(j, true, false, jwtRules)])));
  }
  const { rows } = await runMatrix(configs, [c.es256.single], c.jwks, c.params, c.tmp, c.log);
  return { points: pointsOf(rows, configs, false), notes: ['One token repeated (a token-cache hit), so rule selection is most of the work; the matching rule (prefix `/`) is the last one, after n-1 prefixes that do not match.'] };
}

/** `length` draws from Zipf(s) over ranks 1..n (rank 1 the most frequent), as token indexes. */
export function zipfSequence(n: number, length: number, s = 1, seed = 12): number[] {
  const cdf = new Float64Array(n);
  let acc = 0;
  for (let k = 1; k <= n; k++) { acc += 1 / k ** s; cdf[k - 1] = acc; }
  let st = seed >>> 0;
  const rnd = () => { st = (st + 0x6d2b79f5) >>> 0; let t = st; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
  const out = new Array<number>(length);
  for (let i = 0; i < length; i++) {
    const u = rnd() * acc;
    let lo = 0, hi = n - 1;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (cdf[mid] < u) lo = mid + 1; else hi = mid; }
    out[i] = lo;
  }
  return out;
}

async function zipf(c: Ctx): Promise<{ points: SweepPoint[]; notes: string[] }> {
  const users = c.smoke ? 2000 : 100_000, length = c.smoke ? 5000 : 300_000;
  const t0 = Date.now();
  const pool = await mintPool(c.keys.ES256, users);
  const seq = zipfSequence(users, length);
  const tokenFile = join(c.tmp, 'zipf.txt');
  writeFileSync(tokenFile, seq.map((i) => pool[i]).join('\n') + '\n', { mode: 0o600 });
  const distinctInSeq = new Set(seq).size;
  c.log(`zipf: ${users} users, ${length} requests (${distinctInSeq} distinct) in ${Date.now() - t0} ms`);
  const w: Workload = { id: `ES256 zipf(1) over ${users} users`, alg: 'ES256', kind: 'distinct', tokenFile, tokens: length, sample: [pool[seq[0]]] };
  const configs: BenchConfig[] = [];
  for (const size of [1000, 10_000, 65_536]) {
    configs.push(cfg(`cellauth_z${size}`, 'cellauth host crypto', String(size), (j) => chain([cellauth(j, 'auto', false, size)]),
      { counters: [`cellauth.${CELL}.token_cache_hit`, `cellauth.${CELL}.token_cache_miss`] }));
    configs.push(cfg(`jwt_authn_z${size}`, 'jwt_authn + jwt_cache', String(size), (j) => chain([jwtAuthn(j, size)]),
      { counters: ['jwt_authn.jwt_cache_hit', 'jwt_authn.jwt_cache_miss'] }));
  }
  const { rows } = await runMatrix(configs, [w], c.jwks, c.params, c.tmp, c.log);
  return { points: pointsOf(rows, configs, false), notes: [
    `Requests follow a Zipf(s=1) draw over ${users} users (${length} requests, ${distinctInSeq} distinct tokens). The warm-up plays the sequence from its start and every measured round from its middle, so later rounds partly replay earlier ones: hit rates are those of a warm, short window, not of a cold start. Cache sizes are entries per worker; 65,536 is cellauth's maximum (tokenCache.maxEntries).`,
    'cellauth\'s cache is direct-mapped (one slot per hash), jwt_authn\'s is an LRU: at equal size a direct-mapped table loses some hits to collisions.',
  ] };
}

async function sts(c: Ctx): Promise<{ points: SweepPoint[]; notes: string[] }> {
  // wrk -> Envoy (no filter; the route presents this sidecar's SVID to the STS over mTLS) -> STS /token.
  const proxy: BenchConfig = { ...cfg('sts_exchange', 'STS token exchange', '', (_j, stsCluster) => ({
    listeners: [{ name: 'bench', filters: [], routes: [{ prefix: '/', cluster: 'sts', timeoutMs: 5000 }] }], clusters: { sts: stsCluster! },
  })), needsSts: true };
  const s = await startSession(proxy, c.jwks, c.params.pin);
  const points: SweepPoint[] = [];
  try {
    const formFile = join(c.tmp, 'exchange-form.txt');
    writeFileSync(formFile, `grant_type=${encodeURIComponent('urn:ietf:params:oauth:grant-type:token-exchange')}&subject_token_type=${encodeURIComponent('urn:ietf:params:oauth:token-type:jwt')}&audience=${CELL}&subject_token=`);
    const run = (connections: number, seconds: number) => runWrk({ url: s.url('/token'), connections, seconds, tokenFile: c.es256.distinct.tokenFile, formPrefixFile: formFile, cpu: c.params.pin ? WRK_CPU : undefined });
    if (c.params.warmupSeconds > 0) await run(4, c.params.warmupSeconds);
    const stsPid = s.helperPids[0];
    for (const conns of [1, 4, 16]) {
      const e0 = cpuMicros(s.envoy.pid), h0 = s.helperPids.reduce((a, p) => a + cpuMicros(p), 0);
      const r: WrkResult = await run(conns, c.params.seconds);
      const perReq = (d: number) => (r.requests > 0 ? Math.round((d / r.requests) * 10) / 10 : 0);
      points.push({ series: 'STS /token (RFC 8693 exchange)', x: String(conns), workload: 'ES256 distinct edge tokens', rps: r.rps, p50_us: r.p50_us, p99_us: r.p99_us,
        envoyCpuUsPerReq: perReq(cpuMicros(s.envoy.pid) - e0), helperCpuUsPerReq: perReq(s.helperPids.reduce((a, p) => a + cpuMicros(p), 0) - h0),
        statusOk: r.status_errors === 0 && r.requests > 0 && r.connect_errors + r.read_errors + r.write_errors + r.timeouts === 0, stsRssMiB: rssMiB(stsPid) });
      c.log(`sts exchange c=${conns}: ${r.rps.toFixed(0)} req/s p99 ${r.p99_us} µs, non-2xx ${r.status_errors}/${r.requests}, STS RSS ${rssMiB(stsPid)} MiB`);
    }
  } finally {
    await s.stop();
  }
  return { points, notes: [`wrk -> Envoy (mTLS with the SVID of workload ${CELL}) -> STS POST /token, every request a new edge token (audience ${AUDIENCE}, issuer ${ISSUER}) exchanged for a ${CELL} cell token. Helper CPU is the STS + its OPA (the exchange does not query OPA). RSS is the STS's after each point.`] };
}

function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 102.4) / 10 : 0;
  } catch { return 0; }
}

const META: Record<SweepId, { title: string; xLabel: string; run: (c: Ctx) => Promise<{ points: SweepPoint[]; notes: string[] }> }> = {
  concurrency: { title: 'Envoy --concurrency', xLabel: 'Envoy worker threads', run: concurrency },
  jwks: { title: 'JWKS size (ES256, distinct tokens)', xLabel: 'keys in the JWKS', run: jwks },
  rules: { title: 'Number of path rules (ES256, one token)', xLabel: 'rules', run: rules },
  zipf: { title: 'Zipf token mix vs token-cache size', xLabel: 'token-cache entries', run: zipf },
  sts: { title: 'STS under token-exchange load', xLabel: 'wrk connections', run: sts },
};

function markdown(r: SweepReport): string {
  const L: string[] = [`# cellauth scaling: ${r.title}, ${r.date}${r.mode === 'smoke' ? ' (smoke)' : ''}`, ''];
  L.push(`Machine: ${r.machine.nproc} cores, ${r.machine.cpuModel}; Envoy ${r.machine.envoy}; load average at start ${r.machine.loadAvgAtStart.join(' / ')}. ` +
    `${r.params.connections} connections (except the STS sweep), ${r.params.warmupSeconds} s warm-up + ${r.params.seconds} s per point in ${r.params.rounds} interleaved rounds. ` +
    'This machine is shared: absolute numbers move with other tenants; compare points of one run with each other.', '');
  const extra = r.points.some((p) => p.hitRate !== undefined) ? ' hit rate |' : r.points.some((p) => p.stsRssMiB !== undefined) ? ' STS RSS MiB |' : '';
  L.push(`| series | ${r.xLabel} | req/s | p50 µs | p99 µs | Envoy CPU µs/req | helper CPU µs/req | statuses |${extra}`);
  L.push(`|---|---:|---:|---:|---:|---:|---:|---|${extra ? '---:|' : ''}`);
  for (const p of r.points) {
    const e = p.hitRate !== undefined ? ` ${(p.hitRate * 100).toFixed(1)}% |` : p.stsRssMiB !== undefined ? ` ${p.stsRssMiB} |` : extra ? ' – |' : '';
    L.push(`| ${p.series} | ${p.x} | ${p.rps.toFixed(0)} | ${p.p50_us} | ${p.p99_us} | ${p.envoyCpuUsPerReq} | ${p.helperCpuUsPerReq || '–'} | ${p.statusOk ? 'ok' : '**MISMATCH**'} |${e}`);
  }
  L.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return L.join('\n');
}

export async function runSweep(id: SweepId, c: Ctx, machine: Machine, outDir: string, date: string): Promise<{ report: SweepReport; md: string }> {
  const meta = META[id];
  const { points, notes } = await meta.run(c);
  const report: SweepReport = { sweep: id, date, mode: c.smoke ? 'smoke' : 'full', title: meta.title, xLabel: meta.xLabel, machine, params: c.params, points, notes };
  const base = join(outDir, `${date}${c.smoke ? '-smoke' : ''}-scaling-${id}`);
  const xs = [...new Set(points.map((p) => p.x))];
  const byName = (f: (p: SweepPoint) => number | undefined): Series[] => [...new Set(points.map((p) => p.series))]
    .map((name) => ({ name, points: points.filter((p) => p.series === name && f(p) !== undefined).map((p) => ({ x: p.x, y: f(p)! })) }));
  const chartNotes = [writeLineChart(`${base}.png`, byName((p) => p.rps), xs, `${meta.title}: requests/s`, meta.xLabel, 'requests / s')];
  if (id === 'zipf') chartNotes.push(writeLineChart(`${base}-hitrate.png`, byName((p) => (p.hitRate === undefined ? undefined : p.hitRate * 100)), xs, `${meta.title}: token-cache hit rate`, meta.xLabel, 'hit rate, %'));
  if (id === 'sts') chartNotes.push(writeLineChart(`${base}-p99.png`, byName((p) => p.p99_us / 1000), xs, `${meta.title}: p99 latency`, meta.xLabel, 'p99, ms'));
  for (const n of chartNotes) if (n) report.notes.push(n);
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(`${base}.md`, markdown(report));
  return { report, md: `${base}.md` };
}

export type { Ctx as SweepContext };
