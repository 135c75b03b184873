// ECDSA verification (FIPS 186-4 §6.4.2, SEC 1 §4.1.4) on P-256 and P-384, raw r||s signatures.
// u1*G + u2*Q is computed with interleaved wNAF (Shamir's trick): one shared chain of doublings,
// mixed additions from affine tables of odd multiples of G (width 8, once per curve) and of Q
// (width 6, once per key), so a verify costs ~256 doublings and ~65 mixed additions.
import { HashAlg, hashLen, hashRaw } from "./hash";
import { Modulus, limbsFromBytes, cmp, montMul, modAdd, modSub, toMont, montPow, isZero, subInPlace } from "./mont";
import { Curve, curveP256, curveP384, FE, PT, AFF, W_G, W_Q } from "./curves";
import { pointAdd, pointDouble, pointAddAffine, toAffine, setInfinity, isInfinity } from "./ecpoint";

export class EcKey {
  readonly curve: Curve;
  readonly table: StaticArray<u8>; // odd multiples of Q, affine, Montgomery form
  constructor(curve: Curve, table: StaticArray<u8>) { this.curve = curve; this.table = table; }
}

const X: usize = memory.data(<i32>FE, 8);
const Y: usize = memory.data(<i32>FE, 8);
const L: usize = memory.data(<i32>FE, 8);
const Rr: usize = memory.data(<i32>FE, 8);

const ACC: usize = memory.data(<i32>PT, 8);
const DBL: usize = memory.data(<i32>PT, 8);
const TMP: usize = memory.data(<i32>PT, 8);

/** t[0] = P (affine, already there); t[i] = (2i+1)P in affine form, for i < 2^(w-2). */
function fillOddTable(t: usize, w: i32, C: Curve): void {
  let n = <usize>C.limbs << 2;
  memory.copy(ACC, t, n);
  memory.copy(ACC + FE, t + FE, n);
  memory.copy(ACC + 2 * FE, C.p.one, n);
  pointDouble(DBL, ACC, C);
  let count = 1 << (w - 2);
  for (let i = 1; i < count; i++) {
    pointAdd(ACC, ACC, DBL, C);
    memory.copy(TMP, ACC, PT);
    toAffine(TMP, C);
    memory.copy(t + <usize>i * AFF, TMP, n);
    memory.copy(t + <usize>i * AFF + FE, TMP + FE, n);
  }
}

/**
 * x, y big-endian (leading zero bytes allowed). Null unless both are < p and (x, y) is on the
 * curve. Cofactor 1, so every curve point other than infinity has prime order n.
 */
export function ecKeyCreate(bits: i32, x: usize, xLen: i32, y: usize, yLen: i32): EcKey | null {
  let C: Curve;
  if (bits == 256) C = curveP256(); else if (bits == 384) C = curveP384(); else return null;
  let n = C.limbs;
  let P = C.p;
  if (!limbsFromBytes(X, n, x, xLen) || !limbsFromBytes(Y, n, y, yLen)) return null;
  if (cmp(X, P.m, n) >= 0 || cmp(Y, P.m, n) >= 0) return null;
  toMont(X, X, P);
  toMont(Y, Y, P);
  // y^2 == x^3 - 3x + b
  montMul(L, Y, Y, P);
  montMul(Rr, X, X, P);
  montMul(Rr, Rr, X, P);
  modSub(Rr, Rr, X, P);
  modSub(Rr, Rr, X, P);
  modSub(Rr, Rr, X, P);
  modAdd(Rr, Rr, C.b, P);
  if (cmp(L, Rr, n) != 0) return null;
  let table = new StaticArray<u8>(<i32>AFF << (W_Q - 2));
  let t = changetype<usize>(table);
  memory.copy(t, X, <usize>n << 2);
  memory.copy(t + FE, Y, <usize>n << 2);
  fillOddTable(t, W_Q, C);
  return new EcKey(C, table);
}

const R: usize = memory.data(<i32>FE, 8);
const S: usize = memory.data(<i32>FE, 8);
const E: usize = memory.data(<i32>FE, 8);
const W: usize = memory.data(<i32>FE, 8);
const U1: usize = memory.data(<i32>FE, 8);
const U2: usize = memory.data(<i32>FE, 8);
const H: usize = memory.data(64, 8);
const Z2: usize = memory.data(<i32>FE, 8);
const RZ: usize = memory.data(<i32>FE, 8);

const NAF1: usize = memory.data(8 * 48 + 8, 8);
const NAF2: usize = memory.data(8 * 48 + 8, 8);
const K: usize = memory.data(<i32>FE + 4, 8);
const NEGY: usize = memory.data(<i32>FE, 8);

