// Issue 10, the request path, on the host emulator (the real wasm): every token in every
// configured location is verified and stripped; rules and the STS see a normalised path; encoded
// slashes are refused; keys whose key_ops exclude "verify" are skipped; no token travels in a URL
// or a log line; a client cannot replace another request's user context by reusing its request id.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { host, config, token, bearer, nowSec, makeKey, jwksOf, flip, type TestKey } from './fixture.ts';
import { SharedStore } from '../host/emulator.ts';

let key: TestKey, other: TestKey;
before(async () => { key = await makeKey('ES256'); other = await makeKey('ES256'); });

const statusOf = (r: { body: string }) => JSON.parse(r.body).status;

// ---- 1. every token is verified ----

test('1: a valid header token next to a forged ?access_token is refused (jwt_authn TestMultipleJWTOneBadFromQuery)', async () => {
  const h = await host(config([key]));
  const good = await token(key, nowSec(h), { sub: 'alice' });
  const forged = await token(other, nowSec(h), { sub: 'admin' });
  const r = await h.request({ path: `/orders?access_token=${forged}`, headers: bearer(good) });
  assert.equal(r.status, 401);
  assert.equal(statusOf(r), 'JwksKidAlgMismatch', 'signed by a key the issuer does not have');
});

test('1: every configured header is checked, not only the first present', async () => {
  const h = await host(config([key], { fromHeaders: [{ name: 'authorization', prefix: 'Bearer ' }, { name: 'x-jwt' }] }));
  const good = await token(key, nowSec(h), { sub: 'alice' });
  const forged = flip(await token(key, nowSec(h), { sub: 'admin' }));
  const r = await h.request({ headers: { ...bearer(good), 'x-jwt': forged } });
  assert.equal(r.status, 401, 'the second header is verified too');
  const ok = await h.request({ headers: { ...bearer(good), 'x-jwt': good } });
  assert.equal(ok.kind, 'continue');
  assert.equal(ok.upstreamHeaders.authorization, undefined);
  assert.equal(ok.upstreamHeaders['x-jwt'], undefined, 'every verified token is stripped');
});

test('1: tokens of every applicable jwtRule and every cookie are checked', async () => {
  const h = await host({
    version: 'v1', cell: 'reviews',
    jwtRules: [
      { name: 'a', issuer: 'https://a.test', jwks: jwksOf(key), fromHeaders: [{ name: 'authorization', prefix: 'Bearer ' }] },
      { name: 'b', issuer: 'https://b.test', jwks: jwksOf(other), fromCookies: ['session'] },
    ],
  });
  const n = nowSec(h);
  const a = await token(key, n, { iss: 'https://a.test', aud: undefined, sub: 'alice' });
  const b = await token(other, n, { iss: 'https://b.test', aud: undefined, sub: 'alice' });
  const bad = flip(b);
  const refused = await h.request({ headers: { ...bearer(a), cookie: `theme=dark; session=${bad}` } });
  assert.equal(refused.status, 401, 'a forged cookie of the second rule fails the request');
  const ok = await h.request({ headers: { ...bearer(a), cookie: `theme=dark; session=${b}; lang=en` } });
  assert.equal(ok.kind, 'continue');
  assert.equal(ok.upstreamHeaders['x-cellery-auth-subject'], 'alice');
  assert.equal(ok.upstreamHeaders.cookie, 'theme=dark; lang=en', 'the verified cookie is removed, the others stay');
});

test('1: repeated query parameters are each a token; all are verified and all are removed from :path', async () => {
  const h = await host(config([key]));
  const good = await token(key, nowSec(h), { sub: 'alice' });
  const forged = flip(good);
  const bad = await h.request({ path: `/a?access_token=${good}&access_token=${forged}` });
  assert.equal(bad.status, 401);
  const ok = await h.request({ path: `/a?x=1&access_token=${good}&y=2&access_token=${good}` });
  assert.equal(ok.kind, 'continue');
  assert.equal(ok.upstreamHeaders[':path'], '/a?x=1&y=2');
  const only = await h.request({ path: `/a?access_token=${good}` });
  assert.equal(only.upstreamHeaders[':path'], '/a', 'no dangling ?');
  const encodedName = await h.request({ path: `/a?%61ccess_token=${forged}`, headers: bearer(good) });
  assert.equal(encodedName.status, 401, 'a percent-encoded parameter name is the same parameter');
});

test('1: allowMissingOrFailed lets a request with a bad second token through anonymously', async () => {
  const h = await host(config([key], {}, { rules: [{ match: { prefix: '/lenient' }, requires: 'allowMissingOrFailed' }] }));
  const good = await token(key, nowSec(h), { sub: 'alice' });
  const r = await h.request({ path: `/lenient?access_token=${flip(good)}`, headers: bearer(good) });
  assert.equal(r.kind, 'continue');
  assert.equal(r.upstreamHeaders['x-cellery-auth-subject'], undefined, 'no identity from a partly failed request');
});

