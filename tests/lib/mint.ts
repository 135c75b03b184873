// Mints JWTs with jose, and tampers with them for negative tests. Tokens are secrets in real
// life: tests must not print them.
import { CompactSign, type JWTPayload } from 'jose';
import { createHmac } from 'node:crypto';
import type { TestKey } from './keys.ts';

export interface MintOptions {
  key: TestKey;
  /** kid in the header; null leaves it out. Default key.kid. */
  kid?: string | null;
  /** Extra or overriding protected-header fields (alg stays the key's unless given here). */
  header?: Record<string, unknown>;
}

/** Signs exactly the given claims (add iss/aud/exp yourself, or use `claims()`). */
export async function mint(payload: JWTPayload | string, opts: MintOptions): Promise<string> {
  const header: Record<string, unknown> = { alg: opts.key.alg, typ: 'JWT' };
  const kid = opts.kid === undefined ? opts.key.kid : opts.kid;
  if (kid !== null) header.kid = kid;
  Object.assign(header, opts.header);
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  // jose refuses unknown `crit` names unless told they are recognized; tests need them signed.
  const crit = Array.isArray(header.crit) ? Object.fromEntries((header.crit as string[]).map((n) => [n, true])) : undefined;
  return new CompactSign(new TextEncoder().encode(body)).setProtectedHeader(header as any).sign(opts.key.signingKey, crit ? { crit } : undefined);
}

/** Standard claims relative to `nowSec` (the emulator's clock, or Date.now() for Envoy). */
export function claims(nowSec: number, c: { iss: string; aud?: string | string[]; sub?: string; ttl?: number; nbf?: number } & JWTPayload): JWTPayload {
  const { ttl = 300, ...rest } = c;
  return { sub: 'user-1', iat: nowSec, exp: nowSec + ttl, ...rest };
}

export const nowSeconds = (): number => Math.floor(Date.now() / 1000);

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const parts = (t: string) => { const p = t.split('.'); if (p.length !== 3) throw new Error('not a compact JWS'); return p; };

export function decodeHeader(token: string): Record<string, unknown> { return JSON.parse(Buffer.from(parts(token)[0], 'base64url').toString()); }
export function decodePayload(token: string): Record<string, unknown> { return JSON.parse(Buffer.from(parts(token)[1], 'base64url').toString()); }

/** Flips one bit of the signature (default: in its first byte). */
export function flipSignatureBit(token: string, byte = 0, bit = 0): string {
  const [h, p, s] = parts(token);
  const sig = Buffer.from(s, 'base64url');
  sig[byte % sig.length] ^= 1 << bit;
  return `${h}.${p}.${sig.toString('base64url')}`;
}

/** Replaces claims but keeps the old signature. */
export function changePayload(token: string, patch: Record<string, unknown>): string {
  const [h, , s] = parts(token);
  return `${h}.${b64({ ...decodePayload(token), ...patch })}.${s}`;
}

/** Replaces header fields but keeps the old signature. */
export function changeHeader(token: string, patch: Record<string, unknown>): string {
  const [, p, s] = parts(token);
  return `${b64({ ...decodeHeader(token), ...patch })}.${p}.${s}`;
}

/** The classic `alg: none` forgery: same claims, no signature. */
export function algNone(token: string, keepSignature = false): string {
  const [, p, s] = parts(token);
  return `${b64({ alg: 'none', typ: 'JWT' })}.${p}.${keepSignature ? s : ''}`;
}

/** Key-type confusion: HMAC-signs with `secret` (e.g. an RSA public key's bytes) under alg HS*. */
export function hmacForge(secret: Uint8Array | string, header: Record<string, unknown>, payload: JWTPayload, hash: 'sha256' | 'sha384' | 'sha512' = 'sha256'): string {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac(hash, secret).update(input).digest('base64url')}`;
}

/** A token made of arbitrary segments, for parser edge cases. */
export function rawToken(header: unknown, payload: unknown, signature = ''): string {
  return `${b64(header)}.${b64(payload)}.${signature}`;
}
