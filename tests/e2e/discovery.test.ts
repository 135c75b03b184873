// OIDC discovery in real Envoy: the filter fetches <issuer>/.well-known/openid-configuration through
// an Envoy cluster, checks its issuer, fetches the keys at its jwks_uri, and picks up key rotation
// at the provider without a restart. (tests/e2e/hydra.test.ts does the same with a real provider.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnvoy, type Envoy } from '../lib/envoy.ts';
import { startUpstream, type Upstream } from '../lib/upstream.ts';
import { startOidcMetadataServer, type OidcMetadataServer } from '../lib/oidc-server.ts';
import { makeKey, jwksOf, type TestKey } from '../lib/keys.ts';
import { mint, claims, nowSeconds, flipSignatureBit } from '../lib/mint.ts';

const AUD = 'https://shop.cellauth.local';
let upstream: Upstream;
let idp: OidcMetadataServer;
let liar: OidcMetadataServer;
let envoy: Envoy;
let k1: TestKey;

async function status(url: string, t: string) {
  const r = await fetch(url, { headers: { authorization: `Bearer ${t}` }, signal: AbortSignal.timeout(5000) });
  const text = await r.text();
  return { status: r.status, text };
}
async function eventually(what: string, check: () => Promise<boolean>, ms = 10_000) {
  const until = Date.now() + ms;
  while (Date.now() < until) { if (await check()) return; await new Promise((r) => setTimeout(r, 200)); }
  assert.fail(`not within ${ms} ms: ${what}`);
}

before(async () => {
  k1 = await makeKey('RS256');
  upstream = await startUpstream();
  idp = await startOidcMetadataServer(jwksOf(k1));
  liar = await startOidcMetadataServer(jwksOf(k1));
  liar.setDiscovery({ issuer: 'http://127.0.0.1:1/realms/shop' });
  const cfg = (issuer: string, cluster: string) => ({
    version: 'v1', cell: 'shop',
    jwtRules: [{ issuer, audiences: [AUD], remoteJwks: { cluster, discovery: true, cacheDurationSeconds: 60, refetchIntervalMs: 500, timeoutMs: 1000 } }],
  });
  envoy = await startEnvoy({
    clusters: { upstream: upstream.port, idp: idp.port, liar: liar.port },
    listeners: [
      { name: 'edge', filters: [{ wasm: { vmId: 'disc', pluginConfig: cfg(idp.issuer, 'idp') } }] },
      { name: 'liar', filters: [{ wasm: { vmId: 'liar', pluginConfig: cfg(liar.issuer, 'liar') } }] },
    ],
  });
});

after(async () => { await envoy?.stop(); await idp?.stop(); await liar?.stop(); await upstream?.close?.(); });

const tok = (k: TestKey, iss = idp.issuer) => mint(claims(nowSeconds(), { iss, aud: AUD, sub: 'alice' }), { key: k });

test('the keys are found through discovery and a cluster; tokens pass, tampered ones do not', async () => {
  await eventually('discovery, then the JWKS', async () => (await status(envoy.url('edge', '/'), await tok(k1))).status === 200);
  assert.ok(idp.discoveryFetches >= 1 && idp.jwksFetches >= 1, `discovery ${idp.discoveryFetches}, jwks ${idp.jwksFetches}`);
  assert.equal(upstream.seen.at(-1)!.headers['x-cellery-auth-subject'], 'alice');
  assert.equal((await status(envoy.url('edge', '/'), flipSignatureBit(await tok(k1), 4))).status, 401);
});

test('key rotation at the provider is picked up without restarting Envoy', async () => {
  const k2 = await makeKey('RS256');
  idp.setJwks(jwksOf(k2));
  await new Promise((r) => setTimeout(r, 600));   // past the refetch interval
  const r = await status(envoy.url('edge', '/'), await tok(k2));
  assert.equal(r.status, 200, r.text);
  assert.ok((await envoy.wasmMetric('cellauth.shop.jwks_refetch_unknown_kid'))! >= 1);
  // The retired key is gone from the provider; the refetched set no longer holds it.
  assert.equal((await status(envoy.url('edge', '/'), await tok(k1))).status, 401);
});

test('a discovery document naming another issuer is refused: no keys, fail closed', async () => {
  await eventually('a failed discovery', async () => liar.discoveryFetches >= 1);
  const r = await status(envoy.url('liar', '/'), await tok(k1, liar.issuer));
  assert.equal(r.status, 401);
  assert.equal(JSON.parse(r.text).status, 'JwksNoValidKeys');
  assert.equal(liar.jwksFetches, 0, 'the keys of a document for another issuer are never fetched');
  assert.match(envoy.logs(), /OIDC discovery for [^\n]* failed \(the discovery document is for issuer/);
});
