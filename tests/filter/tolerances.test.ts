// Tokens and key sets shaped as real identity providers emit them, which RFC 7519/7517 allow and
// Envoy's jwt_authn (google/jwt_verify_lib) accepts: NumericDates that are not integers or lie
// after the year 9999, iat in the future, keys without kid, EC keys without crv, Google's X.509
// key map, key sets mixing supported and unsupported keys, PS/EdDSA under crypto=host, large
// tokens. Each tolerance is paired with the refusals that must not move.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { host, config, token, bearer, nowSec, makeKey, jwksOf, mint, ISS, AUD, type TestKey } from './fixture.ts';
import { flipSignatureBit, rawToken, changeHeader } from '../lib/mint.ts';
import { googleCertMap } from '../lib/x509-keys.ts';
import type { ProxyWasmHost } from '../host/emulator.ts';

let es: TestKey;
let rs: TestKey;
before(async () => { es = await makeKey('ES256'); rs = await makeKey('RS256'); });

const status = (r: { body: string }) => JSON.parse(r.body).status as string;
/** Signs a payload given as JSON text, so numbers keep the exact spelling a provider used. */
const signText = (k: TestKey, text: string, kid?: string | null) => mint(text, { key: k, kid });

async function expectPass(h: ProxyWasmHost, t: string, what: string) {
  const r = await h.request({ headers: bearer(t) });
  assert.equal(r.kind, 'continue', `${what}: ${r.body}`);
  return r;
}
async function expectStatus(h: ProxyWasmHost, t: string, want: string, what = want) {
  const r = await h.request({ headers: bearer(t) });
  assert.equal(r.kind, 'local', `${what}: expected ${want}`);
  assert.equal(status(r), want, what);
}

// ---- NumericDate (RFC 7519 §2: "a JSON numeric value", non-integer values allowed) ----

test('NumericDate: exp in exponent form (1.30081938e+09, the RFC 7519 example date) is accepted', async () => {
  // The emulator's clock sits just before 1300819380, the date of RFC 7519 §3.1's example.
  const h = await host(config([es]), { clockMs: 1300819000 * 1000 });
  const t = await signText(es, `{"iss":"${ISS}","aud":"${AUD}","sub":"joe","exp":1.30081938e+09}`);
  const r = await expectPass(h, t, 'exp 1.30081938e+09');
  assert.equal(r.upstreamHeaders['x-cellery-auth-subject'], 'joe');
  h.advance(1000 * 1000);   // 1300820000: past exp + 60 s skew
  await expectStatus(h, t, 'JwtExpired', 'the fraction-free exp still expires');
});

test('NumericDate: fractional exp, nbf and iat (now + 3600.5, now - 0.25) are accepted; the fraction is dropped', async () => {
  const h = await host(config([es]));
  const n = nowSec(h);
  const t = await signText(es, `{"iss":"${ISS}","aud":"${AUD}","sub":"u","iat":${n - 0.25},"nbf":${n - 0.75},"exp":${n + 3600.5}}`);
  await expectPass(h, t, 'fractional dates');
  const expired = await signText(es, `{"iss":"${ISS}","aud":"${AUD}","exp":${n - 120.5}}`);
  await expectStatus(h, expired, 'JwtExpired', 'a fractional exp in the past is still expired');
  const early = await signText(es, `{"iss":"${ISS}","aud":"${AUD}","exp":${n + 900},"nbf":${n + 600.9}}`);
  await expectStatus(h, early, 'JwtNotYetValid', 'a fractional nbf in the future is still not yet valid');
});

test('NumericDate: dates after the year 9999 are accepted (a long-lived token; maxLifetimeSeconds still bounds it)', async () => {
  const h = await host(config([es]));
  const far = 253402300800 * 4;     // ~ year 34000
  await expectPass(h, await token(es, nowSec(h), { exp: far }), 'exp after 9999');
  await expectPass(h, await signText(es, `{"iss":"${ISS}","aud":"${AUD}","exp":1.0e+13}`), 'exp 1.0e+13');
  const bounded = await host(config([es], { maxLifetimeSeconds: 3600 }), { clockMs: h.nowMs() });
  await expectStatus(bounded, await token(es, nowSec(h), { exp: far }), 'JwtLifetimeTooLong');
});

