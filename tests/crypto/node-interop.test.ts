// Tokens signed by node:crypto (OpenSSL) verify in the AssemblyScript crypto, and the same tokens
// with one flipped bit do not. Also: hostile inputs return false without trapping, and linear
// memory does not grow across thousands of verifications.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { CryptoWasm, Hash } from './wasm.ts';

const w = CryptoWasm.load();
const TOKENS_PER_ALG = 12;

interface Alg {
  name: string;
  sign(input: Buffer): Buffer;
  verify(input: Uint8Array, sig: Uint8Array): boolean;
}

function b64uJson(o: unknown): string { return Buffer.from(JSON.stringify(o)).toString('base64url'); }

function randomSigningInput(alg: string, i: number): Buffer {
  const claims = { iss: 'https://sts.example', sub: `user-${crypto.randomBytes(6).toString('hex')}`, n: i,
    pad: crypto.randomBytes(crypto.randomInt(0, 300)).toString('base64url') };
  return Buffer.from(`${b64uJson({ alg, typ: 'JWT' })}.${b64uJson(claims)}`);
}

function flipBit(b: Uint8Array): Uint8Array {
  const t = Uint8Array.from(b);
  const bit = crypto.randomInt(0, t.length * 8);
  t[bit >> 3] ^= 1 << (bit & 7);
  return t;
}

function algs(): Alg[] {
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rj = rsa.publicKey.export({ format: 'jwk' });
  const rh = w.rsaKey(Buffer.from(rj.n!, 'base64url'), Buffer.from(rj.e!, 'base64url'));
  const pss = { padding: crypto.constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 };
  const out: Alg[] = [
    { name: 'RS256', sign: (d) => crypto.sign('sha256', d, rsa.privateKey),
      verify: (d, s) => w.rsaPkcs1Verify(rh, Hash.SHA256, d, s) },
    { name: 'PS256', sign: (d) => crypto.sign('sha256', d, { key: rsa.privateKey, ...pss }),
      verify: (d, s) => w.rsaPssVerify(rh, Hash.SHA256, d, s, 32) },
  ];
  for (const [name, crv, bits, hash, hn] of [['ES256', 'P-256', 256, Hash.SHA256, 'sha256'], ['ES384', 'P-384', 384, Hash.SHA384, 'sha384'],
    ['ES512', 'P-521', 521, Hash.SHA512, 'sha512']] as const) {
    const kp = crypto.generateKeyPairSync('ec', { namedCurve: crv });
    const j = kp.publicKey.export({ format: 'jwk' });
    const h = w.ecKey(bits, Buffer.from(j.x!, 'base64url'), Buffer.from(j.y!, 'base64url'));
    out.push({ name, sign: (d) => crypto.sign(hn, d, { key: kp.privateKey, dsaEncoding: 'ieee-p1363' }),
      verify: (d, s) => w.ecdsaVerify(h, hash, d, s) });
  }
  const ed = crypto.generateKeyPairSync('ed25519');
  const eh = w.edKey(Buffer.from(ed.publicKey.export({ format: 'jwk' }).x!, 'base64url'));
  out.push({ name: 'EdDSA', sign: (d) => crypto.sign(null, d, ed.privateKey), verify: (d, s) => w.ed25519Verify(eh, d, s) });
  const key = crypto.randomBytes(32);
  out.push({ name: 'HS256', sign: (d) => crypto.createHmac('sha256', key).update(d).digest(),
    verify: (d, s) => w.hmacVerify(Hash.SHA256, key, d, s) });
  return out;
}

test('node:crypto-signed tokens verify; one flipped bit does not', () => {
  for (const a of algs()) {
    for (let i = 0; i < TOKENS_PER_ALG; i++) {
      const input = randomSigningInput(a.name, i);
      const sig = a.sign(input);
      assert.equal(a.verify(input, sig), true, `${a.name} token ${i} rejected`);
      assert.equal(a.verify(flipBit(input), sig), false, `${a.name} token ${i}: flipped input bit accepted`);
      assert.equal(a.verify(input, flipBit(sig)), false, `${a.name} token ${i}: flipped signature bit accepted`);
    }
  }
});

