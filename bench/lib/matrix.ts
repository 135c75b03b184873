// Every (configuration, workload) pair: a status preflight, a warm-up, then the measured wrk run.
// One Envoy per configuration; memory is sampled after start-up and after the last workload.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { authorizeBodyPrefix, type BenchConfig, type ConfigId } from './configs.ts';
import { cpuMicros, sampleMemory, type MemorySample } from './memory.ts';
import { startSession, StsMissing, WRK_CPU, type Session } from './session.ts';
import type { Kind, Workload } from './workloads.ts';
import { runWrk, type WrkResult } from './wrk.ts';

export interface Params { seconds: number; warmupSeconds: number; connections: number; poolSize: number; pin: boolean }

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
}

export interface ConfigOutcome {
  config: ConfigId;
  label: string;
  state: 'ran' | 'pending' | 'failed';
  reason?: string;
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

export async function runMatrix(configs: BenchConfig[], workloads: Workload[], jwks: object, p: Params, tmp: string,
  log: (m: string) => void): Promise<{ rows: Row[]; outcomes: ConfigOutcome[] }> {
  const bodyPrefixFile = join(tmp, 'authorize-body-prefix.txt');
  writeFileSync(bodyPrefixFile, authorizeBodyPrefix());
  const rows: Row[] = [];
  const outcomes: ConfigOutcome[] = [];
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
    try {
      outcome.memoryBefore = await sampleMemory(s.envoy.adminUrl, s.envoy.pid);
      // Tokens do not matter without auth: one workload measures the baseline.
      const list = cfg.ignoresTokens ? workloads.filter((w) => w.kind === 'single' && w.alg === 'ES256') : workloads;
      for (const w of list) {
        const expected = expectedStatus(cfg, w.kind);
        const pre = await preflight(s, cfg, w.sample);
        const base = {
          url: s.url(cfg.bodyRequests ? '/authorize' : '/'), connections: p.connections, tokenFile: w.tokenFile,
          bodyPrefixFile: cfg.bodyRequests ? bodyPrefixFile : undefined, cpu: p.pin ? WRK_CPU : undefined,
        };
        if (p.warmupSeconds > 0) await runWrk({ ...base, seconds: p.warmupSeconds });
        // Start the measured run past the warm-up's tokens, so "distinct" stays distinct.
        const sum = (pids: number[]) => pids.reduce((a, pid) => a + cpuMicros(pid), 0);
        const e0 = cpuMicros(s.envoy.pid), h0 = sum(s.helperPids);
        const res = await runWrk({ ...base, seconds: p.seconds, startIndex: Math.floor(w.tokens / 2) });
        const perReq = (d: number) => (res.requests > 0 ? Math.round((d / res.requests) * 10) / 10 : 0);
        const envoyCpuUsPerReq = perReq(cpuMicros(s.envoy.pid) - e0), helperCpuUsPerReq = perReq(sum(s.helperPids) - h0);
        const allExpected = expected === 200 ? res.status_errors === 0 : res.status_errors === res.requests;
        const statusOk = pre.every((x) => x === expected) && allExpected && res.requests > 0 &&
          res.connect_errors + res.read_errors + res.write_errors + res.timeouts === 0;
        rows.push({ config: cfg.id, label: cfg.label, workload: w.id, alg: w.alg, kind: w.kind, expectedStatus: expected, preflight: pre, wrk: res, envoyCpuUsPerReq, helperCpuUsPerReq, statusOk });
        log(`${cfg.id.padEnd(16)} ${w.id.padEnd(16)} ${res.rps.toFixed(0).padStart(7)} req/s  p50 ${res.p50_us} µs  p99 ${res.p99_us} µs  Envoy CPU ${envoyCpuUsPerReq} µs/req` +
          `${statusOk ? '' : `  STATUS MISMATCH (preflight ${pre.join(',')}, non-2xx ${res.status_errors}/${res.requests})`}`);
      }
      outcome.memoryAfter = await sampleMemory(s.envoy.adminUrl, s.envoy.pid);
    } catch (e) {
      outcome.state = 'failed';
      outcome.reason = (e as Error).message.slice(0, 2000);
      log(`${cfg.id}: FAILED: ${outcome.reason.split('\n')[0]}`);
    } finally {
      await s.stop();
    }
  }
  return { rows, outcomes };
}
