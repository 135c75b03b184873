// One configuration's processes: OPA + STS when the configuration needs them, then Envoy
// (--concurrency 1) pinned to its own core. stop() ends exactly what start() started.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startEnvoy, type Envoy } from '../../tests/lib/envoy.ts';
import { repoRoot } from '../../tests/lib/build-filter.ts';
import type { BenchConfig } from './configs.ts';
import { LISTENER } from './configs.ts';
import { AUDIENCE, CELL, ISSUER } from './tokens.ts';

export const ENVOY_CPU = '0';
export const WRK_CPU = '1';

export interface Session {
  envoy: Envoy;
  /** The STS and OPA processes behind it, or opa-extauthz (empty without authorization). */
  helperPids: number[];
  url(path?: string): string;
  stop(): Promise<void>;
}

export class StsMissing extends Error {}

// Sessions still running, so an interrupted bench can stop them before it exits.
const active = new Set<Session>();

export async function stopAllSessions(): Promise<void> {
  await Promise.allSettled([...active].map((s) => s.stop()));
}

/** The policy every authorizer in the bench enforces: Cellery's defaults + the bench scenario. */
export const POLICY_PATHS = [join(repoRoot, 'policies/default'), join(repoRoot, 'bench/policy')];
export const opaExtAuthzBin = join(repoRoot, '.tools/bin/opa-extauthz');

/** bench/opa-extauthz on a free loopback port, evaluating POLICY_PATHS for workload CELL. */
export async function startOpaExtAuthz(): Promise<{ child: ChildProcess; port: number; stop(): Promise<void> }> {
  if (!existsSync(opaExtAuthzBin)) throw new Error(`${opaExtAuthzBin} is missing: run scripts/install-opa-extauthz.sh`);
  const child = spawn(opaExtAuthzBin, ['-addr', '127.0.0.1:0', ...POLICY_PATHS.flatMap((p) => ['-policy', p]),
    '-query', `data.cellery.io.${CELL}_allow`, '-cell', CELL, '-workload', CELL], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`opa-extauthz did not start: ${out.slice(0, 500)}`)), 15_000);
    const on = (d: Buffer) => {
      out += d;
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) { clearTimeout(t); resolve(Number(m[1])); }
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    child.once('exit', (c) => { clearTimeout(t); reject(new Error(`opa-extauthz exited with ${c}: ${out.slice(0, 500)}`)); });
  });
  return {
    child, port,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const k = setTimeout(() => child.kill('SIGKILL'), 3000);
      child.once('exit', () => { clearTimeout(k); resolve(); });
      child.kill('SIGTERM');
    }),
  };
}

type Cell = Awaited<ReturnType<typeof import('../../tests/lib/sts-process.ts').startCell>>;

async function startStsCell(jwks: object): Promise<Cell> {
  if (!existsSync(join(repoRoot, 'sts/main.ts'))) throw new StsMissing('sts/main.ts is not there yet');
  const { startCell } = await import('../../tests/lib/sts-process.ts');
  // Bench tokens come from the edge issuer: the STS trusts them through globalJWKS (inline).
  return startCell({ cell: 'reviews', policies: POLICY_PATHS, config: { globalJWKS: { issuer: ISSUER, jwks, audiences: [AUDIENCE] } } });
}

/** Pins every thread of `pid` to `cpu` (no-op without taskset or with a single core). */
function pin(pid: number, cpu: string): void {
  try { execFileSync('taskset', ['-a', '-p', '-c', cpu, String(pid)], { stdio: 'ignore' }); } catch { /* unpinned is still a valid run */ }
}

export async function startSession(cfg: BenchConfig, jwks: object, pinCpus: boolean): Promise<Session> {
  const cell = cfg.needsSts ? await startStsCell(jwks) : undefined;
  let opa: Awaited<ReturnType<typeof startOpaExtAuthz>> | undefined;
  let envoy: Envoy;
  try {
    if (cfg.needsOpaExtAuthz) opa = await startOpaExtAuthz();
    // The STS authenticates its caller by mTLS: this Envoy is the sidecar of workload CELL.
    const svid = cell ? await cell.sts.workload(CELL) : undefined;
    const sts = cell && svid ? { port: cell.sts.port, tls: { certFile: svid.certFile, keyFile: svid.keyFile, caFile: cell.sts.ca.caFile, serverSpiffeId: cell.sts.svid.spiffeId } } : undefined;
    envoy = await startEnvoy({ ...cfg.spec(jwks, sts, opa ? { port: opa.port, http2: true } : undefined), concurrency: cfg.concurrency ?? 1, logLevel: 'warn', wasmLogLevel: 'error' });
  } catch (e) {
    await opa?.stop();
    await cell?.stop();
    throw e;
  }
  // Two workers on a two-core box share both cores with wrk: pinned to both, i.e. not pinned.
  if (pinCpus) pin(envoy.pid, (cfg.concurrency ?? 1) > 1 ? '0,1' : ENVOY_CPU);
  const session: Session = {
    envoy,
    helperPids: [...(cell ? [cell.sts.child.pid!, cell.opa.child.pid!] : []), ...(opa ? [opa.child.pid!] : [])],
    url: (path = '/') => envoy.url(LISTENER, path),
    stop: async () => {
      active.delete(session);
      await envoy.stop();
      await opa?.stop();
      await cell?.stop();
    },
  };
  active.add(session);
  return session;
}
