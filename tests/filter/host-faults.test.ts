// What the hot paths trust about the host, tried as a broken or slow host would behave (an attack
// review of the header snapshot and the tick clock): a header table that is miscounted, a tick
// that runs late, client copies of identity headers that are repeated or empty, and a request
// that pauses (its snapshot is gone when it resumes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { countingHost } from '../bench/hostcalls.ts';
import { host, config, makeKey, token, bearer, nowSec, jwksOf, ISS as iss, AUD as aud } from './fixture.ts';
import type { HttpCall, CallOutcome } from '../host/emulator.ts';

const SUBJECT = 'x-cellery-auth-subject';

// A host that corrupts the request-header table it returns (the count at ptr, the first
// entry's value length at ptr + 8), on a filter where every path is public: nothing but the
// output-header strip stands between a spoofed subject and the service.
async function brokenPairsHost(corrupt: (dv: DataView, ptr: number) => void) {
  const k = await makeKey('ES256');
  const c = await countingHost(config([k], {}, { rules: [{ match: { prefix: '/public' }, requires: 'none' }] }), undefined,
    (name, args, memory) => {
      if (name !== 'proxy_get_header_map_pairs' || args[0] !== 0) return;
      const dv = new DataView(memory.buffer);
      const ptr = dv.getUint32(args[1], true);
      if (ptr !== 0) corrupt(dv, ptr);
    });
  return { k, h: c.host };
}

for (const [what, corrupt] of [
  ['a header table whose count is one short (every entry still "fits")', (dv: DataView, ptr: number) => dv.setUint32(ptr, dv.getUint32(ptr, true) - 1, true)],
  ['a header table whose first value runs 1 MiB past the buffer', (dv: DataView, ptr: number) => dv.setUint32(ptr + 8, 1 << 20, true)],
] as const) {
  test(`${what} is not trusted: every read and removal goes to the host`, async () => {
    const { k, h } = await brokenPairsHost(corrupt);
    const spoofed = await h.request({ path: '/public', headers: { [SUBJECT]: 'mallory' } });
    assert.equal(spoofed.kind, 'continue', `${spoofed.status} ${spoofed.body}`);
    assert.equal(spoofed.upstreamHeaders[SUBJECT], undefined, 'a spoofed subject never reaches the service');
    const t = await token(k, nowSec(h), { sub: 'alice' });
    const r = await h.request({ headers: { ...bearer(t), [SUBJECT]: 'mallory' } });
    assert.equal(r.kind, 'continue', `${r.status} ${r.body}`);
    assert.deepEqual(r.upstreamHeaderPairs.filter(([n]) => n === SUBJECT), [[SUBJECT, 'alice']]);
  });
}

test('a decision is not served past its deadline when the tick runs late (a stalled worker)', async () => {
  const calls: HttpCall[] = [];
  const onHttpCall = (c: HttpCall): CallOutcome => { calls.push(c); return { status: 200, body: '{"allow":true,"status":"ALLOWED","ttlSeconds":10}' }; };
  const k = await makeKey('ES256');
  const h = await host(config([k], {}, { workload: 'reviews-service', authorization: { cluster: 'sts', timeoutMs: 300, cacheTtlSeconds: 600 } }), { onHttpCall });
  const t = await token(k, nowSec(h), { ttl: 3600 });
  h.advance(1000 - (h.nowMs() % 1000));       // decided at a whole second: the deadline is exactly 10 s later
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  assert.equal(calls.length, 1);
  h.advance(9_000);                            // ticks ran; 1 s before the deadline: a hit
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  assert.equal(calls.length, 1);
  // The worker is busy for 2 s: the tick due meanwhile has not run when the next request is served.
  h.setClock(h.nowMs() + 2_000);               // 1 s past the deadline, no tick
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  assert.equal(calls.length, 2, 'a decision past its deadline is never served from the cache');
});

test('a cached token is not served past its exp when the tick runs late', async () => {
  const k = await makeKey('ES256');
  const h = await host(config([k], { clockSkewSeconds: 0 }));
  const exp = nowSec(h) + 5;
  const t = await token(k, nowSec(h), { exp });
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  h.advance(exp * 1000 - 1_000 - h.nowMs());   // ticks ran up to 1 s before exp
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');   // a hit
  // The worker stalls 2.5 s: past exp, no tick since. The last tick was within NEAR_DEADLINE_MS
  // (2 s) of exp, so the hit reads the real clock. (A stall that starts earlier than that and
  // outlasts it can stretch an entry by the excess: docs/architecture.md.)
  h.setClock(exp * 1000 + 1_500);
  const r = await h.request({ headers: bearer(t) });
  assert.equal(r.status, 401);
  assert.equal(JSON.parse(r.body).status, 'JwtExpired');
});

test('repeated and empty client copies of identity headers never survive: anonymous, on a miss and on a hit', async () => {
  const k = await makeKey('ES256');
  const h = await host(config([k], { outputClaimToHeaders: [{ header: 'x-user-email', claim: 'email' }] },
    { rules: [{ match: { prefix: '/public' }, requires: 'none' }] }));
  const t = await token(k, nowSec(h), { sub: 'alice', email: 'a@x' });
  const spoof: [string, string][] = [[SUBJECT, ''], [SUBJECT, 'mallory'], ['x-user-email', ''], ['x-user-email', 'x@evil']];
  for (let i = 0; i < 2; i++) {
    const r = await h.request({ headers: [['authorization', `Bearer ${t}`], ...spoof] });
    assert.equal(r.kind, 'continue');
    assert.deepEqual(r.upstreamHeaderPairs.filter(([n]) => n === SUBJECT || n === 'x-user-email'), [[SUBJECT, 'alice'], ['x-user-email', 'a@x']], `pass ${i}`);
  }
  const anon = await h.request({ path: '/public', headers: spoof });
  assert.deepEqual(anon.upstreamHeaderPairs.filter(([n]) => n === SUBJECT || n === 'x-user-email'), []);
});

test('a request that pauses for an unknown kid and resumes still has every client identity header replaced or removed', async () => {
  const k1 = await makeKey('ES256');
  const k2 = await makeKey('ES256');
  let rotated = false;
  let fetches = 0;
  const h = await host({
    version: 'v1', cell: 'reviews',
    jwtRules: [{ issuer: iss, audiences: [aud], outputClaimToHeaders: [{ header: 'x-user-email', claim: 'email' }],
      remoteJwks: { cluster: 'jwks', path: '/keys', refetchIntervalMs: 1000, cacheDurationSeconds: 300 } }],
  }, { onHttpCall: () => { fetches++; return { status: 200, body: JSON.stringify(rotated ? jwksOf(k1, k2) : jwksOf(k1)) }; } });
  h.advance(1500);
  rotated = true;
  const before = fetches;
  const t = await token(k2, nowSec(h), { sub: 'alice' });   // no email claim: x-user-email must go
  const r = await h.request({ headers: [['authorization', `Bearer ${t}`], [SUBJECT, 'mallory'], [SUBJECT, 'eve'], ['x-user-email', 'x@evil']] });
  assert.equal(r.kind, 'continue', `${r.status} ${r.body}`);
  assert.deepEqual(r.upstreamHeaderPairs.filter(([n]) => n === SUBJECT || n === 'x-user-email'), [[SUBJECT, 'alice']]);
  assert.equal(r.upstreamHeaders.authorization, undefined);
  assert.ok(fetches > before, 'the request paused for a refetch (answered after its callback returned)');
});
