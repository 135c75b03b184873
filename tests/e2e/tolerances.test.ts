// Tokens and key sets as real identity providers emit them, in real Envoy, with cellauth and
// Envoy's native jwt_authn side by side on the same keys: where jwt_authn accepts a token RFC 7519
// allows, cellauth accepts it too; where it refuses (tampering, audience), both refuse.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnvoy, type Envoy } from '../lib/envoy.ts';
import { startUpstream, type Upstream } from '../lib/upstream.ts';
import { startJwksServer, type JwksServer } from '../lib/jwks-server.ts';
import { makeKey, type TestKey } from '../lib/keys.ts';
import { mint, claims, nowSeconds, flipSignatureBit, changePayload } from '../lib/mint.ts';
import { googleCertMap } from '../lib/x509-keys.ts';
import { jwtAuthnListener } from '../lib/side-by-side.ts';

const ISS = 'https://accounts.idp.test';
const AUD = 'https://shop.cellauth.local';
let rs: TestKey;
let anon: TestKey;           // served without kid
let es: TestKey;             // served without crv
let ps: TestKey;
let google: TestKey;
let upstream: Upstream;
let certs: JwksServer;
let envoy: Envoy;

async function get(url: string, headers: Record<string, string> = {}) {
  const r = await fetch(url, { headers, signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  let json: any;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, text, json };
}
const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
const signText = (k: TestKey, text: string, kid?: string | null) => mint(text, { key: k, kid });

before(async () => {
  rs = await makeKey('RS256');
  anon = await makeKey('RS256');
  es = await makeKey('ES256');
  ps = await makeKey('PS256');
  google = await makeKey('RS256', '3f1c0ffee9d8b7a6f5e4d3c2b1a09f8e7d6c5b4a');
  const { kid: _k, ...anonJwk } = anon.jwk;
  const { crv: _c, ...esJwk } = es.jwk;
  // A JWKS as a provider mid-migration serves it: an encryption key, a key without kid, an EC key
  // without crv, and a curve nobody verifies yet, beside the signing keys.
  const jwks = { keys: [
    { ...(await makeKey('RS256')).jwk, use: 'enc', alg: 'RSA-OAEP', kid: 'enc' },
    rs.jwk, anonJwk, esJwk, ps.jwk,
    { kty: 'OKP', crv: 'Ed448', x: Buffer.alloc(57, 3).toString('base64url'), kid: 'ed448' },
  ] };
  const jwksForJwtAuthn = { keys: [rs.jwk, anonJwk, ps.jwk] };
  upstream = await startUpstream();
  certs = await startJwksServer(await googleCertMap(google), { path: '/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com' });
  const rule = { issuer: ISS, audiences: [AUD], jwks };
  envoy = await startEnvoy({
    clusters: { upstream: upstream.port, google: certs.port },
    listeners: [
      { name: 'cellauth', filters: [{ wasm: { vmId: 'tol', pluginConfig: { version: 'v1', cell: 'shop', jwtRules: [rule] } } }] },
      { name: 'host', filters: [{ wasm: { vmId: 'tolhost', pluginConfig: { version: 'v1', cell: 'shop', crypto: 'host', jwtRules: [rule] } } }] },
      { name: 'google', filters: [{ wasm: { vmId: 'google', pluginConfig: { version: 'v1', cell: 'shop', jwtRules: [{
        issuer: 'https://securetoken.google.com/shop', audiences: ['shop'],
        remoteJwks: { cluster: 'google', path: '/robot/v1/metadata/x509/securetoken@system.gserviceaccount.com' },
      }] } } }] },
      jwtAuthnListener('jwt_authn', { issuer: ISS, audiences: [AUD], jwks: jwksForJwtAuthn }),
    ],
  });
});

after(async () => { await envoy?.stop(); await certs?.stop(); await upstream?.close?.(); });

async function both(t: string) {
  const c = await get(envoy.url('cellauth', '/x'), bearer(t));
  const j = await get(envoy.url('jwt_authn', '/x'), bearer(t));
  return { c, j };
}

test('NumericDates as providers write them, iat in the future, a key without kid: accepted by both cellauth and jwt_authn', async () => {
  const n = nowSeconds();
  const cases: Array<[string, Promise<string>]> = [
    ['exp now + 3600.5, iat with a fraction', signText(rs, `{"iss":"${ISS}","aud":"${AUD}","sub":"a","iat":${n - 0.5},"exp":${n + 3600.5}}`)],
    ['exp in exponent form', signText(rs, `{"iss":"${ISS}","aud":"${AUD}","sub":"a","exp":${(n + 600).toExponential()}}`)],
    ['exp after the year 9999', signText(rs, `{"iss":"${ISS}","aud":"${AUD}","sub":"a","exp":${253402300800 * 2}}`)],
    ['nbf with a fraction', signText(rs, `{"iss":"${ISS}","aud":"${AUD}","sub":"a","nbf":${n - 10.25},"exp":${n + 600}}`)],
    ['iat ten minutes in the future', mint(claims(n, { iss: ISS, aud: AUD, iat: n + 600, exp: n + 1200 }), { key: rs })],
    ['a kid that matches no key, verified by the kid-less key', mint(claims(n, { iss: ISS, aud: AUD }), { key: anon })],
    ['no kid at all', mint(claims(n, { iss: ISS, aud: AUD }), { key: anon, kid: null })],
  ];
  for (const [what, made] of cases) {
    const { c, j } = await both(await made);
    assert.equal(j.status, 200, `jwt_authn: ${what}: ${j.text}`);
    assert.equal(c.status, 200, `cellauth: ${what}: ${c.text}`);
  }
});

test('refusals do not move: tampering, a foreign key, the wrong audience, a non-number date: both refuse', async () => {
  const n = nowSeconds();
  const good = await mint(claims(n, { iss: ISS, aud: AUD }), { key: rs });
  const cases: Array<[string, string]> = [
    ['flipped signature bit', flipSignatureBit(good, 5)],
    ['changed payload', changePayload(good, { sub: 'root' })],
    ['kid-less key, tampered', flipSignatureBit(await mint(claims(n, { iss: ISS, aud: AUD }), { key: anon }), 2)],
    ['a stranger\'s key', await mint(claims(n, { iss: ISS, aud: AUD }), { key: await makeKey('RS256') })],
    ['wrong audience', await mint(claims(n, { iss: ISS, aud: 'https://other.test' }), { key: rs })],
    ['exp as a string', await signText(rs, `{"iss":"${ISS}","aud":"${AUD}","exp":"${n + 600}"}`)],
    ['negative exp', await signText(rs, `{"iss":"${ISS}","aud":"${AUD}","exp":-5.5}`)],
    ['expired, with a fraction', await signText(rs, `{"iss":"${ISS}","aud":"${AUD}","exp":${n - 300.5}}`)],
  ];
  for (const [what, t] of cases) {
    const { c, j } = await both(t);
    assert.ok(j.status === 401 || j.status === 403, `jwt_authn refuses ${what} (${j.status})`);
    assert.ok(c.status === 401 || c.status === 403, `cellauth refuses ${what} (${c.status} ${c.text})`);
  }
});

test('EC key without crv, PS256 under crypto=host, and the mixed key set in real Envoy', async () => {
  const n = nowSeconds();
  for (const k of [es, ps, rs]) {
    const t = await mint(claims(n, { iss: ISS, aud: AUD, sub: k.alg }), { key: k });
    for (const l of ['cellauth', 'host']) {
      const r = await get(envoy.url(l, '/x'), bearer(t));
      assert.equal(r.status, 200, `${l} ${k.alg}: ${r.text}`);
      assert.equal(upstream.seen.at(-1)!.headers['x-cellery-auth-subject'], k.alg);
      assert.equal((await get(envoy.url(l, '/x'), bearer(flipSignatureBit(t, 3)))).status, 401, `${l} ${k.alg} tampered`);
    }
  }
  const logs = envoy.logs();
  assert.match(logs, /ignored 2: keys\[0\] \(kid "enc"\)[^\n]*keys\[5\] \(kid "ed448"\)/, 'the unusable keys are named in the log');
  assert.match(logs, /crypto: host: [^\n]*AssemblyScript verifier/);
});

test('Google\'s X.509 key map (Firebase ID tokens) fetched through an Envoy cluster', async () => {
  const t = await mint(claims(nowSeconds(), { iss: 'https://securetoken.google.com/shop', aud: 'shop', sub: 'firebase-user' }), { key: google });
  let r = await get(envoy.url('google', '/x'), bearer(t));
  for (let i = 0; i < 20 && r.status !== 200; i++) { await new Promise((s) => setTimeout(s, 250)); r = await get(envoy.url('google', '/x'), bearer(t)); }
  assert.equal(r.status, 200, r.text);
  assert.equal(upstream.seen.at(-1)!.headers['x-cellery-auth-subject'], 'firebase-user');
  assert.equal((await get(envoy.url('google', '/x'), bearer(flipSignatureBit(t, 9)))).status, 401);
});

test('a ~20 KiB token with hundreds of groups passes through Envoy with both filters', async () => {
  const groups = Array.from({ length: 400 }, (_, i) => `cn=group-${String(i).padStart(4, '0')},ou=groups,dc=example,dc=com`);
  const t = await mint(claims(nowSeconds(), { iss: ISS, aud: AUD, sub: 'many-groups', groups }), { key: rs });
  assert.ok(t.length > 20_000, `token is ${t.length} bytes`);
  const { c, j } = await both(t);
  assert.equal(j.status, 200, `jwt_authn: ${j.text}`);
  assert.equal(c.status, 200, `cellauth: ${c.text}`);
  assert.equal(upstream.seen.at(-2)!.headers['x-cellery-auth-subject'], 'many-groups');
});
