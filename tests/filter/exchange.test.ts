// Token exchange (RFC 8693) with the cell's STS: gateway mode turns the edge token into a cell
// token; outbound mode gets a token for the destination cell carrying the user context that
// the inbound filter stored under x-request-id; external hosts pass untouched.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { host, config, token, bearer, nowSec, makeKey, type TestKey } from './fixture.ts';
import { SharedStore, type HttpCall } from '../host/emulator.ts';

let key: TestKey;
const CP = [{ cell: 'customer-products', namespace: 'customer-products' }];
before(async () => { key = await makeKey('ES256'); });

function sts(token = 'cell.token.x', expiresIn = 300) {
  const calls: HttpCall[] = [];
  return {
    calls,
    onHttpCall: (c: HttpCall) => {
      calls.push(c);
      if (c.header(':path') === '/token') return { status: 200, body: JSON.stringify({ access_token: token, issued_token_type: 'urn:ietf:params:oauth:token-type:jwt', token_type: 'Bearer', expires_in: expiresIn }) };
      return { status: 200, body: '{"allow":true,"ttlSeconds":30}' };
    },
  };
}

test('gateway: the edge token is verified, exchanged for this cell, and replaces the original', async () => {
  const s = sts('cell-token-1');
  const h = await host(config([key], {}, { mode: 'gateway', workload: 'gateway', tokenExchange: { cluster: 'sts' } }), { onHttpCall: s.onHttpCall });
  const edge = await token(key, nowSec(h));
  const r = await h.request({ headers: bearer(edge) });
  assert.equal(r.kind, 'continue');
  assert.equal(r.upstreamHeaders['cellery-authorization'], 'Bearer cell-token-1');
  assert.equal(r.upstreamHeaders.authorization, undefined);
  const form = new URLSearchParams(s.calls[0].body.toString());
  assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:token-exchange');
  assert.equal(form.get('subject_token'), edge);
  assert.equal(form.get('subject_token_type'), 'urn:ietf:params:oauth:token-type:jwt');
  assert.equal(form.get('audience'), 'reviews');
  assert.equal(form.get('source_workload'), null, 'the STS takes the workload from mTLS, never from the request');
  assert.equal(s.calls[0].header('content-type'), 'application/x-www-form-urlencoded');
  // Cached until shortly before expiry.
  assert.equal((await h.request({ headers: bearer(edge) })).upstreamHeaders['cellery-authorization'], 'Bearer cell-token-1');
  assert.equal(s.calls.length, 1);
  // A bad edge token never reaches the STS.
  assert.equal((await h.request({ headers: bearer(edge.slice(0, -3) + 'AAA') })).status, 401);
  assert.equal(s.calls.length, 1);
});

test('outbound: a cell destination gets a token with the stored user context; external hosts pass', async () => {
  const shared = new SharedStore();
  const s = sts('token-for-cp');
  const inbound = await host(config([key], {}, { userContext: {} }), { sharedStore: shared });
  const outbound = await host(config([key], {}, { mode: 'outbound', workload: 'reviews-service', userContext: {}, tokenExchange: { cluster: 'sts', destinations: CP } }),
    { sharedStore: shared, onHttpCall: s.onHttpCall, clockMs: inbound.nowMs() });
  const user = await token(key, nowSec(inbound), { sub: 'alice' });
  assert.equal((await inbound.request({ headers: { ...bearer(user), 'x-request-id': 'req-42' } })).kind, 'continue');

  const r = await outbound.request({ authority: 'customer-products--categories-service:8080', headers: { 'x-request-id': 'req-42' } });
  assert.equal(r.kind, 'continue');
  assert.equal(r.upstreamHeaders['cellery-authorization'], 'Bearer token-for-cp');
  const form = new URLSearchParams(s.calls[0].body.toString());
  assert.equal(form.get('audience'), 'customer-products');
  assert.equal(form.get('subject_token'), user, 'the inbound request\'s verified token is the subject');
  assert.equal(form.get('source_workload'), null);
  assert.equal(form.get('resource'), 'spiffe://cluster.local/ns/customer-products/sa/categories-service', 'the token is for that service (may_act)');

  const other = await outbound.request({ authority: 'customer-products--categories-service', headers: { 'x-request-id': 'another' } });
  assert.equal(other.kind, 'continue');
  assert.equal(new URLSearchParams(s.calls[1].body.toString()).get('subject_token'), null, 'no user context: a workload token');

  const ext = await outbound.request({ authority: 'api.github.com', headers: { 'x-request-id': 'req-42', 'cellery-authorization': 'Bearer spoof' } });
  assert.equal(ext.kind, 'continue');
  assert.equal(s.calls.length, 2, 'external hosts never go to the STS');
  outbound.advance(500);   // counted in the VM, added to Envoy's counter on the tick
  assert.equal(outbound.metric('cellauth.reviews.external_passthrough'), 1);
});

