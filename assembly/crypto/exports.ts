// Thin pointer/length exports over the crypto primitives for build/crypto.wasm, used by the
// Node conformance tests and the benchmark. Keys live in handle tables; callers copy bytes in
// through alloc/free (raw heap blocks, not GC objects).
import { HashAlg, hashLen, hashRaw, isHashAlg } from "./hash";
import { hmacRaw, hmacVerifyRaw } from "./hmac";
import { RsaKey, rsaKeyCreate, rsaPkcs1VerifyRaw, rsaPssVerifyRaw } from "./rsa";
import { EcKey, ecKeyCreate, ecdsaVerifyRaw } from "./ecdsa";
import { EdKey, edKeyCreate, ed25519VerifyRaw } from "./ed25519";

export function alloc(len: i32): usize { return heap.alloc(len > 0 ? <usize>len : 1); }
export function free(ptr: usize): void { heap.free(ptr); }

export function digest(alg: i32, data: usize, len: i32, out: usize): i32 {
  if (!isHashAlg(alg)) return 0;
  hashRaw(<HashAlg>alg, data, len, out);
  return hashLen(<HashAlg>alg);
}

export function hmacSign(alg: i32, key: usize, keyLen: i32, data: usize, dataLen: i32, out: usize): i32 {
  if (!isHashAlg(alg)) return 0;
  hmacRaw(<HashAlg>alg, key, keyLen, data, dataLen, out);
  return hashLen(<HashAlg>alg);
}

export function hmacVerify(alg: i32, key: usize, keyLen: i32, data: usize, dataLen: i32, tag: usize, tagLen: i32): bool {
  if (!isHashAlg(alg)) return false;
  return hmacVerifyRaw(<HashAlg>alg, key, keyLen, data, dataLen, tag, tagLen);
}

const rsaKeys = new Array<RsaKey | null>();
const ecKeys = new Array<EcKey | null>();
const edKeys = new Array<EdKey | null>();

function slot<T>(arr: Array<T | null>, k: T): i32 {
  for (let i = 0; i < arr.length; i++) if (arr[i] == null) { arr[i] = k; return i; }
  arr.push(k);
  return arr.length - 1;
}

/** Returns a handle >= 0, or -1 if the key is rejected. */
export function rsaKey(n: usize, nLen: i32, e: usize, eLen: i32): i32 {
  let k = rsaKeyCreate(n, nLen, e, eLen);
  return k == null ? -1 : slot<RsaKey>(rsaKeys, k);
}
export function rsaKeyBits(h: i32): i32 {
  if (h < 0 || h >= rsaKeys.length) return 0;
  let k = rsaKeys[h];
  return k == null ? 0 : k.bits;
}
export function rsaKeyFree(h: i32): void { if (h >= 0 && h < rsaKeys.length) rsaKeys[h] = null; }

export function rsaPkcs1Verify(h: i32, alg: i32, data: usize, dataLen: i32, sig: usize, sigLen: i32): bool {
  if (h < 0 || h >= rsaKeys.length || !isHashAlg(alg)) return false;
  let k = rsaKeys[h];
  if (k == null) return false;
  return rsaPkcs1VerifyRaw(k, <HashAlg>alg, data, dataLen, sig, sigLen);
}

export function rsaPssVerify(h: i32, alg: i32, data: usize, dataLen: i32, sig: usize, sigLen: i32, saltLen: i32): bool {
  if (h < 0 || h >= rsaKeys.length || !isHashAlg(alg)) return false;
  let k = rsaKeys[h];
  if (k == null) return false;
  return rsaPssVerifyRaw(k, <HashAlg>alg, data, dataLen, sig, sigLen, saltLen);
}

export function ecKey(bits: i32, x: usize, xLen: i32, y: usize, yLen: i32): i32 {
  let k = ecKeyCreate(bits, x, xLen, y, yLen);
  return k == null ? -1 : slot<EcKey>(ecKeys, k);
}
export function ecKeyFree(h: i32): void { if (h >= 0 && h < ecKeys.length) ecKeys[h] = null; }

export function ecdsaVerify(h: i32, alg: i32, data: usize, dataLen: i32, sig: usize, sigLen: i32): bool {
  if (h < 0 || h >= ecKeys.length || !isHashAlg(alg)) return false;
  let k = ecKeys[h];
  if (k == null) return false;
  return ecdsaVerifyRaw(k, <HashAlg>alg, data, dataLen, sig, sigLen);
}

export function edKey(a: usize, aLen: i32): i32 {
  let k = edKeyCreate(a, aLen);
  return k == null ? -1 : slot<EdKey>(edKeys, k);
}
export function edKeyFree(h: i32): void { if (h >= 0 && h < edKeys.length) edKeys[h] = null; }

export function ed25519Verify(h: i32, msg: usize, msgLen: i32, sig: usize, sigLen: i32): bool {
  if (h < 0 || h >= edKeys.length) return false;
  let k = edKeys[h];
  if (k == null) return false;
  return ed25519VerifyRaw(k, msg, msgLen, sig, sigLen);
}
