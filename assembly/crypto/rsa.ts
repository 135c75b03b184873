// RSA signature verification: RSASSA-PKCS1-v1_5 and RSASSA-PSS (RFC 8017 §8.2.2, §8.1.2),
// public exponentiation by Montgomery multiplication in radix 2^28 (rsaexp.ts). e = 65537 costs
// one multiplication into Montgomery form, 16 squarings and one multiplication by the plain
// signature, which also leaves Montgomery form; any other odd e >= 3 is square-and-multiply.
import { HashAlg, hashLen, hashInit, hashUpdate, hashFinal, hashRaw } from "./hash";
import { Modulus, MAX_LIMBS, limbsFromBytes, limbsToBytes, cmp } from "./mont";
import { WideModulus, widePowPublic } from "./rsaexp";
import { ctEqualRaw } from "./ct";

export const RSA_MIN_BITS: i32 = 2048;
export const RSA_MAX_BITS: i32 = 8192;

export class RsaKey {
  readonly mod: Modulus;
  readonly wide: WideModulus;     // the modulus for the exponentiation (rsaexp.ts)
  readonly e: StaticArray<u32>;  // exponent limbs, little-endian
  readonly eLimbs: i32;
  readonly byteLen: i32;          // k = ceil(bits / 8)
  constructor(mod: Modulus, e: StaticArray<u32>) {
    this.mod = mod;
    this.wide = new WideModulus(mod);
    this.e = e;
    this.eLimbs = e.length;
    this.byteLen = (mod.bits + 7) >> 3;
  }
  get bits(): i32 { return this.mod.bits; }
}

/** n, e big-endian. Null unless 2048 <= bits(n) <= 8192, n odd, e odd, 3 <= e < n. */
export function rsaKeyCreate(n: usize, nLen: i32, e: usize, eLen: i32): RsaKey | null {
  while (nLen > 0 && load<u8>(n) == 0) { n++; nLen--; }
  while (eLen > 0 && load<u8>(e) == 0) { e++; eLen--; }
  if (nLen <= 0 || eLen <= 0 || nLen > RSA_MAX_BITS / 8 || eLen > nLen) return null;
  let limbs = (nLen + 3) >> 2;
  let mArr = new StaticArray<u32>(limbs);
  limbsFromBytes(changetype<usize>(mArr), limbs, n, nLen);
  if ((unchecked(mArr[0]) & 1) == 0) return null;
  let eLimbs = (eLen + 3) >> 2;
  let eArr = new StaticArray<u32>(eLimbs);
  limbsFromBytes(changetype<usize>(eArr), eLimbs, e, eLen);
  if ((unchecked(eArr[0]) & 1) == 0) return null;
  if (eLimbs == 1 && unchecked(eArr[0]) < 3) return null;
  let mod = new Modulus(mArr);
  if (mod.bits < RSA_MIN_BITS || mod.bits > RSA_MAX_BITS) return null;
  if (eLimbs == limbs) {
    // e < n is required by RFC 8017 §3.1.
    let ePad = new StaticArray<u32>(limbs);
    memory.copy(changetype<usize>(ePad), changetype<usize>(eArr), <usize>eLimbs << 2);
    if (cmp(changetype<usize>(ePad), mod.m, limbs) >= 0) return null;
  }
  return new RsaKey(mod, eArr);
}

const S: usize = memory.data(MAX_LIMBS * 4, 8);
const X: usize = memory.data((MAX_LIMBS + 1) * 4, 8);
const EM: usize = memory.data(MAX_LIMBS * 4, 8);

/** RSAVP1: EM (k bytes) = sig^e mod n. False when sig is not exactly k bytes or sig >= n. */
function rsavp1(key: RsaKey, sig: usize, sigLen: i32): bool {
  if (sigLen != key.byteLen) return false;
  let M = key.mod;
  let n = M.n;
  if (!limbsFromBytes(S, n, sig, sigLen)) return false;
  if (cmp(S, M.m, n) >= 0) return false;
  widePowPublic(X, S, changetype<usize>(key.e), key.eLimbs, M, key.wide);
  limbsToBytes(EM, key.byteLen, X, n);
  return true;
}

// DER DigestInfo prefixes (RFC 8017 §9.2 note 1).
// @ts-ignore: decorator
@lazy const PREFIX256: StaticArray<u8> = [0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20];
// @ts-ignore: decorator
@lazy const PREFIX384: StaticArray<u8> = [0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30];
// @ts-ignore: decorator
@lazy const PREFIX512: StaticArray<u8> = [0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40];

