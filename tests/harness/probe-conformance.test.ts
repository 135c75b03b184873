// The emulator against real Envoy 1.40: the same probe guest, the same requests, and the same
// host answers (return codes, local replies, call outcomes) from both hosts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyWasmHost, type HttpCall } from '../host/emulator.ts';
import { startEnvoy, type Envoy } from '../lib/envoy.ts';
import { startUpstream, type Upstream } from '../lib/upstream.ts';
import { startJwksServer, type JwksServer } from '../lib/jwks-server.ts';
import { freePort } from '../lib/ports.ts';
import { buildProbe } from '../lib/build-probe.ts';

// Values that depend on the client or the clock rather than on host semantics.
const VOLATILE = new Set(['x-pair-count', 'x-map-size', 'x-now-ms', 'x-call-body', 'x-request-id', 'x-forwarded-proto', 'x-envoy-expected-rq-timeout-ms']);
const RESPONSE_KEYS = ['x-probe-response', 'x-probe-reply', 'x-rc', 'x-a', 'x-b', 'x-headers', 'content-type', 'content-length'];

const SCENARIOS: Record<string, string>[] = [
  { 'x-probe': 'headers', 'x-replace': 'old', 'x-remove': 'gone' },
  { 'x-probe': 'local' },
  { 'x-probe': 'local-twice' },
  { 'x-probe': 'call', 'x-cluster': 'sts' },
  { 'x-probe': 'call', 'x-cluster': 'dead' },
  { 'x-probe': 'call', 'x-cluster': 'slow' },
  { 'x-probe': 'call', 'x-cluster': 'nowhere' },
  { 'x-probe': 'call-no-path' },
  { 'x-probe': 'property' },
  { 'x-probe': 'continue-in-headers' },
  { 'x-probe': 'shared', 'x-key': 'k', 'x-value': 'v1' },
  { 'x-probe': 'shared', 'x-key': 'k', 'x-value': 'v2', 'x-cas': '999999' },
];

type View = { status: number; response: Record<string, string>; upstream: Record<string, string> };

function view(status: number, response: Record<string, string>, upstream: Record<string, string>): View {
  const pick = (o: Record<string, string>, keep: (k: string) => boolean) =>
    Object.fromEntries(Object.entries(o).filter(([k]) => keep(k)).sort(([a], [b]) => a.localeCompare(b)));
  return {
    status,
    response: pick(response, (k) => RESPONSE_KEYS.includes(k) && !(k.startsWith('content-') && status === 200)),
    upstream: pick(upstream, (k) => k.startsWith('x-') && !VOLATILE.has(k)),
  };
}

let wasm: string;
let up: Upstream;
let slow: JwksServer;
let envoy: Envoy;

before(async () => {
  wasm = buildProbe();
  up = await startUpstream();
  slow = await startJwksServer({});
  slow.setDelay(3000); // beyond the probe's 500 ms call timeout
  envoy = await startEnvoy({
    listeners: [{ name: 'main', filters: [{ wasm: { pluginConfig: { probe: true }, wasmPath: wasm } }] }],
    clusters: { upstream: up.port, sts: up.port, dead: await freePort(), slow: slow.port },
  });
});
after(async () => { await envoy?.stop(); await up?.close(); await slow?.stop(); });

async function viaEnvoy(headers: Record<string, string>): Promise<View> {
  const r = await fetch(envoy.url('main', '/p?q=1'), { headers });
  const text = await r.text();
  const upstream = r.status === 200 ? JSON.parse(text).headers : {};
  return view(r.status, Object.fromEntries(r.headers), upstream);
}

// Answers the emulator's calls the way Envoy's clusters above behave.
function answer(call: HttpCall) {
  if (call.cluster === 'sts') return { status: 200, headers: { 'content-type': 'application/json' }, body: '{}' };
  if (call.cluster === 'slow') return 'timeout' as const;
  return { status: 503, body: 'upstream connect error or disconnect/reset before headers. reset reason: remote connection failure' };
}

test('every probe scenario gets the same host answers from the emulator and from Envoy', async () => {
  const emu = await ProxyWasmHost.load(wasm, { clusters: ['upstream', 'sts', 'dead', 'slow'], onHttpCall: answer });
  assert.equal(emu.configure({ probe: true }), true);
  for (const headers of SCENARIOS) {
    const real = await viaEnvoy(headers);
    const r = await emu.request({ path: '/p?q=1', headers }, {});
    const emulated = view(r.status, r.responseHeaders, r.upstreamHeaders);
    if (process.env.SHOW) console.log(JSON.stringify(real));
    assert.deepEqual(emulated, real, `scenario ${JSON.stringify(headers)}`);
  }
  assert.deepEqual(emu.traps, []);
});
