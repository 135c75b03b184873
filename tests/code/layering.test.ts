// The request path reads top to bottom and no module reaches back up (docs/architecture.md,
// "Layers"): every module under assembly/ belongs to one layer, and imports only from its own
// layer or a lower one. Plain regex over the import and export-from lines; no compiler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, posix, relative, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '../../assembly');

// Lowest first. A directory ends in '/'; a file named on its own is where a directory straddles
// two layers (the longest match wins).
export const LAYERS: { name: string; modules: string[] }[] = [
  { name: 'host, util, crypto', modules: ['host/', 'util/', 'crypto/'] },
  { name: 'parsers the configuration needs', modules: ['rules/path.ts', 'jwks/der.ts', 'jwks/x509.ts', 'jwks/keys.ts', 'jwks/discovery.ts'] },
  { name: 'config', modules: ['config/'] },
  { name: 'key sets', modules: ['jwks/store.ts'] },
  { name: 'jwt', modules: ['jwt/'] },
  { name: 'rule selection, token cache', modules: ['rules/select.ts', 'cache/'] },
  { name: 'authz', modules: ['authz/'] },
  { name: 'filter: the stream and what it sees of its plugin (filter/plugin.ts)', modules: ['filter/'] },
  { name: 'filter: the plugin root, which creates streams', modules: ['filter/root.ts'] },
  { name: 'entry point', modules: ['index.ts'] },
];

function modules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return modules(p);
    return e.name.endsWith('.ts') ? [relative(ROOT, p).split('\\').join('/')] : [];
  });
}

export function layerOf(module: string): number {
  let best = -1;
  let bestLen = 0;
  LAYERS.forEach((l, i) => {
    for (const m of l.modules) {
      const hit = m.endsWith('/') ? module.startsWith(m) : module === m;
      if (hit && m.length > bestLen) { best = i; bestLen = m.length; }
    }
  });
  return best;
}

/** The relative imports of a module's source, as module paths under assembly/ ("jwt/parse.ts"). */
export function importsOf(module: string, src: string): string[] {
  const out: string[] = [];
  for (const m of src.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["'](\.{1,2}\/[^"']+)["']/gm)) {
    out.push(posix.normalize(posix.join(posix.dirname(module), m[1])) + '.ts');
  }
  for (const m of src.matchAll(/^\s*import\s*["'](\.{1,2}\/[^"']+)["']/gm)) {
    out.push(posix.normalize(posix.join(posix.dirname(module), m[1])) + '.ts');
  }
  return out;
}

const all = modules(ROOT).sort();
const graph = new Map(all.map((m) => [m, importsOf(m, readFileSync(join(ROOT, m), 'utf8'))]));

test('every module under assembly/ has a layer', () => {
  assert.ok(all.length > 50, `found ${all.length} modules under ${ROOT}`);
  assert.deepEqual(all.filter((m) => layerOf(m) < 0), []);
});

test('no module imports from a layer above its own', () => {
  const up: string[] = [];
  for (const [m, deps] of graph) {
    for (const d of deps) {
      if (layerOf(d) > layerOf(m)) up.push(`${m} (${LAYERS[layerOf(m)].name}) imports ${d} (${LAYERS[layerOf(d)]?.name ?? 'no layer'})`);
    }
  }
  assert.deepEqual(up, []);
});

test('the import scan reads multi-line, namespace and re-export imports', () => {
  const src = 'import {\n  A,\n  B,\n} from "./types";\nimport * as log from "../host/log";\nexport { C } from "../jwt/status";\nimport "./side";\n';
  assert.deepEqual(importsOf('config/parse.ts', src).sort(), ['config/side.ts', 'config/types.ts', 'host/log.ts', 'jwt/status.ts']);
  assert.equal(layerOf('rules/path.ts') < layerOf('config/types.ts'), true);
  assert.equal(layerOf('rules/select.ts') > layerOf('jwt/extract.ts'), true);
});