test('outbound: STS down -> 503 TokenExchangeUnavailable; STS refuses -> 403 TokenExchangeRefused', async () => {
  const cfg = config([key], {}, { mode: 'outbound', tokenExchange: { cluster: 'sts', destinations: [{ cell: 'cp' }] } });
  const down = await host(cfg, { onHttpCall: () => 'fail' });
  const r = await down.request({ authority: 'cp--svc' });
  assert.equal(r.status, 503);
  assert.equal(JSON.parse(r.body).status, 'TokenExchangeUnavailable');
  const refused = await host(cfg, { onHttpCall: () => ({ status: 400, body: '{"error":"invalid_grant"}' }) });
  const r2 = await refused.request({ authority: 'cp--svc' });
  assert.equal(r2.status, 403);
  assert.equal(JSON.parse(r2.body).status, 'TokenExchangeRefused');
});

test('the user-context store is bounded: a slot reused by another request id is not trusted', async () => {
  const shared = new SharedStore();
  const s = sts();
  const inbound = await host(config([key], {}, { userContext: { slots: 16 } }), { sharedStore: shared });
  const outbound = await host(config([key], {}, { mode: 'outbound', userContext: { slots: 16 }, tokenExchange: { cluster: 'sts', destinations: [{ cell: 'cp' }] } }),
    { sharedStore: shared, onHttpCall: s.onHttpCall, clockMs: inbound.nowMs() });
  for (let i = 0; i < 200; i++) {
    const t = await token(key, nowSec(inbound), { sub: `u${i}` });
    await inbound.request({ headers: { ...bearer(t), 'x-request-id': `r${i}` } });
  }
  const keys = [...shared.data.keys()].filter((k) => k.includes('/uc/'));
  assert.ok(keys.length <= 16, `at most 16 slots, saw ${keys.length}`);
  await outbound.request({ authority: 'cp--svc', headers: { 'x-request-id': 'r0' } });
  const sub = new URLSearchParams(s.calls.at(-1)!.body.toString()).get('subject_token');
  assert.ok(sub === null || JSON.parse(Buffer.from(sub.split('.')[1], 'base64url').toString()).sub === 'u0', 'never another request\'s user');
});

// The attack: any host containing "--" got a cell token, so a token for customer-products leaked
// to customer-products--categories-service.attacker.example; and real hosts such as my--app.example.com
// were refused. Only exact names of configured cells' services get a token now.
test('outbound: only exact names of a configured cell service get a cell token; every other host passes untouched', async () => {
  const s = sts('token-for-cp');
  const outbound = await host(config([key], {}, {
    mode: 'outbound', workload: 'reviews-service',
    tokenExchange: { cluster: 'sts', destinations: [{ cell: 'customer-products', namespace: 'customer-products', services: ['categories-service', 'products-service'] }] },
  }), { onHttpCall: s.onHttpCall });
  const cell = [
    'customer-products--categories-service', 'customer-products--categories-service:8080',
    'Customer-Products--Categories-Service', 'customer-products--products-service.customer-products',
    'customer-products--categories-service.customer-products.svc', 'customer-products--categories-service.customer-products.svc.cluster.local:80',
  ];
  for (const authority of cell) {
    const r = await outbound.request({ authority });
    assert.equal(r.kind, 'continue', authority);
    assert.equal(r.upstreamHeaders['cellery-authorization'], 'Bearer token-for-cp', authority);
  }
  const external = [
    'customer-products--categories-service.attacker.example', 'customer-products--categories-service.attacker.example:443',
    'customer-products--categories-service.customer-products.svc.cluster.local.attacker.example',
    'customer-products--categories-service.other-ns', 'customer-products--orders-service', 'customer-products--',
    'my--app.example.com', 'xn--bcher-kva.example', 'evil--customer-products--categories-service',
    'customer-products--categories-service:80x', '[::1]:8080', '127.0.0.1:8080', '',
  ];
  const before = s.calls.length;
  for (const authority of external) {
    const r = await outbound.request({ authority });
    assert.equal(r.kind, 'continue', `${authority} passes through`);
    assert.equal(r.upstreamHeaders['cellery-authorization'], undefined, `${authority} carries no cell token`);
  }
  assert.equal(s.calls.length, before, 'external hosts never reach the STS');
});

test('gateway: the service of the route (Istio-named upstream cluster) is the token\'s resource; another namespace or a plain name gives none', async () => {
  const s = sts('cell-token-r');
  const h = await host(config([key], {}, { mode: 'gateway', namespace: 'reviews', tokenExchange: { cluster: 'sts' } }), { onHttpCall: s.onHttpCall });
  const edge = await token(key, nowSec(h));
  const cases: Array<[string, string | null]> = [
    ['outbound|8080||reviews-service.reviews.svc.cluster.local', 'spiffe://cluster.local/ns/reviews/sa/reviews-service'],
    ['outbound|8080||reviews-service.other.svc.cluster.local', null],
    ['reviews-service', null],
    ['outbound|8080||Bad_Name.reviews.svc.cluster.local', null],
  ];
  for (const [cluster, want] of cases) {
    await h.request({ headers: { ...bearer(edge), 'x-request-id': cluster }, properties: { 'xds.cluster_name': cluster } });
    const form = new URLSearchParams(s.calls.at(-1)!.body.toString());
    assert.equal(form.get('resource'), want, cluster);
  }
});
