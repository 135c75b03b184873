// The cache-hit path (issue 12): at most three host calls (every request header in one read, the
// subject written with one replace that overwrites a client's copy, the token stripped), the
// clock read from the tick with cached tokens expiring one tick early, and identity headers that
// a client sends never surviving, on the emulator and through a real Envoy.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { countingHost } from './hostcalls.ts';
import { config, makeKey, token, bearer, nowSec, host } from '../filter/fixture.ts';
import { startEnvoy, type Envoy } from '../lib/envoy.ts';
import { startUpstream, type Upstream } from '../lib/upstream.ts';
import { jwksOf } from '../lib/keys.ts';

const SUBJECT = 'x-cellery-auth-subject';

test('a token-cache hit costs at most three host calls', async () => {
  const k = await makeKey('ES256');
  const c = await countingHost(config([k]));
  const t = await token(k, nowSec(c.host), { sub: 'alice' });
  assert.equal((await c.host.request({ headers: bearer(t) })).kind, 'continue');
  c.reset();
  const r = await c.host.request({ headers: { ...bearer(t), [SUBJECT]: 'mallory' } });
  assert.equal(r.kind, 'continue');
  const calls = [...c.counts.entries()].sort();
  const total = calls.reduce((a, [, n]) => a + n, 0);
  assert.ok(total <= 3, `host calls on a cache hit: ${JSON.stringify(calls)}`);
  assert.deepEqual(Object.fromEntries(calls), { proxy_get_header_map_pairs: 1, proxy_remove_header_map_value: 1, proxy_replace_header_map_value: 1 });
  assert.equal(r.upstreamHeaders[SUBJECT], 'alice', 'the replace overwrote the spoofed subject');
  assert.equal(r.upstreamHeaders.authorization, undefined);
});

test('without a client copy of the subject header, the hit adds it; a request with nothing to strip removes nothing', async () => {
  const k = await makeKey('ES256');
  const c = await countingHost(config([k], {}, { rules: [{ match: { prefix: '/public' }, requires: 'none' }] }));
  const t = await token(k, nowSec(c.host), { sub: 'alice' });
  assert.equal((await c.host.request({ headers: bearer(t) })).kind, 'continue');
  c.reset();
  const r = await c.host.request({ headers: bearer(t) });
  assert.equal(r.kind, 'continue');
  assert.deepEqual(Object.fromEntries([...c.counts.entries()].sort()),
    { proxy_add_header_map_value: 1, proxy_get_header_map_pairs: 1, proxy_remove_header_map_value: 1 });
  assert.deepEqual(r.upstreamHeaderPairs.filter(([n]) => n === SUBJECT), [[SUBJECT, 'alice']]);
  assert.equal(r.upstreamHeaders.authorization, undefined);
  // Anonymous, no identity header sent: the snapshot shows there is nothing to remove.
  c.reset();
  const anon = await c.host.request({ path: '/public' });
  assert.equal(anon.kind, 'continue');
  assert.deepEqual(Object.fromEntries(c.counts), { proxy_get_header_map_pairs: 1 });
  // Anonymous with a spoofed subject: removed.
  const spoofed = await c.host.request({ path: '/public', headers: { [SUBJECT]: 'mallory' } });
  assert.equal(spoofed.upstreamHeaders[SUBJECT], undefined);
});

test('a decision-cache hit adds only the peer read: four host calls, no clock read, no counter call', async () => {
  const k = await makeKey('ES256');
  let asked = 0;
  const c = await countingHost(config([k], {}, { authorization: { cluster: 'sts', timeoutMs: 300, cacheTtlSeconds: 30 } }), undefined, undefined, {
    onHttpCall: () => { asked++; return { status: 200, body: '{"allow":true,"status":"ALLOWED","ttlSeconds":30}' }; },
  });
  const t = await token(k, nowSec(c.host), { sub: 'alice' });
  assert.equal((await c.host.request({ headers: bearer(t) })).kind, 'continue');
  c.reset();
  const r = await c.host.request({ headers: bearer(t) });
  assert.equal(r.kind, 'continue');
  assert.equal(asked, 1, 'served from the decision cache');
  assert.deepEqual(Object.fromEntries([...c.counts.entries()].sort()), {
    proxy_add_header_map_value: 1, proxy_get_header_map_pairs: 1, proxy_get_property: 1, proxy_remove_header_map_value: 1,
  });
});

