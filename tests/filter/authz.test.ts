// Inbound authorization through the cell's STS (dispatch_http_call), its decision cache, and
// the defined behaviour when the STS is down, slow or broken: fail closed (503), or fail open
// only when configured, and counted.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { host, config, token, bearer, nowSec, makeKey, type TestKey } from './fixture.ts';
import type { HttpCall, CallOutcome } from '../host/emulator.ts';

let key: TestKey;
before(async () => { key = await makeKey('ES256'); });

const authzConfig = (extra: Record<string, unknown> = {}) => config([key], {}, {
  workload: 'reviews-service',
  authorization: { cluster: 'sts', timeoutMs: 300, cacheTtlSeconds: 30, forwardHeaders: ['x-tenant'], ...extra },
});

function sts(answer: (call: HttpCall) => CallOutcome) {
  const calls: HttpCall[] = [];
  return { calls, onHttpCall: (c: HttpCall) => { calls.push(c); return answer(c); } };
}
const allow = () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{"allow":true,"status":"ALLOWED","ttlSeconds":30}' });
const deny = () => ({ status: 200, body: '{"allow":false,"status":"DENIED_BY_POLICY","ttlSeconds":30}' });

test('allowed: the STS gets the request context and the verified token; the decision is cached', async () => {
  const s = sts(allow);
  const h = await host(authzConfig(), { onHttpCall: s.onHttpCall });
  const t = await token(key, nowSec(h));
  const spec = { method: 'POST', path: '/reviews/1?x=1', authority: 'reviews', headers: { ...bearer(t), 'x-tenant': 'acme', 'x-request-id': 'rid-1' } };
  const r = await h.request(spec);
  assert.equal(r.kind, 'continue');
  assert.equal(s.calls.length, 1);
  const c = s.calls[0];
  assert.equal(c.cluster, 'sts');
  assert.equal(c.header(':path'), '/authorize');
  assert.equal(c.header(':method'), 'POST');
  const body = JSON.parse(c.body.toString());
  assert.deepEqual(body.destination, { cellName: 'reviews', workload: 'reviews-service' });
  assert.deepEqual(body.requestContext, { host: 'reviews', path: '/reviews/1', rawPath: '/reviews/1', query: 'x=1', method: 'POST', protocol: 'HTTP/1.1' });
  assert.deepEqual(body.requestHeaders, { 'x-tenant': 'acme' });
  assert.equal(body.requestId, 'rid-1');
  assert.equal(body.jwt, t);
  // Same inputs: served from the cache, no second call.
  assert.equal((await h.request(spec)).kind, 'continue');
  assert.equal(s.calls.length, 1);
  assert.equal(h.metric('cellauth.reviews.authz_cache_hit') ?? 0, 0, 'batched in the VM until the next tick');
  h.advance(500);
  assert.equal(h.metric('cellauth.reviews.authz_cache_hit'), 1);
  // Any input the policy sees changes the key.
  assert.equal((await h.request({ ...spec, path: '/reviews/2' })).kind, 'continue');
  assert.equal((await h.request({ ...spec, headers: { ...spec.headers, 'x-tenant': 'other' } })).kind, 'continue');
  assert.equal(s.calls.length, 3);
});

test('denied: 403 AuthzDenied with no RFC 6750 error (a policy decision is not a scope problem)', async () => {
  const h = await host(authzConfig(), sts(deny));
  const r = await h.request({ headers: bearer(await token(key, nowSec(h))) });
  assert.equal(r.status, 403);
  assert.equal(JSON.parse(r.body).status, 'AuthzDenied');
  assert.equal(r.responseHeaders['www-authenticate'], undefined);
  assert.equal(h.metric('cellauth.reviews.authz_denied'), 1);
});

for (const [name, outcome, want] of [
  ['an undefined decision', { status: 200, body: '{"allow":"yes"}' }, 403],
  ['an STS 401 TOKEN_INVALID', { status: 401, body: '{"allow":false,"status":"TOKEN_INVALID"}' }, 403],
  ['STS unreachable (Envoy 503)', { status: 503, body: 'upstream connect error' }, 503],
  ['OPA unavailable (STS 503)', { status: 503, body: '{"allow":false,"status":"OPA_UNAVAILABLE"}' }, 503],
  ['a reset', 'fail', 503],
  ['a timeout', 'timeout', 503],
  ['a non-JSON 200', { status: 200, body: '<html>' }, 503],
] as const) {
  test(`${name} -> ${want}, never allowed`, async () => {
    const h = await host(authzConfig(), sts(() => outcome as CallOutcome));
    const r = await h.request({ headers: bearer(await token(key, nowSec(h))) });
    assert.equal(r.status, want);
    assert.equal(JSON.parse(r.body).status, want === 503 ? 'AuthzUnavailable' : 'AuthzDenied');
  });
}

test('an STS slower than timeoutMs is a 503 (the call times out)', async () => {
  const h = await host(authzConfig(), { onHttpCall: () => undefined });
  const p = h.request({ headers: bearer(await token(key, nowSec(h))) });
  await new Promise((r) => setImmediate(r));
  h.advance(301);
  const r = await p;
  assert.equal(r.status, 503);
});

