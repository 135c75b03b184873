// Ratios to native jwt_authn and the issue-5 and issue-12 targets, computed from one run's rows.
// Reported, never asserted: speed belongs in the report, not in tests.
import type { ConfigId } from './configs.ts';
import type { Row } from './matrix.ts';
import type { SoakResult } from './soak.ts';

export function find(rows: Row[], config: ConfigId, workload: string): Row | undefined {
  return rows.find((r) => r.config === config && r.workload === workload);
}

/** rps ratio of `row` to the same workload under `base`; undefined when either is missing. */
export function ratio(rows: Row[], row: Row, base: ConfigId): number | undefined {
  const b = find(rows, base, row.workload);
  return b && b.wrk.rps > 0 ? row.wrk.rps / b.wrk.rps : undefined;
}

export interface Target { what: string; target: string; measured: string; met: boolean | null }

const f2 = (x: number) => x.toFixed(2);
/** CPU per request of `a` against `b`: what req/s would be if each had the cores to itself. */
const cpu = (a: Row, b: Row) => `${a.envoyCpuUsPerReq} vs ${b.envoyCpuUsPerReq} µs/req = ${b.envoyCpuUsPerReq > 0 ? f2(b.envoyCpuUsPerReq / a.envoyCpuUsPerReq) : '–'}x`;
/** CPU per request summed over every process involved (Envoy + STS + OPA, or + opa-extauthz). */
export const totalCpu = (r: Row) => r.envoyCpuUsPerReq + r.helperCpuUsPerReq;
const tot = (r: Row) => totalCpu(r).toFixed(1);

// What no token-reading proxy-wasm filter can beat in this run: the empty filter plus the one
// header read (hostcalls_1), against jwt_authn + cache, on the same ES256 requests.
function readBound(rows: Row[]): string {
  const read = find(rows, 'hostcalls_1', 'ES256 single'), n = find(rows, 'jwt_authn_cache', 'ES256 single');
  return read && n ? `; bound: the empty filter plus the one header read reaches ${f2(read.wrk.rps / n.wrk.rps)}x jwt_authn+cache (ES256, Envoy CPU ${cpu(read, n)})` : '';
}

