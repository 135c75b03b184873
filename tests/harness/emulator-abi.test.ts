// The host emulator's ABI semantics, call by call, checked with a small probe guest
// (tests/harness/fixtures/probe-filter.ts) that reports what the host answered.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign } from 'node:crypto';
import { ProxyWasmHost, SharedStore } from '../host/emulator.ts';
import { encodeVerifyArgs, decodeFields } from '../host/verify-signature.ts';
import { buildProbe } from '../lib/build-probe.ts';

let wasm: string;
before(() => { wasm = buildProbe(); });

async function probe(opts: Parameters<typeof ProxyWasmHost.load>[1] = {}): Promise<ProxyWasmHost> {
  const h = await ProxyWasmHost.load(wasm, { clockMs: 1_700_000_000_000, ...opts });
  assert.equal(h.configure({ probe: true }), true);
  return h;
}

test('configure passes the plugin configuration; a rejected configuration returns false', async () => {
  const h = await probe();
  assert.ok(h.logs.some((l) => l.message === 'probe configured' && l.levelName === 'info'));
  assert.equal(h.tickPeriodMs, 1000);
  const bad = await ProxyWasmHost.load(wasm);
  assert.equal(bad.configure('bad'), false);
  assert.ok(bad.logs.some((l) => l.message === 'probe: bad config' && l.levelName === 'error'));
});

test('header map calls: replace, add, remove, pairs, size, NotFound, unavailable map', async () => {
  const h = await probe();
  const r = await h.request({ path: '/p', headers: { 'x-probe': 'headers', 'x-replace': 'old', 'X-Remove': 'gone' } });
  assert.equal(r.kind, 'continue');
  const u = r.upstreamHeaders;
  assert.equal(u['x-replace'], 'new');
  assert.equal(u['x-added'], 'yes');
  assert.equal(u['x-remove'], undefined);
  // :authority :path :method :scheme x-probe x-replace x-request-id x-added (after remove)
  assert.equal(u['x-pair-count'], '8');
  assert.ok(Number(u['x-map-size']) > 40);
  assert.equal(u['x-missing-rc'], '1'); // NotFound
  // No response headers yet: pairs answer Ok and empty, the other calls BadArgument (as Envoy 1.40).
  assert.equal(u['x-response-map-rc'], '0');
  assert.equal(u['x-response-get-rc'], '2');
  assert.equal(u['x-response-add-rc'], '2');
  assert.equal(u['x-response-size-rc'], '2');
  assert.equal(u['x-call-body-rc'], '1'); // no call response outside its callback
  assert.equal(r.responseHeaders['x-probe-response'], 'seen');
  assert.equal(r.status, 200);
});

test('local reply: status, details with underscores, body, extra headers, passes on_response_headers', async () => {
  const h = await probe();
  const r = await h.request({ headers: { 'x-probe': 'local' } });
  assert.equal(r.kind, 'local');
  assert.equal(r.status, 403);
  assert.equal(r.details, 'probe_denied');
  assert.equal(r.body, 'denied body');
  assert.equal(r.responseHeaders['x-probe-reply'], '1');
  assert.equal(r.responseHeaders['content-type'], 'text/plain');
  assert.equal(r.responseHeaders['x-probe-response'], 'seen');
  assert.deepEqual(r.upstreamHeaders, {});
  const twice = await h.request({ headers: { 'x-probe': 'local-twice' } });
  assert.equal(twice.status, 401);
});

test('http call: paused stream resumes from the call response, still readable after set_effective_context', async () => {
  const h = await probe();
  const r = await h.request({ headers: { 'x-probe': 'call', 'x-cluster': 'sts' } }, {
    onHttpCall: (call) => {
      assert.equal(call.cluster, 'sts');
      assert.equal(call.header(':path'), '/token');
      assert.equal(call.header('x-from'), 'probe');
      assert.equal(call.body.toString(), 'grant');
      assert.equal(call.timeoutMs, 500);
      return { status: 200, body: 'issued' };
    },
  });
  assert.equal(r.kind, 'continue');
  assert.equal(r.headersAction, 1);
  assert.equal(r.upstreamHeaders['x-call-status'], '200');
  assert.equal(r.upstreamHeaders['x-call-body'], 'issued');
  assert.equal(r.upstreamHeaders['x-late-body-rc'], '0');
  assert.equal(r.httpCalls.length, 1);
  assert.equal(h.pendingCalls.length, 0);
});

test('http call answered by hand, failed, timed out, or to an unknown cluster', async () => {
  const h = await probe({ clusters: ['sts'] });
  const s = h.startRequest({ headers: { 'x-probe': 'call', 'x-cluster': 'sts' } });
  assert.equal(s.result, undefined);
  assert.deepEqual(h.pausedStreams, [s.ctx.id]);
  assert.equal(h.pendingCalls.length, 1);
  h.failCall(h.pendingCalls[0].token);
  const failed = await s.done;
  assert.equal(failed.status, 503);
  assert.equal(failed.responseHeaders['x-headers'], '0');

  const t = h.startRequest({ headers: { 'x-probe': 'call', 'x-cluster': 'sts' } });
  h.advance(499);
  assert.equal(h.pendingCalls.length, 1);
  h.advance(1);
  const timedOut = await t.done;
  assert.equal(timedOut.kind, 'continue');
  assert.equal(timedOut.upstreamHeaders['x-call-status'], '504');
  assert.equal(timedOut.upstreamHeaders['x-call-body'], 'upstream request timeout');

  const unknown = await h.request({ headers: { 'x-probe': 'call', 'x-cluster': 'nowhere' } });
  assert.equal(unknown.status, 500);
  assert.equal(unknown.responseHeaders['x-rc'], '2');
  const noPath = await h.request({ headers: { 'x-probe': 'call-no-path' } });
  assert.equal(noPath.upstreamHeaders['x-call-rc'], '2');
});