test('NumericDate: non-numbers, negative and absurd values keep their statuses', async () => {
  const h = await host(config([es]));
  const cases: Array<[string, string]> = [
    ['"exp":"1700000000"', 'JwtPayloadParseErrorExpNotInteger'],
    ['"exp":true', 'JwtPayloadParseErrorExpNotInteger'],
    ['"exp":null', 'JwtPayloadParseErrorExpNotInteger'],
    ['"exp":[1]', 'JwtPayloadParseErrorExpNotInteger'],
    ['"exp":-1.5', 'JwtPayloadParseErrorExpNotInteger'],
    ['"exp":-0.5', 'JwtPayloadParseErrorExpNotInteger'],
    ['"exp":1e300', 'JwtPayloadParseErrorExpNotInteger'],
    ['"exp":9007199254740993', 'JwtPayloadParseErrorExpNotInteger'],
    ['"exp":4102444800,"nbf":"0"', 'JwtPayloadParseErrorNbfNotInteger'],
    ['"exp":4102444800,"nbf":-1e3', 'JwtPayloadParseErrorNbfNotInteger'],
    ['"exp":4102444800,"iat":{}', 'JwtPayloadParseErrorIatNotInteger'],
    ['"exp":4102444800,"iat":-0.1', 'JwtPayloadParseErrorIatNotInteger'],
    ['"exp":4102444800,"iat":1.7e308', 'JwtPayloadParseErrorIatNotInteger'],
  ];
  for (const [claims, want] of cases) {
    await expectStatus(h, await signText(es, `{"iss":"${ISS}","aud":"${AUD}",${claims}}`), want, claims);
  }
  // Numbers JSON cannot spell (NaN, Infinity, 1e999) are not JSON at all.
  for (const bad of ['NaN', 'Infinity', '1e999', '0x10', '.5', '1.']) {
    await expectStatus(h, rawToken({ alg: 'ES256' }, `{"iss":"${ISS}","exp":${bad}}`, 'c2ln'), 'JwtPayloadBadJson', `exp ${bad}`);
  }
});

// ---- iat in the future: RFC 7519 defines no such check; jwt_authn has none ----

test('iat in the future is accepted by default and refused with rejectIatInFuture', async () => {
  const h = await host(config([es]));
  const n = nowSec(h);
  const t = await token(es, n, { iat: n + 600, exp: n + 900 });
  await expectPass(h, t, 'iat in the future, default');
  const strict = await host(config([es], { rejectIatInFuture: true }), { clockMs: h.nowMs() });
  await expectStatus(strict, t, 'JwtIatInFuture');
  await expectPass(strict, await token(es, n, { iat: n + 30, exp: n + 900 }), 'within the clock skew');
});

// ---- key sets ----

test('a key without kid is a candidate for a token whose kid matches no key (jwt_verify_lib)', async () => {
  const anon = await makeKey('RS256');
  const { kid: _drop, ...noKid } = anon.jwk;
  const h = await host(config([es], { jwks: { keys: [es.jwk, noKid] } }));
  const n = nowSec(h);
  await expectPass(h, await token(anon, n), 'kid "rs256-…" matches no key: the kid-less RSA key verifies');
  await expectPass(h, await mint({ iss: ISS, aud: AUD, exp: n + 300 }, { key: anon, kid: null }), 'no kid at all');
  await expectPass(h, await token(es, n), 'exact kid match still works');
  // Refusals that must not move: a stranger's signature, tampering, key-type confusion.
  const stranger = await makeKey('RS256');
  await expectStatus(h, await token(stranger, n), 'JwksKidAlgMismatch', 'a foreign RSA key with an unknown kid');
  await expectStatus(h, flipSignatureBit(await token(anon, n), 4), 'JwksKidAlgMismatch', 'tampered, unknown kid');
  await expectStatus(h, changeHeader(await token(anon, n), { kid: es.kid }), 'JwtAlgNotAllowed', 'kid of the EC key with RS256');
  const esStranger = await makeKey('ES256');
  await expectStatus(h, await token(esStranger, n), 'JwksKidAlgMismatch', 'no kid-less EC key: still unknown');
});

