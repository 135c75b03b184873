// Writes bench/results/<date>.json and <date>.md (and the soak's <date>-soak.*): the table, the
// ratios to native jwt_authn, memory before and after, the targets and the machine.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Machine } from './machine.ts';
import { hitRate, type ConfigOutcome, type Params, type Row } from './matrix.ts';
import type { MemorySample } from './memory.ts';
import type { SoakResult } from './soak.ts';
import { ratio, totalCpu, type Target } from './targets.ts';

export interface Report {
  date: string;
  mode: 'full' | 'smoke' | 'soak';
  machine: Machine;
  params: Params;
  rows: Row[];
  outcomes: ConfigOutcome[];
  targets: Target[];
  soak?: SoakResult;
  notes: string[];
}

const x = (v: number | undefined) => (v === undefined ? '–' : `${v.toFixed(2)}x`);
const mib = (kib: number | undefined) => (kib === undefined ? '–' : (kib / 1024).toFixed(1));
const mem = (m: MemorySample | undefined) => (m ? `${mib(m.rssKiB)} MiB RSS, ${(m.allocated / 1048576).toFixed(1)} MiB tcmalloc` : '–');

export function markdown(r: Report): string {
  const L: string[] = [];
  L.push(`# cellauth bench, ${r.date}${r.mode === 'full' ? '' : ` (${r.mode})`}`, '');
  L.push(`Machine: ${r.machine.nproc} cores, ${r.machine.cpuModel}, Linux ${r.machine.kernel}; Envoy ${r.machine.envoy}; ${r.machine.wrk.split(' Copyright')[0]}; Node ${r.machine.node}; load average at start ${r.machine.loadAvgAtStart.join(' / ')}.`);
  L.push(`Envoy \`--concurrency 1\`${r.params.pin ? ' pinned to CPU 0, wrk `-t1` pinned to CPU 1' : ', wrk `-t1`'}; ${r.params.connections} connections; ` +
    `${r.params.warmupSeconds} s warm-up + ${r.params.seconds} s measured per row${(r.params.rounds ?? 1) > 1 ? ` in ${r.params.rounds} rounds interleaved across configurations (p50/p99/p99.9: median of the rounds)` : ''}; ${r.params.poolSize} distinct tokens per algorithm; route = direct_response 200.`, '');
  if (r.rows.length) {
    L.push('| configuration | workload | req/s | p50 µs | p99 µs | p99.9 µs | × jwt_authn (no cache) | × jwt_authn (cache) | Envoy CPU µs/req | helper CPU µs/req (STS+OPA or opa-extauthz) | total CPU µs/req | statuses |');
    L.push('|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const row of r.rows) {
      const w = row.wrk;
      L.push(`| ${row.label} | ${row.workload} | ${w.rps.toFixed(0)} | ${w.p50_us} | ${w.p99_us} | ${w.p999_us} | ${x(ratio(r.rows, row, 'jwt_authn'))} | ${x(ratio(r.rows, row, 'jwt_authn_cache'))} | ${row.envoyCpuUsPerReq} | ${row.helperCpuUsPerReq || '–'} | ${totalCpu(row).toFixed(1)} | ` +
        `${row.statusOk ? `all ${row.expectedStatus}` : `MISMATCH (want ${row.expectedStatus}, non-2xx ${w.status_errors}/${w.requests})`} |`);
    }
    L.push('');
  }
  const ran = r.outcomes.filter((o) => o.state === 'ran');
  if (ran.length) {
    L.push('Envoy memory (no wasm linear-memory gauge exists in Envoy\'s admin API; V8 maps wasm memory outside tcmalloc, so the RSS is what shows it):', '');
    L.push('| configuration | after start-up | after all workloads |', '|---|---|---|');
    for (const o of ran) L.push(`| ${o.label} | ${mem(o.memoryBefore)} | ${mem(o.memoryAfter)} |`);
    L.push('');
  }
  const closing = r.rows.filter((row) => (row.newConnectionsPerRequest ?? 0) > 0.01);
  if (closing.length) L.push(`New connections per request above 1% (Envoy closed connections, so those rows include TCP set-up): ${closing.map((row) => `${row.label} / ${row.workload}: ${row.newConnectionsPerRequest}`).join('; ')}.`, '');
  const rates = r.rows.flatMap((row) => {
    const rate = hitRate(row.counters);
    return rate === undefined ? [] : [`${row.label} / ${row.workload}: ${(100 * rate).toFixed(1)}%`];
  });
  if (rates.length) L.push(`Token-cache hit rate over the measured rounds (cellauth's counters): ${rates.join('; ')}.`, '');
  const pol = r.outcomes.filter((o) => o.policyDenial !== undefined);
  if (pol.length) L.push(`Policy enforced (bench/policy/bench.rego, a verified token with scope \`write\`): ${pol.map((o) => `${o.label} → ${o.policyDenial}`).join(', ')}.`, '');
  for (const o of r.outcomes.filter((o) => o.state !== 'ran')) L.push(`- **${o.label}: ${o.state}** — ${(o.reason ?? '').split('\n')[0]}`);
  if (r.soak) {
    const s = r.soak;
    L.push('', `## Memory soak (${s.config}, ${s.distinctTokens} distinct tokens)`, '', s.summary, '');
    L.push('| requests | seconds | RSS MiB | tcmalloc MiB |', '|---:|---:|---:|---:|');
    for (const p of s.samples) L.push(`| ${p.requests} | ${p.elapsedSeconds} | ${mib(p.memory.rssKiB)} | ${(p.memory.allocated / 1048576).toFixed(1)} |`);
    L.push('');
  }
  if (r.targets.length) {
    L.push('', '## Targets (issues 5 and 12)', '', '| what | target | measured | met |', '|---|---|---|---|');
    for (const t of r.targets) L.push(`| ${t.what} | ${t.target} | ${t.measured} | ${t.met === null ? 'n/a' : t.met ? 'yes' : '**no**'} |`);
    L.push('');
  }
  if (r.notes.length) L.push('## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return L.join('\n');
}

/** Writes <base>.json and <base>.md under `dir`; returns their paths. */
export function writeReport(dir: string, base: string, r: Report): { json: string; md: string } {
  mkdirSync(dir, { recursive: true });
  const json = join(dir, `${base}.json`);
  const md = join(dir, `${base}.md`);
  writeFileSync(json, JSON.stringify(r, null, 2) + '\n');
  writeFileSync(md, markdown(r));
  return { json, md };
}
