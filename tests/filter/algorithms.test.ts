// Every JWS algorithm verifies on the path `crypto` selects (host verify_signature where it can,
// pure AssemblyScript everywhere else), tampering always fails, and the algorithm is decided by
// configuration and key type, never by the token alone.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { host, load, config, token, bearer, nowSec, makeKey, jwksOf, ISS, AUD, type TestKey, type Alg } from './fixture.ts';
import { flipSignatureBit, changePayload, hmacForge } from '../lib/mint.ts';

const ALGS: Alg[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'EdDSA', 'HS256', 'HS384', 'HS512'];
const keys = new Map<Alg, TestKey>();
before(async () => { for (const a of ALGS) keys.set(a, await makeKey(a)); });

for (const crypto of ['auto', 'wasm', 'host'] as const) {
  for (const foreign of crypto === 'auto' ? [true, false] : [true]) {
    test(`crypto=${crypto}${foreign ? '' : ' on a host without verify_signature'}: every algorithm`, async () => {
      const all = [...keys.values()];
      const h = await host(config(all, {}, { crypto }), { foreignFunctions: foreign });
      for (const alg of ALGS) {
        const k = keys.get(alg)!;
        const good = await token(k, nowSec(h), { sub: alg });
        const r = await h.request({ headers: bearer(good) });
        // crypto=host: PS* and EdDSA, which the host cannot verify, go to the AssemblyScript verifier.
        assert.equal(r.kind, 'continue', `${alg} good token: ${r.body}`);
        assert.equal(r.upstreamHeaders['x-cellery-auth-subject'], alg);
        for (const bad of [flipSignatureBit(good, 0), flipSignatureBit(good, 17, 3), changePayload(good, { sub: 'x' })]) {
          const rb = await h.request({ headers: bearer(bad) });
          assert.equal(rb.status, 401, `${alg} tampered token must fail`);
        }
      }
    });
  }
}

test('crypto=auto asks the host for RS256/ES256, and asks once only on a host without it', async () => {
  for (const alg of ['RS256', 'ES256'] as const) {
    const k = keys.get(alg)!;
    const h = await host(config([k]));
    assert.equal((await h.request({ headers: bearer(await token(k, nowSec(h))) })).kind, 'continue');
    assert.deepEqual(h.foreignCalls, ['verify_signature'], `${alg} went through verify_signature`);
    const w = await host(config([k], {}, { crypto: 'wasm' }));
    assert.equal((await w.request({ headers: bearer(await token(k, nowSec(w))) })).kind, 'continue');
    assert.deepEqual(w.foreignCalls, [], 'crypto=wasm never calls the host');
    const none = await host(config([k]), { foreignFunctions: false });
    for (let i = 0; i < 3; i++) assert.equal((await none.request({ headers: bearer(await token(k, nowSec(none), { i })) })).kind, 'continue');
    assert.deepEqual(none.foreignCalls, ['verify_signature'], 'NOT_FOUND is remembered: later requests go straight to wasm');
  }
  const ps = keys.get('PS256')!;
  const p = await host(config([ps]));
  assert.equal((await p.request({ headers: bearer(await token(ps, nowSec(p))) })).kind, 'continue');
  assert.deepEqual(p.foreignCalls, [], 'PS256 cannot go to the host (no PSS padding in its API)');
});

test('key-type confusion: HS256 signed with the RSA public key is rejected', async () => {
  const rsa = keys.get('RS256')!;
  const h = await host(config([rsa]));
  const n = nowSec(h);
  const pem = (await import('node:crypto')).createPublicKey({ key: rsa.jwk as any, format: 'jwk' }).export({ format: 'pem', type: 'spki' });
  for (const secret of [pem as string, rsa.spki!]) {
    const forged = hmacForge(secret, { alg: 'HS256', kid: rsa.kid }, { iss: ISS, aud: AUD, sub: 'admin', iat: n, exp: n + 60 });
    const r = await h.request({ headers: bearer(forged) });
    assert.equal(r.status, 401);
    assert.equal(JSON.parse(r.body).status, 'JwtAlgNotAllowed');
  }
});

test('a key with alg set only verifies that alg; the algorithms allowlist is enforced', async () => {
  const es = keys.get('ES256')!;
  const h = await host(config([es], { algorithms: ['RS256'] }));
  const r = await h.request({ headers: bearer(await token(es, nowSec(h))) });
  assert.equal(JSON.parse(r.body).status, 'JwtAlgNotAllowed');
});

test('no kid: every key of the right type is tried', async () => {
  const a = await makeKey('ES256');
  const b = keys.get('ES256')!;
  const h = await host(config([a, b]));
  const { mint, claims } = await import('../lib/mint.ts');
  const t = await mint(claims(nowSec(h), { iss: ISS, aud: AUD }), { key: b, kid: null });
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
});

test('HMAC keys shorter than the hash are refused (RFC 7518 §3.2)', async () => {
  const h = await load();
  const short = { keys: [{ kty: 'oct', kid: 's', k: Buffer.alloc(16, 1).toString('base64url') }] };
  assert.equal(h.configure(config([], { jwks: short })), false);
  assert.match(h.logText(), /jwks: JWKS has no usable signing key/);
});
