// Builds the crypto probe (bench/crypto-probe/) and describes its bench points (issue 12: why an
// AssemblyScript verify costs more inside Envoy than in Node). One job: variants, keys, configs.
// A variant is a build of the probe with the filter's options (asconfig.json's release target,
// mirrored in bench/crypto-probe/asconfig.json) and one change; a point is a variant, an
// algorithm, k verifies per request, and optional runtime knobs (copy, grow).
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../tests/lib/build-filter.ts';
import { chain, type BenchConfig, type ConfigId } from './configs.ts';

export type ProbeAlg = 'RS256' | 'ES256';
export const PROBE_ALGS: ProbeAlg[] = ['RS256', 'ES256'];

/** asc flags on top of bench/crypto-probe/asconfig.json (= the filter's release options). */
export const VARIANTS: Record<string, string[]> = {
  filter: [],
  noassert: ['--noAssert'],
  stub: ['--runtime', 'stub'],
};
export type Variant = keyof typeof VARIANTS;

export interface ProbePoint {
  id: string;
  variant: string;
  alg: ProbeAlg;
  k: number;
  /** Runtime knobs in the plugin configuration: `copy`, `grow=<pages>`. */
  knobs: string[];
}

let dir: string | undefined;
const built = new Map<string, string>();

/** The probe built as `variant` (once per process); smoke builds at -O0 (seconds, not 15 s). */
export function buildCryptoProbe(variant: string, smoke: boolean): string {
  const have = built.get(variant);
  if (have) return have;
  if (!dir) {
    dir = mkdtempSync(join(tmpdir(), 'cellauth-crypto-probe-'));
    const d = dir;
    process.once('exit', () => rmSync(d, { recursive: true, force: true }));
  }
  const out = join(dir, `${variant}.wasm`);
  execFileSync(join(repoRoot, 'node_modules/.bin/asc'), [
    'bench/crypto-probe/probe-filter.ts', '--config', 'bench/crypto-probe/asconfig.json', ...VARIANTS[variant],
    ...(smoke ? ['-O0'] : []), '--outFile', out,
  ], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  built.set(variant, out);
  return out;
}

export interface ProbeKey { alg: ProbeAlg; a: string; b: string; sig: string; input: string }

/** A fresh key per algorithm and one JWS signing input (bench-token sized) signed with it. */
export function probeKeys(): Record<ProbeAlg, ProbeKey> {
  const claims = { iss: 'https://idp.bench.cellauth.local', aud: 'reviews.default', sub: 'user-1', jti: 'bench-1', scope: 'read', iat: 1764547200, exp: 1764550800 };
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const hex = (s: string | Buffer) => (typeof s === 'string' ? Buffer.from(s, 'base64url') : s).toString('hex');
  const out = {} as Record<ProbeAlg, ProbeKey>;
  for (const alg of PROBE_ALGS) {
    const input = Buffer.from(`${b64({ alg, typ: 'JWT', kid: 'probe' })}.${b64(claims)}`);
    if (alg === 'RS256') {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const j = publicKey.export({ format: 'jwk' });
      out[alg] = { alg, a: hex(j.n!), b: hex(j.e!), sig: hex(sign('sha256', input, privateKey)), input: hex(input) };
    } else {
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const j = publicKey.export({ format: 'jwk' });
      out[alg] = { alg, a: hex(j.x!), b: hex(j.y!), sig: hex(sign('sha256', input, { key: privateKey, dsaEncoding: 'ieee-p1363' })), input: hex(input) };
    }
  }
  return out;
}

export function pluginConfigText(key: ProbeKey, k: number, knobs: string[]): string {
  return [key.alg, String(k), key.a, key.b, key.sig, key.input, ...knobs].join(' ');
}

export function pointId(variant: string, alg: ProbeAlg, k: number, knobs: string[]): string {
  return ['probe', variant, ...knobs.map((x) => x.replace('=', '')), alg, `k${k}`].join('_');
}

export function probeConfig(p: ProbePoint, keys: Record<ProbeAlg, ProbeKey>, smoke: boolean): BenchConfig {
  const label = `${p.variant}${p.knobs.length ? `+${p.knobs.join('+')}` : ''} ${p.alg} k=${p.k}`;
  return {
    id: p.id as ConfigId, label, series: `${p.variant}${p.knobs.length ? `+${p.knobs.join('+')}` : ''} ${p.alg}`, x: String(p.k),
    needsSts: false, bodyRequests: false, ignoresTokens: true,
    spec: () => chain([{ wasm: { pluginConfig: pluginConfigText(keys[p.alg], p.k, p.knobs), rootId: 'crypto_probe', vmId: p.id, wasmPath: buildCryptoProbe(p.variant, smoke) } }]),
  };
}

/** The points of a run: the filter's build at k = 0, 1, 4 per algorithm (k = 0, 1 in smoke),
 *  and each other variant or knob at k = 4 beside it. */
export function probePoints(smoke: boolean): ProbePoint[] {
  const pts: ProbePoint[] = [];
  const add = (variant: string, alg: ProbeAlg, k: number, knobs: string[] = []) => pts.push({ id: pointId(variant, alg, k, knobs), variant, alg, k, knobs });
  for (const alg of PROBE_ALGS) {
    for (const k of smoke ? [0, 1] : [0, 1, 4]) add('filter', alg, k);
    if (smoke) continue;
    for (const v of Object.keys(VARIANTS)) if (v !== 'filter') add(v, alg, 4);
    add('filter', alg, 4, ['copy']);
    add('filter', alg, 4, ['grow=256']);
  }
  return pts;
}
