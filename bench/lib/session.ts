// One configuration's processes: OPA + STS when the configuration needs them, then Envoy
// (--concurrency 1) pinned to its own core. stop() ends exactly what start() started.
import { execFileSync } from 'node:child_process';
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
  /** The STS and OPA processes behind it (empty without authorization). */
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

type Cell = Awaited<ReturnType<typeof import('../../tests/lib/sts-process.ts').startCell>>;

async function startStsCell(jwks: object): Promise<Cell> {
  if (!existsSync(join(repoRoot, 'sts/main.ts'))) throw new StsMissing('sts/main.ts is not there yet');
  const { startCell } = await import('../../tests/lib/sts-process.ts');
  // Bench tokens come from the edge issuer: the STS trusts them through globalJWKS (inline).
  return startCell({ cell: 'reviews', config: { globalJWKS: { issuer: ISSUER, jwks, audiences: [AUDIENCE] } } });
}

/** Pins every thread of `pid` to `cpu` (no-op without taskset or with a single core). */
function pin(pid: number, cpu: string): void {
  try { execFileSync('taskset', ['-a', '-p', '-c', cpu, String(pid)], { stdio: 'ignore' }); } catch { /* unpinned is still a valid run */ }
}

export async function startSession(cfg: BenchConfig, jwks: object, pinCpus: boolean): Promise<Session> {
  const cell = cfg.needsSts ? await startStsCell(jwks) : undefined;
  let envoy: Envoy;
  try {
    // The STS authenticates its caller by mTLS: this Envoy is the sidecar of workload CELL.
    const svid = cell ? await cell.sts.workload(CELL) : undefined;
    const sts = cell && svid ? { port: cell.sts.port, tls: { certFile: svid.certFile, keyFile: svid.keyFile, caFile: cell.sts.ca.caFile, serverSpiffeId: cell.sts.svid.spiffeId } } : undefined;
    envoy = await startEnvoy({ ...cfg.spec(jwks, sts), concurrency: 1, logLevel: 'warn', wasmLogLevel: 'error' });
  } catch (e) {
    await cell?.stop();
    throw e;
  }
  if (pinCpus) pin(envoy.pid, ENVOY_CPU);
  const session: Session = {
    envoy,
    helperPids: cell ? [cell.sts.child.pid!, cell.opa.child.pid!] : [],
    url: (path = '/') => envoy.url(LISTENER, path),
    stop: async () => {
      active.delete(session);
      await envoy.stop();
      await cell?.stop();
    },
  };
  active.add(session);
  return session;
}
