// envoy/: the ready bootstraps are (a) exactly what scripts/gen-envoy-configs.ts generates from the
// code the demo and tests use, (b) valid for `envoy --mode validate`, and (c) each answers one
// request in real Envoy, with its file paths pointed at this build and a test CA, its ports at 0
// and its clusters at a local upstream (plain HTTP).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { renderAll, envoyDir, WASM, TLS } from '../../scripts/gen-envoy-configs.ts';
import { envoyBin } from '../lib/envoy.ts';
import { ensureFilterBuilt } from '../lib/build-filter.ts';
import { startUpstream, type Upstream } from '../lib/upstream.ts';
import { SpiffeCa, type Svid } from '../lib/spiffe-ca.ts';
import { mtlsFetch } from '../lib/mtls-client.ts';

let dir: string;
let ca: SpiffeCa;
let self: Svid, client: Svid;
let upstream: Upstream;
const files = [...renderAll().keys()];

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'cellauth-envoy-configs-'));
  ca = await SpiffeCa.create(join(dir, 'ca'));
  self = await ca.issue('reviews', 'reviews-service');
  client = await ca.issue('reviews', 'reviews--gateway');
  upstream = await startUpstream();
  ensureFilterBuilt();
});
after(async () => { await upstream?.close(); if (dir) rmSync(dir, { recursive: true, force: true }); });

/** The checked-in file with its /etc/cellauth paths pointed at this build and the test CA. */
function local(file: string, run: boolean): any {
  let text = readFileSync(join(envoyDir, file), 'utf8');
  text = text.replaceAll(WASM, ensureFilterBuilt()).replaceAll(TLS.certFile, self.certFile).replaceAll(TLS.keyFile, self.keyFile).replaceAll(TLS.caFile, ca.caFile);
  const b = parse(text);
  if (run) {
    b.admin.address.socket_address = { address: '127.0.0.1', port_value: 0 };
    for (const l of b.static_resources.listeners) l.address.socket_address = { address: '127.0.0.1', port_value: 0 };
    for (const c of b.static_resources.clusters) {
      c.type = 'STATIC';
      delete c.transport_socket;
      c.load_assignment.endpoints[0].lb_endpoints[0].endpoint.address.socket_address = { address: '127.0.0.1', port_value: upstream.port };
    }
  }
  return b;
}

function runEnvoy(args: string[]): { done: Promise<{ code: number | null; out: string }>; kill: () => void } {
  const child = spawn(envoyBin, [...args, '--disable-hot-restart', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const done = new Promise<{ code: number | null; out: string }>((r) => child.once('exit', (code) => r({ code, out })));
  return { done, kill: () => child.kill('SIGTERM') };
}

test('envoy/ is what scripts/gen-envoy-configs.ts generates (run it after changing the generator)', () => {
  for (const [file, text] of renderAll()) {
    assert.ok(existsSync(join(envoyDir, file)), `envoy/${file} exists`);
    assert.equal(readFileSync(join(envoyDir, file), 'utf8'), text, `envoy/${file} is up to date`);
  }
  assert.deepEqual(files.sort(), ['cell-gateway.yaml', 'global-gateway.yaml', 'inbound-sidecar.yaml', 'outbound-sidecar.yaml']);
});

test('every connection manager in envoy/ is hardened', () => {
  for (const file of files) {
    for (const l of parse(readFileSync(join(envoyDir, file), 'utf8')).static_resources.listeners) {
      const hcm = l.filter_chains[0].filters[0].typed_config;
      assert.equal(hcm.normalize_path, true, file);
      assert.equal(hcm.merge_slashes, true, file);
      assert.equal(hcm.path_with_escaped_slashes_action, 'REJECT_REQUEST', file);
      assert.equal(hcm.common_http_protocol_options.headers_with_underscores_action, 'REJECT_REQUEST', file);
    }
  }
});

test('envoy --mode validate accepts every bootstrap', async () => {
  for (const file of files) {
    const path = join(dir, `validate-${file}.json`);
    writeFileSync(path, JSON.stringify(local(file, false)));
    const { code, out } = await runEnvoy(['-c', path, '--mode', 'validate']).done;
    assert.equal(code, 0, `${file}: ${out.slice(-2000)}`);
  }
});

async function start(file: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const path = join(dir, `run-${file}.json`);
  const adminPath = join(dir, `admin-${file}.txt`);
  writeFileSync(path, JSON.stringify(local(file, true)));
  const e = runEnvoy(['-c', path, '--concurrency', '1', '--admin-address-path', adminPath]);
  let exited = false;
  e.done.then(() => { exited = true; });
  const stop = async () => { e.kill(); await e.done; };
  const until = Date.now() + 30_000;
  while (Date.now() < until && !exited) {
    if (existsSync(adminPath) && readFileSync(adminPath, 'utf8').trim()) {
      try {
        const admin = `http://${readFileSync(adminPath, 'utf8').trim()}`;
        const ready = await fetch(`${admin}/ready`).then((r) => r.text());
        if (ready.trim() === 'LIVE') {
          const l = await fetch(`${admin}/listeners?format=json`).then((r) => r.json()) as any;
          const port = l.listener_statuses?.[0]?.local_address?.socket_address?.port_value;
          if (port) return { port, stop };
        }
      } catch { /* not yet */ }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const { out } = await (stop(), e.done);
  throw new Error(`${file} did not start: ${out.slice(-2000)}`);
}

const mtls = (port: number, path: string, headers: Record<string, string> = {}) =>
  mtlsFetch(`https://127.0.0.1:${port}${path}`, { ca: ca.caPem, client: { certPem: readFileSync(client.certFile, 'utf8'), keyPem: readFileSync(client.keyFile, 'utf8') }, headers });

test('one request through each bootstrap in real Envoy', async () => {
  // Inbound sidecar (mutual TLS): no token is 401 JwtMissed from the filter; an underscore header is 400.
  {
    const e = await start('inbound-sidecar.yaml');
    try {
      const r = await mtls(e.port, '/reviews');
      assert.equal(r.status, 401, r.text);
      assert.equal(r.json().status, 'JwtMissed');
      assert.equal((await mtls(e.port, '/reviews', { x_cellery_auth_subject: 'admin' })).status, 400);
    } finally { await e.stop(); }
  }
  // Outbound sidecar: a call to a host that is no cell service passes untouched to the upstream.
  {
    const e = await start('outbound-sidecar.yaml');
    try {
      const r = await fetch(`http://127.0.0.1:${e.port}/x`, { headers: { host: 'api.example.com' } });
      assert.equal(r.status, 200);
      assert.equal(upstream.seen.at(-1)!.headers['cellery-authorization'], undefined);
    } finally { await e.stop(); }
  }
  // Cell gateway (mutual TLS) and global gateway: no edge token is 401; an encoded slash is 400.
  {
    const e = await start('cell-gateway.yaml');
    try {
      const r = await mtls(e.port, '/reviews');
      assert.equal(r.status, 401, r.text);
      assert.equal((await mtls(e.port, '/a%2Fb')).status, 400);
    } finally { await e.stop(); }
  }
  {
    const e = await start('global-gateway.yaml');
    try {
      const r = await fetch(`http://127.0.0.1:${e.port}/reviews`);
      assert.equal(r.status, 401);
      assert.equal(((await r.json()) as any).status, 'JwtMissed');
    } finally { await e.stop(); }
  }
});
