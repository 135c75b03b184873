// The JWKS test server: serves and swaps the key set, counts fetches, delays, fails on demand,
// and comes back on the same port after a stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startJwksServer, reserveJwksServer } from '../lib/jwks-server.ts';
import { startUpstream } from '../lib/upstream.ts';
import { freePort } from '../lib/ports.ts';

const get = async (port: number, path = '/.well-known/jwks.json') => {
  const r = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: r.status, body: await r.text() };
};

test('serves, swaps, counts, fails on demand, delays', async () => {
  const s = await startJwksServer({ keys: [{ kid: 'a' }] });
  try {
    assert.deepEqual(JSON.parse((await get(s.port)).body), { keys: [{ kid: 'a' }] });
    s.setJwks({ keys: [{ kid: 'b' }] });
    assert.deepEqual(JSON.parse((await get(s.port)).body), { keys: [{ kid: 'b' }] });
    assert.equal((await get(s.port, '/other')).status, 404);
    assert.equal(s.fetches, 2);
    s.setStatus(500);
    assert.equal((await get(s.port)).status, 500);
    s.setStatus(0);
    s.setDelay(50);
    assert.equal((await get(s.port)).status, 200);
    assert.equal(s.fetches, 4);
    s.resetCount();
    assert.equal(s.fetches, 0);
  } finally { await s.stop(); }
});

test('stop then start again on the same port; a reserved server starts down', async () => {
  const s = await reserveJwksServer({ keys: [] });
  assert.equal(s.running, false);
  await assert.rejects(get(s.port));
  await s.start();
  const port = s.port;
  assert.equal((await get(port)).status, 200);
  await s.stop();
  await assert.rejects(get(port));
  await s.start();
  assert.equal(s.port, port);
  assert.equal((await get(port)).status, 200);
  await s.stop();
});

test('upstream echoes what it received; freePort gives a bindable port', async () => {
  const u = await startUpstream();
  try {
    const r = await fetch(`http://127.0.0.1:${u.port}/p?q=1`, { method: 'POST', headers: { 'x-a': 'b' }, body: 'hi' });
    const seen = await r.json();
    assert.equal(seen.method, 'POST');
    assert.equal(seen.path, '/p?q=1');
    assert.equal(seen.headers['x-a'], 'b');
    assert.equal(seen.body, 'hi');
    assert.equal(u.seen.length, 1);
  } finally { await u.close(); }
  const p = await freePort();
  const s = await startJwksServer({ keys: [] }, { port: p });
  assert.equal(s.port, p);
  await s.stop();
});
