// Project Wycheproof conformance for every vector file in $WYCHEPROOF_DIR (default
// ../shared/vectors/wycheproof): every `valid` case must verify, every `invalid` case must fail;
// `acceptable` cases may go either way and are counted. Vectors are read in place, never copied.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { CryptoWasm, Hash, hashOf, hex, repoRoot } from './wasm.ts';

const dir = path.resolve(repoRoot, process.env.WYCHEPROOF_DIR ?? '../shared/vectors/wycheproof');
const present = existsSync(path.join(dir, 'README.md'));
if (!present) {
  console.error(`\n!!! WYCHEPROOF VECTORS MISSING at ${dir}: the Wycheproof conformance suite is SKIPPED !!!\n`);
}

/** The files the README lists, so a file that silently disappears fails the suite. */
function listedFiles(): string[] {
  const readme = readFileSync(path.join(dir, 'README.md'), 'utf8');
  const names = new Set<string>();
  for (const m of readme.matchAll(/(?<![\w/])([a-z][a-z0-9_]*_test\.json)/g)) names.add(m[1]);
  // "hmac_sha256/384/512_test.json" style rows
  for (const m of readme.matchAll(/hmac_sha(\d+)((?:\/\d+)+)_test\.json/g)) {
    for (const b of [m[1], ...m[2].split('/').filter(Boolean)]) names.add(`hmac_sha${b}_test.json`);
  }
  return [...names].sort();
}

interface Counts { valid: number; invalid: number; acceptableAccepted: number; acceptableRejected: number; skippedByPolicy: number }
interface Case { tcId: number; result: 'valid' | 'invalid' | 'acceptable'; msg: string; sig?: string; tag?: string; key?: string; comment: string }
type Group = Record<string, any> & { tests: Case[] };

let w: CryptoWasm;

function check(file: string, c: Case, ok: boolean, counts: Counts): void {
  if (c.result === 'valid') {
    assert.equal(ok, true, `${file} tcId ${c.tcId} (${c.comment}) is valid but was rejected`);
    counts.valid++;
  } else if (c.result === 'invalid') {
    assert.equal(ok, false, `${file} tcId ${c.tcId} (${c.comment}) is invalid but was accepted`);
    counts.invalid++;
  } else if (ok) counts.acceptableAccepted++; else counts.acceptableRejected++;
}

function runFile(file: string): Counts {
  const doc = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { algorithm: string; testGroups: Group[] };
  const counts: Counts = { valid: 0, invalid: 0, acceptableAccepted: 0, acceptableRejected: 0, skippedByPolicy: 0 };
  for (const g of doc.testGroups) {
    switch (g.type) {
      case 'RsassaPkcs1Verify':
      case 'RsassaPssVerify': {
        const h = w.rsaKey(hex(g.publicKey.modulus), hex(g.publicKey.publicExponent));
        assert.ok(h >= 0, `${file}: RSA key rejected`);
        const alg = hashOf(g.sha);
        if (g.type === 'RsassaPssVerify') {
          assert.equal(g.mgf, 'MGF1');
          assert.equal(hashOf(g.mgfSha), alg, 'MGF1 hash must equal the message hash');
        }
        for (const c of g.tests) {
          const ok = g.type === 'RsassaPkcs1Verify'
            ? w.rsaPkcs1Verify(h, alg, hex(c.msg), hex(c.sig!))
            : w.rsaPssVerify(h, alg, hex(c.msg), hex(c.sig!), g.sLen);
          check(file, c, ok, counts);
        }
        w.x.rsaKeyFree(h);
        break;
      }
      case 'EcdsaP1363Verify': {
        const bits = ({ secp256r1: 256, secp384r1: 384, secp521r1: 521 } as Record<string, number>)[g.publicKey.curve] ?? 0;
        assert.ok(bits > 0, `${file}: unexpected curve ${g.publicKey.curve}`);
        const h = w.ecKey(bits, hex(g.publicKey.wx), hex(g.publicKey.wy));
        assert.ok(h >= 0, `${file}: EC key rejected`);
        const alg = hashOf(g.sha);
        for (const c of g.tests) check(file, c, w.ecdsaVerify(h, alg, hex(c.msg), hex(c.sig!)), counts);
        w.x.ecKeyFree(h);
        break;
      }
      case 'EddsaVerify': {
        const h = w.edKey(hex(g.publicKey.pk));
        assert.ok(h >= 0, `${file}: Ed25519 key rejected`);
        for (const c of g.tests) check(file, c, w.ed25519Verify(h, hex(c.msg), hex(c.sig!)), counts);
        w.x.edKeyFree(h);
        break;
      }
      case 'MacTest': {
        const alg = hashOf(doc.algorithm.replace('HMAC', ''));
        const full = alg === Hash.SHA256 ? 256 : alg === Hash.SHA384 ? 384 : 512;
        for (const c of g.tests) {
          const ok = w.hmacVerify(alg, hex(c.key!), hex(c.msg), hex(c.tag!));
          if (g.tagSize === full) { check(file, c, ok, counts); continue; }
          // JWS needs the full tag: a truncated tag is always rejected, whatever its vector says.
          assert.equal(ok, false, `${file} tcId ${c.tcId}: truncated tag accepted`);
          if (c.result === 'valid') {
            // Outside JWS, but still check that our MAC agrees with the vector's truncated tag.
            const tag = w.hmacSign(alg, hex(c.key!), hex(c.msg)).subarray(0, g.tagSize / 8);
            assert.deepEqual(Buffer.from(tag).toString('hex'), c.tag, `${file} tcId ${c.tcId}: MAC mismatch`);
            counts.skippedByPolicy++;
          } else counts.invalid++;
        }
        break;
      }
      default:
        assert.fail(`${file}: unknown test group type ${g.type}`);
    }
  }
  return counts;
}

test('wycheproof vectors', { skip: present ? false : `WYCHEPROOF VECTORS MISSING at ${dir}` }, async (t) => {
  w = CryptoWasm.load();
  const files = listedFiles();
  assert.ok(files.length >= 14, `README lists only ${files.length} files`);
  const rows: string[] = [];
  for (const file of files) {
    await t.test(file, () => {
      assert.ok(existsSync(path.join(dir, file)), `${file} is listed in the README but missing`);
      const c = runFile(file);
      assert.ok(c.valid > 0 && c.invalid > 0, `${file}: no valid or no invalid cases ran`);
      rows.push(`${file.padEnd(42)} valid ${String(c.valid).padStart(4)}  invalid ${String(c.invalid).padStart(4)}  ` +
        `acceptable ${c.acceptableAccepted} accepted/${c.acceptableRejected} rejected  skipped-by-policy ${c.skippedByPolicy}`);
    });
  }
  console.log(`\nWycheproof (${dir}):\n${rows.join('\n')}\n`);
});
