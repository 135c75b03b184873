// Test keys and tokens: every algorithm mints a token that jose verifies against the exported
// JWKS, and each tampering helper produces a token that jose rejects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { makeKey, jwksOf, ALL_ALGS } from '../lib/keys.ts';
import { mint, claims, nowSeconds, flipSignatureBit, changePayload, changeHeader, algNone, hmacForge, decodeHeader } from '../lib/mint.ts';

for (const alg of ALL_ALGS) {
  test(`${alg}: mint verifies with the public JWKS; tampered tokens do not`, async () => {
    const key = await makeKey(alg);
    // jose's JWKS sets hold no oct keys: verify HS* with the secret itself.
    const set = alg.startsWith('HS') ? key.signingKey : createLocalJWKSet(jwksOf(key));
    const token = await mint(claims(nowSeconds(), { iss: 'https://i', aud: 'a' }), { key });
    const { payload, protectedHeader } = await jwtVerify(token, set, { issuer: 'https://i', audience: 'a', algorithms: [alg] });
    assert.equal(payload.sub, 'user-1');
    assert.equal(protectedHeader.kid, key.kid);
    assert.equal(protectedHeader.alg, alg);
    if (!alg.startsWith('HS')) assert.ok(key.spki && key.spki.length > 30);
    else assert.ok(jwksOf(key).keys[0].k);
    for (const bad of [flipSignatureBit(token), changePayload(token, { sub: 'admin' }), algNone(token)]) {
      await assert.rejects(jwtVerify(bad, set, { algorithms: [alg] }));
    }
  });
}

test('header options: kid omitted or overridden, extra fields; HMAC forgery with a public key', async () => {
  const key = await makeKey('RS256', 'k1');
  const noKid = await mint({ sub: 'x' }, { key, kid: null });
  assert.equal(decodeHeader(noKid).kid, undefined);
  const other = await mint({ sub: 'x' }, { key, kid: 'other', header: { crit: ['x'], x: 1 } });
  assert.deepEqual([decodeHeader(other).kid, decodeHeader(other).x, decodeHeader(other).crit], ['other', 1, ['x']]);
  assert.equal(decodeHeader(changeHeader(other, { alg: 'HS256' })).alg, 'HS256');
  const forged = hmacForge(key.spki!, { alg: 'HS256', kid: 'k1' }, { sub: 'admin' });
  await assert.rejects(jwtVerify(forged, createLocalJWKSet(jwksOf(key))));
});
