// The host emulator drives the real build/cellauth.wasm: it loads, configures, and lets a
// request through with the upstream headers intact, with no trap and no unimplemented import.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyWasmHost } from '../host/emulator.ts';
import { ensureFilterBuilt } from '../lib/build-filter.ts';
import { makeKey, jwksOf, type TestKey } from '../lib/keys.ts';
import { mint, claims } from '../lib/mint.ts';

const NOW_MS = 1_750_000_000_000;
let wasm: string;
let key: TestKey;
let config: object;

before(async () => {
  wasm = ensureFilterBuilt();
  key = await makeKey('ES256');
  config = {
    version: 'v1', cell: 'harness',
    jwtRules: [{ issuer: 'https://issuer.harness', audiences: ['harness'], jwks: jwksOf(key) }],
    rules: [{ match: { prefix: '/open' }, requires: 'none' }],
  };
});

async function loaded(): Promise<ProxyWasmHost> {
  const h = await ProxyWasmHost.load(wasm, { clockMs: NOW_MS, rootId: 'cellauth' });
  assert.equal(h.configure(config), true, h.logText());
  return h;
}

test('the filter loads, configures and exports the ABI v0.2.1 surface', async () => {
  const h = await loaded();
  assert.deepEqual(h.traps, []);
  // Every import the module declares is implemented by this host.
  assert.deepEqual(h.unimplemented, []);
});

test('an unauthenticated path continues with the upstream headers intact', async () => {
  const h = await loaded();
  const r = await h.request({ method: 'GET', path: '/open/x?y=1', authority: 'svc.harness', headers: { 'x-custom': 'kept', accept: 'text/plain' } });
  assert.equal(r.kind, 'continue', `${r.status} ${r.body} ${r.details}`);
  assert.equal(r.status, 200);
  assert.equal(r.upstreamHeaders[':path'], '/open/x?y=1');
  assert.equal(r.upstreamHeaders[':authority'], 'svc.harness');
  assert.equal(r.upstreamHeaders['x-custom'], 'kept');
  assert.equal(r.upstreamHeaders.accept, 'text/plain');
  assert.deepEqual(h.traps, []);
  assert.deepEqual(h.unimplementedCalls, []);
});

test('a valid token passes; many requests leave memory bounded; counters carry the cell name', async () => {
  const h = await loaded();
  const token = await mint(claims(NOW_MS / 1000, { iss: 'https://issuer.harness', aud: 'harness' }), { key });
  const first = await h.request({ path: '/api', headers: { authorization: `Bearer ${token}` } });
  assert.equal(first.kind, 'continue', `${first.status} ${first.details}`);
  const warm = h.memoryBytes();
  for (let i = 0; i < 300; i++) {
    const r = await h.request({ path: `/api/${i}`, headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.kind, 'continue');
  }
  assert.ok(h.memoryBytes() <= warm + 1024 * 1024, `memory grew from ${warm} to ${h.memoryBytes()}`);
  assert.deepEqual(h.traps, []);
  for (const name of h.metricNames()) assert.match(name, /harness/);
});

test('a protected path without a token gets the filter\'s local reply; its counters and logs reach the host', async () => {
  const h = await loaded();
  const sum = () => h.metricNames().reduce((n, m) => n + (h.metric(m) ?? 0), 0);
  const before = sum();
  const r = await h.request({ path: '/private' });
  assert.equal(r.kind, 'local');
  assert.equal(r.status, 401);
  assert.ok(r.details && r.details.length > 0);
  assert.deepEqual(r.upstreamHeaders, {});
  assert.ok(sum() > before, 'a counter moved');
  assert.ok(h.logs.length > 0, 'the filter logged through proxy_log');
  assert.deepEqual(h.traps, []);
});