test('continue_stream during on_request_headers resumes a stream that returned StopIteration', async () => {
  const h = await probe();
  const r = await h.request({ headers: { 'x-probe': 'continue-in-headers' } });
  assert.equal(r.kind, 'continue');
  assert.equal(r.headersAction, 1);
});

test('a paused stream with nothing to resume it is reported, not hung', async () => {
  const h = await probe();
  await assert.rejects(h.request({ headers: { 'x-probe': 'stop' } }, { guardMs: 200 }), /still paused/);
});

test('shared data: NotFound, CAS sequence, mismatch = 8, shared between two workers', async () => {
  const store = new SharedStore();
  const w1 = await probe({ sharedStore: store });
  const w2 = await probe({ sharedStore: store });
  const a = (await w1.request({ headers: { 'x-probe': 'shared', 'x-key': 'jwks', 'x-value': 'v1' } })).upstreamHeaders;
  assert.equal(a['x-get-rc'], '1');
  assert.equal(a['x-set-rc'], '0');
  const b = (await w2.request({ headers: { 'x-probe': 'shared', 'x-key': 'jwks', 'x-value': 'v2' } })).upstreamHeaders;
  assert.equal(b['x-get-rc'], '0');
  assert.equal(b['x-old'], 'v1');
  assert.notEqual(b['x-cas-seen'], '0');
  assert.equal(b['x-set-rc'], '0');
  // A writer holding the old cas loses.
  const stale = (await w1.request({ headers: { 'x-probe': 'shared', 'x-key': 'jwks', 'x-value': 'v3', 'x-cas': b['x-cas-seen'] } })).upstreamHeaders;
  assert.equal(stale['x-old'], 'v2');
  assert.equal(stale['x-set-rc'], '8');
  const forced = (await w1.request({ headers: { 'x-probe': 'shared', 'x-key': 'jwks', 'x-value': 'v4', 'x-cas': '0' } })).upstreamHeaders;
  assert.equal(forced['x-set-rc'], '0');
  assert.equal(new TextDecoder().decode(store.get('cellauth', 'jwks')!.value), 'v4');
});

test('metrics, ticks, properties, clock and logs', async () => {
  const h = await probe({ rootId: 'cell-a', clockMs: 1_700_000_123_456 });
  await h.request({ path: '/a' });
  await h.request({ path: '/b' });
  assert.equal(h.metric('probe_requests'), 2);
  assert.equal(h.metric('probe_ticks'), 0);
  h.advance(999);
  assert.equal(h.metric('probe_ticks'), 0);
  h.advance(1);
  assert.equal(h.metric('probe_ticks'), 1);
  h.tick();
  assert.equal(h.metric('probe_ticks'), 2);
  assert.ok(h.metricNames().includes('probe_requests'));
  const p = await h.request({ path: '/where?q=1', headers: { 'x-probe': 'property' } });
  assert.equal(p.upstreamHeaders['x-prop-0'], 'cell-a');
  assert.equal(p.upstreamHeaders['x-prop-1'], '/where?q=1');
  assert.equal(p.upstreamHeaders['x-prop-2'], 'rc1');
  assert.equal(p.upstreamHeaders['x-now-ms'], String(1_700_000_123_456 + 1000));
  const l = await h.request({ path: '/logged', headers: { 'x-probe': 'log' } });
  assert.deepEqual(l.logs.map((e) => [e.levelName, e.message]), [['warn', 'probe warning /logged']]);
});

test('verify_signature through the module: Ok with result, and NotFound when disabled', async () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const text = Buffer.from('header.payload');
  const args = encodeVerifyArgs({
    hash: 'sha256', publicKey: publicKey.export({ format: 'der', type: 'spki' }),
    signature: sign('sha256', text, privateKey), text,
  });
  const headers = { 'x-probe': 'verify', 'x-fn': 'verify_signature', 'x-args': Buffer.from(args).toString('hex') };
  const h = await probe();
  const r = (await h.request({ headers })).upstreamHeaders;
  assert.equal(r['x-ff-rc'], '0');
  assert.equal(decodeFields(Buffer.from(r['x-ff-result'], 'hex')).get(1), 1);
  const other = (await h.request({ headers: { ...headers, 'x-fn': 'something_else' } })).upstreamHeaders;
  assert.equal(other['x-ff-rc'], '1');
  const off = await probe({ foreignFunctions: false });
  assert.equal((await off.request({ headers })).upstreamHeaders['x-ff-rc'], '1');
  assert.deepEqual(off.foreignCalls, ['verify_signature']);
});

test('a trap is caught, surfaced, and leaves the VM dead', async () => {
  const h = await probe();
  const r = await h.request({ headers: { 'x-probe': 'trap' } });
  assert.equal(r.kind, 'trap');
  assert.match(r.trap ?? '', /proxy_on_request_headers/);
  assert.equal(h.traps.length, 1);
  assert.equal((await h.request({})).kind, 'trap');
});
