// HMAC (RFC 2104) over SHA-256/384/512. The key pad and the tag live in module-level scratch.
import { HashAlg, hashLen, hashBlockLen, hashInit, hashUpdate, hashFinal, hashRaw } from "./hash";
import { ctEqualRaw } from "./ct";

const PAD: usize = memory.data(128, 8);
const KEYHASH: usize = memory.data(64, 8);
const INNER: usize = memory.data(64, 8);

/** Writes the full-length HMAC tag of data under key to out (hashLen(alg) bytes). */
export function hmacRaw(alg: HashAlg, key: usize, keyLen: i32, data: usize, dataLen: i32, out: usize): void {
  let bl = hashBlockLen(alg);
  let hl = hashLen(alg);
  if (keyLen > bl) { hashRaw(alg, key, keyLen, KEYHASH); key = KEYHASH; keyLen = hl; }
  if (keyLen < 0) keyLen = 0;
  memory.fill(PAD, 0, <usize>bl);
  memory.copy(PAD, key, <usize>keyLen);
  for (let i: usize = 0; i < <usize>bl; i++) store<u8>(PAD + i, load<u8>(PAD + i) ^ 0x36);
  hashInit(alg);
  hashUpdate(alg, PAD, bl);
  hashUpdate(alg, data, dataLen);
  hashFinal(alg, INNER);
  for (let i: usize = 0; i < <usize>bl; i++) store<u8>(PAD + i, load<u8>(PAD + i) ^ (0x36 ^ 0x5c));
  hashInit(alg);
  hashUpdate(alg, PAD, bl);
  hashUpdate(alg, INNER, hl);
  hashFinal(alg, out);
}

const TAG: usize = memory.data(64, 8);

/** JWS requires the full-length tag, so any other tag length is a failure. Constant time. */
export function hmacVerifyRaw(alg: HashAlg, key: usize, keyLen: i32, data: usize, dataLen: i32, tag: usize, tagLen: i32): bool {
  if (tagLen != hashLen(alg)) return false;
  hmacRaw(alg, key, keyLen, data, dataLen, TAG);
  return ctEqualRaw(TAG, tag, tagLen);
}
