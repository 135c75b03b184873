// Envoy's `verify_signature` foreign function, backed by node:crypto.
// Arguments: VerifySignatureArguments{hash_function=1 string, public_key=2 bytes (DER SPKI),
// signature=3 bytes, text=4 bytes, public_key_pem=5 string}. Answer: {result=1 bool, error=2 string}.
// For EC keys the signature is a DER ECDSA-Sig-Value, as BoringSSL's EVP_DigestVerify expects.
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { WasmResult } from './abi.ts';

const HASHES = new Set(['sha1', 'sha224', 'sha256', 'sha384', 'sha512']);

export interface VerifyArgs { hash: string; publicKey: Uint8Array; signature: Uint8Array; text: Uint8Array; publicKeyPem: string }

function readVarint(buf: Uint8Array, at: number): [number, number] {
  let v = 0; let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (at >= buf.length) throw new Error('truncated varint');
    const b = buf[at++];
    v += (b & 0x7f) * mul;
    if ((b & 0x80) === 0) return [v, at];
    mul *= 128;
  }
  throw new Error('varint too long');
}

export function decodeFields(buf: Uint8Array): Map<number, Uint8Array | number> {
  const out = new Map<number, Uint8Array | number>();
  let at = 0;
  while (at < buf.length) {
    let tag: number;
    [tag, at] = readVarint(buf, at);
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) throw new Error('field 0');
    if (wire === 0) {
      let v: number; [v, at] = readVarint(buf, at); out.set(field, v);
    } else if (wire === 2) {
      let len: number; [len, at] = readVarint(buf, at);
      if (at + len > buf.length) throw new Error('truncated field');
      out.set(field, buf.subarray(at, at + len)); at += len;
    } else {
      throw new Error(`unsupported wire type ${wire}`);
    }
  }
  return out;
}

function bytesField(f: Map<number, Uint8Array | number>, n: number): Uint8Array {
  const v = f.get(n);
  if (v === undefined) return new Uint8Array(0);
  if (typeof v === 'number') throw new Error(`field ${n} is not bytes`);
  return v;
}

export function decodeVerifyArgs(buf: Uint8Array): VerifyArgs {
  const f = decodeFields(buf);
  const dec = new TextDecoder();
  return {
    hash: dec.decode(bytesField(f, 1)),
    publicKey: bytesField(f, 2),
    signature: bytesField(f, 3),
    text: bytesField(f, 4),
    publicKeyPem: dec.decode(bytesField(f, 5)),
  };
}

function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) { out.push((v & 0x7f) | 0x80); v = Math.floor(v / 128); }
  out.push(v);
  return out;
}

export function encodeVerifyResult(result: boolean, error: string): Uint8Array {
  const out: number[] = [];
  if (result) out.push(0x08, 1); // proto3 omits a false bool
  if (error) {
    const e = new TextEncoder().encode(error);
    out.push(0x12, ...varint(e.length), ...e);
  }
  return Uint8Array.from(out);
}

export function encodeVerifyArgs(a: Partial<VerifyArgs>): Uint8Array {
  const out: number[] = [];
  const put = (n: number, b: Uint8Array | undefined) => {
    if (!b || b.length === 0) return;
    out.push(...varint(n * 8 + 2), ...varint(b.length), ...b);
  };
  const enc = new TextEncoder();
  put(1, a.hash ? enc.encode(a.hash) : undefined);
  put(2, a.publicKey);
  put(3, a.signature);
  put(4, a.text);
  put(5, a.publicKeyPem ? enc.encode(a.publicKeyPem) : undefined);
  return Uint8Array.from(out);
}

export function verifyWithNode(a: VerifyArgs): { result: boolean; error: string } {
  if (!HASHES.has(a.hash)) return { result: false, error: `${a.hash} is not supported.` };
  let key: KeyObject;
  try {
    key = a.publicKeyPem
      ? createPublicKey(a.publicKeyPem)
      : createPublicKey({ key: Buffer.from(a.publicKey), format: 'der', type: 'spki' });
  } catch {
    return { result: false, error: 'Failed to import public key' };
  }
  // BoringSSL's digest-verify accepts RSA (PKCS#1 v1.5) and ECDSA here; others fail.
  if (key.asymmetricKeyType !== 'rsa' && key.asymmetricKeyType !== 'ec') {
    return { result: false, error: 'Failed to initialize digest verify.' };
  }
  try {
    const ok = verify(a.hash, a.text, { key, dsaEncoding: 'der' }, a.signature);
    return ok ? { result: true, error: '' } : { result: false, error: 'Failed to verify digest. Error code: 0' };
  } catch {
    return { result: false, error: 'Failed to verify digest. Error code: 0' };
  }
}

// The whole foreign function: the status the host call returns and, on Ok, the serialized result.
export function verifySignatureForeign(args: Uint8Array): { status: number; result?: Uint8Array } {
  let a: VerifyArgs;
  try { a = decodeVerifyArgs(args); } catch { return { status: WasmResult.BadArgument }; }
  const r = verifyWithNode(a);
  return { status: WasmResult.Ok, result: encodeVerifyResult(r.result, r.error) };
}