test('1: with several valid tokens the identity headers are the first token\'s (headers, then params, then cookies)', async () => {
  const h = await host(config([key], { fromHeaders: [{ name: 'authorization', prefix: 'Bearer ' }], fromParams: ['access_token'], fromCookies: ['session'] }));
  const n = nowSec(h);
  const r = await h.request({
    path: `/x?access_token=${await token(key, n, { sub: 'from-param' })}`,
    headers: { ...bearer(await token(key, n, { sub: 'from-header' })), cookie: `session=${await token(key, n, { sub: 'from-cookie' })}` },
  });
  assert.equal(r.kind, 'continue');
  assert.equal(r.upstreamHeaders['x-cellery-auth-subject'], 'from-header');
  assert.equal(r.upstreamHeaders[':path'], '/x');
  assert.equal(r.upstreamHeaders.cookie, undefined);
});

test('1: forwardOriginalToken keeps every token where it was', async () => {
  const h = await host(config([key], { forwardOriginalToken: true }));
  const good = await token(key, nowSec(h));
  const r = await h.request({ path: `/a?access_token=${good}`, headers: bearer(good) });
  assert.equal(r.kind, 'continue');
  assert.equal(r.upstreamHeaders[':path'], `/a?access_token=${good}`);
  assert.equal(r.upstreamHeaders.authorization, `Bearer ${good}`);
});

// ---- 2. path normalisation ----

test('2: rules match the normalised path; a prefix matches on a segment boundary', async () => {
  const h = await host(config([key], {}, { rules: [{ match: { prefix: '/healthz' }, requires: 'none' }] }));
  for (const p of ['/healthz', '/healthz/', '/healthz/live', '/healthz?x=1', '//healthz', '/x/../healthz']) {
    assert.equal((await h.request({ path: p })).kind, 'continue', `${p} is /healthz`);
  }
  for (const p of ['/healthzadmin', '/healthz/../reviews/admin', '/healthz/./../reviews', '/healthz/%2e%2e/reviews', '/healthz;x/../admin', '/healthz/..;/admin', '/healthz-admin']) {
    const r = await h.request({ path: p });
    assert.equal(r.status, 401, `${p} is not under /healthz`);
    assert.equal(statusOf(r), 'JwtMissed', p);
  }
});

test('2: an encoded slash or backslash in the path is refused: 400 PathEscapedSlash', async () => {
  const h = await host(config([key], {}, { rules: [{ match: { prefix: '/healthz' }, requires: 'none' }] }));
  for (const p of ['/healthz%2F..%2Freviews%2Fadmin', '/healthz%2f..', '/a%5Cb', '/a%5cb', '/a\\..\\b']) {
    const r = await h.request({ path: p });
    assert.equal(r.status, 400, p);
    assert.equal(statusOf(r), 'PathEscapedSlash', p);
  }
  assert.equal((await h.request({ path: '/healthz?next=%2Fadmin' })).kind, 'continue', 'the query may hold an encoded slash');
  assert.equal(h.metric('cellauth.reviews.path_escaped_slash'), 5);
});

test('2: the STS sees the normalised path, the raw path and the query separately', async () => {
  const bodies: any[] = [];
  const h = await host(config([key], {}, { workload: 'reviews-service', authorization: { cluster: 'sts', cacheTtlSeconds: 30 } }), {
    onHttpCall: (c) => { bodies.push(JSON.parse(c.body.toString())); return { status: 200, body: '{"allow":true}' }; },
  });
  const t = await token(key, nowSec(h));
  const cases: Array<[string, string, string, string]> = [
    ['/reviews/admin?x=1', '/reviews/admin', '/reviews/admin', 'x=1'],
    ['/reviews//admin', '/reviews/admin', '/reviews//admin', ''],
    ['/reviews/./admin', '/reviews/admin', '/reviews/./admin', ''],
    ['/reviews/x/../admin', '/reviews/admin', '/reviews/x/../admin', ''],
    ['/reviews/%61dmin', '/reviews/admin', '/reviews/%61dmin', ''],
    ['/reviews/admin;x', '/reviews/admin', '/reviews/admin;x', ''],
    [`/reviews/admin?access_token=${t}&y=2`, '/reviews/admin', '/reviews/admin', 'y=2'],
  ];
  for (const [raw, path, rawPath, query] of cases) {
    const r = await h.request({ path: raw, headers: bearer(t) });
    assert.equal(r.kind, 'continue', raw);
    const ctx = bodies.at(-1).requestContext;
    assert.equal(ctx.path, path, raw);
    assert.equal(ctx.rawPath, rawPath, raw);
    assert.equal(ctx.query, query, raw);
    assert.ok(!JSON.stringify(ctx).includes(t), 'no token in the request context');
  }
});

