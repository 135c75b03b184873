// Issue 10, the request path, in real Envoy (the hardened connection manager of
// tests/lib/envoy-config.ts, the real wasm): a second, forged token is refused; rules and the
// /authorize call see a normalised path and a prefix matches whole segments; encoded slashes and
// underscore headers never reach a service; key_ops ["encrypt"] keys do not verify; the
// access_token parameter is stripped and no log line prints a query; a reused x-request-id cannot
// replace another user's context. Requests go out through node:http with the path as written
// (fetch would resolve the dot segments itself).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { request as httpRequest, createServer, type Server } from 'node:http';
import { startEnvoy, type Envoy } from '../lib/envoy.ts';
import { startUpstream, type Upstream } from '../lib/upstream.ts';
import { makeKey, jwksOf, type TestKey } from '../lib/keys.ts';
import { mint, claims, nowSeconds, flipSignatureBit } from '../lib/mint.ts';

const ISS = 'https://issuer.test';
const AUD = 'reviews.default';
let key: TestKey, encKey: TestKey;
let upstream: Upstream;
let envoy: Envoy;
let sts: Server;
let stsPort = 0;
const authorizeBodies: any[] = [];
const subjects: Array<string | null> = [];

const tok = (k: TestKey, extra: Record<string, unknown> = {}) => mint(claims(nowSeconds(), { iss: ISS, aud: AUD, ...extra }), { key: k });

/** One request with the path sent exactly as written. */
function raw(port: number, path: string, headers: Record<string, string | string[]> = {}): Promise<{ status: number; text: string; json?: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers, agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json: any;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

before(async () => {
  key = await makeKey('ES256');
  encKey = await makeKey('ES256');
  upstream = await startUpstream();
  // A stand-in for the cell STS: records /authorize bodies (allows everything) and /token subjects.
  sts = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      if (req.url === '/authorize') {
        authorizeBodies.push(JSON.parse(body));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"allow":true,"ttlSeconds":0}');
      } else {
        const st = new URLSearchParams(body).get('subject_token');
        subjects.push(st === null ? null : JSON.parse(Buffer.from(st.split('.')[1], 'base64url').toString()).sub);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `cell-${subjects.length}`, expires_in: 300 }));
      }
    });
  });
  await new Promise<void>((r) => sts.listen(0, '127.0.0.1', r));
  stsPort = (sts.address() as { port: number }).port;

  const encJwk = { ...jwksOf(encKey).keys[0], key_ops: ['encrypt'] };
  const base = { issuer: ISS, audiences: [AUD], jwks: { keys: [...jwksOf(key).keys, encJwk] } };
  envoy = await startEnvoy({
    clusters: { upstream: upstream.port, sts: stsPort },
    wasmLogLevel: 'debug',
    listeners: [
      { name: 'plain', filters: [{ wasm: { vmId: 'plain', pluginConfig: {
        version: 'v1', cell: 'reviews', jwtRules: [base],
        rules: [{ match: { prefix: '/healthz' }, requires: 'none' }],
      } } }] },
      { name: 'authz', filters: [{ wasm: { vmId: 'authz', pluginConfig: {
        version: 'v1', cell: 'reviews', workload: 'reviews-service', jwtRules: [base],
        authorization: { cluster: 'sts', cacheTtlSeconds: 0 },
      } } }] },
      { name: 'forward', filters: [{ wasm: { vmId: 'forward', pluginConfig: {
        version: 'v1', cell: 'reviews', jwtRules: [{ ...base, fromHeaders: [{ name: 'x-token', prefix: 'Bearer ' }], forwardOriginalToken: true }],
      } } }] },
      // A sidecar: inbound and outbound share a VM (vm_id), so the user context crosses over.
      { name: 'inbound', filters: [{ wasm: { vmId: 'sidecar', pluginConfig: {
        version: 'v1', cell: 'reviews', jwtRules: [base], userContext: {},
      } } }] },
      { name: 'outbound', filters: [{ wasm: { vmId: 'sidecar', pluginConfig: {
        version: 'v1', cell: 'reviews', mode: 'outbound', jwtRules: [base], userContext: {},
        tokenExchange: { cluster: 'sts', destinations: [{ cell: 'cp' }], cacheMaxEntries: 0 },
      } } }] },
    ],
  });
});

after(async () => {
  await envoy?.stop();
  await upstream?.close();
  await new Promise<void>((r) => (sts ? sts.close(() => r()) : r()));
});

test('1: a valid Authorization token next to a forged ?access_token is refused (401), as jwt_authn does', async () => {
  const good = await tok(key, { sub: 'alice' });
  const forged = await tok(await makeKey('ES256'), { sub: 'admin' });
  const before = upstream.seen.length;
  const r = await raw(envoy.port('plain'), `/orders?access_token=${forged}`, { authorization: `Bearer ${good}` });
  assert.equal(r.status, 401, r.text);
  assert.equal(r.json?.status, 'JwksKidAlgMismatch', 'signed by a key the issuer does not have');
  assert.equal(upstream.seen.length, before, 'the forged token never reached the service');
});

