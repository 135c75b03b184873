// Bench keys and token pools. Tokens are signed with node:crypto in worker threads (RS256 costs
// ~1 ms per signature, so 10,000 of them on one core would take ~10 s). Token files live in a
// temp dir only; they are never printed.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { cpus } from 'node:os';

export type BenchAlg = 'RS256' | 'ES256';
export const ALGS: BenchAlg[] = ['RS256', 'ES256'];

export const ISSUER = 'https://idp.bench.cellauth.local';
export const CELL = 'reviews';
export const AUDIENCE = `${CELL}.default`;

export interface BenchKey { alg: BenchAlg; kid: string; privatePem: string; jwk: Record<string, unknown> }

export function makeKeys(): Record<BenchAlg, BenchKey> {
  const mk = (alg: BenchAlg, kid: string, pair: { publicKey: KeyObject; privateKey: KeyObject }): BenchKey => ({
    alg, kid,
    privatePem: pair.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string,
    jwk: { ...pair.publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' },
  });
  return {
    RS256: mk('RS256', 'bench-rs', generateKeyPairSync('rsa', { modulusLength: 2048 })),
    ES256: mk('ES256', 'bench-es', generateKeyPairSync('ec', { namedCurve: 'P-256' })),
  };
}

export function jwksOf(keys: Record<BenchAlg, BenchKey>): { keys: Record<string, unknown>[] } {
  return { keys: ALGS.map((a) => keys[a].jwk) };
}

// CommonJS source for an eval'd worker: signs tokens [from, to) with distinct sub and jti.
const WORKER = `
const { workerData, parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const { alg, kid, privatePem, from, to, iss, aud, now, ttl, scope } = workerData;
const key = crypto.createPrivateKey(privatePem);
const b64 = (s) => Buffer.from(s).toString('base64url');
const head = b64(JSON.stringify({ alg, typ: 'JWT', kid }));
const out = [];
for (let i = from; i < to; i++) {
  const body = b64(JSON.stringify({ iss, aud, sub: 'user-' + i, jti: 'bench-' + i, scope, iat: now, exp: now + ttl }));
  const input = head + '.' + body;
  const sig = alg === 'ES256'
    ? crypto.sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' })
    : crypto.sign('sha256', Buffer.from(input), key);
  out.push(input + '.' + sig.toString('base64url'));
}
parentPort.postMessage(out);
`;

/** `count` distinct valid tokens for `key`, valid for `ttlSeconds`, with claim `scope` (the
 *  bench policy lets `read` through only). */
export async function mintPool(key: BenchKey, count: number, ttlSeconds = 3600, scope = 'read'): Promise<string[]> {
  const workers = Math.max(1, Math.min(cpus().length, 4, Math.ceil(count / 500)));
  const now = Math.floor(Date.now() / 1000);
  const per = Math.ceil(count / workers);
  const parts = await Promise.all(Array.from({ length: workers }, (_, w) => new Promise<string[]>((resolve, reject) => {
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { alg: key.alg, kid: key.kid, privatePem: key.privatePem, from: w * per, to: Math.min(count, (w + 1) * per), iss: ISSUER, aud: AUDIENCE, now, ttl: ttlSeconds, scope },
    });
    worker.once('message', resolve);
    worker.once('error', reject);
    worker.once('exit', (code) => { if (code !== 0) reject(new Error(`mint worker exited with ${code}`)); });
  })));
  return parts.flat();
}

/** Same header and claims, one bit of the signature's last byte flipped: a bad signature that
 *  still parses (for RS256 it stays below the modulus, for ES256 it stays a 64-byte r||s). */
export function tamper(token: string): string {
  const dot = token.lastIndexOf('.');
  const sig = Buffer.from(token.slice(dot + 1), 'base64url');
  sig[sig.length - 1] ^= 1;
  return `${token.slice(0, dot)}.${sig.toString('base64url')}`;
}
