// The per-worker verified-token cache: a repeated token costs a lookup; entries die at exp and
// when the key set changes; the cache is bounded and can be turned off.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { host, config, token, bearer, nowSec, makeKey, type TestKey } from './fixture.ts';

let key: TestKey;
before(async () => { key = await makeKey('RS256'); });

test('a repeated token is a cache hit and skips the signature check', async () => {
  const h = await host(config([key]));
  const t = await token(key, nowSec(h));
  for (let i = 0; i < 5; i++) assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  assert.equal(h.metric('cellauth.reviews.token_cache_hit') ?? 0, 0, 'batched in the VM until the next tick');
  h.advance(500);
  assert.equal(h.metric('cellauth.reviews.token_cache_miss'), 1);
  assert.equal(h.metric('cellauth.reviews.token_cache_hit'), 4);
  assert.deepEqual(h.foreignCalls, ['verify_signature'], 'verified once');
});

test('a cached token still expires on time', async () => {
  const h = await host(config([key], { clockSkewSeconds: 0 }));
  const t = await token(key, nowSec(h), { ttl: 10 });
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  h.advance(11_000);
  const r = await h.request({ headers: bearer(t) });
  assert.equal(JSON.parse(r.body).status, 'JwtExpired');
});

test('a cache hit under a rule with other audiences is re-checked, not trusted', async () => {
  const other = await makeKey('RS256');
  const h = await host(config([key], { audiences: ['a.default'] }));
  const t = await token(key, nowSec(h), { aud: 'b.default' });
  assert.equal((await h.request({ headers: bearer(t) })).status, 403);
  assert.equal((await h.request({ headers: bearer(t) })).status, 403, 'failures are never cached as successes');
  void other;
});

test('tokens over tokenCache.maxTokenBytes are verified every time; maxEntries 0 disables the cache', async () => {
  const small = await host(config([key], {}, { tokenCache: { maxEntries: 64, maxTokenBytes: 64 } }));
  const t = await token(key, nowSec(small));
  for (let i = 0; i < 3; i++) assert.equal((await small.request({ headers: bearer(t) })).kind, 'continue');
  small.advance(500);
  assert.equal(small.metric('cellauth.reviews.token_cache_hit') ?? 0, 0);
  assert.equal(small.metric('cellauth.reviews.token_cache_miss'), 3, 'looked up, too large to cache');
  const off = await host(config([key], {}, { tokenCache: { maxEntries: 0 } }));
  for (let i = 0; i < 3; i++) assert.equal((await off.request({ headers: bearer(t) })).kind, 'continue');
  off.advance(500);
  assert.equal(off.metric('cellauth.reviews.token_cache_hit') ?? 0, 0);
  assert.equal(off.metric('cellauth.reviews.allowed'), 3, 'counters do reach the host');
});

test('memory stays bounded across 3,000 distinct tokens with a 256-entry cache', async () => {
  const hs = await makeKey('HS256');
  const h = await host(config([hs], {}, { tokenCache: { maxEntries: 256 } }));
  const n = nowSec(h);
  for (let i = 0; i < 500; i++) await h.request({ headers: bearer(await token(hs, n, { i })) });
  const warm = h.memoryBytes();
  for (let i = 500; i < 3000; i++) assert.equal((await h.request({ headers: bearer(await token(hs, n, { i })) })).kind, 'continue');
  assert.ok(h.memoryBytes() <= warm * 2, `linear memory grew from ${warm} to ${h.memoryBytes()}`);
});
