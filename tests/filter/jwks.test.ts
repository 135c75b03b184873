// Remote JWKS through dispatch_http_call: fetched by the root context, shared by every worker
// through shared data (CAS), refetched at most once per interval for an unknown kid, the last
// good set kept through failures, and no keys at all failing closed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { host, token, bearer, nowSec, makeKey, jwksOf, ISS, AUD, type TestKey } from './fixture.ts';
import { SharedStore, type HttpCall, type ProxyWasmHost } from '../host/emulator.ts';

// Envoy answers http calls asynchronously; let the emulator deliver what is due.
const settle = async () => { for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r)); };

function remoteConfig(extra: Record<string, unknown> = {}) {
  return {
    version: 'v1', cell: 'reviews',
    jwtRules: [{ issuer: ISS, audiences: [AUD], remoteJwks: { cluster: 'jwks', path: '/keys', refetchIntervalMs: 1000, cacheDurationSeconds: 300, ...extra } }],
  };
}

// A JWKS "server" the emulator's http calls reach: its answer can change or fail.
function jwksServer(initial: TestKey[]) {
  const state = { keys: initial, down: false, calls: [] as HttpCall[] };
  const handler = (call: HttpCall) => {
    state.calls.push(call);
    if (state.down) return 'fail' as const;
    return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(jwksOf(...state.keys)) };
  };
  return { state, handler };
}

test('the JWKS is fetched from the configured cluster and path, then requests pass', async () => {
  const k = await makeKey('ES256');
  const s = jwksServer([k]);
  const h = await host(remoteConfig(), { onHttpCall: s.handler });
  await settle();
  assert.equal(s.state.calls.length, 1, 'fetched once at configure');
  assert.equal(s.state.calls[0].cluster, 'jwks');
  assert.equal(s.state.calls[0].header(':path'), '/keys');
  assert.equal(s.state.calls[0].header(':method'), 'GET');
  assert.equal((await h.request({ headers: bearer(await token(k, nowSec(h))) })).kind, 'continue');
  assert.equal(h.metric('cellauth.reviews.jwks_fetch_ok'), 1);
});

test('two workers share one fetch through shared data', async () => {
  const k = await makeKey('RS256');
  const s = jwksServer([k]);
  const store = new SharedStore();
  const w1 = await host(remoteConfig(), { onHttpCall: s.handler, sharedStore: store });
  await settle();
  const w2 = await host(remoteConfig(), { onHttpCall: s.handler, sharedStore: store, clockMs: w1.nowMs() });
  await settle();
  assert.equal(s.state.calls.length, 1, 'the second worker found the keys (and the lease) in shared data');
  assert.equal((await w2.request({ headers: bearer(await token(k, nowSec(w2))) })).kind, 'continue');
});

test('rotation: a token with a new kid triggers one refetch and is accepted; refetches are rate-limited', async () => {
  const old = await makeKey('ES256');
  const next = await makeKey('ES256');
  const s = jwksServer([old]);
  const h = await host(remoteConfig(), { onHttpCall: s.handler });
  await settle();
  s.state.keys = [old, next];
  h.advance(1500);
  await settle();
  const r = await h.request({ headers: bearer(await token(next, nowSec(h))) });
  assert.equal(r.kind, 'continue', r.body);
  assert.equal(h.metric('cellauth.reviews.jwks_refetch_unknown_kid'), 1);
  // Unknown kids inside the interval do not hammer the JWKS endpoint.
  const stranger = await makeKey('ES256');
  const before = s.state.calls.length;
  for (let i = 0; i < 5; i++) {
    const x = await h.request({ headers: bearer(await token(stranger, nowSec(h), { i })) });
    assert.equal(JSON.parse(x.body).status, 'JwksKidAlgMismatch');
  }
  assert.ok(s.state.calls.length - before <= 1, `at most one refetch per interval, saw ${s.state.calls.length - before}`);
});