const EXPECT: usize = memory.data(MAX_LIMBS * 4, 8);

/**
 * PKCS#1 v1.5: rebuild the one valid encoding 00 01 FF..FF 00 DigestInfo H and compare it
 * whole, so no parser can be fooled by BER tricks or trailing garbage.
 */
export function rsaPkcs1VerifyRaw(key: RsaKey, alg: HashAlg, data: usize, dataLen: i32, sig: usize, sigLen: i32): bool {
  if (!rsavp1(key, sig, sigLen)) return false;
  let k = key.byteLen;
  let hl = hashLen(alg);
  let prefix = alg == HashAlg.SHA256 ? PREFIX256 : alg == HashAlg.SHA384 ? PREFIX384 : PREFIX512;
  let tLen = prefix.length + hl;
  if (k < tLen + 11) return false;
  store<u8>(EXPECT, 0);
  store<u8>(EXPECT, 1, 1);
  let psEnd = k - tLen - 1;
  memory.fill(EXPECT + 2, 0xff, <usize>(psEnd - 2));
  store<u8>(EXPECT + <usize>psEnd, 0);
  memory.copy(EXPECT + <usize>psEnd + 1, changetype<usize>(prefix), <usize>prefix.length);
  hashRaw(alg, data, dataLen, EXPECT + <usize>(k - hl));
  return ctEqualRaw(EXPECT, EM, k);
}

const MHASH: usize = memory.data(64, 8);
const HPRIME: usize = memory.data(64, 8);
const MGFOUT: usize = memory.data(64, 8);
const CTR: usize = memory.data(4, 4);
const ZEROS8: usize = memory.data(8, 8);

/** PSS with MGF1 over the same hash (RFC 8017 §9.1.2), salt of exactly saltLen bytes. */
export function rsaPssVerifyRaw(key: RsaKey, alg: HashAlg, data: usize, dataLen: i32, sig: usize, sigLen: i32, saltLen: i32): bool {
  if (saltLen < 0) return false;
  if (!rsavp1(key, sig, sigLen)) return false;
  let hl = hashLen(alg);
  let emBits = key.bits - 1;
  let emLen = (emBits + 7) >> 3;
  let k = key.byteLen;
  // EM is the low emLen bytes of the k-byte integer; any byte above must be zero.
  let em = EM + <usize>(k - emLen);
  if (k > emLen && load<u8>(EM) != 0) return false;
  if (emLen < hl + saltLen + 2) return false;
  if (load<u8>(em + <usize>(emLen - 1)) != 0xbc) return false;
  let dbLen = emLen - hl - 1;
  let h = em + <usize>dbLen;
  let topMask: u32 = (<u32>0xff) >> <u32>(8 * emLen - emBits);
  if ((<u32>load<u8>(em) & ~topMask) != 0) return false;
  hashRaw(alg, data, dataLen, MHASH);
  // Unmask DB in place: DB = maskedDB xor MGF1(H, dbLen).
  let done = 0;
  for (let c: u32 = 0; done < dbLen; c++) {
    store<u32>(CTR, bswap<u32>(c));
    hashInit(alg);
    hashUpdate(alg, h, hl);
    hashUpdate(alg, CTR, 4);
    hashFinal(alg, MGFOUT);
    let take = dbLen - done < hl ? dbLen - done : hl;
    for (let i = 0; i < take; i++) {
      let p = em + <usize>(done + i);
      store<u8>(p, load<u8>(p) ^ load<u8>(MGFOUT + <usize>i));
    }
    done += take;
  }
  store<u8>(em, <u8>(<u32>load<u8>(em) & topMask));
  let psLen = emLen - hl - saltLen - 2;
  let bad: u32 = 0;
  for (let i = 0; i < psLen; i++) bad |= load<u8>(em + <usize>i);
  if (bad != 0 || load<u8>(em + <usize>psLen) != 0x01) return false;
  let salt = em + <usize>(psLen + 1);
  memory.fill(ZEROS8, 0, 8);
  hashInit(alg);
  hashUpdate(alg, ZEROS8, 8);
  hashUpdate(alg, MHASH, hl);
  hashUpdate(alg, salt, saltLen);
  hashFinal(alg, HPRIME);
  return ctEqualRaw(HPRIME, h, hl);
}
