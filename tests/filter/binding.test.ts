// Cell tokens are sender-constrained: the STS binds each one to the SPIFFE ID of the workload that
// asked for it (cnf.spiffe_id), and the receiving filter accepts it only from that mTLS peer, a
// workload of the issuing cell's namespace. A cell token's `cell.name` must be its issuer's cell.
// The peer comes from the connection (Envoy's connection.uri_san_peer_certificate), never a header.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { host, config, token, bearer, nowSec, makeKey, type TestKey } from './fixture.ts';

const STS = 'reviews--sts-service.reviews';
const GW = 'spiffe://cluster.local/ns/reviews/sa/reviews--gateway';
const OTHER = 'spiffe://cluster.local/ns/reviews/sa/customers-service';
const PEER = 'connection.uri_san_peer_certificate';

let key: TestKey;
before(async () => { key = await makeKey('ES256'); });

const cellConfig = (rule: Record<string, unknown> = {}, top: Record<string, unknown> = {}) =>
  config([key], { issuer: STS, audiences: ['reviews.reviews'], ...rule }, { namespace: 'reviews', ...top });
const cellToken = (h: { nowMs(): number }, extra: Record<string, unknown> = {}) =>
  token(key, Math.floor(h.nowMs() / 1000), { iss: STS, aud: 'reviews.reviews', sub: 'alice', cnf: { spiffe_id: GW }, cell: { name: 'reviews', workload: 'reviews--gateway' }, ...extra });
const from = (peer?: string) => (peer === undefined ? {} : { [PEER]: peer });

function assertNotBound(r: { status: number; body: string; responseHeaders: Record<string, string> }, why: string) {
  assert.equal(r.status, 401, why);
  assert.equal(JSON.parse(r.body).status, 'JwtNotBoundToPeer', why);
  assert.match(r.responseHeaders['www-authenticate'], /error="invalid_token"/, why);
}

test('a cell token is accepted from the peer it is bound to', async () => {
  const h = await host(cellConfig());
  const t = await cellToken(h);
  const r = await h.request({ headers: bearer(t), properties: from(GW) });
  assert.equal(r.kind, 'continue');
  assert.equal(r.upstreamHeaders['x-cellery-auth-subject'], 'alice');
});

test('a bound cell token replayed by another workload is refused: JwtNotBoundToPeer (also from the token cache)', async () => {
  const h = await host(cellConfig());
  const t = await cellToken(h);
  assertNotBound(await h.request({ headers: bearer(t), properties: from(OTHER) }), 'first sight, from another SPIFFE ID');
  assert.equal((await h.request({ headers: bearer(t), properties: from(GW) })).kind, 'continue', 'the owner');
  // Now the token is in the verified-token cache: the binding is re-checked on every hit.
  assertNotBound(await h.request({ headers: bearer(t), properties: from(OTHER) }), 'cache hit, from another SPIFFE ID');
  assertNotBound(await h.request({ headers: bearer(t) }), 'cache hit, no mTLS peer at all');
  assert.equal(h.metric('cellauth.reviews.jwt_not_bound_to_peer'), 3);
});

test('headers cannot name the peer: a spoofed x-forwarded-client-cert or principal header changes nothing', async () => {
  const h = await host(cellConfig());
  const t = await cellToken(h);
  const spoof = { ...bearer(t), 'x-forwarded-client-cert': `By=${GW};URI=${GW}`, 'x-spiffe-id': GW, 'x-envoy-peer-principal': GW };
  assertNotBound(await h.request({ headers: spoof }), 'no peer');
  assertNotBound(await h.request({ headers: spoof, properties: from(OTHER) }), 'another peer');
});

test('a cell token without cnf, or with a malformed one, is refused', async () => {
  const h = await host(cellConfig());
  for (const cnf of [undefined, {}, { spiffe_id: 42 }, 'spiffe://cluster.local/ns/reviews/sa/reviews--gateway', { 'x5t#S256': 'abc' }]) {
    const t = await cellToken(h, { cnf });
    assertNotBound(await h.request({ headers: bearer(t), properties: from(GW) }), `cnf ${JSON.stringify(cnf)}`);
  }
});

