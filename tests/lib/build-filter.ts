// Path to the filter under test; builds it once when absent (a fresh clone before `npm run build`).
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

export const repoRoot = resolve(import.meta.dirname, '../..');
// CELLAUTH_WASM points the tests at another build (e.g. to compare two builds side by side).
export const filterWasm = process.env.CELLAUTH_WASM ? resolve(process.env.CELLAUTH_WASM) : resolve(repoRoot, 'build/cellauth.wasm');

export function ensureFilterBuilt(): string {
  if (!existsSync(filterWasm)) execFileSync('npm', ['run', '--silent', 'build'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  return filterWasm;
}
