// The real-Envoy helper: Envoy 1.40 starts with the cellauth wasm filter, a request reaches the
// Node upstream through it, stats and logs are readable, and stop() leaves no process behind.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEnvoy, type Envoy } from '../lib/envoy.ts';
import { startUpstream, type Upstream } from '../lib/upstream.ts';
import { makeKey, jwksOf } from '../lib/keys.ts';

let upstream: Upstream;
let envoy: Envoy | undefined;

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

before(async () => { upstream = await startUpstream(); });
after(async () => { await envoy?.stop(); await upstream.close(); });

test('envoy with the cellauth filter proxies to the upstream, exposes stats, and stops cleanly', async () => {
  const key = await makeKey('ES256');
  envoy = await startEnvoy({
    listeners: [{
      name: 'main',
      filters: [{ wasm: { pluginConfig: {
        version: 'v1', cell: 'harness',
        jwtRules: [{ issuer: 'https://issuer.harness', jwks: jwksOf(key) }],
        rules: [{ match: { prefix: '/open' }, requires: 'none' }],
      } } }],
      routes: [{ path: '/open/direct', directResponse: { status: 299, body: 'direct' } }, { prefix: '/', cluster: 'upstream' }],
    }],
    clusters: { upstream: upstream.port },
  });
  const pid = envoy.pid;
  assert.ok(alive(pid));

  const r = await fetch(envoy.url('main', '/open/hello?x=1'), { headers: { 'x-custom': 'kept' } });
  assert.equal(r.status, 200);
  const seen = await r.json();
  assert.equal(seen.path, '/open/hello?x=1');
  assert.equal(seen.headers['x-custom'], 'kept');
  assert.equal(upstream.seen.length, 1);

  const d = await fetch(envoy.url('main', '/open/direct'));
  assert.equal(d.status, 299);
  assert.equal(await d.text(), 'direct');

  // A protected path without a token: the filter answers, and its counters reach Envoy's stats.
  const before = [...(await envoy.stats())].filter(([k]) => k.startsWith('wasmcustom.')).reduce((n, [, v]) => n + v, 0);
  const denied = await fetch(envoy.url('main', '/private'));
  assert.equal(denied.status, 401);
  await denied.text();
  assert.equal(upstream.seen.length, 1);
  const afterDeny = [...(await envoy.stats())].filter(([k]) => k.startsWith('wasmcustom.')).reduce((n, [, v]) => n + v, 0);
  assert.ok(afterDeny > before, 'a wasmcustom.* counter moved');

  const stats = await envoy.stats();
  assert.ok((stats.get('cluster.upstream.upstream_rq_completed') ?? 0) >= 1, 'upstream counter');
  assert.ok(stats.size > 50);
  // The filter's own log lines reach Envoy's log through the wasm component.
  assert.match(envoy.logs(), /\[wasm\].*cellauth/);

  await envoy.stop();
  assert.equal(alive(pid), false);
  await envoy.stop(); // idempotent
  envoy = undefined;
});

test('a start that fails rejects with the envoy log tail and leaves no process', async () => {
  await assert.rejects(startEnvoy({
    listeners: [{ name: 'main', filters: [{ wasm: { pluginConfig: {}, wasmPath: '/nonexistent/cellauth.wasm' } }] }],
    clusters: { upstream: upstream.port },
    startTimeoutMs: 20_000,
  }), (e: Error) => /envoy did not start/.test(e.message) && /nonexistent/.test(e.message));
});

test('two Envoys run side by side', async () => {
  const spec = { listeners: [{ name: 'l', filters: [], routes: [{ directResponse: { status: 200, body: 'ok' } }] }] };
  const [a, b] = await Promise.all([startEnvoy(spec), startEnvoy(spec)]);
  try {
    assert.notEqual(a.port('l'), b.port('l'));
    assert.equal(await (await fetch(a.url('l'))).text(), 'ok');
    assert.equal(await (await fetch(b.url('l'))).text(), 'ok');
  } finally {
    await Promise.all([a.stop(), b.stop()]);
  }
  assert.equal(alive(a.pid) || alive(b.pid), false);
});