test('2: a prefix rule matches whole segments of the normalised path; encoded slashes and underscore headers are refused', async () => {
  const port = envoy.port('plain');
  assert.equal((await raw(port, '/healthz')).status, 200);
  assert.equal((await raw(port, '/healthz/live')).status, 200);
  for (const p of ['/healthzadmin', '/healthz/../reviews/admin', '/healthz/..;/reviews/admin', '/healthz/%2e%2e/reviews/admin']) {
    const r = await raw(port, p);
    assert.equal(r.status, 401, `${p}: ${r.text}`);
  }
  for (const p of ['/healthz%2F..%2Freviews%2Fadmin', '/healthz%2f..%2freviews', '/healthz%5C..%5Creviews']) {
    assert.equal((await raw(port, p)).status, 400, `${p} is refused`);
  }
  const before = upstream.seen.length;
  const r = await raw(port, '/healthz', { x_cellery_auth_subject: 'admin' });
  assert.equal(r.status, 400, 'a header with an underscore is refused by the connection manager');
  assert.equal(upstream.seen.length, before);
});

test('2: the /authorize call carries the normalised path, the raw path and the query separately', async () => {
  const t = await tok(key);
  const r = await raw(envoy.port('authz'), `/reviews/./x/../admin;v=1?a=1&access_token=${t}`);
  assert.equal(r.status, 200, r.text);
  const ctx = authorizeBodies.at(-1).requestContext;
  // Envoy (normalize_path) has already removed the dot segments; the filter also drops ;params.
  assert.equal(ctx.path, '/reviews/admin');
  assert.equal(ctx.rawPath, '/reviews/admin;v=1');
  assert.equal(ctx.query, 'a=1');
  assert.equal(upstream.seen.at(-1)!.path, '/reviews/admin;v=1?a=1', 'the service gets the query without the token');
});

test('3: a key with key_ops ["encrypt"] does not verify signatures', async () => {
  const r = await raw(envoy.port('plain'), '/x', { authorization: `Bearer ${await tok(encKey)}` });
  assert.equal(r.status, 401, r.text);
  assert.equal((await raw(envoy.port('plain'), '/x', { authorization: `Bearer ${await tok(key)}` })).status, 200);
});

test('4: access_token is stripped from the URL the service sees; no log line prints a query string', async () => {
  const t = await tok(key);
  const r = await raw(envoy.port('plain'), `/a?q=my-secret-query&access_token=${t}`);
  assert.equal(r.status, 200, r.text);
  assert.equal(upstream.seen.at(-1)!.path, '/a?q=my-secret-query');
  assert.equal((await raw(envoy.port('plain'), `/a?q=my-secret-query&access_token=${flipSignatureBit(t, 3)}`)).status, 401);
  const logs = envoy.logs();
  assert.match(logs, /rejected/, 'the debug rejection line is there');
  assert.ok(!logs.includes('my-secret-query'), 'no query string in the log');
  assert.ok(!logs.includes(t.split('.')[2]), 'no token in the log');
});

test('5: a second request reusing an x-request-id cannot replace the first user\'s context', async () => {
  const alice = await tok(key, { sub: 'alice' });
  const mallory = await tok(key, { sub: 'mallory' });
  const rid = `e2e-uc-${Date.now()}`;
  assert.equal((await raw(envoy.port('inbound'), '/x', { authorization: `Bearer ${alice}`, 'x-request-id': rid })).status, 200);
  const second = await raw(envoy.port('inbound'), '/x', { authorization: `Bearer ${mallory}`, 'x-request-id': rid });
  assert.equal(second.status, 409, second.text);
  // The service of the first request now calls out with its request id: the STS sees alice.
  const out = await raw(envoy.port('outbound'), '/api', { host: 'cp--svc', 'x-request-id': rid });
  assert.equal(out.status, 200, out.text);
  assert.equal(subjects.at(-1), 'alice');
});

// Found by the attack review: with forwardOriginalToken, a second line of the token header was
// forwarded unverified beside the verified first one.
test('1: a repeated token header with forwardOriginalToken forwards only the verified value', async () => {
  const good = await tok(key, { sub: 'alice' });
  const forged = flipSignatureBit(await tok(key, { sub: 'admin' }));
  const r = await raw(envoy.port('forward'), '/f', { 'x-token': [`Bearer ${good}`, `Bearer ${forged}`] });
  assert.equal(r.status, 200, r.text);
  const seen = upstream.seen.at(-1)!;
  assert.equal(seen.headers['x-token'], `Bearer ${good}`, 'exactly the verified value, once');
  assert.equal(seen.headers['x-cellery-auth-subject'], 'alice');
  const bad = await raw(envoy.port('forward'), '/f', { 'x-token': [`Bearer ${forged}`, `Bearer ${good}`] });
  assert.equal(bad.status, 401);
});