test('an STS 400 or 413 (the request is over its limits) is 400 AuthzBadRequest: not a policy denial, never fail-open', async () => {
  for (const failOpen of [false, true]) {
    for (const status of [400, 413]) {
      const h = await host(authzConfig({ failOpen }), sts(() => ({ status, body: '{"allow":false,"status":"BAD_REQUEST","ttlSeconds":0}' })));
      const r = await h.request({ headers: bearer(await token(key, nowSec(h))) });
      assert.equal(r.status, 400, `STS ${status}, failOpen ${failOpen}`);
      assert.equal(JSON.parse(r.body).status, 'AuthzBadRequest');
      assert.equal(r.responseHeaders['www-authenticate'], undefined);
      h.advance(500);
      assert.equal(h.metric('cellauth.reviews.authz_bad_request'), 1);
      assert.equal(h.metric('cellauth.reviews.authz_denied') ?? 0, 0);
      assert.equal(h.metric('cellauth.reviews.authz_fail_open') ?? 0, 0);
    }
  }
});

test('an x-request-id longer than the STS takes (256) is left out of the body, not turned into a refusal', async () => {
  const s = sts(allow);
  const h = await host(authzConfig(), { onHttpCall: s.onHttpCall });
  const long = 'e'.repeat(4000);
  const r = await h.request({ headers: { ...bearer(await token(key, nowSec(h))), 'x-request-id': long } });
  assert.equal(r.kind, 'continue');
  assert.equal(JSON.parse(s.calls[0].body.toString()).requestId, '');
  const ok = await h.request({ path: '/other', headers: { ...bearer(await token(key, nowSec(h))), 'x-request-id': 'r'.repeat(256) } });
  assert.equal(ok.kind, 'continue');
  assert.equal(JSON.parse(s.calls[1].body.toString()).requestId, 'r'.repeat(256));
});

test('failOpen: the request passes when the STS is down, and it is counted; a deny still denies', async () => {
  const h = await host(authzConfig({ failOpen: true }), sts(() => 'fail'));
  const r = await h.request({ headers: bearer(await token(key, nowSec(h))) });
  assert.equal(r.kind, 'continue');
  assert.equal(h.metric('cellauth.reviews.authz_fail_open'), 1);
  const d = await host(authzConfig({ failOpen: true }), sts(deny));
  assert.equal((await d.request({ headers: bearer(await token(key, nowSec(d))) })).status, 403);
});

test('failOpen never applies to authentication', async () => {
  const h = await host(authzConfig({ failOpen: true }), sts(() => 'fail'));
  assert.equal((await h.request({})).status, 401);
});

test('a cached decision never outlives the token', async () => {
  const s = sts(allow);
  const h = await host(authzConfig({ cacheTtlSeconds: 600 }), { onHttpCall: s.onHttpCall });
  const t = await token(key, nowSec(h), { ttl: 5 });
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  h.advance(5_500);
  const n = nowSec(h);
  const fresh = await token(key, n, { ttl: 300 });
  assert.equal((await h.request({ headers: bearer(fresh) })).kind, 'continue');
  assert.equal(s.calls.length, 2);
  h.advance(70_000);
  assert.equal((await h.request({ headers: bearer(t) })).status, 401, 'expired token: rejected before any decision is looked up');
});

test('a cached decision is read on the tick clock and counts as expired one tick (500 ms) before its ttl ends', async () => {
  const s = sts(() => ({ status: 200, body: '{"allow":true,"status":"ALLOWED","ttlSeconds":10}' }));
  const h = await host(authzConfig({ cacheTtlSeconds: 600 }), { onHttpCall: s.onHttpCall });
  const t = await token(key, nowSec(h), { ttl: 3600 });
  // Decided at a whole second, so that the ttl's deadline is exactly 10 s later.
  h.advance(1000 - (h.nowMs() % 1000));
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  assert.equal(s.calls.length, 1);
  h.advance(9_000);   // 1 s before the deadline: a hit
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  assert.equal(s.calls.length, 1);
  h.advance(600);     // 400 ms before the deadline: within one tick of it, so asked again
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  assert.equal(s.calls.length, 2, 'never served from the cache within a tick of its deadline');
});

test('a decision is never served to another token, method, query or host: each is its own key', async () => {
  // The STS allows only alice's token; everything else is denied.
  const s = sts((c) => JSON.parse(c.body.toString()).jwt === aliceToken ? allow() : deny());
  const h = await host(authzConfig(), { onHttpCall: s.onHttpCall });
  aliceToken = await token(key, nowSec(h), { sub: 'alice' });
  const bob = await token(key, nowSec(h), { sub: 'bob' });
  const base = { path: '/reviews/1?x=1', authority: 'reviews', headers: bearer(aliceToken) };
  assert.equal((await h.request(base)).kind, 'continue');
  assert.equal((await h.request(base)).kind, 'continue');
  assert.equal(s.calls.length, 1, 'alice: cached');
  assert.equal((await h.request({ ...base, headers: bearer(bob) })).status, 403, 'bob never gets alice\'s decision');
  assert.equal(s.calls.length, 2);
  const peer = (id: string) => ({ properties: { 'connection.uri_san_peer_certificate': id } });
  for (const other of [{ method: 'DELETE' }, { path: '/reviews/1?x=2' }, { path: '/reviews/1' }, { authority: 'other' },
    peer('spiffe://cluster.local/ns/reviews/sa/gateway'), peer('spiffe://cluster.local/ns/reviews/sa/other')]) {
    const before = s.calls.length;
    await h.request({ ...base, ...other });
    assert.equal(s.calls.length, before + 1, `asked again for ${JSON.stringify(other)}`);
  }
});
let aliceToken = '';
