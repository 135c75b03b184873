// Compiles the ABI probe guest (tests/harness/fixtures/probe-filter.ts) into a temp dir, once
// per process, so harness self-tests can check the emulator's host calls one by one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '../..');
let built: { path: string; dir: string } | undefined;

export function buildProbe(): string {
  if (built) return built.path;
  const dir = mkdtempSync(join(tmpdir(), 'cellauth-probe-'));
  const out = join(dir, 'probe.wasm');
  try {
    execFileSync(join(root, 'node_modules/.bin/asc'), [
      'tests/harness/fixtures/probe-filter.ts', '--config', 'tests/harness/fixtures/probe.asconfig.json', '--outFile', out,
    ], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  built = { path: out, dir };
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return out;
}
