// Ed25519 beyond the Wycheproof and RFC vectors: the generated field arithmetic (fe25519.ts) matches
// its generator; public-key decoding agrees with a BigInt reference of RFC 8032 §5.1.3 (plus our
// rejections: y >= p, x = 0 with the sign bit) on random and edge-case encodings, which exercises
// the square root, the canonical encoding and the carries; and signatures from node:crypto over
// many keys verify while their mutations do not (the B and per-key -A tables, the signed windows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CryptoWasm } from './wasm.ts';

test('assembly/crypto/fe25519.ts is exactly what fe25519.gen.mjs generates', () => {
  const generated = execFileSync(process.execPath, ['assembly/crypto/fe25519.gen.mjs'], { encoding: 'utf8' });
  const committed = readFileSync('assembly/crypto/fe25519.ts', 'utf8');
  assert.ok(committed.length > 10_000, `fe25519.ts has ${committed.length} chars`);
  assert.ok(generated === committed, 'regenerate: node assembly/crypto/fe25519.gen.mjs > assembly/crypto/fe25519.ts');
});

const w = CryptoWasm.load();
const p = 2n ** 255n - 19n;
const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const d = (-121665n * modpow(121666n, p - 2n)) % p + p;
const sqrtm1 = modpow(2n, (p - 1n) / 4n);

function modpow(b: bigint, e: bigint): bigint {
  let r = 1n;
  b %= p;
  for (; e > 0n; e >>= 1n, b = (b * b) % p) if (e & 1n) r = (r * b) % p;
  return r;
}
const le = (v: bigint) => { const b = new Uint8Array(32); for (let i = 0; i < 32; i++) b[i] = Number((v >> BigInt(8 * i)) & 0xffn); return b; };
const fromLe = (b: Uint8Array) => BigInt('0x' + (Buffer.from(b).reverse().toString('hex') || '0'));

/** RFC 8032 §5.1.3 decoding, rejecting y >= p and x = 0 with the sign bit. */
function refDecodes(s: Uint8Array): boolean {
  const v = fromLe(s);
  const y = v & (2n ** 255n - 1n);
  const sign = v >> 255n;
  if (y >= p) return false;
  const u = (y * y - 1n + p) % p;
  const vv = (d * y * y + 1n) % p;
  let x = (u * modpow(vv, 3n) % p) * modpow(u * modpow(vv, 7n), (p - 5n) / 8n) % p;
  const vx2 = vv * x % p * x % p;
  if (vx2 !== u) {
    if (vx2 !== (p - u) % p) return false;
    x = x * sqrtm1 % p;
  }
  return !(x === 0n && sign === 1n);
}

function keyAccepted(s: Uint8Array): boolean {
  const h = w.edKey(s);
  if (h >= 0) w.x.edKeyFree(h);
  return h >= 0;
}

test('public-key decoding agrees with a BigInt reference (random and edge-case encodings)', () => {
  const cases: Uint8Array[] = [];
  for (let i = 0; i < 1500; i++) cases.push(new Uint8Array(crypto.randomBytes(32)));
  const ys = [0n, 1n, 2n, 19n, p - 1n, p - 2n, p, p + 1n, p + 18n, 2n ** 255n - 1n, 2n ** 254n, 2n ** 255n - 20n,
    0x7a03ac9277fdc74ec6cc392cfa53202a0f67100d760b3cba4fd84d3d706a17c7n, // small order (y of the order-8 points)
    0x05fc536d880238b13933c6d305acdfd5f098eff289f4c345b027b2c28f95e826n,
    0x6666666666666666666666666666666666666666666666666666666666666658n]; // B
  for (const y of ys) for (const s of [0n, 1n]) cases.push(le(y | (s << 255n)));
  let accepted = 0;
  for (const c of cases) {
    const ref = refDecodes(c);
    if (ref) accepted++;
    assert.equal(keyAccepted(c), ref, `key ${Buffer.from(c).toString('hex')}: reference says ${ref}`);
  }
  assert.ok(accepted > 500 && accepted < cases.length - 500, `${accepted} of ${cases.length} accepted`);
});

test('node:crypto signatures over many keys verify; mutations and S >= L do not', () => {
  for (let i = 0; i < 60; i++) {
    const kp = crypto.generateKeyPairSync('ed25519');
    const h = w.edKey(Buffer.from(kp.publicKey.export({ format: 'jwk' }).x!, 'base64url'));
    assert.ok(h >= 0);
    const msg = crypto.randomBytes(i * 7);
    const sig = new Uint8Array(crypto.sign(null, msg, kp.privateKey));
    assert.equal(w.ed25519Verify(h, msg, sig), true, `key ${i}: valid signature rejected`);
    for (let j = 0; j < 4; j++) {
      const s2 = sig.slice();
      const bit = crypto.randomInt(512);
      s2[bit >> 3] ^= 1 << (bit & 7);
      assert.equal(w.ed25519Verify(h, msg, s2), false, `key ${i}: signature with bit ${bit} flipped accepted`);
    }
    const S = fromLe(sig.slice(32));
    const big = sig.slice();
    big.set(le(S + L), 32); // the same S mod L, non-canonical
    assert.equal(w.ed25519Verify(h, msg, big), false, `key ${i}: S + L accepted`);
    w.x.edKeyFree(h);
  }
});
