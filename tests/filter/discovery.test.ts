// OIDC discovery (remoteJwks.discovery): the root context fetches <issuer>/.well-known/openid-configuration
// through the cluster, believes it only for the rule's issuer, then fetches the keys at its jwks_uri,
// with the caching, sharing, stale-if-error and unknown-kid refetches of a plain remote JWKS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { host, token, bearer, nowSec, makeKey, jwksOf, AUD, type TestKey } from './fixture.ts';
import { SharedStore, type HttpCall } from '../host/emulator.ts';
import { mint, claims } from '../lib/mint.ts';

const settle = async () => { for (let i = 0; i < 4; i++) await new Promise((r) => setImmediate(r)); };
const IDP = 'https://idp.example.com/realms/shop';

function discoveryConfig(remote: Record<string, unknown> = {}, issuer = IDP) {
  return {
    version: 'v1', cell: 'reviews',
    jwtRules: [{ issuer, audiences: [AUD], remoteJwks: { cluster: 'idp', discovery: true, refetchIntervalMs: 1000, ...remote } }],
  };
}
const tok = (k: TestKey, now: number, extra: Record<string, unknown> = {}) => mint(claims(now, { iss: IDP, aud: AUD, ...extra }), { key: k });

// A provider: discovery document and JWKS, each can change or fail.
function provider(keys: TestKey[], opts: { issuer?: string; jwksUri?: string } = {}) {
  const state = {
    keys, issuer: opts.issuer ?? IDP, jwksUri: opts.jwksUri ?? 'https://idp.example.com/realms/shop/protocol/openid-connect/certs',
    discoveryDown: false, jwksDown: false, calls: [] as HttpCall[],
  };
  const handler = (call: HttpCall) => {
    state.calls.push(call);
    const path = call.header(':path');
    if (path === '/realms/shop/.well-known/openid-configuration' || path === '/custom/oidc') {
      if (state.discoveryDown) return 'fail' as const;
      return { status: 200, body: JSON.stringify({
        issuer: state.issuer, jwks_uri: state.jwksUri, authorization_endpoint: `${IDP}/auth`, token_endpoint: `${IDP}/token`,
        id_token_signing_alg_values_supported: ['RS256', 'ES256'], response_types_supported: ['code'], subject_types_supported: ['public'],
      }) };
    }
    if (state.jwksDown) return { status: 503, body: '' };
    if (path === new URL(state.jwksUri).pathname + new URL(state.jwksUri).search) return { status: 200, body: JSON.stringify(jwksOf(...state.keys)) };
    return { status: 404, body: '' };
  };
  return { state, handler };
}
const paths = (calls: HttpCall[]) => calls.map((c) => `${c.cluster} ${c.header(':authority')} ${c.header(':path')}`);

test('discovery: the document at <issuer path>/.well-known/openid-configuration names jwks_uri; then tokens pass', async () => {
  const k = await makeKey('RS256');
  const p = provider([k]);
  const h = await host(discoveryConfig(), { onHttpCall: p.handler });
  await settle();
  assert.deepEqual(paths(p.state.calls), [
    'idp idp.example.com /realms/shop/.well-known/openid-configuration',
    'idp idp.example.com /realms/shop/protocol/openid-connect/certs',
  ]);
  assert.equal((await h.request({ headers: bearer(await tok(k, nowSec(h))) })).kind, 'continue');
  assert.equal(h.metric('cellauth.reviews.jwks_fetch_ok'), 1);
});

test('discovery: openidConfigurationPath, a jwks_uri on another host through jwksCluster, and a query string', async () => {
  const k = await makeKey('ES256');
  const p = provider([k], { jwksUri: 'https://www.googleapis.com/oauth2/v3/certs?v=2#frag' });
  const h = await host(discoveryConfig({ openidConfigurationPath: '/custom/oidc', jwksCluster: 'googleapis', authority: 'idp.internal' }), { onHttpCall: p.handler });
  await settle();
  assert.deepEqual(paths(p.state.calls), ['idp idp.internal /custom/oidc', 'googleapis www.googleapis.com /oauth2/v3/certs?v=2']);
  assert.equal((await h.request({ headers: bearer(await tok(k, nowSec(h))) })).kind, 'continue');
});

