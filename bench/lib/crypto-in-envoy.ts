// BENCH_SCALING=crypto: the AssemblyScript verifiers' cost inside Envoy against the same wasm
// binary in Node, in one run (issue 12). Envoy points run as one interleaved matrix; after each
// of its rounds Node runs the probe pinned to Envoy's core, so both sides see the same machine.
// The real filter runs in the same matrix on the distinct-token rows (AS crypto, host crypto, no
// signature check), so the per-algorithm choice of `crypto: auto` rests on figures of this run.
// BENCH_PROBE_NODE=/path/to/node adds a second Node (e.g. one whose V8 is Envoy's), run also with
// --wasm-enforce-bounds-checks: what explicit bounds checks would cost instead of the trap handler.
// Writes bench/results/<date>-crypto-in-envoy.{json,md}.
import type { Target } from './targets.ts';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../tests/lib/build-filter.ts';
import { buildCryptoProbe, pluginConfigText, probeConfig, probeKeys, probePoints, type ProbeAlg, type ProbePoint } from './crypto-probe.ts';
import type { Machine } from './machine.ts';
import { runMatrix, type Params } from './matrix.ts';
import { CONFIGS, type ConfigId } from './configs.ts';
import { ENVOY_CPU } from './session.ts';
import type { Workload } from './workloads.ts';

export interface EnvoyPoint extends ProbePoint { rps: number; p50_us: number; envoyCpuUsPerReq: number; statusOk: boolean }
export interface NodeFigure { node: string; variant: string; knobs: string[]; alg: ProbeAlg;
  /** Best round's median µs per verify, back to back (hot) and after a cache sweep (cold). */
  hot: number; cold: number;
  /** CPU µs per verify over every round, back to back: like for like with Envoy's CPU figures. */
  cpu: number; cpuUs: number; n: number }
/** Per variant/knobs and algorithm: µs per verify in Envoy and in Node. */
export interface Derived { series: string; alg: ProbeAlg; envoyFirst?: number; envoyWarm?: number; envoyMean4: number; nodeCpu: number; nodeHot: number; nodeCold: number; ratio: number; ratioToMedian: number }
/** The real filter on distinct tokens: Envoy CPU µs per request, and the signature check's share. */
export interface RealRow { alg: string; host: number; wasm: number; nosig: number; hostVerify: number; wasmVerify: number; faster: 'host' | 'wasm'; statusOk: boolean }
export interface CryptoInEnvoyReport { date: string; mode: 'full' | 'smoke'; machine: Machine; params: Params; points: EnvoyPoint[]; node: NodeFigure[]; derived: Derived[]; real: RealRow[]; notes: string[] }

const REAL: ConfigId[] = ['cellauth_host', 'cellauth_wasm', 'cellauth_nosig'];

const seriesOf = (p: { variant: string; knobs: string[] }) => `${p.variant}${p.knobs.length ? `+${p.knobs.join('+')}` : ''}`;
const r1 = (v: number) => Math.round(v * 10) / 10;

interface NodeBin { label: string; bin: string; flags: string[] }

function nodeBins(): NodeBin[] {
  const v8 = (bin: string) => execFileSync(bin, ['-p', 'process.versions.v8'], { encoding: 'utf8' }).trim();
  // --no-liftoff: Envoy's V8 flags (proxy-wasm-cpp-host v8.cc), TurboFan only.
  const out: NodeBin[] = [{ label: `node ${process.version} (V8 ${process.versions.v8})`, bin: process.execPath, flags: ['--no-liftoff'] }];
  const extra = process.env.BENCH_PROBE_NODE;
  if (extra) {
    const l = `node ${execFileSync(extra, ['-v'], { encoding: 'utf8' }).trim()} (V8 ${v8(extra)})`;
    out.push({ label: l, bin: extra, flags: ['--no-liftoff'] }, { label: `${l} --wasm-enforce-bounds-checks`, bin: extra, flags: ['--no-liftoff', '--wasm-enforce-bounds-checks'] });
  }
  return out;
}

