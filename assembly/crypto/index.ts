// The crypto API the filter codes against. Pure AssemblyScript: no host imports, so the same
// code runs in proxy-wasm hosts, in as-pect and in Node (build/crypto.wasm via exports.ts).
// Verifies never trap and never allocate: every failure is `false`.
import { HashAlg, hashLen, hashRaw, isHashAlg } from "./hash";
import { ctEqual } from "./ct";
import { hmacRaw, hmacVerifyRaw } from "./hmac";
import { RsaKey, rsaKeyCreate, rsaPkcs1VerifyRaw, rsaPssVerifyRaw } from "./rsa";
import { EcKey, ecKeyCreate, ecdsaVerifyRaw } from "./ecdsa";
import { EdKey, edKeyCreate, ed25519VerifyRaw } from "./ed25519";

export { HashAlg } from "./hash";

export function digest(alg: HashAlg, data: Uint8Array): Uint8Array {
  let out = new Uint8Array(hashLen(alg));
  hashRaw(alg, data.dataStart, data.length, out.dataStart);
  return out;
}

/** False on length mismatch; otherwise time depends only on the length. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): bool { return ctEqual(a, b); }

export function hmacSign(alg: HashAlg, key: Uint8Array, data: Uint8Array): Uint8Array {
  let out = new Uint8Array(hashLen(alg));
  hmacRaw(alg, key.dataStart, key.length, data.dataStart, data.length, out.dataStart);
  return out;
}

/** Full-length tag only (JWS), compared in constant time. */
export function hmacVerify(alg: HashAlg, key: Uint8Array, data: Uint8Array, tag: Uint8Array): bool {
  if (!isHashAlg(alg)) return false;
  return hmacVerifyRaw(alg, key.dataStart, key.length, data.dataStart, data.length, tag.dataStart, tag.length);
}

export class RsaPublicKey {
  readonly key: RsaKey;
  constructor(key: RsaKey) { this.key = key; }
  /** n, e big-endian unsigned. Null unless n is odd with 2048..8192 bits and e is odd, 3 <= e < n. */
  static create(n: Uint8Array, e: Uint8Array): RsaPublicKey | null {
    let k = rsaKeyCreate(n.dataStart, n.length, e.dataStart, e.length);
    return k == null ? null : new RsaPublicKey(k);
  }
  get bits(): i32 { return this.key.bits; }
}

export function rsaPkcs1Verify(key: RsaPublicKey, alg: HashAlg, data: Uint8Array, sig: Uint8Array): bool {
  if (!isHashAlg(alg)) return false;
  return rsaPkcs1VerifyRaw(key.key, alg, data.dataStart, data.length, sig.dataStart, sig.length);
}

/** RSASSA-PSS, MGF1 with the same hash, salt of exactly saltLen bytes (JWS: the hash length). */
export function rsaPssVerify(key: RsaPublicKey, alg: HashAlg, data: Uint8Array, sig: Uint8Array, saltLen: i32): bool {
  if (!isHashAlg(alg)) return false;
  return rsaPssVerifyRaw(key.key, alg, data.dataStart, data.length, sig.dataStart, sig.length, saltLen);
}

export class EcPublicKey {
  readonly key: EcKey;
  constructor(key: EcKey) { this.key = key; }
  /** bits 256, 384 or 521; x, y big-endian. Null if out of range or not on the curve. */
  static create(bits: i32, x: Uint8Array, y: Uint8Array): EcPublicKey | null {
    let k = ecKeyCreate(bits, x.dataStart, x.length, y.dataStart, y.length);
    return k == null ? null : new EcPublicKey(k);
  }
}

/** sigP1363 is raw r||s. */
export function ecdsaVerify(key: EcPublicKey, alg: HashAlg, data: Uint8Array, sigP1363: Uint8Array): bool {
  if (!isHashAlg(alg)) return false;
  return ecdsaVerifyRaw(key.key, alg, data.dataStart, data.length, sigP1363.dataStart, sigP1363.length);
}

export class Ed25519PublicKey {
  readonly key: EdKey;
  constructor(key: EdKey) { this.key = key; }
  /** 32-byte RFC 8032 encoding; null if non-canonical or not on the curve. */
  static create(a: Uint8Array): Ed25519PublicKey | null {
    let k = edKeyCreate(a.dataStart, a.length);
    return k == null ? null : new Ed25519PublicKey(k);
  }
}

export function ed25519Verify(key: Ed25519PublicKey, msg: Uint8Array, sig: Uint8Array): bool {
  return ed25519VerifyRaw(key.key, msg.dataStart, msg.length, sig.dataStart, sig.length);
}
