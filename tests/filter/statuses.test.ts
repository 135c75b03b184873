// Every way a token can fail maps to its named status, HTTP code, RFC 6750 WWW-Authenticate
// and counter; a good token passes; a missing token follows the rule's requirement.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { host, config, token, bearer, nowSec, makeKey, mint, ISS, AUD, type TestKey } from './fixture.ts';
import { changePayload, changeHeader, algNone, rawToken, flipSignatureBit } from '../lib/mint.ts';
import type { ProxyWasmHost } from '../host/emulator.ts';

let key: TestKey;
let h: ProxyWasmHost;
before(async () => {
  key = await makeKey('ES256');
  h = await host(config([key], { subjects: ['user-1', 'bob'], maxLifetimeSeconds: 3600, rejectIatInFuture: true }));
});

function assertRejected(r: Awaited<ReturnType<ProxyWasmHost['request']>>, status: string, code: number, error: string | null, tok?: string) {
  assert.equal(r.kind, 'local', `expected a local reply for ${status}, got ${r.kind} ${r.status}`);
  assert.equal(r.status, code, status);
  assert.equal(JSON.parse(r.body).status, status);
  const www = r.responseHeaders['www-authenticate'];
  if (code === 401 || error) {
    assert.ok(www?.startsWith('Bearer realm="reviews"'), `WWW-Authenticate for ${status}: ${www}`);
    if (error) assert.match(www, new RegExp(`error="${error}"`));
    else assert.doesNotMatch(www, /error=/);
  }
  if (tok) assert.ok(!r.body.includes(tok.split('.')[2] || tok), 'the body must never echo the token');
}

test('a valid token passes and the counter says so', async () => {
  // allowed is batched in the VM and reaches the host on the filter's 500 ms tick.
  const allowed = () => { h.advance(500); return h.metric('cellauth.reviews.allowed') ?? 0; };
  const before = allowed();
  const r = await h.request({ headers: bearer(await token(key, nowSec(h))) });
  assert.equal(r.kind, 'continue');
  assert.equal(r.upstreamHeaders['x-cellery-auth-subject'], 'user-1');
  assert.equal(r.upstreamHeaders.authorization, undefined, 'token stripped (forwardOriginalToken defaults to false)');
  assert.equal(allowed(), before + 1);
});

test('a missing token is 401 with a realm and no error (RFC 6750 §3.1)', async () => {
  const r = await h.request({});
  assertRejected(r, 'JwtMissed', 401, null);
  assert.equal(h.metric('cellauth.reviews.jwt_missed'), 1);
  assert.equal(r.details, 'cellauth_jwt_missed');
});

const cases: Array<[string, number, string, (n: number) => Promise<string>]> = [
  ['JwtExpired', 401, 'invalid_token', async (n) => token(key, n, { iat: n - 1000, exp: n - 100 })],
  ['JwtNotYetValid', 401, 'invalid_token', async (n) => token(key, n, { nbf: n + 600 })],
  ['JwtIatInFuture', 401, 'invalid_token', async (n) => token(key, n, { iat: n + 600, exp: n + 900 })],
  ['JwtMissingExp', 401, 'invalid_token', async (n) => mint({ iss: ISS, aud: AUD, sub: 'user-1' }, { key })],
  ['JwtLifetimeTooLong', 401, 'invalid_token', async (n) => token(key, n, { exp: n + 7200 })],
  ['JwtAudienceNotAllowed', 403, 'invalid_token', async (n) => token(key, n, { aud: 'other.default' })],
  ['JwtSubjectNotAllowed', 403, 'invalid_token', async (n) => token(key, n, { sub: 'mallory' })],
  ['JwtUnknownIssuer', 401, 'invalid_token', async (n) => token(key, n, { iss: 'https://evil.test' })],
  ['JwtVerificationFail', 401, 'invalid_token', async (n) => flipSignatureBit(await token(key, n), 5)],
  ['JwtVerificationFail', 401, 'invalid_token', async (n) => changePayload(await token(key, n), { sub: 'bob' })],
  ['JwksKidAlgMismatch', 401, 'invalid_token', async (n) => changeHeader(await token(key, n), { kid: 'unknown' })],
  ['JwtBadFormat', 401, 'invalid_token', async (n) => algNone(await token(key, n))],
  ['JwtHeaderNotImplementedAlg', 401, 'invalid_token', async (n) => algNone(await token(key, n), true)],
  ['JwtHeaderNotImplementedAlg', 401, 'invalid_token', async (n) => changeHeader(await token(key, n), { alg: 'ES256K' })],
  ['JwtAlgNotAllowed', 401, 'invalid_token', async (n) => changeHeader(await token(key, n), { alg: 'RS256' })],
  ['JwtHeaderBadCrit', 401, 'invalid_token', async (n) => changeHeader(await token(key, n), { crit: ['exp'], exp: 1 })],
  ['JwtHeaderBadKid', 401, 'invalid_token', async (n) => changeHeader(await token(key, n), { kid: 7 })],
  ['JwtHeaderBadAlg', 401, 'invalid_token', async (n) => changeHeader(await token(key, n), { alg: null })],
  ['JwtBadFormat', 401, 'invalid_token', async () => 'abc.def'],
  ['JwtBadFormat', 401, 'invalid_token', async () => 'a.b.c.d.e'],
  ['JwtHeaderParseErrorBadBase64', 401, 'invalid_token', async () => 'ey!J.eyJ.sig'],
  ['JwtHeaderBadJson', 401, 'invalid_token', async () => `${Buffer.from('{"alg":"ES256",}').toString('base64url')}.e30.c2ln`],
  ['JwtHeaderBadJson', 401, 'invalid_token', async () => `${Buffer.from('{"alg":"ES256","alg":"none"}').toString('base64url')}.e30.c2ln`],
  ['JwtPayloadParseErrorBadBase64', 401, 'invalid_token', async () => `${Buffer.from('{"alg":"ES256"}').toString('base64url')}.e30=.c2ln`],
  ['JwtPayloadBadJson', 401, 'invalid_token', async () => rawToken({ alg: 'ES256' }, '[1,2]', 'c2ln')],
  ['JwtSignatureParseErrorBadBase64', 401, 'invalid_token', async () => rawToken({ alg: 'ES256' }, { iss: ISS }, 'a+b/')],
  ['JwtPayloadParseErrorIssNotString', 401, 'invalid_token', async () => rawToken({ alg: 'ES256' }, { iss: 1 }, 'c2ln')],
  ['JwtPayloadParseErrorSubNotString', 401, 'invalid_token', async () => rawToken({ alg: 'ES256' }, { iss: ISS, sub: {} }, 'c2ln')],
  ['JwtPayloadParseErrorAudNotString', 401, 'invalid_token', async () => rawToken({ alg: 'ES256' }, { iss: ISS, aud: [1] }, 'c2ln')],
  ['JwtPayloadParseErrorExpNotInteger', 401, 'invalid_token', async () => rawToken({ alg: 'ES256' }, { iss: ISS, exp: -1.5 }, 'c2ln')],
  ['JwtPayloadParseErrorNbfNotInteger', 401, 'invalid_token', async () => rawToken({ alg: 'ES256' }, { iss: ISS, nbf: '1' }, 'c2ln')],
  ['JwtPayloadParseErrorIatNotInteger', 401, 'invalid_token', async () => rawToken({ alg: 'ES256' }, { iss: ISS, iat: -1 }, 'c2ln')],
];

