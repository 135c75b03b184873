// Compiles the bench-only filters in bench/floor/ (with the probe's asconfig: same runtime and
// shim as cellauth) into a temp dir, once per process each: floor-filter.ts (the empty filter)
// and hostcall-filter.ts (the floor plus cellauth's cache-hit host calls).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../../tests/lib/build-filter.ts';

const built = new Map<string, string>();

function buildBenchFilter(name: 'floor-filter' | 'hostcall-filter'): string {
  const done = built.get(name);
  if (done) return done;
  const dir = mkdtempSync(join(tmpdir(), `cellauth-${name}-`));
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, `${name}.wasm`);
  execFileSync(join(repoRoot, 'node_modules/.bin/asc'), [
    `bench/floor/${name}.ts`, '--config', 'tests/harness/fixtures/probe.asconfig.json', '-O3', '--outFile', out,
  ], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  built.set(name, out);
  return out;
}

export function buildFloor(): string { return buildBenchFilter('floor-filter'); }
export function buildHostcalls(): string { return buildBenchFilter('hostcall-filter'); }