test('EC keys without crv: the curve is inferred from alg, else from the coordinate length', async () => {
  const e384 = await makeKey('ES384');
  const strip = (k: TestKey, keepAlg: boolean) => { const { crv: _c, alg, ...rest } = k.jwk; return keepAlg ? { ...rest, alg } : rest; };
  const h = await host(config([], { jwks: { keys: [strip(es, true), strip(e384, false)] } }));
  const n = nowSec(h);
  await expectPass(h, await token(es, n), 'ES256 key without crv (alg ES256)');
  await expectPass(h, await token(e384, n), 'ES384 key without crv or alg (48-byte coordinates)');
  // A stated crv still rules, and a curve that disagrees with alg or the coordinates is no key.
  const liar = { ...strip(es, false), alg: 'ES384' };
  const cfg = config([], { jwks: { keys: [liar, e384.jwk] } });
  const l = await host(cfg, { clockMs: h.nowMs() });
  await expectStatus(l, await token(es, n, {}, { kid: es.kid }), 'JwksKidAlgMismatch', 'alg ES384 on 32-byte coordinates');
  assert.match(l.logText(), /skipped|ignored/i);
});

test('Google\'s X.509 key map ({kid: PEM certificate}) is a key set: RSA and EC certificates', async () => {
  const r1 = await makeKey('RS256', 'f0e1d2c3b4a5968778695a4b3c2d1e0f12345678');
  const r2 = await makeKey('RS256', '0a1b2c3d4e5f60718293a4b5c6d7e8f901234567');
  const e1 = await makeKey('ES256', 'ec-cert');
  const map = await googleCertMap(r1, r2, e1);
  const h = await host(config([], { jwks: map }));
  const n = nowSec(h);
  for (const k of [r1, r2, e1]) await expectPass(h, await token(k, n), `certificate ${k.kid}`);
  await expectStatus(h, flipSignatureBit(await token(r2, n), 9), 'JwtVerificationFail', 'tampered');
  await expectStatus(h, changeHeader(await token(r1, n), { kid: r2.kid }), 'JwtVerificationFail', 'another certificate\'s kid');
  await expectStatus(h, await token(await makeKey('RS256'), n), 'JwksKidAlgMismatch', 'unknown kid');
  // A map with something that is not a certificate keeps the certificates it can read.
  const mixed = await host(config([], { jwks: { ...map, junk: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' } }), { clockMs: h.nowMs() });
  await expectPass(mixed, await token(r1, n), 'good certificate beside junk');
  assert.match(mixed.logText(), /junk/);
});

test('Google\'s X.509 key map served remotely (Firebase/securetoken shape) through a cluster', async () => {
  const r1 = await makeKey('RS256', 'firebase-1');
  const map = await googleCertMap(r1);
  const h = await host({
    version: 'v1', cell: 'reviews',
    jwtRules: [{ issuer: ISS, audiences: [AUD], remoteJwks: { cluster: 'google', path: '/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com' } }],
  }, { onHttpCall: () => ({ status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(map) }) });
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  await expectPass(h, await token(r1, nowSec(h)), 'remote certificate map');
});

test('a key set mixing supported and unsupported keys loads the supported ones and logs the rest', async () => {
  // As providers serve them: an encryption key (Keycloak's RSA-OAEP), an Ed448 and an X25519 OKP
  // key, a post-quantum AKP key, a short RSA key, a symmetric key without k, beside two good keys.
  const enc = { ...(await makeKey('RS256')).jwk, use: 'enc', alg: 'RSA-OAEP', kid: 'enc-1' };
  const others = [
    enc,
    { kty: 'OKP', crv: 'Ed448', x: Buffer.alloc(57, 7).toString('base64url'), kid: 'ed448' },
    { kty: 'OKP', crv: 'X25519', x: Buffer.alloc(32, 9).toString('base64url'), kid: 'x25519', use: 'enc' },
    { kty: 'AKP', alg: 'ML-DSA-44', pub: Buffer.alloc(64, 1).toString('base64url'), kid: 'mldsa' },
    { kty: 'RSA', n: Buffer.alloc(128, 0xff).toString('base64url'), e: 'AQAB', kid: 'rsa-1024', alg: 'RS256' },
    { kty: 'oct', kid: 'no-k' },
  ];
  const jwks = { keys: [others[0], es.jwk, ...others.slice(1), rs.jwk] };
  const h = await host(config([], { jwks }));
  const n = nowSec(h);
  await expectPass(h, await token(es, n), 'the EC key');
  await expectPass(h, await token(rs, n), 'the RSA key');
  const log = h.logText();
  for (const kid of ['enc-1', 'ed448', 'x25519', 'mldsa', 'rsa-1024', 'no-k']) assert.match(log, new RegExp(kid), `${kid} is named in the log`);
  // Remote: the same set loads, the skipped keys are logged by the worker that fetched.
  const remote = await host({
    version: 'v1', cell: 'reviews',
    jwtRules: [{ issuer: ISS, audiences: [AUD], remoteJwks: { cluster: 'jwks', cacheDurationSeconds: 1 } }],
  }, { onHttpCall: () => ({ status: 200, body: JSON.stringify(jwks) }) });
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
  await expectPass(remote, await token(rs, nowSec(remote)), 'remote mixed set');
  for (let i = 0; i < 3; i++) { remote.advance(1000); for (let k = 0; k < 3; k++) await new Promise((r) => setImmediate(r)); }
  assert.ok((remote.metric('cellauth.reviews.jwks_fetch_ok') ?? 0) >= 2, 'refreshed');
  assert.equal(remote.logs.filter((l) => /mldsa/.test(l.message)).length, 1, 'one warning, not one per refresh');
});

// ---- crypto: host with algorithms the host cannot verify ----

test('crypto=host verifies PS256/384/512 and EdDSA with the AssemblyScript verifier and says so once', async () => {
  const ks = [await makeKey('PS256'), await makeKey('PS384'), await makeKey('PS512'), await makeKey('EdDSA'), rs];
  const h = await host(config(ks, {}, { crypto: 'host' }));
  const n = nowSec(h);
  for (const k of ks) {
    await expectPass(h, await token(k, n, { sub: k.alg }), `${k.alg} under crypto=host`);
    await expectStatus(h, flipSignatureBit(await token(k, n), 3), 'JwtVerificationFail', `${k.alg} tampered`);
  }
  const notes = h.logs.filter((l) => /AssemblyScript verifier/.test(l.message));
  assert.equal(notes.length, 1, 'said once, at configure: ' + h.logText());
  const rsOnly = await host(config([rs], { algorithms: ['RS256'] }, { crypto: 'host' }));
  assert.doesNotMatch(rsOnly.logText(), /AssemblyScript verifier/, 'nothing to say when only host algorithms are allowed');
});

// ---- token size ----

test('a ~20 KiB token with many groups passes by default; limits.maxTokenBytes still applies', async () => {
  const h = await host(config([rs]));
  const groups = Array.from({ length: 400 }, (_, i) => `cn=group-${String(i).padStart(4, '0')},ou=groups,dc=example,dc=com`);
  const t = await token(rs, nowSec(h), { groups });
  assert.ok(t.length > 20_000 && t.length < 30_000, `token is ${t.length} bytes`);
  await expectPass(h, t, '20 KiB token');
  const capped = await host(config([rs], {}, { limits: { maxTokenBytes: 16384 } }), { clockMs: h.nowMs() });
  await expectStatus(capped, t, 'JwtTooLarge');
  const big = await host(config([rs], {}, { limits: { maxTokenBytes: 262144 } }), { clockMs: h.nowMs() });
  await expectPass(big, t, 'a raised limit');
});