test('the peer must be a workload of the issuing cell: another namespace or trust domain is refused even when cnf matches', async () => {
  const h = await host(cellConfig());
  for (const peer of [
    'spiffe://cluster.local/ns/customer-products/sa/categories-service',
    'spiffe://evil.local/ns/reviews/sa/reviews--gateway',
    'spiffe://cluster.local/ns/reviews/sa/',
    'spiffe://cluster.local/ns/reviews/sa/a/b',
    'spiffe://cluster.local/ns/reviewsx/sa/a',
  ]) {
    const t = await cellToken(h, { cnf: { spiffe_id: peer } });
    assertNotBound(await h.request({ headers: bearer(t), properties: from(peer) }), peer);
  }
});

test('trustDomain is configurable', async () => {
  const h = await host(cellConfig({}, { trustDomain: 'mesh.example' }));
  const id = 'spiffe://mesh.example/ns/reviews/sa/reviews--gateway';
  const t = await cellToken(h, { cnf: { spiffe_id: id } });
  assert.equal((await h.request({ headers: bearer(t), properties: from(id) })).kind, 'continue');
  const t2 = await cellToken(h);
  assertNotBound(await h.request({ headers: bearer(t2), properties: from(GW) }), 'cluster.local is not this mesh');
});

test('a cell token whose cell claim names another cell is refused: JwtCellMismatch (a forged claim under a trusted key)', async () => {
  const h = await host(cellConfig());
  for (const cell of [{ name: 'NonExistingCell' }, { name: 'customer-products', workload: 'x' }, 'reviews', { name: 7 }]) {
    const t = await cellToken(h, { cell });
    const r = await h.request({ headers: bearer(t), properties: from(GW) });
    assert.equal(r.status, 401, JSON.stringify(cell));
    assert.equal(JSON.parse(r.body).status, 'JwtCellMismatch');
    assert.match(r.responseHeaders['www-authenticate'], /error="invalid_token"/);
  }
  const ok = await cellToken(h, { cell: { name: 'reviews' } });
  assert.equal((await h.request({ headers: bearer(ok), properties: from(GW) })).kind, 'continue');
});

test('boundToPeer: false turns the binding off for a cell issuer (explicitly); other issuers are never bound', async () => {
  const h = await host(cellConfig({ boundToPeer: false }));
  const t = await cellToken(h, { cnf: undefined });
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  const plain = await host(config([key]));
  assert.equal((await plain.request({ headers: bearer(await token(key, nowSec(plain))) })).kind, 'continue');
});

test('authorization: the STS is told the verified peer as source.principal, and decisions are cached per peer', async () => {
  const bodies: any[] = [];
  const h = await host(cellConfig({ boundToPeer: false }, { workload: 'reviews-service', authorization: { cluster: 'sts', cacheTtlSeconds: 30 } }), {
    onHttpCall: (c) => {
      bodies.push(JSON.parse(c.body.toString()));
      return { status: 200, body: '{"allow":true,"ttlSeconds":30}' };
    },
  });
  const t = await cellToken(h);
  const spoof = { 'x-forwarded-client-cert': `URI=${GW}` };
  assert.equal((await h.request({ headers: { ...bearer(t), ...spoof }, properties: from(OTHER) })).kind, 'continue');
  assert.equal(bodies[0].source.principal, OTHER);
  assert.equal(bodies[0].destination.workload, 'reviews-service');
  assert.equal((await h.request({ headers: bearer(t) })).kind, 'continue');
  assert.equal(bodies.length, 2, 'another peer is another decision');
  assert.equal(bodies[1].source.principal, '');
  assert.equal((await h.request({ headers: bearer(t), properties: from(OTHER) })).kind, 'continue');
  assert.equal(bodies.length, 2, 'same peer, same token: cached');
});
