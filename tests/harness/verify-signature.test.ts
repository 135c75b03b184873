// The emulator's `verify_signature` foreign function: protobuf decode, node:crypto verify, encode.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { WasmResult } from '../host/abi.ts';
import { decodeFields, encodeVerifyArgs, verifySignatureForeign } from '../host/verify-signature.ts';

const text = Buffer.from('eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1In0');

function answer(args: Uint8Array): { ok: boolean; error: string } {
  const r = verifySignatureForeign(args);
  assert.equal(r.status, WasmResult.Ok);
  const f = decodeFields(r.result!);
  const err = f.get(2);
  return { ok: f.get(1) === 1, error: err instanceof Uint8Array ? Buffer.from(err).toString() : '' };
}

function flip(b: Buffer, i: number): Buffer { const c = Buffer.from(b); c[i] ^= 1; return c; }

for (const [name, kind, opts, hash] of [
  ['RS256', 'rsa', { modulusLength: 2048 }, 'sha256'],
  ['RS512', 'rsa', { modulusLength: 2048 }, 'sha512'],
  ['ES256 (DER signature)', 'ec', { namedCurve: 'P-256' }, 'sha256'],
  ['ES384 (DER signature)', 'ec', { namedCurve: 'P-384' }, 'sha384'],
] as const) {
  test(`${name}: valid verifies; tampered text, signature or wrong key does not`, () => {
    const { publicKey, privateKey } = generateKeyPairSync(kind as 'rsa', opts as any) as unknown as { publicKey: KeyObject; privateKey: KeyObject };
    const der = publicKey.export({ format: 'der', type: 'spki' });
    const sig = sign(hash, text, privateKey); // EC: node signs DER ECDSA-Sig-Value by default
    assert.deepEqual(answer(encodeVerifyArgs({ hash, publicKey: der, signature: sig, text })), { ok: true, error: '' });
    assert.equal(answer(encodeVerifyArgs({ hash, publicKey: der, signature: sig, text: flip(text, 3) })).ok, false);
    assert.equal(answer(encodeVerifyArgs({ hash, publicKey: der, signature: flip(sig, sig.length - 1), text })).ok, false);
    const other = (generateKeyPairSync(kind as 'rsa', opts as any).publicKey as unknown as KeyObject).export({ format: 'der', type: 'spki' });
    assert.equal(answer(encodeVerifyArgs({ hash, publicKey: other, signature: sig, text })).ok, false);
    // The same key as PEM in field 5.
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    assert.equal(answer(encodeVerifyArgs({ hash, publicKeyPem: pem, signature: sig, text })).ok, true);
  });
}

test('ES256 with a raw r||s (JWS) signature fails: the caller must convert to DER', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const raw = sign('sha256', text, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  const der = publicKey.export({ format: 'der', type: 'spki' });
  assert.equal(answer(encodeVerifyArgs({ hash: 'sha256', publicKey: der, signature: raw, text })).ok, false);
});

test('unsupported hash, bad key, Ed25519 and malformed protobuf are refused', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const der = publicKey.export({ format: 'der', type: 'spki' });
  const sig = sign('sha256', text, privateKey);
  const md5 = answer(encodeVerifyArgs({ hash: 'md5', publicKey: der, signature: sig, text }));
  assert.equal(md5.ok, false);
  assert.match(md5.error, /not supported/);
  const badKey = answer(encodeVerifyArgs({ hash: 'sha256', publicKey: Buffer.from('not a key'), signature: sig, text }));
  assert.equal(badKey.ok, false);
  assert.match(badKey.error, /import public key/);
  const ed = generateKeyPairSync('ed25519');
  const edSig = sign(null, text, ed.privateKey);
  assert.equal(answer(encodeVerifyArgs({ hash: 'sha256', publicKey: ed.publicKey.export({ format: 'der', type: 'spki' }), signature: edSig, text })).ok, false);
  // A length that runs past the end, and an unsupported wire type.
  assert.equal(verifySignatureForeign(Uint8Array.from([0x0a, 0x10, 0x73])).status, WasmResult.BadArgument);
  assert.equal(verifySignatureForeign(Uint8Array.from([0x0d, 1, 2, 3, 4])).status, WasmResult.BadArgument);
});
