// Compiles bench/floor/floor-filter.ts (with the probe's asconfig: same runtime and shim as
// cellauth) into a temp dir, once per process.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../tests/lib/build-filter.ts';

let built: string | undefined;

export function buildFloor(): string {
  if (built) return built;
  const dir = mkdtempSync(join(tmpdir(), 'cellauth-floor-'));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'floor.wasm');
  execFileSync(join(repoRoot, 'node_modules/.bin/asc'), [
    'bench/floor/floor-filter.ts', '--config', 'tests/harness/fixtures/probe.asconfig.json', '-O3', '--outFile', out,
  ], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  built = out;
  return out;
}
