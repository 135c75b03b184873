// ECDSA verification (FIPS 186-4 §6.4.2, SEC 1 §4.1.4) on P-256, P-384 and P-521, raw r||s signatures.
// u1*G + u2*Q is computed with interleaved wNAF (Shamir's trick): one shared chain of doublings,
// mixed additions from affine tables of odd multiples of G (width 8, once per curve) and of Q
// (width 6, once per key). Each scalar is split into SPLIT parts of partBits bits with a table per
// part for 2^(j partBits) G and Q, so a P-256 verify costs ~65 doublings and ~65 mixed additions
// (P-521: ~132 doublings, ~135 additions).
import { HashAlg, hashLen, hashRaw } from "./hash";
import { Modulus, limbsFromBytes, cmp, montMul, modAdd, modSub, toMont, montPow, isZero, subInPlace } from "./mont";
import { Curve, curveP256, curveP384, curveP521, FE, PT, AFF, W_G, W_Q, SPLIT, G_TABLE, Q_TABLE } from "./curves";
import { pointAdd, pointDouble, pointAddAffine, toAffine, setInfinity, isInfinity, fieldInv } from "./ecpoint";
import { p256nMul, p256nSqr } from "./p256";
import { p521nMul, p521nSqr } from "./p521";

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

/**
 * Part tables: part 0 entry 0 holds P (affine, already there). For each part j, entry 0 is
 * 2^(j*partBits) P and entry i is (2i+1) times it, all affine; parts are \`stride\` bytes apart.
 */
function fillSplitTables(t: usize, w: i32, stride: usize, C: Curve): void {
  let n = <usize>C.limbs << 2;
  let partBits = C.partBits;
  for (let j = 0; j < SPLIT; j++) {
    let part = t + <usize>j * stride;
    if (j > 0) {
      let prev = part - stride;
      memory.copy(ACC, prev, n);
      memory.copy(ACC + FE, prev + FE, n);
      memory.copy(ACC + 2 * FE, C.p.one, n);
      for (let i = 0; i < partBits; i++) pointDouble(ACC, ACC, C);
      toAffine(ACC, C);
      memory.copy(part, ACC, n);
      memory.copy(part + FE, ACC + FE, n);
    }
    fillOddTable(part, w, C);
  }
}

// Scratch for fillOddTable: the Z of each entry and their running products.
const ZS: usize = memory.data(<i32>FE << (W_G - 2), 8);
const ZP: usize = memory.data(<i32>FE << (W_G - 2), 8);
const ZI: usize = memory.data(<i32>FE, 8);
const ZT: usize = memory.data(<i32>FE, 8);

/**
 * t[0] = P (affine, already there); t[i] = (2i+1)P in affine form, for i < 2^(w-2).
 * One field inversion for the whole table (Montgomery's trick): Jacobian X, Y go straight into
 * the table, the Zs into ZS, and all are scaled by their inverses at the end. No Z is zero:
 * (2i+1)P is never infinity for P of prime order n > 2i+1.
 */
function fillOddTable(t: usize, w: i32, C: Curve): void {
  let n = <usize>C.limbs << 2;
  let P = C.p;
  memory.copy(ACC, t, n);
  memory.copy(ACC + FE, t + FE, n);
  memory.copy(ACC + 2 * FE, P.one, n);
  pointDouble(DBL, ACC, C);
  let count = 1 << (w - 2);
  for (let i = 1; i < count; i++) {
    pointAdd(ACC, ACC, DBL, C);
    let e = t + <usize>i * AFF;
    memory.copy(e, ACC, n);
    memory.copy(e + FE, ACC + FE, n);
    memory.copy(ZS + <usize>i * FE, ACC + 2 * FE, n);
    if (i == 1) memory.copy(ZP + FE, ACC + 2 * FE, n);
    else montMul(ZP + <usize>i * FE, ZP + <usize>(i - 1) * FE, ACC + 2 * FE, P);
  }
  if (count < 2) return;
  // ZI = (Z_1 ... Z_{count-1})^-1; walking down, ZI * ZP[i-1] = Z_i^-1 and ZI *= Z_i.
  fieldInv(ZI, ZP + <usize>(count - 1) * FE, C);
  for (let i = count - 1; i >= 1; i--) {
    let zi = ZI;
    if (i > 1) { montMul(ZT, ZI, ZP + <usize>(i - 1) * FE, P); zi = ZT; montMul(ZI, ZI, ZS + <usize>i * FE, P); }
    let e = t + <usize>i * AFF;
    montMul(TMP, zi, zi, P);          // Z^-2
    montMul(e, e, TMP, P);
    montMul(TMP, TMP, zi, P);         // Z^-3
    montMul(e + FE, e + FE, TMP, P);
  }
}

/**
 * x, y big-endian (leading zero bytes allowed). Null unless both are < p and (x, y) is on the
 * curve. Cofactor 1, so every curve point other than infinity has prime order n.
 */
