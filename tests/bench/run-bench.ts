// Runs `bench/run.ts` in smoke mode as a child process for the bench smoke tests: stderr (the
// bench's log) is kept for failure messages; SIGTERM after `termMs` lets the bench stop its Envoy,
// STS and OPA, SIGKILL 10 s later only if it does not.
import { spawn } from 'node:child_process';
import { repoRoot } from '../lib/build-filter.ts';

export async function runBenchSmoke(env: Record<string, string>, termMs: number): Promise<{ code: number | null; log: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'bench/run.ts'], {
    cwd: repoRoot,
    env: { ...process.env, BENCH_SMOKE: '1', BENCH_SOAK: '', BENCH_CONFIGS: '', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d) => { log += d; });
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  const term = setTimeout(() => child.kill('SIGTERM'), termMs);
  const kill = setTimeout(() => child.kill('SIGKILL'), termMs + 10_000);
  const code = await exited;
  clearTimeout(term);
  clearTimeout(kill);
  return { code, log };
}