// ---- 3. key_ops ----

test('3: a JWK whose key_ops exclude "verify" is skipped, with the reason in the log', async () => {
  const enc = { ...jwksOf(key).keys[0], key_ops: ['encrypt'] };
  const h = await host(config([key], { jwks: { keys: [enc, ...jwksOf(other).keys] } }));
  assert.match(h.logText(), /key_ops/);
  const r = await h.request({ headers: bearer(await token(key, nowSec(h))) });
  assert.equal(r.status, 401, 'a token signed with the encryption key does not verify');
  const ok = await host(config([key], { jwks: { keys: [{ ...jwksOf(key).keys[0], key_ops: ['verify'] }] } }));
  assert.equal((await ok.request({ headers: bearer(await token(key, nowSec(ok))) })).kind, 'continue');
});

// ---- 4. tokens in URLs and logs ----

test('4: access_token is stripped from the URL sent upstream; no log line prints a query string', async () => {
  const h = await host(config([key]), { logLevel: 0 });
  const t = await token(key, nowSec(h));
  const r = await h.request({ path: `/a?access_token=${t}&q=secret-query` });
  assert.equal(r.kind, 'continue');
  assert.equal(r.upstreamHeaders[':path'], '/a?q=secret-query');
  await h.request({ path: `/a?access_token=${flip(t)}&q=secret-query` });
  await h.request({ path: `/a?q=secret-query` });
  const text = h.logText();
  assert.match(text, /rejected/, 'debug lines were written');
  assert.ok(!text.includes(t.slice(0, 20)), 'no token in the log');
  assert.ok(!text.includes('secret-query'), 'no query string in the log');
});

// ---- 5. user context ----

function stsRecorder() {
  const subjects: Array<string | null> = [];
  return {
    subjects,
    onHttpCall: (c: { body: Buffer }) => {
      const st = new URLSearchParams(c.body.toString()).get('subject_token');
      subjects.push(st === null ? null : JSON.parse(Buffer.from(st.split('.')[1], 'base64url').toString()).sub);
      return { status: 200, body: JSON.stringify({ access_token: `cell-${subjects.length}`, expires_in: 300 }) };
    },
  };
}

test('5: a second request with the same x-request-id cannot replace (or borrow) the first user\'s context', async () => {
  const shared = new SharedStore();
  const inbound = await host(config([key], {}, { userContext: {} }), { sharedStore: shared });
  const s = stsRecorder();
  const outbound = await host(config([key], {}, { mode: 'outbound', userContext: {}, tokenExchange: { cluster: 'sts', destinations: [{ cell: 'cp' }], cacheMaxEntries: 0 } }),
    { sharedStore: shared, onHttpCall: s.onHttpCall, clockMs: inbound.nowMs() });
  const n = nowSec(inbound);
  const alice = await token(key, n, { sub: 'alice' });
  const mallory = await token(key, n, { sub: 'mallory' });
  assert.equal((await inbound.request({ headers: { ...bearer(alice), 'x-request-id': 'rid-1' } })).kind, 'continue');
  const second = await inbound.request({ headers: { ...bearer(mallory), 'x-request-id': 'rid-1' } });
  assert.equal(second.status, 409, 'a live request id of another user is refused');
  assert.equal(statusOf(second), 'RequestIdInUse');
  await outbound.request({ authority: 'cp--svc', headers: { 'x-request-id': 'rid-1' } });
  assert.equal(s.subjects.at(-1), 'alice', 'the first user\'s context is intact');
  // The same user again under the same id (a retry, a fan-out) is fine.
  assert.equal((await inbound.request({ headers: { ...bearer(alice), 'x-request-id': 'rid-1' } })).kind, 'continue');
  // A request with no token cannot borrow a live id either (its app's calls would carry alice).
  const h2 = await host(config([key], {}, { userContext: {}, rules: [{ match: { prefix: '/public' }, requires: 'none' }] }), { sharedStore: shared, clockMs: inbound.nowMs() });
  const anon = await h2.request({ path: '/public', headers: { 'x-request-id': 'rid-1' } });
  assert.equal(anon.status, 409);
  // Once the entry has expired the id is free again.
  inbound.setClock(inbound.nowMs() + 61_000);
  const later = await token(key, nowSec(inbound), { sub: 'mallory' });
  assert.equal((await inbound.request({ headers: { ...bearer(later), 'x-request-id': 'rid-1' } })).kind, 'continue');
});