/** Width-w NAF digits of k (n limbs), least significant first, into out (i8); returns the count. */
function wnaf(out: usize, k: usize, n: i32, w: i32): i32 {
  memory.copy(K, k, <usize>n << 2);
  store<u32>(K + (<usize>n << 2), 0);
  let full = 1 << w, half = 1 << (w - 1);
  let len = 0;
  while (!isZero(K, n + 1)) {
    let d = 0;
    let k0 = load<u32>(K);
    if (k0 & 1) {
      d = <i32>(k0 & <u32>(full - 1));
      if (d >= half) d -= full;
      // K -= d (the low w bits become zero)
      let c: i64 = -<i64>d;
      for (let i = 0; i <= n && c != 0; i++) {
        let p = K + (<usize>i << 2);
        let v = <i64>load<u32>(p) + c;
        store<u32>(p, <u32>v);
        c = v >> 32;
      }
    }
    store<i8>(out + <usize>len, <i8>d);
    len++;
    // K >>= 1
    for (let i = 0; i <= n; i++) {
      let p = K + (<usize>i << 2);
      let hi: u32 = i < n ? load<u32>(p + 4) << 31 : 0;
      store<u32>(p, (load<u32>(p) >>> 1) | hi);
    }
  }
  return len;
}

@inline function addDigit(acc: usize, d: i32, table: usize, C: Curve): void {
  if (d == 0) return;
  let e = table + <usize>((d < 0 ? -d : d) >> 1) * AFF;
  if (d > 0) pointAddAffine(acc, acc, e, e + FE, C);
  else {
    modSub(NEGY, C.p.m, e + FE, C.p); // p - y (y != 0 on these curves)
    pointAddAffine(acc, acc, e, NEGY, C);
  }
}

/** r||s, each exactly C.size bytes; both in [1, n-1]. */
export function ecdsaVerifyRaw(key: EcKey, alg: HashAlg, data: usize, dataLen: i32, sig: usize, sigLen: i32): bool {
  let C = key.curve;
  let size = C.size;
  if (sigLen != 2 * size) return false;
  let n = C.limbs;
  let N = C.n;
  let P = C.p;
  limbsFromBytes(R, n, sig, size);
  limbsFromBytes(S, n, sig + <usize>size, size);
  if (isZero(R, n) || isZero(S, n) || cmp(R, N.m, n) >= 0 || cmp(S, N.m, n) >= 0) return false;
  if (!C.tableReady) { fillOddTable(changetype<usize>(C.gTable), W_G, C); C.tableReady = true; }
  // e = leftmost bits(n) bits of the hash; bits(n) is a whole number of bytes for both curves.
  let hl = hashLen(alg);
  hashRaw(alg, data, dataLen, H);
  limbsFromBytes(E, n, H, hl < size ? hl : size);
  if (cmp(E, N.m, n) >= 0) subInPlace(E, N.m, n);
  // w = s^-1 (Fermat; n is prime). montMul of a plain value by a Montgomery-form value is plain.
  toMont(W, S, N);
  montPow(W, W, changetype<usize>(C.nMinus2), n, N);
  montMul(U1, E, W, N);
  montMul(U2, R, W, N);
  let gt = changetype<usize>(C.gTable);
  let qt = changetype<usize>(key.table);
  let l1 = wnaf(NAF1, U1, n, W_G);
  let l2 = wnaf(NAF2, U2, n, W_Q);
  setInfinity(ACC, C);
  for (let i = (l1 > l2 ? l1 : l2) - 1; i >= 0; i--) {
    pointDouble(ACC, ACC, C);
    if (i < l1) addDigit(ACC, <i32>load<i8>(NAF1 + <usize>i), gt, C);
    if (i < l2) addDigit(ACC, <i32>load<i8>(NAF2 + <usize>i), qt, C);
  }
  if (isInfinity(ACC, C)) return false;
  // x(ACC) mod n == r  <=>  X == r' Z^2 for r' in {r, r + n} with r' < p (no inversion).
  montMul(Z2, ACC + 2 * FE, ACC + 2 * FE, P);
  toMont(RZ, R, P);
  montMul(RZ, RZ, Z2, P);
  if (cmp(RZ, ACC, n) == 0) return true;
  if (cmp(R, changetype<usize>(C.rPlusNlimit), n) < 0) {
    // r + n < p: try x = r + n.
    let carry: u64 = 0;
    for (let i = 0; i < n; i++) {
      let o = <usize>i << 2;
      let s = <u64>load<u32>(R + o) + <u64>load<u32>(N.m + o) + carry;
      store<u32>(RZ + o, <u32>s);
      carry = s >> 32;
    }
    toMont(RZ, RZ, P);
    montMul(RZ, RZ, Z2, P);
    if (cmp(RZ, ACC, n) == 0) return true;
  }
  return false;
}