test('the last good key set survives a failed refresh (stale-if-error)', async () => {
  const k = await makeKey('ES256');
  const s = jwksServer([k]);
  const h = await host(remoteConfig({ cacheDurationSeconds: 1 }), { onHttpCall: s.handler });
  await settle();
  s.state.down = true;
  for (let i = 0; i < 5; i++) { h.advance(1000); await settle(); }
  assert.ok((h.metric('cellauth.reviews.jwks_fetch_failed') ?? 0) >= 1, 'refreshes were attempted and failed');
  assert.equal((await h.request({ headers: bearer(await token(k, nowSec(h))) })).kind, 'continue');
  assert.match(h.logText(), /keeping the last good key set/);
});

test('a garbage JWKS response keeps the old keys too', async () => {
  const k = await makeKey('ES256');
  let garbage = false;
  const h = await host(remoteConfig({ cacheDurationSeconds: 1 }), {
    onHttpCall: () => garbage ? { status: 200, body: '{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}' } : { status: 200, body: JSON.stringify(jwksOf(k)) },
  });
  await settle();
  garbage = true;
  h.advance(2000);
  await settle();
  assert.ok((h.metric('cellauth.reviews.jwks_fetch_failed') ?? 0) >= 1, 'the unusable JWKS counts as a failed fetch');
  assert.equal((await h.request({ headers: bearer(await token(k, nowSec(h))) })).kind, 'continue');
});

test('no keys at all fails closed, then recovers when the JWKS comes back', async () => {
  const k = await makeKey('ES256');
  const s = jwksServer([k]);
  s.state.down = true;
  const h = await host(remoteConfig(), { onHttpCall: s.handler });
  await settle();
  const t = await token(k, nowSec(h));
  const r = await h.request({ headers: bearer(t) });
  assert.equal(r.status, 401);
  assert.equal(JSON.parse(r.body).status, 'JwksNoValidKeys');
  assert.match(h.logText(), /no keys: failing closed/);
  s.state.down = false;
  h.advance(1000);
  await settle();
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
});

test('a JWKS call that times out is a failed fetch, and the waiting request fails closed', async () => {
  const k = await makeKey('ES256');
  const h = await host(remoteConfig({ timeoutMs: 200 }), { onHttpCall: () => 'timeout' });
  await settle();
  const r = await h.request({ headers: bearer(await token(k, nowSec(h))) });
  assert.equal(JSON.parse(r.body).status, 'JwksNoValidKeys');
});

test('cold start across workers: a worker with no keys waits for another worker\'s fetch instead of failing', async () => {
  const k = await makeKey('ES256');
  const store = new SharedStore();
  const pending: HttpCall[] = [];
  const hold = (c: HttpCall) => { pending.push(c); return undefined; };
  const w1 = await host(remoteConfig(), { onHttpCall: hold, sharedStore: store });
  const w2 = await host(remoteConfig(), { onHttpCall: hold, sharedStore: store, clockMs: w1.nowMs() });
  const w3 = await host(remoteConfig(), { onHttpCall: hold, sharedStore: store, clockMs: w1.nowMs() });
  await settle();
  const t = await token(k, nowSec(w1));
  const r2 = w2.request({ headers: bearer(t) });   // takes the unknown-kid lease and fetches itself
  const r3 = w3.request({ headers: bearer(t) });   // both leases held elsewhere: must wait, not fail
  await settle();
  const first = pending.find((c) => c.contextId !== undefined)!;
  w1.respond(first.token, { status: 200, body: JSON.stringify(jwksOf(k)) });
  await settle();
  w2.advance(500); w3.advance(500);
  await settle();
  assert.equal((await r3).kind, 'continue', 'w3 adopted the shared copy on its next tick');
  for (const c of [...w2.pendingCalls]) w2.respond(c.token, { status: 200, body: JSON.stringify(jwksOf(k)) });
  await settle();
  w2.advance(500);
  assert.equal((await r2).kind, 'continue');
});

test('a waiting request fails closed after its deadline when no keys ever arrive', async () => {
  const k = await makeKey('ES256');
  const h = await host(remoteConfig({ timeoutMs: 200 }), { onHttpCall: () => undefined });
  const r = h.request({ headers: bearer(await token(k, nowSec(h))) });
  await settle();
  for (let i = 0; i < 6; i++) { h.advance(500); await settle(); }
  assert.equal(JSON.parse((await r).body).status, 'JwksNoValidKeys');
});
