// docs/statuses.md is generated from assembly/jwt/status.ts; this keeps the two in step:
// every status row of the filter's table is documented with the same code and counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

test('docs/statuses.md documents every status with its HTTP code and counter', () => {
  const src = readFileSync('assembly/jwt/status.ts', 'utf8');
  const doc = readFileSync('docs/statuses.md', 'utf8');
  const rows = [...src.matchAll(/new Row\("(\w+)", (\d+), (I|""), "([^"]*)"\)/g)].filter((m) => m[1] !== 'Ok');
  assert.ok(rows.length >= 30, `parsed ${rows.length} status rows`);
  for (const [, name, code, err] of rows) {
    const counter = name.replace(/(?<!^)([A-Z])/g, '_$1').toLowerCase();
    const line = doc.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
    assert.ok(line, `${name} is documented`);
    assert.match(line!, new RegExp(`\\| ${code} \\| ${err === 'I' ? 'invalid_token' : '—'} \\| \`${counter}\` \\|`), name);
  }
});
