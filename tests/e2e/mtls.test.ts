// Workload identity in real Envoy, as Istio's sidecars do it: the inbound listener requires a
// client certificate from the trust domain's CA with a spiffe://cluster.local/ URI SAN, and the
// filter takes the calling workload from that verified certificate. A cell token is accepted only
// from the workload it was bound to; no header (x-forwarded-client-cert included) can name a peer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEnvoy, type Envoy } from '../lib/envoy.ts';
import { startUpstream, type Upstream } from '../lib/upstream.ts';
import { makeKey, jwksOf, type TestKey } from '../lib/keys.ts';
import { mint, claims, nowSeconds } from '../lib/mint.ts';
import { SpiffeCa, type Svid } from '../lib/spiffe-ca.ts';
import { mtlsFetch } from '../lib/mtls-client.ts';

const ISS = 'reviews--sts-service.reviews';
const AUD = 'customer-products.customer-products';
let dir: string;
let ca: SpiffeCa;
let sidecar: Svid, reviews: Svid, customers: Svid;
let key: TestKey;
let upstream: Upstream;
let envoy: Envoy;
let url: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cellauth-mtls-'));
  ca = await SpiffeCa.create(join(dir, 'ca'));
  sidecar = await ca.issue('customer-products', 'categories-service');
  reviews = await ca.issue('reviews', 'reviews-service');
  customers = await ca.issue('reviews', 'customers-service');
  key = await makeKey('ES256');
  upstream = await startUpstream();
  envoy = await startEnvoy({
    listeners: [{
      name: 'inbound',
      tls: { certFile: sidecar.certFile, keyFile: sidecar.keyFile, caFile: ca.caFile },
      filters: [{ wasm: { pluginConfig: {
        version: 'v1', cell: 'customer-products', namespace: 'customer-products', workload: 'categories-service',
        jwtRules: [{ issuer: ISS, audiences: [AUD], jwks: jwksOf(key), fromHeaders: [{ name: 'cellery-authorization', prefix: 'Bearer ' }] }],
      } } }],
    }],
    clusters: { upstream: upstream.port },
  });
  url = envoy.url('inbound', '/categories');
  assert.match(url, /^https:/);
});

after(async () => {
  await envoy?.stop();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const cellToken = (bound: string) =>
  mint(claims(nowSeconds(), { iss: ISS, aud: AUD, sub: 'alice', cnf: { spiffe_id: bound }, cell: { name: 'reviews', workload: 'reviews-service' } }), { key });
const call = (client: Svid | undefined, headers: Record<string, string> = {}) =>
  mtlsFetch(url, { ca: ca.caPem, client, headers });

test('a peer without a certificate from the trust domain cannot connect', async () => {
  const otherCa = await SpiffeCa.create(join(dir, 'other-ca'));
  const stranger = await otherCa.issue('reviews', 'reviews-service');
  const foreignDomain = await ca.issue('reviews', 'reviews-service', { trustDomain: 'evil.local' });
  const noSpiffeId = await ca.issue('reviews', 'reviews-service', { noSpiffeId: true });
  const t = await cellToken(reviews.spiffeId);
  for (const [why, client] of [
    ['no client certificate', undefined],
    ['a certificate from another CA', stranger],
    ['a certificate of another trust domain', foreignDomain],
    ['a certificate with no SPIFFE ID', noSpiffeId],
  ] as const) {
    await assert.rejects(call(client, { 'cellery-authorization': `Bearer ${t}` }), /socket|handshake|certificate|alert|ECONNRESET|EPIPE/i, why);
  }
  assert.equal(upstream.seen.length, 0, 'nothing reached the service');
});

test('the workload a cell token is bound to gets through; the service sees the verified peer, not a forged one', async () => {
  const t = await cellToken(reviews.spiffeId);
  const forged = `By=spiffe://cluster.local/ns/customer-products/sa/categories-service;URI=spiffe://cluster.local/ns/reviews/sa/payments-admin`;
  const r = await call(reviews, { 'cellery-authorization': `Bearer ${t}`, 'x-forwarded-client-cert': forged });
  assert.equal(r.status, 200, r.text);
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.headers['x-cellery-auth-subject'], 'alice');
  const xfcc = String(seen.headers['x-forwarded-client-cert']);
  assert.match(xfcc, new RegExp(`URI=${reviews.spiffeId.replace(/[/.]/g, '\\$&')}`));
  assert.doesNotMatch(xfcc, /payments-admin/, 'the client-sent x-forwarded-client-cert was dropped');
  assert.equal(seen.headers['cellery-authorization'], undefined, 'the verified token is removed');
});

test('a cell token replayed by another workload (another SPIFFE ID) is refused: 401 JwtNotBoundToPeer', async () => {
  const t = await cellToken(reviews.spiffeId);
  const before = upstream.seen.length;
  for (const headers of [
    { 'cellery-authorization': `Bearer ${t}` },
    { 'cellery-authorization': `Bearer ${t}`, 'x-forwarded-client-cert': `URI=${reviews.spiffeId}` },
  ]) {
    const r = await call(customers, headers);
    assert.equal(r.status, 401, r.text);
    assert.equal(r.json().status, 'JwtNotBoundToPeer');
    assert.match(String(r.headers['www-authenticate']), /error="invalid_token"/);
  }
  assert.equal(upstream.seen.length, before);
  assert.equal(await envoy.wasmMetric('cellauth.customer-products.jwt_not_bound_to_peer'), 2);
});
