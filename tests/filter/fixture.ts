// Shared set-up for filter tests on the host emulator: the real build/cellauth.wasm, real keys
// (jose), and a config builder that mirrors what a user writes.
import { ProxyWasmHost, type HostOptions } from '../host/emulator.ts';
import { makeKey, jwksOf, type TestKey, type Alg } from '../lib/keys.ts';
import { mint, claims, flipSignatureBit } from '../lib/mint.ts';
import { ensureFilterBuilt } from '../lib/build-filter.ts';


export const ISS = 'https://issuer.test';
export const AUD = 'reviews.default';

export async function load(opts: HostOptions = {}): Promise<ProxyWasmHost> {
  return ProxyWasmHost.load(ensureFilterBuilt(), opts);
}

export async function host(config: object, opts: HostOptions = {}): Promise<ProxyWasmHost> {
  const h = await ProxyWasmHost.load(ensureFilterBuilt(), opts);
  const ok = h.configure(config);
  if (!ok) throw new Error('configure refused: ' + h.logs.map((l) => l.message).join(' | '));
  return h;
}

export function config(keys: TestKey[], rule: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Record<string, unknown> {
  return { version: 'v1', cell: 'reviews', jwtRules: [{ issuer: ISS, audiences: [AUD], jwks: jwksOf(...keys), ...rule }], ...top };
}

export async function token(key: TestKey, nowSec: number, extra: Record<string, unknown> = {}, header?: Record<string, unknown>): Promise<string> {
  return mint(claims(nowSec, { iss: ISS, aud: AUD, ...extra }), { key, header });
}

export const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
export const nowSec = (h: ProxyWasmHost) => Math.floor(h.nowMs() / 1000);
/** The same token with one signature bit flipped: well-formed, never valid. */
export const flip = (t: string) => flipSignatureBit(t, 3);
export { makeKey, jwksOf, mint, claims, type TestKey, type Alg };