test('discovery: a document for another issuer is refused; no keys means fail closed', async () => {
  const k = await makeKey('ES256');
  for (const issuer of ['https://evil.example.com/realms/shop', `${IDP}/`, IDP.toUpperCase()]) {
    const p = provider([k], { issuer });
    const h = await host(discoveryConfig(), { onHttpCall: p.handler });
    await settle();
    assert.equal(p.state.calls.length, 1, `${issuer}: the JWKS was not fetched`);
    const r = await h.request({ headers: bearer(await tok(k, nowSec(h))) });
    assert.equal(JSON.parse(r.body).status, 'JwksNoValidKeys', issuer);
    assert.match(h.logText(), /OIDC discovery for .* failed \(the discovery document is for issuer/);
  }
});

test('discovery: a document without jwks_uri, or with a relative one, is a failed fetch', async () => {
  const k = await makeKey('ES256');
  for (const jwksUri of ['/certs', 'file:///etc/keys', 'https://user@host/certs']) {
    const p = provider([k], { jwksUri });
    const h = await host(discoveryConfig(), { onHttpCall: p.handler });
    await settle();
    assert.equal((await h.request({ headers: bearer(await tok(k, nowSec(h))) })).status, 401, jwksUri);
    assert.match(h.logText(), /is not an absolute http\(s\) URL/);
  }
});

test('discovery: rotation at the provider is picked up by one unknown-kid refetch (no new discovery needed)', async () => {
  const old = await makeKey('RS256');
  const next = await makeKey('RS256');
  const p = provider([old]);
  const h = await host(discoveryConfig(), { onHttpCall: p.handler });
  await settle();
  p.state.keys = [next];
  h.advance(1500);
  await settle();
  const before = p.state.calls.length;
  const r = await h.request({ headers: bearer(await tok(next, nowSec(h))) });
  assert.equal(r.kind, 'continue', r.body);
  assert.deepEqual(paths(p.state.calls.slice(before)), ['idp idp.example.com /realms/shop/protocol/openid-connect/certs']);
  assert.equal(h.metric('cellauth.reviews.jwks_refetch_unknown_kid'), 1);
});

test('discovery: scheduled refreshes re-read the document; a moved jwks_uri is followed', async () => {
  const k = await makeKey('ES256');
  const k2 = await makeKey('ES256');
  const p = provider([k]);
  const h = await host(discoveryConfig({ cacheDurationSeconds: 2 }), { onHttpCall: p.handler });
  await settle();
  p.state.jwksUri = 'https://idp.example.com/realms/shop/keys-v2';
  p.state.keys = [k2];
  for (let i = 0; i < 6; i++) { h.advance(500); await settle(); }
  assert.ok(paths(p.state.calls).includes('idp idp.example.com /realms/shop/keys-v2'), paths(p.state.calls).join('\n'));
  assert.equal((await h.request({ headers: bearer(await tok(k2, nowSec(h))) })).kind, 'continue');
});

test('discovery: the provider down keeps the last good keys (stale-if-error), for the document and the keys', async () => {
  const k = await makeKey('ES256');
  const p = provider([k]);
  const h = await host(discoveryConfig({ cacheDurationSeconds: 1 }), { onHttpCall: p.handler });
  await settle();
  p.state.jwksDown = true;
  for (let i = 0; i < 4; i++) { h.advance(1000); await settle(); }
  p.state.discoveryDown = true;
  for (let i = 0; i < 4; i++) { h.advance(1000); await settle(); }
  assert.ok((h.metric('cellauth.reviews.jwks_fetch_failed') ?? 0) >= 2);
  assert.equal((await h.request({ headers: bearer(await tok(k, nowSec(h))) })).kind, 'continue');
  assert.match(h.logText(), /OIDC discovery for .* failed \(.*\); keeping the last good key set/);
  p.state.discoveryDown = false; p.state.jwksDown = false;
  const k2 = await makeKey('ES256');
  p.state.keys = [k2];
  for (let i = 0; i < 4; i++) { h.advance(1000); await settle(); }
  assert.equal((await h.request({ headers: bearer(await tok(k2, nowSec(h))) })).kind, 'continue', 'recovered');
});

test('discovery: workers share one fetch through shared data', async () => {
  const k = await makeKey('RS256');
  const p = provider([k]);
  const store = new SharedStore();
  const w1 = await host(discoveryConfig(), { onHttpCall: p.handler, sharedStore: store });
  await settle();
  const w2 = await host(discoveryConfig(), { onHttpCall: p.handler, sharedStore: store, clockMs: w1.nowMs() });
  await settle();
  assert.equal(p.state.calls.length, 2, 'one discovery and one JWKS fetch for both workers');
  assert.equal((await w2.request({ headers: bearer(await tok(k, nowSec(w2))) })).kind, 'continue');
});

test('discovery: configuration errors', async () => {
  const { load } = await import('./fixture.ts');
  const bad: Array<[string, object]> = [
    ['an issuer that is not a URL', discoveryConfig({}, 'reviews--sts-service.default')],
    ['path with discovery', discoveryConfig({ path: '/keys' })],
    ['jwksCluster without discovery', { version: 'v1', cell: 'reviews', jwtRules: [{ issuer: IDP, audiences: [AUD], remoteJwks: { cluster: 'idp', jwksCluster: 'x' } }] }],
    ['relative openidConfigurationPath', discoveryConfig({ openidConfigurationPath: 'oidc' })],
  ];
  for (const [name, cfg] of bad) {
    const h = await load();
    assert.equal(h.configure(cfg), false, name);
    assert.match(h.logText(), /configuration refused: config\.jwtRules\[0\]\.remoteJwks/, name);
  }
});
