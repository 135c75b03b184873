// Hash dispatch by JWS hash algorithm. Exactly one hash computation is in flight at a time.
import { sha256Init, sha256Update, sha256Final } from "./sha256";
import { sha384Init, sha512Init, sha512Update, sha512Final } from "./sha512";

export enum HashAlg { SHA256 = 0, SHA384 = 1, SHA512 = 2 }

export function isHashAlg(alg: i32): bool { return alg >= 0 && alg <= 2; }

export function hashLen(alg: HashAlg): i32 {
  return alg == HashAlg.SHA256 ? 32 : alg == HashAlg.SHA384 ? 48 : 64;
}

/** Internal block size in bytes (HMAC pads keys to this). */
export function hashBlockLen(alg: HashAlg): i32 { return alg == HashAlg.SHA256 ? 64 : 128; }

export function hashInit(alg: HashAlg): void {
  if (alg == HashAlg.SHA256) sha256Init();
  else if (alg == HashAlg.SHA384) sha384Init();
  else sha512Init();
}

export function hashUpdate(alg: HashAlg, ptr: usize, len: i32): void {
  if (alg == HashAlg.SHA256) sha256Update(ptr, len); else sha512Update(ptr, len);
}

export function hashFinal(alg: HashAlg, out: usize): void {
  if (alg == HashAlg.SHA256) sha256Final(out); else sha512Final(out);
}

/** One-shot digest of [ptr, ptr+len) into out (hashLen(alg) bytes). */
export function hashRaw(alg: HashAlg, ptr: usize, len: i32, out: usize): void {
  hashInit(alg);
  hashUpdate(alg, ptr, len);
  hashFinal(alg, out);
}
