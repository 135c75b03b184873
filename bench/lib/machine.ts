// The machine a result belongs to: cores, CPU model, kernel, Envoy, wrk and Node versions.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, loadavg, release } from 'node:os';
import { envoyBin } from '../../tests/lib/envoy.ts';

export interface Machine { nproc: number; cpuModel: string; kernel: string; envoy: string; wrk: string; node: string; loadAvgAtStart: number[] }

function run(cmd: string, args: string[]): string {
  try { return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }); } catch (e) {
    return String((e as { stdout?: string }).stdout ?? '');
  }
}

export function describeMachine(): Machine {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try { cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpuModel; } catch { /* keep os.cpus() */ }
  const envoy = /version: (\S+)/.exec(run(envoyBin, ['--version']))?.[1] ?? 'unknown';
  // wrk prints its version on the first line of its usage text (and exits non-zero).
  const wrk = run('wrk', ['--version']).split('\n')[0].trim() || 'unknown';
  return { nproc: Number(run('nproc', []).trim()) || cpus().length, cpuModel, kernel: release(), envoy, wrk, node: process.version,
    // Other work on the box skews every figure; the load average tells a reader how quiet it was.
    loadAvgAtStart: loadavg().map((x) => Math.round(x * 100) / 100) };
}
