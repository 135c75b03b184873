// assembly/crypto/p256.ts and p521.ts are generated (unrolled field arithmetic); a hand edit that the
// generator does not know about would be lost at the next regeneration, so the two must agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

test("assembly/crypto/p256.ts is exactly what p256.gen.mjs generates", () => {
  const generated = execFileSync(process.execPath, ["assembly/crypto/p256.gen.mjs"], { encoding: "utf8" });
  const committed = readFileSync("assembly/crypto/p256.ts", "utf8");
  assert.ok(committed.length > 10_000, `p256.ts has ${committed.length} chars`);
  assert.ok(generated === committed, "regenerate: node assembly/crypto/p256.gen.mjs > assembly/crypto/p256.ts");
});

test("assembly/crypto/p521.ts is exactly what p521.gen.mjs generates", () => {
  const generated = execFileSync(process.execPath, ["assembly/crypto/p521.gen.mjs"], { encoding: "utf8" });
  const committed = readFileSync("assembly/crypto/p521.ts", "utf8");
  assert.ok(committed.length > 10_000, `p521.ts has ${committed.length} chars`);
  assert.ok(generated === committed, "regenerate: node assembly/crypto/p521.gen.mjs > assembly/crypto/p521.ts");
});