test('an outbound exchange-cache hit: the headers in one read, the user context, the cell token written; no clock read', async () => {
  const k = await makeKey('ES256');
  let asked = 0;
  const c = await countingHost(config([k], {}, { mode: 'outbound', tokenExchange: { cluster: 'sts', destinations: [{ cell: 'cp' }] } }),
    undefined, undefined, {
      onHttpCall: () => { asked++; return { status: 200, body: '{"access_token":"cell-token","token_type":"Bearer","expires_in":600}' }; },
    });
  assert.equal((await c.host.request({ authority: 'cp--svc' })).kind, 'continue');
  c.reset();
  const r = await c.host.request({ authority: 'cp--svc', headers: { [SUBJECT]: 'mallory' } });
  assert.equal(r.kind, 'continue');
  assert.equal(asked, 1, 'served from the exchange cache');
  assert.equal(r.upstreamHeaders['cellery-authorization'], 'Bearer cell-token');
  assert.equal(r.upstreamHeaders[SUBJECT], undefined, 'a spoofed identity header never leaves');
  assert.deepEqual(Object.fromEntries([...c.counts.entries()].sort()), {
    proxy_add_header_map_value: 1, proxy_get_header_map_pairs: 1, proxy_remove_header_map_value: 1,
  });
});

test('identity headers the token does not write are removed; every copy of the written ones is replaced', async () => {
  const k = await makeKey('ES256');
  const h = await host(config([k], { outputClaimToHeaders: [{ header: 'x-user-email', claim: 'email' }] },
    { rules: [{ match: { prefix: '/public' }, requires: 'none' }] }));
  const t = await token(k, nowSec(h), { sub: 'alice' });   // no email claim
  for (let i = 0; i < 2; i++) {   // a miss, then a hit
    const r = await h.request({ headers: [['authorization', `Bearer ${t}`], [SUBJECT, 'mallory'], [SUBJECT, 'eve'], ['x-user-email', 'x@evil']] });
    assert.equal(r.kind, 'continue');
    assert.deepEqual(r.upstreamHeaderPairs.filter(([n]) => n === SUBJECT), [[SUBJECT, 'alice']], `pass ${i}`);
    assert.equal(r.upstreamHeaders['x-user-email'], undefined, `pass ${i}: not written, so removed`);
  }
  const anon = await h.request({ path: '/public', headers: { [SUBJECT]: 'mallory', 'x-user-email': 'x@evil' } });
  assert.equal(anon.kind, 'continue');
  assert.equal(anon.upstreamHeaders[SUBJECT], undefined, 'no token: every output header is removed');
  assert.equal(anon.upstreamHeaders['x-user-email'], undefined);
});

test('a cached token is treated as expired one tick (500 ms) before its exp, and re-verified', async () => {
  const k = await makeKey('ES256');
  const h = await host(config([k], { clockSkewSeconds: 0 }));
  const start = h.nowMs();
  const exp = Math.floor(start / 1000) + 10;
  const t = await token(k, Math.floor(start / 1000), { exp });
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  h.advance(exp * 1000 - 600 - h.nowMs());   // 600 ms before exp: ticks ran, still a hit
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  h.advance(500);                             // 100 ms before exp: within one tick, so a miss
  const missesBefore = h.metric('cellauth.reviews.token_cache_miss') ?? 0;
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue', 'still valid by the real clock');
  h.advance(500);
  assert.equal((h.metric('cellauth.reviews.token_cache_miss') ?? 0) - missesBefore, 1, 're-verified, not served from the cache');
  h.advance(1000);
  assert.equal(JSON.parse((await h.request({ headers: bearer(t) })).body).status, 'JwtExpired');
});

let envoy: Envoy | undefined;
let upstream: Upstream | undefined;
after(async () => { await envoy?.stop(); await upstream?.close?.(); });

function get(port: number, path: string, headers: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end();
  });
}

test('through Envoy: two spoofed subject headers become the one verified subject, on a miss and on a hit', async () => {
  const k = await makeKey('ES256');
  upstream = await startUpstream();
  envoy = await startEnvoy({
    clusters: { upstream: upstream.port },
    listeners: [{ name: 'in', filters: [{ wasm: { pluginConfig: {
      version: 'v1', cell: 'reviews',
      jwtRules: [{ issuer: 'https://issuer.test', audiences: ['reviews.default'], jwks: jwksOf(k), outputClaimToHeaders: [{ header: 'x-user-email', claim: 'email' }] }],
    } } }] }],
  });
  const t = await token(k, Math.floor(Date.now() / 1000), { sub: 'alice' });
  const port = Number(new URL(envoy.url('in', '/')).port);
  for (let i = 0; i < 2; i++) {
    const status = await get(port, '/x', ['host', 'reviews', 'authorization', `Bearer ${t}`, SUBJECT, 'mallory', SUBJECT, 'eve', 'x-user-email', 'x@evil']);
    assert.equal(status, 200, `pass ${i}`);
    const seen = upstream.seen.at(-1)!;
    assert.equal(seen.headers[SUBJECT], 'alice', `pass ${i}: exactly the verified subject (node would join copies with ", ")`);
    assert.equal(seen.headers['x-user-email'], undefined, `pass ${i}`);
    assert.equal(seen.headers.authorization, undefined, `pass ${i}`);
  }
});
