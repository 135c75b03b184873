// Runs wrk (one thread, fixed connections, fixed duration) with bench/wrk/tokens.lua and parses
// the JSON line its done() prints. wrk is pinned to its own core when taskset exists.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const luaScript = fileURLToPath(new URL('../wrk/tokens.lua', import.meta.url));

export interface WrkResult {
  requests: number;
  duration_us: number;
  status_errors: number;
  connect_errors: number;
  read_errors: number;
  write_errors: number;
  timeouts: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  mean_us: number;
  max_us: number;
  rps: number;
}

export interface WrkRun {
  url: string;
  seconds: number;
  connections: number;
  tokenFile: string;
  /** Present: POST /authorize with this body prefix file; absent: GET / with the header only. */
  bodyPrefixFile?: string;
  /** Present: POST /token with this form prefix (the token ends the form). */
  formPrefixFile?: string;
  /** First token to send (0-based); the pool is cycled from there. */
  startIndex?: number;
  /** CPU list for taskset, e.g. "1". */
  cpu?: string;
}

const hasTaskset = existsSync('/usr/bin/taskset') || existsSync('/bin/taskset');

export function runWrk(r: WrkRun): Promise<WrkResult> {
  const wrkArgs = ['-t1', `-c${r.connections}`, `-d${Math.max(1, Math.round(r.seconds))}s`, '--timeout', '5s', '-s', luaScript, r.url,
    '--', r.tokenFile, r.formPrefixFile ? 'form' : r.bodyPrefixFile ? 'body' : 'header', String(r.startIndex ?? 0),
    ...(r.formPrefixFile ? [r.formPrefixFile] : r.bodyPrefixFile ? [r.bodyPrefixFile] : [])];
  const [cmd, args] = hasTaskset && r.cpu !== undefined ? ['taskset', ['-c', r.cpu, 'wrk', ...wrkArgs]] : ['wrk', wrkArgs];
  return new Promise((resolve, reject) => {
    execFile(cmd, args as string[], { timeout: (r.seconds + 30) * 1000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const line = stdout.split('\n').find((l) => l.startsWith('BENCH_RESULT '));
      if (err || !line) return reject(new Error(`wrk failed: ${err?.message ?? 'no result line'}\n${stderr.slice(0, 500)}`));
      const res = JSON.parse(line.slice('BENCH_RESULT '.length)) as WrkResult;
      res.rps = res.duration_us > 0 ? res.requests / (res.duration_us / 1e6) : 0;
      resolve(res);
    });
  });
}
