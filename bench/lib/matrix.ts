// Every (configuration, workload) pair: a status preflight, a warm-up, then the measured wrk runs.
// One Envoy per configuration, all up for the whole matrix; memory is sampled after start-up and
// after the last workload.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { authorizeBodyPrefix, LISTENER, type BenchConfig, type ConfigId } from './configs.ts';
import { cpuMicros, sampleMemory, type MemorySample } from './memory.ts';
import { startSession, StsMissing, WRK_CPU, type Session } from './session.ts';
import type { Kind, Workload } from './workloads.ts';
import { runWrk, type WrkResult } from './wrk.ts';

export interface Params { seconds: number; warmupSeconds: number; connections: number; poolSize: number; pin: boolean;
  /** The measured seconds of a row are split into this many interleaved rounds. */
  rounds: number }

export interface Row {
  config: ConfigId;
  label: string;
  workload: string;
  alg: string;
  kind: Kind;
  expectedStatus: number;
  /** Statuses of a few requests sent before the run (the first tokens of the workload). */
  preflight: number[];
  wrk: WrkResult;
  /** CPU time per request during the measured run, µs: Envoy's, and the STS's + OPA's. Less
   *  sensitive than req/s to other load on a shared machine. */
  envoyCpuUsPerReq: number;
  helperCpuUsPerReq: number;
  /** Preflight and every measured response had the expected status. */
  statusOk: boolean;
  /** New downstream connections per request during the measured rounds: ~0 with keep-alive;
   *  near 1 means Envoy closed every connection (a TCP handshake priced into the row). */
  newConnectionsPerRequest?: number;
  /** Change of the configuration's `counters` over the measured rounds (stats flushed first). */
  counters?: Record<string, number>;
}

/** Envoy counters by name (absent ones are 0). cellauth batches its counts per 500 ms tick. */
export async function readCounters(adminUrl: string, names: string[]): Promise<Record<string, number>> {
  const text = await (await fetch(`${adminUrl}/stats?usedonly`, { signal: AbortSignal.timeout(3000) })).text();
  const out: Record<string, number> = {};
  for (const n of names) {
    // By full name or by suffix (jwt_authn's counters carry the connection manager's prefix).
    const m = new RegExp(`^(?:\\S*\\.)?${n.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (\\d+)$`, 'm').exec(text);
    out[n] = m ? Number(m[1]) : 0;
  }
  return out;
}
/** Cache hit rate (0..1) from a row's counters: those ending in `hit` against those ending in
 *  `miss`; undefined without any. */
export function hitRate(counters: Record<string, number> | undefined): number | undefined {
  if (!counters) return undefined;
  let hit = 0, miss = 0;
  for (const [k, v] of Object.entries(counters)) {
    if (k.endsWith('hit')) hit += v;
    else if (k.endsWith('miss')) miss += v;
  }
  return hit + miss > 0 ? hit / (hit + miss) : undefined;
}

const CX = `http.${LISTENER}.downstream_cx_total`;
const settle = () => new Promise((r) => setTimeout(r, 600));

export interface ConfigOutcome {
  config: ConfigId;
  label: string;
  state: 'ran' | 'pending' | 'failed';
  reason?: string;
  /** Configurations that enforce the bench policy: the status of a valid token with the wrong
   *  scope (must be 403, else the configuration failed). */
  policyDenial?: number;
  memoryBefore?: MemorySample;
  memoryAfter?: MemorySample;
}

export function expectedStatus(cfg: BenchConfig, kind: Kind): number {
  return cfg.ignoresTokens || kind !== 'invalid' ? 200 : 401;
}

async function preflight(s: Session, cfg: BenchConfig, tokens: string[]): Promise<number[]> {
  const out: number[] = [];
  for (const t of tokens) {
    const init: RequestInit = cfg.bodyRequests
      ? { method: 'POST', headers: { authorization: `Bearer ${t}`, 'content-type': 'application/json' }, body: `${authorizeBodyPrefix()}${t}"}` }
      : { headers: { authorization: `Bearer ${t}` } };
    const r = await fetch(s.url(cfg.bodyRequests ? '/authorize' : '/'), { ...init, signal: AbortSignal.timeout(5000) });
    await r.arrayBuffer();
    out.push(r.status);
  }
  return out;
}

/** Rounds of one row merged: counts and time add up; each latency percentile is the median of
 *  the rounds' (wrk gives percentiles, not histograms); max is the max. */