test('hostile signatures and keys return false, never trap', () => {
  const input = randomSigningInput('X', 0);
  const bad = [new Uint8Array(0), new Uint8Array(1), new Uint8Array(31), new Uint8Array(64), new Uint8Array(96), new Uint8Array(132),
    new Uint8Array(132).fill(0xff), new Uint8Array(132).fill(1), new Uint8Array(130).fill(1), new Uint8Array(134).fill(1),
    new Uint8Array(256).fill(0xff), new Uint8Array(256), new Uint8Array(512).fill(0x7f), new Uint8Array(64).fill(0xff)];
  for (const a of algs()) for (const s of bad) assert.equal(a.verify(input, s), false, `${a.name} accepted a hostile signature`);
  // keys
  assert.equal(w.rsaKey(new Uint8Array(256).fill(0xff).map((v, i) => (i === 255 ? 0xfe : v)), Uint8Array.of(1, 0, 1)), -1, 'even n');
  assert.equal(w.rsaKey(new Uint8Array(128).fill(0xff), Uint8Array.of(1, 0, 1)), -1, '1024-bit n');
  assert.equal(w.rsaKey(new Uint8Array(256).fill(0xff), Uint8Array.of(1, 0, 0)), -1, 'even e');
  assert.equal(w.rsaKey(new Uint8Array(256).fill(0xff), Uint8Array.of(1)), -1, 'e = 1');
  assert.equal(w.rsaKey(new Uint8Array(0), new Uint8Array(0)), -1, 'empty');
  assert.equal(w.ecKey(256, new Uint8Array(32), new Uint8Array(32)), -1, '(0,0) is not on P-256');
  assert.equal(w.ecKey(256, new Uint8Array(32).fill(0xff), new Uint8Array(32).fill(0xff)), -1, 'coordinates >= p');
  assert.equal(w.ecKey(512, new Uint8Array(64), new Uint8Array(64)), -1, 'unsupported curve');
  assert.equal(w.ecKey(521, new Uint8Array(66), new Uint8Array(66)), -1, '(0,0) is not on P-521');
  const p521 = Buffer.from('01' + 'ff'.repeat(65), 'hex'); // p = 2^521 - 1
  assert.equal(w.ecKey(521, p521, p521), -1, 'P-521 coordinates >= p');
  assert.equal(w.ecKey(521, new Uint8Array(67).fill(0xff), new Uint8Array(67).fill(0xff)), -1, 'P-521 coordinates too long');
  assert.equal(w.edKey(new Uint8Array(31)), -1, 'short Ed25519 key');
  // y = p (non-canonical encoding of y = 0)
  const yp = Buffer.from('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', 'hex');
  assert.equal(w.edKey(yp), -1, 'non-canonical Ed25519 y');
});

test('linear memory does not grow across 2,000 verifications', () => {
  const all = algs().filter((a) => a.name !== 'PS256' && a.name !== 'ES384' && a.name !== 'ES512');
  const inputs = all.map((a) => { const d = randomSigningInput(a.name, 0); return { a, d, s: a.sign(d) }; });
  for (const { a, d, s } of inputs) for (let i = 0; i < 5; i++) assert.equal(a.verify(d, s), true); // warm-up
  const before = w.memoryBytes;
  let n = 0;
  const t0 = Date.now();
  while (n < 2000 && Date.now() - t0 < 60_000) {
    for (const { a, d, s } of inputs) { assert.equal(a.verify(d, s), true); n++; }
  }
  assert.ok(n >= 500, `only ${n} verifications ran`);
  assert.equal(w.memoryBytes, before, `linear memory grew from ${before} to ${w.memoryBytes} over ${n} verifications`);
});