export function evaluateTargets(rows: Row[], soak?: SoakResult): Target[] {
  const out: Target[] = [];
  for (const alg of ['RS256', 'ES256']) {
    const single = `${alg} single`;
    const distinct = `${alg} distinct`;
    const c = find(rows, 'cellauth_host', single);
    const n = find(rows, 'jwt_authn_cache', single);
    out.push(c && n
      ? { what: `cache-hit throughput (${alg})`, target: '>= 0.90x jwt_authn+cache', measured: `${f2(c.wrk.rps / n.wrk.rps)}x (${c.wrk.rps.toFixed(0)} vs ${n.wrk.rps.toFixed(0)} req/s; Envoy CPU ${cpu(c, n)})${readBound(rows)}`, met: c.wrk.rps >= 0.9 * n.wrk.rps }
      : { what: `cache-hit throughput (${alg})`, target: '>= 0.90x', measured: 'not run', met: null });
    out.push(c && n
      ? { what: `cache-hit p99 (${alg})`, target: '<= jwt_authn+cache p99 + 50 µs', measured: `${c.wrk.p99_us} µs vs ${n.wrk.p99_us} µs (${c.wrk.p99_us - n.wrk.p99_us >= 0 ? '+' : ''}${c.wrk.p99_us - n.wrk.p99_us} µs)`, met: c.wrk.p99_us <= n.wrk.p99_us + 50 }
      : { what: `cache-hit p99 (${alg})`, target: '<= native + 50 µs', measured: 'not run', met: null });
    const cd = find(rows, 'cellauth_host', distinct);
    const nd = find(rows, 'jwt_authn', distinct);
    out.push(cd && nd
      ? { what: `distinct-token throughput, host crypto (${alg})`, target: '>= 0.80x jwt_authn (no cache)', measured: `${f2(cd.wrk.rps / nd.wrk.rps)}x (${cd.wrk.rps.toFixed(0)} vs ${nd.wrk.rps.toFixed(0)} req/s; Envoy CPU ${cpu(cd, nd)})`, met: cd.wrk.rps >= 0.8 * nd.wrk.rps }
      : { what: `distinct-token throughput (${alg})`, target: '>= 0.80x', measured: 'not run', met: null });
    const a = find(rows, 'cellauth_authz', single);
    const x = find(rows, 'ext_authz', single);
    out.push(a && x
      ? { what: `authz with decision cache vs ext_authz per request (${alg}, one token)`, target: '>= 3x', measured: `${f2(a.wrk.rps / x.wrk.rps)}x (${a.wrk.rps.toFixed(0)} vs ${x.wrk.rps.toFixed(0)} req/s; CPU per request, Envoy + STS + OPA: ${tot(a)} vs ${tot(x)} µs)`, met: a.wrk.rps >= 3 * x.wrk.rps }
      : { what: `authz with decision cache vs ext_authz (${alg})`, target: '>= 3x', measured: 'pending (STS configurations did not run)', met: null });
  }
  // Issue 12: against what users pick today, on the same requests and the same rule.
  const floor = find(rows, 'wasm_floor', 'ES256 single'), none = find(rows, 'noauth', 'ES256 single');
  // With the hostcalls_* rows: how much of a cache hit is the host calls themselves (the empty
  // filter making exactly cellauth's calls) and how much is cellauth's work in the VM.
  const read = find(rows, 'hostcalls_1', 'ES256 single'), all3 = find(rows, 'hostcalls_3a', 'ES256 single');
  const replace = find(rows, 'hostcalls_2', 'ES256 single');
  const hostcallSplit = (cellauthCpu: number): string => {
    if (!floor || !read || !all3) return '';
    const d = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(1)}`;
    return ` = header read ${d(read.envoyCpuUsPerReq - floor.envoyCpuUsPerReq)}, subject added and token removed ${d(all3.envoyCpuUsPerReq - read.envoyCpuUsPerReq)}` +
      ` (the empty filter making exactly cellauth's three host calls${replace ? `; a replace instead of the add, when a client sent its own subject: ${d(replace.envoyCpuUsPerReq - read.envoyCpuUsPerReq)} over the read` : ''}),` +
      ` then cellauth's work in the VM ${d(cellauthCpu - all3.envoyCpuUsPerReq)} µs`;
  };
  for (const alg of ['RS256', 'ES256']) {
    const c = find(rows, 'cellauth_host', `${alg} single`);
    if (c && floor) {
      const over = c.envoyCpuUsPerReq - floor.envoyCpuUsPerReq;
      const b = find(rows, 'cellauth_before', `${alg} single`);
      out.push({ what: `cache-hit Envoy CPU over the empty-filter floor (${alg})`, target: '<= floor + 6 µs',
        measured: `+${over.toFixed(1)} µs (${c.envoyCpuUsPerReq} vs floor ${floor.envoyCpuUsPerReq} µs/req)${hostcallSplit(c.envoyCpuUsPerReq)}${b ? `; the BENCH_BEFORE_WASM build in the same run: +${(b.envoyCpuUsPerReq - floor.envoyCpuUsPerReq).toFixed(1)} µs, ${b.wrk.rps.toFixed(0)} vs ${c.wrk.rps.toFixed(0)} req/s now` : ''}`,
        met: over <= 6 });
    }
  }
  const floorNote = floor && none ? `; the empty wasm filter alone costs ${(floor.envoyCpuUsPerReq - none.envoyCpuUsPerReq).toFixed(1)} µs of Envoy CPU over no auth in this run` : '';
  for (const alg of ['RS256', 'ES256']) {
    const single = `${alg} single`;
    const c = find(rows, 'cellauth_authz_get', single);
    const o = find(rows, 'opa_extauthz', single);
    const r = find(rows, 'jwt_authn_rbac', single);
    if (c && o) {
      const q = totalCpu(c) / totalCpu(o);
      out.push({ what: `authz CPU per request, all processes, vs OPA over ext_authz gRPC (${alg}, one token)`, target: '<= 0.25x',
        measured: `${f2(q)}x (${tot(c)} µs = Envoy ${c.envoyCpuUsPerReq} + STS/OPA ${c.helperCpuUsPerReq}, vs ${tot(o)} µs = Envoy ${o.envoyCpuUsPerReq} + opa-extauthz ${o.helperCpuUsPerReq})`,
        met: q <= 0.25 });
    } else out.push({ what: `authz CPU per request vs OPA over ext_authz gRPC (${alg})`, target: '<= 0.25x', measured: 'not run', met: null });
    if (c && r) {
      const q = c.wrk.rps / r.wrk.rps;
      const h = find(rows, 'cellauth_host', single), n = find(rows, 'noauth', 'ES256 single');
      // Where the extra Envoy CPU goes, each step measured in this run: the proxy-wasm floor, the
      // token-cache hit on top of it, the decision-cache hit on top of that.
      const steps = floor && h && n
        ? ` = no auth ${n.envoyCpuUsPerReq} + empty wasm filter ${(floor.envoyCpuUsPerReq - n.envoyCpuUsPerReq).toFixed(1)} + token-cache hit ${(h.envoyCpuUsPerReq - floor.envoyCpuUsPerReq).toFixed(1)} + decision-cache hit ${(c.envoyCpuUsPerReq - h.envoyCpuUsPerReq).toFixed(1)} µs`
        : floorNote;
      const why = q >= 0.8 ? '' : `; missed by Envoy CPU: ${c.envoyCpuUsPerReq} vs ${r.envoyCpuUsPerReq} µs/req (+${(c.envoyCpuUsPerReq - r.envoyCpuUsPerReq).toFixed(1)} µs)${steps}`;
      out.push({ what: `authz throughput vs jwt_authn + RBAC (${alg}, one token)`, target: '>= 0.80x',
        measured: `${f2(q)}x (${c.wrk.rps.toFixed(0)} vs ${r.wrk.rps.toFixed(0)} req/s; p99 ${c.wrk.p99_us} vs ${r.wrk.p99_us} µs; total CPU ${tot(c)} vs ${tot(r)} µs/req${why})`,
        met: q >= 0.8 });
    } else out.push({ what: `authz throughput vs jwt_authn + RBAC (${alg})`, target: '>= 0.80x', measured: 'not run', met: null });
  }
  out.push(soak
    ? { what: 'wasm memory across the soak', target: 'no growth after warm-up', measured: soak.summary, met: soak.flat }
    : { what: 'wasm memory across the soak', target: 'no growth after warm-up', measured: 'run BENCH_SOAK=1 npm run bench', met: null });
  return out;
}