function nodeRun(n: NodeBin, p: ProbePoint, keys: ReturnType<typeof probeKeys>, tmp: string, smoke: boolean, pin: boolean): { hot: number; cold: number; cpuUs: number; n: number } {
  const cfgFile = join(tmp, `${p.id}.cfg`);
  writeFileSync(cfgFile, pluginConfigText(keys[p.alg], 1, p.knobs));
  const args = [...n.flags, '--import', 'tsx', join(repoRoot, 'bench/lib/crypto-probe-node.ts'), buildCryptoProbe(p.variant, smoke), cfgFile, smoke ? '200' : '1200'];
  const out = pin ? execFileSync('taskset', ['-c', ENVOY_CPU, n.bin, ...args], { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 })
    : execFileSync(n.bin, args, { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out.trim().split('\n').pop()!) as { hot: number; cold: number; cpuUs: number; n: number };
}

export async function runCryptoInEnvoy(c: { params: Params; tmp: string; smoke: boolean; log: (m: string) => void; workload: Workload; distinct: Workload[]; jwks: object },
  machine: Machine, outDir: string, date: string): Promise<{ report: CryptoInEnvoyReport; md: string }> {
  const keys = probeKeys();
  const pts = probePoints(c.smoke);
  // Probe points ignore tokens (they run on c.workload only); the real filter runs on the distinct
  // rows (not in smoke: the main bench smoke covers those configurations, and time counts there).
  const configs = [...pts.map((p) => probeConfig(p, keys, c.smoke)), ...(c.smoke ? [] : CONFIGS.filter((x) => REAL.includes(x.id)))];
  // Node: one figure per variant/knobs and algorithm, accumulated over the probe rounds.
  const nodePts = pts.filter((p) => p.k === Math.max(...pts.filter((q) => seriesOf(q) === seriesOf(p) && q.alg === p.alg).map((q) => q.k)));
  const node = new Map<string, NodeFigure>();
  const bins = nodeBins();
  let nodeRounds = 0;
  const measureNode = () => {
    // After the probe workload's rounds only (the first workload), not the real filter's.
    if (nodeRounds++ >= c.params.rounds) return;
    for (const n of bins) {
      // Extra Nodes only for the filter's build: the engine is the question there, not the build.
      for (const p of nodePts.filter((q) => n === bins[0] || seriesOf(q) === 'filter')) {
        const f = nodeRun(n, p, keys, c.tmp, c.smoke, c.params.pin);
        const key = `${n.label} ${seriesOf(p)} ${p.alg}`;
        const prev = node.get(key);
        const cpuUs = (prev?.cpuUs ?? 0) + f.cpuUs, calls = (prev?.n ?? 0) + f.n;
        node.set(key, { node: n.label, variant: p.variant, knobs: p.knobs, alg: p.alg, hot: Math.min(prev?.hot ?? Infinity, f.hot), cold: Math.min(prev?.cold ?? Infinity, f.cold),
          cpu: r1(cpuUs / calls), cpuUs, n: calls });
        c.log(`${key}: median hot ${f.hot} µs, cold ${f.cold} µs, CPU ${r1(f.cpuUs / f.n)} µs per verify`);
      }
    }
  };
  for (const p of new Set(pts.map((q) => q.variant))) buildCryptoProbe(p, c.smoke);
  const { rows } = await runMatrix(configs, [c.workload, ...(c.smoke ? [] : c.distinct)], c.jwks, c.params, c.tmp, c.log, undefined, measureNode);
  const real: RealRow[] = c.distinct.flatMap((w) => {
    const row = (id: ConfigId) => rows.find((x) => x.config === id && x.workload === w.id);
    const [h, a, n] = REAL.map(row);
    if (!h || !a || !n) return [];
    return [{ alg: w.alg, host: h.envoyCpuUsPerReq, wasm: a.envoyCpuUsPerReq, nosig: n.envoyCpuUsPerReq, hostVerify: r1(h.envoyCpuUsPerReq - n.envoyCpuUsPerReq),
      wasmVerify: r1(a.envoyCpuUsPerReq - n.envoyCpuUsPerReq), faster: a.envoyCpuUsPerReq < h.envoyCpuUsPerReq ? 'wasm' as const : 'host' as const, statusOk: h.statusOk && a.statusOk && n.statusOk }];
  });
  const points: EnvoyPoint[] = pts.flatMap((p) => {
    const r = rows.find((x) => x.config === p.id && x.workload === c.workload.id);
    return r ? [{ ...p, rps: Math.round(r.wrk.rps), p50_us: r.wrk.p50_us, envoyCpuUsPerReq: r.envoyCpuUsPerReq, statusOk: r.statusOk }] : [];
  });
  const derived: Derived[] = [];
  for (const n of [...node.values()].filter((x) => x.node === bins[0].label)) {
    const s = seriesOf(n);
    const cpu = (series: string, k: number) => points.find((p) => seriesOf(p) === series && p.alg === n.alg && p.k === k)?.envoyCpuUsPerReq;
    const k0 = cpu('filter', 0), k1 = cpu(s, 1), kMax = cpu(s, 4) ?? cpu(s, 1);
    if (k0 === undefined || kMax === undefined) continue;
    const kn = cpu(s, 4) !== undefined ? 4 : 1;
    const mean = (kMax - k0) / kn;
    derived.push({ series: s, alg: n.alg, envoyFirst: k1 !== undefined ? r1(k1 - k0) : undefined, envoyWarm: k1 !== undefined && kn === 4 ? r1((kMax - k1) / 3) : undefined,
      envoyMean4: r1(mean), nodeCpu: n.cpu, nodeHot: n.hot, nodeCold: n.cold, ratio: Math.round((mean / n.cpu) * 100) / 100, ratioToMedian: Math.round((mean / n.hot) * 100) / 100 });
  }
  const report: CryptoInEnvoyReport = { date, mode: c.smoke ? 'smoke' : 'full', machine, params: c.params, points, node: [...node.values()], derived, real, notes: [
    'Every point is a separate Envoy (--concurrency 1, pinned to CPU 0) running only the crypto probe, which verifies one fixed signature k times per request with the filter\'s crypto API; wrk requests on CPU 1 (tokens are ignored). Envoy CPU per request at k = 0 prices everything but the verifies.',
    'Per verify in Envoy: first = CPU(k=1) − CPU(k=0), the verify a request makes after Envoy\'s network work (cold caches); warm = (CPU(k=4) − CPU(k=1)) / 3, verifies right after one another; mean = (CPU(k) − CPU(filter, k=0)) / k.',
    'Node: the same .wasm in node --no-liftoff (Envoy\'s V8 flag), pinned to CPU 0, after every Envoy round. CPU = CPU time per verify over all rounds, back to back (the measure Envoy\'s figures use); hot = median µs of a call back to back (best round; what bench:crypto reports), cold = median µs of a call right after writing 1 MiB (evicts L1/L2).',
    'Real filter: Envoy CPU µs per request on distinct tokens (every request verifies); verify = config − "no signature check" (which also skips the token-cache insert after a verify, so this slightly overstates the verify). faster = the lower total, what crypto: auto should pick for that algorithm.',
    `ratio = Envoy mean / Node CPU (like for like); ÷ median = Envoy mean / Node hot median. Node ${process.version} (the one that runs npm run bench:crypto) unless the row says otherwise.`,
  ] };
  const base = join(outDir, `${date}${c.smoke ? '-smoke' : ''}-crypto-in-envoy`);
  writeFileSync(`${base}.json`, JSON.stringify(report, null, 2) + '\n');
  writeFileSync(`${base}.md`, markdown(report));
  return { report, md: `${base}.md` };
}

/** Issue 12's target, for the main report's table: the filter's verify in Envoy costs at most 1.2x
 *  the same .wasm in Node, CPU time per verify on both sides (the like-for-like measure). */
export function cryptoTargets(r: CryptoInEnvoyReport): Target[] {
  return r.derived.filter((d) => d.series === 'filter').map((d) => ({
    what: `AssemblyScript verify in Envoy vs Node, CPU per verify (${d.alg})`,
    target: '<= 1.2x Node',
    measured: `${d.ratio.toFixed(2)}x (${d.envoyMean4} vs ${d.nodeCpu} µs; ${d.ratioToMedian.toFixed(2)}x Node's median call, ${d.nodeHot} µs; ${r.date}-crypto-in-envoy.md)`,
    met: d.ratio <= 1.2,
  }));
}

function markdown(r: CryptoInEnvoyReport): string {
  const L: string[] = [`# AssemblyScript crypto inside Envoy, ${r.date}${r.mode === 'smoke' ? ' (smoke)' : ''}`, ''];
  L.push(`Machine: ${r.machine.nproc} cores, ${r.machine.cpuModel}; Envoy ${r.machine.envoy}; Node ${r.machine.node}; load average at start ${r.machine.loadAvgAtStart.join(' / ')}. ` +
    `${r.params.connections} connections, ${r.params.warmupSeconds} s warm-up + ${r.params.seconds} s per point in ${r.params.rounds} interleaved rounds. Compare figures of one run with each other.`, '');
  L.push('## Per verify, µs', '', '| build + knobs | alg | Envoy first (cold) | Envoy warm | Envoy mean | Node CPU | Node hot median | Node cold median | Envoy mean / Node CPU | ÷ median |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  const d = (v?: number) => (v === undefined ? '–' : String(v));
  for (const x of r.derived) L.push(`| ${x.series} | ${x.alg} | ${d(x.envoyFirst)} | ${d(x.envoyWarm)} | ${x.envoyMean4} | ${x.nodeCpu} | ${x.nodeHot} | ${x.nodeCold} | ${x.ratio.toFixed(2)}× | ${x.ratioToMedian.toFixed(2)}× |`);
  L.push('', '## The filter\'s build in each Node, µs per verify', '', '| Node | alg | CPU | hot median | cold median |', '|---|---|---:|---:|---:|');
  for (const n of r.node.filter((x) => seriesOf(x) === 'filter')) L.push(`| ${n.node} | ${n.alg} | ${n.cpu} | ${n.hot} | ${n.cold} |`);
  L.push('', '## The real filter on distinct tokens, Envoy CPU µs per request', '', '| alg | host crypto | AS crypto | no signature check | host verify | AS verify | faster |', '|---|---:|---:|---:|---:|---:|---|');
  for (const x of r.real) L.push(`| ${x.alg} | ${x.host} | ${x.wasm} | ${x.nosig} | ${x.hostVerify} | ${x.wasmVerify} | ${x.faster}${x.statusOk ? '' : ' (**status mismatch**)'} |`);
  L.push('', '## Envoy points', '', '| point | req/s | p50 µs | Envoy CPU µs/req | statuses |', '|---|---:|---:|---:|---|');
  for (const p of r.points) L.push(`| ${seriesOf(p)} ${p.alg} k=${p.k} | ${p.rps} | ${p.p50_us} | ${p.envoyCpuUsPerReq} | ${p.statusOk ? 'ok' : '**MISMATCH**'} |`);
  L.push('', '## Notes', '', ...r.notes.map((n) => `- ${n}`), '');
  return L.join('\n');
}

