// docs/statuses.md is generated from assembly/jwt/status.ts (scripts/gen-statuses-doc.ts); this
// keeps the checked-in file equal to what the generator writes, and checks the generator reads
// every status of the filter's table.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderStatusesDoc, statusRows, DOC } from '../../scripts/gen-statuses-doc.ts';

test('docs/statuses.md is what scripts/gen-statuses-doc.ts generates from the status table', () => {
  const doc = readFileSync(DOC, 'utf8');
  assert.equal(renderStatusesDoc(doc), doc, 'run: node --import tsx scripts/gen-statuses-doc.ts');
});

test('the generator reads every status of the enum, each with one code and counter', () => {
  const src = readFileSync('assembly/jwt/status.ts', 'utf8');
  const enumBody = src.slice(src.indexOf('export enum Status {'), src.indexOf('Count,'));
  const names = [...enumBody.matchAll(/^\s+(\w+)(?: = 0)?,$/gm)].map((m) => m[1]).filter((n) => n !== 'Ok');
  const rows = statusRows(src);
  assert.deepEqual(rows.map((r) => r.name), names);
  for (const r of rows) {
    assert.ok([400, 401, 403, 409, 503].includes(r.code), `${r.name}: ${r.code}`);
    if (r.code === 401 && r.name !== 'JwtMissed') assert.equal(r.error, 'invalid_token', r.name);
  }
});