for (const [status, code, error, make] of cases) {
  test(`${status} -> ${code} (${error})`, async () => {
    const counter = 'cellauth.reviews.' + status.replace(/([A-Z])/g, (m, c, i) => (i ? '_' : '') + c.toLowerCase());
    const before = h.metric(counter) ?? 0;
    const tok = await make(nowSec(h));
    const r = await h.request({ headers: bearer(tok) });
    assertRejected(r, status, code, error, tok);
    assert.equal(h.metric(counter), before + 1, counter);
  });
}

test('clock skew: a token expired 30 s ago passes with the default 60 s skew, and fails with skew 0', async () => {
  const n = nowSec(h);
  const t = await token(key, n, { iat: n - 300, exp: n - 30 });
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  const strict = await host(config([key], { clockSkewSeconds: 0 }), { clockMs: h.nowMs() });
  const r = await strict.request({ headers: bearer(t) });
  assert.equal(JSON.parse(r.body).status, 'JwtExpired');
});

test('oversized tokens are refused before parsing', async () => {
  const small = await host(config([key], {}, { limits: { maxTokenBytes: 256 } }));
  const t = await token(key, nowSec(small), { pad: 'x'.repeat(400) });
  const r = await small.request({ headers: bearer(t) });
  assertRejected(r, 'JwtTooLarge', 401, 'invalid_token');
});

test('deeply nested claims beyond maxJsonDepth are a bad payload, not a crash', async () => {
  let deep: any = 1;
  for (let i = 0; i < 40; i++) deep = [deep];
  const t = await token(key, nowSec(h), { deep });
  const r = await h.request({ headers: bearer(t) });
  assertRejected(r, 'JwtPayloadBadJson', 401, 'invalid_token');
});

test('requirements: allowMissing, allowMissingOrFailed, none, and path/method rules', async () => {
  const cfg = config([key], {}, {
    rules: [
      { match: { prefix: '/public' }, requires: 'none' },
      { match: { pathTemplate: '/api/{*}/optional' }, requires: 'allowMissing' },
      { match: { path: '/lenient', methods: ['GET'] }, requires: 'allowMissingOrFailed' },
    ],
  });
  const r = await host(cfg);
  const bad = flipSignatureBit(await token(key, nowSec(r)));
  assert.equal((await r.request({ path: '/public/x' })).kind, 'continue');
  assert.equal((await r.request({ path: '/public/x', headers: bearer(bad) })).kind, 'continue', 'none skips checks');
  assert.equal((await r.request({ path: '/api/v1/optional' })).kind, 'continue');
  assert.equal((await r.request({ path: '/api/v1/optional', headers: bearer(bad) })).status, 401, 'allowMissing still rejects a bad token');
  assert.equal((await r.request({ path: '/api/v1/x/optional' })).status, 401, '{*} is one segment');
  const lenient = await r.request({ path: '/lenient?x=1', headers: bearer(bad) });
  assert.equal(lenient.kind, 'continue');
  assert.equal(lenient.upstreamHeaders['x-cellery-auth-subject'], undefined, 'a failed token gives no identity');
  assert.equal((await r.request({ path: '/lenient', method: 'POST' })).status, 401, 'method mismatch falls to the default');
  assert.equal((await r.request({ path: '/other' })).status, 401);
});

test('CORS preflight bypass only when configured', async () => {
  const pre = { method: 'OPTIONS', headers: { origin: 'https://app', 'access-control-request-method': 'GET' } };
  assert.equal((await h.request(pre)).status, 401);
  const b = await host(config([key], {}, { bypassCorsPreflight: true }));
  assert.equal((await b.request(pre)).kind, 'continue');
  assert.equal((await b.request({ method: 'OPTIONS' })).status, 401, 'an OPTIONS without CORS headers is not a preflight');
});
