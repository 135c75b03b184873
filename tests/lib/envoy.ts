// Starts a real Envoy (the project-local 1.40 with V8) for e2e tests: writes the bootstrap into
// a temp dir, waits until the admin reports LIVE, reads the listeners' real ports, and stops it
// (SIGTERM, then SIGKILL) leaving no process behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { renderBootstrap, type EnvoyConfigSpec } from './envoy-config.ts';
import { repoRoot, ensureFilterBuilt } from './build-filter.ts';

export * from './envoy-config.ts';

export const envoyBin = resolve(repoRoot, '.tools/envoy-venv/bin/envoy');

export interface EnvoyOptions extends EnvoyConfigSpec {
  /** Default 'warn'; the wasm component logs at `wasmLogLevel` (default 'info'). */
  logLevel?: string;
  wasmLogLevel?: string;
  concurrency?: number;
  /** Real-time bound on start-up. Default 30 s. */
  startTimeoutMs?: number;
}

export interface Envoy {
  adminUrl: string;
  pid: number;
  /** Real port of a listener by name. */
  port(listener: string): number;
  /** http://127.0.0.1:<port> of a listener (https:// for a listener with mutual TLS). */
  url(listener: string, path?: string): string;
  /** Admin /stats as name -> value (counters and gauges). */
  stats(): Promise<Map<string, number>>;
  /** A wasm custom metric as Envoy exports it (`wasmcustom.<name>`); undefined when absent. */
  wasmMetric(name: string): Promise<number | undefined>;
  /** Envoy's stderr so far (kept after stop). */
  logs(): string;
  /** The rendered bootstrap. */
  bootstrap: Record<string, unknown>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => { for (const p of live) try { p.kill('SIGKILL'); } catch { /* gone */ } });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function getText(url: string): Promise<{ status: number; text: string } | undefined> {
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
    return { status: r.status, text: await r.text() };
  } catch { return undefined; }
}

export async function startEnvoy(opts: EnvoyOptions): Promise<Envoy> {
  if (opts.listeners.some((l) => l.filters.some((f) => 'wasm' in f && !f.wasm.wasmPath))) ensureFilterBuilt();
  const dir = mkdtempSync(join(tmpdir(), 'cellauth-envoy-'));
  const bootstrap = renderBootstrap(opts);
  const configPath = join(dir, 'envoy.json');
  const adminPath = join(dir, 'admin.txt');
  const logPath = join(dir, 'envoy.log');
  writeFileSync(configPath, JSON.stringify(bootstrap, null, 2));
  const logFd = openSync(logPath, 'w');
  const child = spawn(envoyBin, [
    '-c', configPath, '--concurrency', String(opts.concurrency ?? 1),
    // No shared memory, so concurrent Envoys (other tests, other engineers) never collide on a base id.
    '--disable-hot-restart', '--admin-address-path', adminPath,
    // Access logs reach their file within 100 ms (the default buffers them for 10 s).
    '--file-flush-interval-msec', '100',
    '--log-level', opts.logLevel ?? 'warn', '--component-log-level', `wasm:${opts.wasmLogLevel ?? 'info'}`,
  ], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  live.add(child);
  let exited: { code: number | null; signal: string | null } | undefined;
  const exitPromise = new Promise<void>((res) => child.once('exit', (code, signal) => { exited = { code, signal }; live.delete(child); res(); }));
  let finalLogs: string | undefined;
  const logs = () => finalLogs ?? (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');

  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      await Promise.race([exitPromise, sleep(5000)]);
      if (!exited) { child.kill('SIGKILL'); await exitPromise; }
    }
    if (finalLogs === undefined) { finalLogs = logs(); rmSync(dir, { recursive: true, force: true }); }
  };

  const fail = async (why: string): Promise<never> => {
    await stop();
    const tail = (finalLogs ?? '').split('\n').slice(-40).join('\n');
    throw new Error(`envoy did not start: ${why}\n--- envoy log tail ---\n${tail}`);
  };

  // Wait for the admin address, then LIVE, then the listener ports.
  const deadline = Date.now() + (opts.startTimeoutMs ?? 30_000);
  let adminUrl = '';
  const ports = new Map<string, number>();
  for (let i = 0; ; i++) {
    if (exited) return fail(`exited with code ${exited.code} signal ${exited.signal}`);
    if (Date.now() > deadline) return fail('timed out');
    if (!adminUrl && existsSync(adminPath)) {
      const a = readFileSync(adminPath, 'utf8').trim();
      if (a) adminUrl = `http://${a}`;
    }
    if (adminUrl) {
      const ready = await getText(`${adminUrl}/ready`);
      if (ready?.status === 200 && ready.text.trim() === 'LIVE') {
        const l = await getText(`${adminUrl}/listeners?format=json`);
        if (l?.status === 200) {
          for (const s of JSON.parse(l.text).listener_statuses ?? []) {
            const port = s.local_address?.socket_address?.port_value;
            if (port) ports.set(s.name, port);
          }
          if (opts.listeners.every((x) => ports.has(x.name))) break;
        }
      }
    }
    await sleep(Math.min(50 + i * 10, 250));
  }

  const port = (name: string) => {
    const p = ports.get(name);
    if (p === undefined) throw new Error(`no listener named ${name}`);
    return p;
  };
  const stats = async () => {
    const r = await getText(`${adminUrl}/stats?format=json`);
    const out = new Map<string, number>();
    if (r?.status !== 200) return out;
    for (const s of JSON.parse(r.text).stats ?? []) if (typeof s.value === 'number') out.set(s.name, s.value);
    return out;
  };
  return {
    adminUrl,
    pid: child.pid!,
    port,
    url: (name, path = '/') => `${opts.listeners.find((l) => l.name === name)?.tls ? 'https' : 'http'}://127.0.0.1:${port(name)}${path}`,
    stats,
    wasmMetric: async (name) => (await stats()).get(`wasmcustom.${name}`),
    logs,
    bootstrap,
    stop,
  };
}

/** Runs `envoy --mode validate` on a config; resolves with the exit code and output. */
export async function validateEnvoyConfig(spec: EnvoyConfigSpec): Promise<{ code: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'cellauth-envoy-validate-'));
  try {
    const configPath = join(dir, 'envoy.json');
    writeFileSync(configPath, JSON.stringify(renderBootstrap(spec)));
    const child = spawn(envoyBin, ['-c', configPath, '--mode', 'validate', '--disable-hot-restart', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let output = '';
    child.stdout!.on('data', (d) => { output += d; });
    child.stderr!.on('data', (d) => { output += d; });
    const code = await new Promise<number | null>((res) => child.once('exit', (c) => { live.delete(child); res(c); }));
    return { code, output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
