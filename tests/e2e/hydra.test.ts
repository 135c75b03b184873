// A real OpenID Connect provider at the edge: ORY Hydra (scripts/install-hydra.sh), alice signs in
// through a real authorization-code flow, and real Envoy with cellauth finds Hydra's keys through
// OIDC discovery over an Envoy cluster. Key rotation at Hydra (its admin keys API) is picked up
// without restarting Envoy.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnvoy, type Envoy } from '../lib/envoy.ts';
import { startUpstream, type Upstream } from '../lib/upstream.ts';
import { startHydra, ensureHydra, type Hydra } from '../lib/hydra.ts';
import { decodeHeader, decodePayload, flipSignatureBit, changePayload } from '../lib/mint.ts';

const unavailable = ensureHydra();
const skip = unavailable ? `hydra unavailable: ${unavailable}` : false;
let idp: Hydra;
let upstream: Upstream;
let envoy: Envoy;

async function call(t: string) {
  const r = await fetch(envoy.url('edge', '/orders'), { headers: { authorization: `Bearer ${t}` }, signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  return { status: r.status, text };
}

before(async () => {
  if (skip) return;
  idp = await startHydra({ expiredTokens: true });
  upstream = await startUpstream();
  envoy = await startEnvoy({
    clusters: { upstream: upstream.port, idp: idp.port },
    listeners: [{ name: 'edge', filters: [{ wasm: { vmId: 'edge', pluginConfig: {
      version: 'v1', cell: 'shop',
      jwtRules: [{
        issuer: idp.issuer, audiences: [idp.audience],
        remoteJwks: { cluster: 'idp', discovery: true, cacheDurationSeconds: 300, refetchIntervalMs: 500, timeoutMs: 2000 },
        outputClaimToHeaders: [{ header: 'x-user-email', claim: 'email' }],
      }],
    } } }] }],
  });
});

after(async () => { await envoy?.stop(); await idp?.stop(); await upstream?.close?.(); });

test('alice signs in at Hydra (authorization code flow); Envoy with cellauth accepts her access token', { skip }, async () => {
  const t = await idp.tokenFor('alice');
  const claims = decodePayload(t);
  assert.equal(claims.iss, idp.issuer);
  assert.equal(claims.sub, 'alice');
  assert.deepEqual(claims.aud, [idp.audience]);
  let r = await call(t);
  for (let i = 0; i < 20 && r.status !== 200; i++) { await new Promise((s) => setTimeout(s, 250)); r = await call(t); }
  assert.equal(r.status, 200, r.text);
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.headers['x-cellery-auth-subject'], 'alice');
  assert.equal(seen.headers['x-user-email'], 'alice@shop.cellauth.local');
  assert.equal(seen.headers.authorization, undefined, 'the token is not forwarded');
});

test('a tampered token is refused; a wrong password gets no token at all', { skip }, async () => {
  const t = await idp.tokenFor('alice');
  assert.equal((await call(flipSignatureBit(t, 10))).status, 401);
  const forged = await call(changePayload(t, { sub: 'admin' }));
  assert.equal(forged.status, 401);
  assert.equal(JSON.parse(forged.text).status, 'JwtVerificationFail');
  await assert.rejects(idp.tokenFor('alice', { password: 'wrong-password' }), /access_denied|refused/);
});

test('a real Hydra token for another application, or for none, is refused: 403 JwtAudienceNotAllowed', { skip }, async () => {
  const elsewhere = await idp.tokenFor('alice', { audience: ['https://elsewhere.cellauth.local'] });
  assert.deepEqual(decodePayload(elsewhere).aud, ['https://elsewhere.cellauth.local']);
  const none = await idp.tokenFor('alice', { audience: [] });
  for (const t of [elsewhere, none]) {
    const r = await call(t);
    assert.equal(r.status, 403);
    assert.equal(JSON.parse(r.text).status, 'JwtAudienceNotAllowed');
  }
});

test('an expired Hydra token is refused as JwtExpired; an unknown user gets no token', { skip }, async () => {
  const r = await call(await idp.expiredTokenFor('alice', 300));
  assert.equal(r.status, 401);
  assert.equal(JSON.parse(r.text).status, 'JwtExpired');
  await assert.rejects(idp.tokenFor('mallory', { password: 'guess' }), /access_denied/);
});

test('key rotation at Hydra is picked up without restarting Envoy', { skip }, async () => {
  const before = await idp.tokenFor('alice');
  const kid = await idp.rotateKeys();
  await new Promise((r) => setTimeout(r, 1100));   // Hydra orders keys by creation time (seconds)
  const after = await idp.tokenFor('alice');
  assert.equal(decodeHeader(after).kid, kid, 'Hydra signs with the new key');
  assert.notEqual(decodeHeader(before).kid, kid);
  await new Promise((r) => setTimeout(r, 600));    // past the unknown-kid refetch interval
  const r = await call(after);
  assert.equal(r.status, 200, r.text);
  assert.ok((await envoy.wasmMetric('cellauth.shop.jwks_refetch_unknown_kid'))! >= 1, 'one refetch for the new kid');
  assert.equal((await call(before)).status, 200, 'tokens from the previous key stay valid while Hydra publishes it');
  assert.equal((await call(flipSignatureBit(after, 3))).status, 401);
});
