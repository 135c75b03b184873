// Workloads: one valid token repeated (cache-hit path), a pool of distinct valid tokens (every
// request verifies a signature), and distinct tokens with a bad signature (denial path); each for
// RS256 and ES256. Token files go to a temp dir that the caller removes.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ALGS, mintPool, tamper, type BenchAlg, type BenchKey } from './tokens.ts';

export type Kind = 'single' | 'distinct' | 'invalid';
export const KINDS: Kind[] = ['single', 'distinct', 'invalid'];

export interface Workload {
  id: string;
  alg: BenchAlg;
  kind: Kind;
  tokenFile: string;
  tokens: number;
  /** First few tokens, for the status preflight (kept in memory only). */
  sample: string[];
}

export async function prepareWorkloads(dir: string, keys: Record<BenchAlg, BenchKey>, poolSize: number,
  log: (m: string) => void): Promise<Workload[]> {
  const out: Workload[] = [];
  for (const alg of ALGS) {
    const t0 = Date.now();
    const pool = await mintPool(keys[alg], poolSize);
    log(`minted ${pool.length} ${alg} tokens in ${Date.now() - t0} ms`);
    const lists: Record<Kind, string[]> = { single: [pool[0]], distinct: pool, invalid: pool.map(tamper) };
    for (const kind of KINDS) {
      const tokenFile = join(dir, `${alg}-${kind}.txt`);
      writeFileSync(tokenFile, lists[kind].join('\n') + '\n', { mode: 0o600 });
      out.push({ id: `${alg} ${kind}`, alg, kind, tokenFile, tokens: lists[kind].length, sample: lists[kind].slice(0, 3) });
    }
  }
  return out;
}