export function mergeRounds(rounds: WrkResult[]): WrkResult {
  const sum = (f: (r: WrkResult) => number) => rounds.reduce((a, r) => a + f(r), 0);
  const median = (f: (r: WrkResult) => number) => {
    const v = rounds.map(f).sort((a, b) => a - b);
    return v.length % 2 ? v[v.length >> 1] : Math.round((v[v.length / 2 - 1] + v[v.length / 2]) / 2);
  };
  const requests = sum((r) => r.requests), duration_us = sum((r) => r.duration_us);
  return {
    requests, duration_us,
    status_errors: sum((r) => r.status_errors), connect_errors: sum((r) => r.connect_errors),
    read_errors: sum((r) => r.read_errors), write_errors: sum((r) => r.write_errors), timeouts: sum((r) => r.timeouts),
    p50_us: median((r) => r.p50_us), p90_us: median((r) => r.p90_us), p99_us: median((r) => r.p99_us), p999_us: median((r) => r.p999_us),
    mean_us: requests > 0 ? Math.round(sum((r) => r.mean_us * r.requests) / requests) : 0,
    max_us: Math.max(...rounds.map((r) => r.max_us)),
    rps: duration_us > 0 ? requests / (duration_us / 1e6) : 0,
  };
}

interface Live { cfg: BenchConfig; s: Session; outcome: ConfigOutcome }