export function ecKeyCreate(bits: i32, x: usize, xLen: i32, y: usize, yLen: i32): EcKey | null {
  let C: Curve;
  if (bits == 256) C = curveP256(); else if (bits == 384) C = curveP384(); else if (bits == 521) C = curveP521(); else return null;
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
  let table = new StaticArray<u8>(<i32>Q_TABLE * SPLIT);
  let t = changetype<usize>(table);
  memory.copy(t, X, <usize>n << 2);
  memory.copy(t + FE, Y, <usize>n << 2);
  fillSplitTables(t, W_Q, Q_TABLE, C);
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

// wNAF digits of each part of u1 (NAF1) and u2 (NAF2), NAF_STRIDE bytes per part.
const NAF_STRIDE: usize = 8 * 48 + 8;   // >= partBits + 1 digits
const NAF1: usize = memory.data(<i32>NAF_STRIDE * SPLIT, 8);
const NAF2: usize = memory.data(<i32>NAF_STRIDE * SPLIT, 8);
const LEN1: usize = memory.data(4 * SPLIT, 4);
const LEN2: usize = memory.data(4 * SPLIT, 4);
const K: usize = memory.data(<i32>FE + 4, 8);
const PART: usize = memory.data(<i32>FE, 8);

/** out = bits [start, start + count) of k (n limbs), as ceil(count / 32) limbs. */
function extractBits(out: usize, k: usize, n: i32, start: i32, count: i32): i32 {
  let m = (count + 31) >> 5;
  for (let i = 0; i < m; i++) {
    let pos = start + (i << 5);
    let li = pos >> 5, sh = <u32>(pos & 31);
    let v: u32 = li < n ? load<u32>(k + (<usize>li << 2)) >>> sh : 0;
    if (sh != 0 && li + 1 < n) v |= load<u32>(k + (<usize>(li + 1) << 2)) << (32 - sh);
    let left = count - (i << 5);
    if (left < 32) v &= (<u32>1 << <u32>left) - 1;
    store<u32>(out + (<usize>i << 2), v);
  }
  return m;
}
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

const INV_TABLE: usize = memory.data(16 * <i32>FE, 8);

@inline function nMul(out: usize, a: usize, b: usize, limbs: i32): void {
  if (limbs == 8) p256nMul(out, a, b); else p521nMul(out, a, b);
}
@inline function nSqr(out: usize, a: usize, limbs: i32): void {
  if (limbs == 8) p256nSqr(out, a); else p521nSqr(out, a);
}

/**
 * out = base^e mod the P-256 or P-521 order (Montgomery form, e of `limbs` limbs), fixed 4-bit
 * window: montPow's algorithm with the order-specific multiply. Public values only (not
 * constant time).
 */
function powN(out: usize, base: usize, e: usize, one: usize, limbs: i32): void {
  let sz = <usize>limbs << 2;
  memory.copy(INV_TABLE, one, sz);
  memory.copy(INV_TABLE + FE, base, sz);
  for (let i: usize = 2; i < 16; i++) nMul(INV_TABLE + i * FE, INV_TABLE + (i - 1) * FE, INV_TABLE + FE, limbs);
  let started = false;
  for (let i = limbs * 8 - 1; i >= 0; i--) {
    let d = <usize>((load<u32>(e + (<usize>(i >> 3) << 2)) >>> ((<u32>i & 7) << 2)) & 15);
    if (started) {
      nSqr(out, out, limbs); nSqr(out, out, limbs); nSqr(out, out, limbs); nSqr(out, out, limbs);
      if (d != 0) nMul(out, out, INV_TABLE + d * FE, limbs);
    } else if (d != 0) {
      memory.copy(out, INV_TABLE + d * FE, sz);
      started = true;
    }
  }
  if (!started) memory.copy(out, one, sz);
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
  if (!C.tableReady) { fillSplitTables(changetype<usize>(C.gTable), W_G, G_TABLE, C); C.tableReady = true; }
  // e = leftmost bits(n) bits of the hash; bits(n) is a whole number of bytes for P-256 and P-384,
  // and P-521's 521 bits exceed every JWS hash (SHA-512 is used whole).
  let hl = hashLen(alg);
  hashRaw(alg, data, dataLen, H);
  limbsFromBytes(E, n, H, hl < size ? hl : size);
  if (cmp(E, N.m, n) >= 0) subInPlace(E, N.m, n);
  // w = s^-1 (Fermat; n is prime). montMul of a plain value by a Montgomery-form value is plain.
  toMont(W, S, N);
  if (n == 8 || n == 17) powN(W, W, changetype<usize>(C.nMinus2), N.one, n);
  else montPow(W, W, changetype<usize>(C.nMinus2), n, N);
  montMul(U1, E, W, N);
  montMul(U2, R, W, N);
  let gt = changetype<usize>(C.gTable);
  let qt = changetype<usize>(key.table);
  let partBits = C.partBits;
  let maxLen = 0;
  for (let j = 0; j < SPLIT; j++) {
    let pl = extractBits(PART, U1, n, j * partBits, partBits);
    let l1 = wnaf(NAF1 + <usize>j * NAF_STRIDE, PART, pl, W_G);
    extractBits(PART, U2, n, j * partBits, partBits);
    let l2 = wnaf(NAF2 + <usize>j * NAF_STRIDE, PART, pl, W_Q);
    store<i32>(LEN1 + (<usize>j << 2), l1);
    store<i32>(LEN2 + (<usize>j << 2), l2);
    if (l1 > maxLen) maxLen = l1;
    if (l2 > maxLen) maxLen = l2;
  }
  setInfinity(ACC, C);
  for (let i = maxLen - 1; i >= 0; i--) {
    pointDouble(ACC, ACC, C);
    for (let j = 0; j < SPLIT; j++) {
      let o = <usize>j;
      if (i < load<i32>(LEN1 + (o << 2))) addDigit(ACC, <i32>load<i8>(NAF1 + o * NAF_STRIDE + <usize>i), gt + o * G_TABLE, C);
      if (i < load<i32>(LEN2 + (o << 2))) addDigit(ACC, <i32>load<i8>(NAF2 + o * NAF_STRIDE + <usize>i), qt + o * Q_TABLE, C);
    }
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