// Every configuration's Envoy runs for the whole matrix. For each workload, every configuration
// gets its preflight and warm-up, then the measured time is cut into rounds that visit the
// configurations in turn (alternating the order), so drift in the machine's speed (other
// tenants, thermal, the STS's GC) lands on every configuration alike instead of on whichever
// ran during a slow minute.
export async function runMatrix(configs: BenchConfig[], workloads: Workload[], jwks: object, p: Params, tmp: string,
  log: (m: string) => void, wrongScopeToken?: string,
  /** Called after each measured round (e.g. the crypto probe's Node runs, interleaved with Envoy's). */
  afterRound?: (round: number) => void): Promise<{ rows: Row[]; outcomes: ConfigOutcome[] }> {
  const bodyPrefixFile = join(tmp, 'authorize-body-prefix.txt');
  writeFileSync(bodyPrefixFile, authorizeBodyPrefix());
  const rows: Row[] = [];
  const outcomes: ConfigOutcome[] = [];
  const live: Live[] = [];
  const fail = (x: Live, e: unknown) => {
    x.outcome.state = 'failed';
    x.outcome.reason = (e as Error).message.slice(0, 2000);
    log(`${x.cfg.id}: FAILED: ${x.outcome.reason.split('\n')[0]}`);
  };
  try {
    for (const cfg of configs) {
      let s: Session;
      try {
        s = await startSession(cfg, jwks, p.pin);
      } catch (e) {
        const pending = e instanceof StsMissing;
        log(`${cfg.id}: ${pending ? 'pending' : 'FAILED to start'}: ${(e as Error).message.split('\n')[0]}`);
        outcomes.push({ config: cfg.id, label: cfg.label, state: pending ? 'pending' : 'failed', reason: (e as Error).message.slice(0, 2000) });
        continue;
      }
      const outcome: ConfigOutcome = { config: cfg.id, label: cfg.label, state: 'ran' };
      outcomes.push(outcome);
      live.push({ cfg, s, outcome });
      try {
        outcome.memoryBefore = await sampleMemory(s.envoy.adminUrl, s.envoy.pid);
        if (cfg.enforcesPolicy && wrongScopeToken) {
          // The rule is really enforced: a verified token the policy refuses is a 403.
          [outcome.policyDenial] = await preflight(s, cfg, [wrongScopeToken]);
          if (outcome.policyDenial !== 403) throw new Error(`a token without scope read got ${outcome.policyDenial}, not 403: the policy is not enforced`);
        }
      } catch (e) {
        fail(live[live.length - 1], e);
      }
    }
    const sum = (pids: number[]) => pids.reduce((a, pid) => a + cpuMicros(pid), 0);
    const chunk = Math.max(1, Math.round(p.seconds / p.rounds));
    for (const w of workloads) {
      // Tokens do not matter without auth: one workload measures the baseline.
      const here = live.filter((x) => x.outcome.state === 'ran' && (!x.cfg.ignoresTokens || (w.kind === 'single' && w.alg === 'ES256')));
      const acc = new Map<Live, { pre: number[]; rounds: WrkResult[]; envoyUs: number; helperUs: number; cx: number; counters?: Record<string, number> }>();
      const base = (x: Live) => ({
        url: x.s.url(x.cfg.bodyRequests ? '/authorize' : '/'), connections: p.connections, tokenFile: w.tokenFile,
        bodyPrefixFile: x.cfg.bodyRequests ? bodyPrefixFile : undefined, cpu: p.pin ? WRK_CPU : undefined,
      });
      for (const x of here) {
        try {
          const pre = await preflight(x.s, x.cfg, w.sample);
          if (p.warmupSeconds > 0) await runWrk({ ...base(x), seconds: p.warmupSeconds });
          acc.set(x, { pre, rounds: [], envoyUs: 0, helperUs: 0, cx: 0 });
        } catch (e) { fail(x, e); }
      }
      for (let r = 0; r < p.rounds; r++) {
        const order = r % 2 === 0 ? here : [...here].reverse();
        for (const x of order) {
          const a = acc.get(x);
          if (!a || x.outcome.state !== 'ran') continue;
          try {
            const names = x.cfg.counters;
            let c0: Record<string, number> | undefined;
            if (names) { await settle(); c0 = await readCounters(x.s.envoy.adminUrl, names); }
            const [cx0] = Object.values(await readCounters(x.s.envoy.adminUrl, [CX]));
            const e0 = cpuMicros(x.s.envoy.pid), h0 = sum(x.s.helperPids);
            // Start past the warm-up's tokens, so "distinct" stays distinct.
            a.rounds.push(await runWrk({ ...base(x), seconds: chunk, startIndex: Math.floor(w.tokens / 2) }));
            a.envoyUs += cpuMicros(x.s.envoy.pid) - e0;
            a.helperUs += sum(x.s.helperPids) - h0;
            a.cx += Object.values(await readCounters(x.s.envoy.adminUrl, [CX]))[0] - cx0;
            if (names && c0) {
              await settle();
              const c1 = await readCounters(x.s.envoy.adminUrl, names);
              a.counters ??= Object.fromEntries(names.map((n) => [n, 0]));
              for (const n of names) a.counters[n] += c1[n] - c0[n];
            }
          } catch (e) { fail(x, e); }
        }
        afterRound?.(r);
      }
      for (const x of here) {
        const a = acc.get(x);
        if (!a || x.outcome.state !== 'ran' || a.rounds.length === 0) continue;
        const cfg = x.cfg;
        const expected = expectedStatus(cfg, w.kind);
        const res = mergeRounds(a.rounds);
        const perReq = (d: number) => (res.requests > 0 ? Math.round((d / res.requests) * 10) / 10 : 0);
        const envoyCpuUsPerReq = perReq(a.envoyUs), helperCpuUsPerReq = perReq(a.helperUs);
        const allExpected = expected === 200 ? res.status_errors === 0 : res.status_errors === res.requests;
        const statusOk = a.pre.every((v) => v === expected) && allExpected && res.requests > 0 &&
          res.connect_errors + res.read_errors + res.write_errors + res.timeouts === 0;
        rows.push({ config: cfg.id, label: cfg.label, workload: w.id, alg: w.alg, kind: w.kind, expectedStatus: expected, preflight: a.pre, wrk: res, envoyCpuUsPerReq, helperCpuUsPerReq, statusOk,
          newConnectionsPerRequest: res.requests > 0 ? Math.round((a.cx / res.requests) * 1000) / 1000 : 0, ...(a.counters ? { counters: a.counters } : {}) });
        log(`${cfg.id.padEnd(16)} ${w.id.padEnd(16)} ${res.rps.toFixed(0).padStart(7)} req/s  p50 ${res.p50_us} µs  p99 ${res.p99_us} µs  Envoy CPU ${envoyCpuUsPerReq} µs/req` +
          `${statusOk ? '' : `  STATUS MISMATCH (preflight ${a.pre.join(',')}, non-2xx ${res.status_errors}/${res.requests})`}`);
      }
    }
    for (const x of live) {
      if (x.outcome.state !== 'ran') continue;
      try { x.outcome.memoryAfter = await sampleMemory(x.s.envoy.adminUrl, x.s.envoy.pid); } catch (e) { fail(x, e); }
    }
  } finally {
    await Promise.allSettled(live.map((x) => x.s.stop()));
  }
  // Rows in configuration order, as the report and chart expect.
  const order = new Map(configs.map((c, i) => [c.id, i] as const));
  rows.sort((a, b) => order.get(a.config)! - order.get(b.config)!);
  return { rows, outcomes };
}
