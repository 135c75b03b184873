// Ed25519 signature verification (RFC 8032 §5.1.7), cofactorless equation [S]B = R + [k]A,
// checked as encode([S]B + [k](-A)) == R byte for byte.
//
// Encodings we reject:
//  * S >= L (non-canonical scalar; malleability), as RFC 8032 requires;
//  * a public key or R whose y >= p (non-canonical point encoding), or whose x would be 0 with
//    the sign bit set, or that is not on the curve. For R this falls out of the byte comparison:
//    our own encoding is always canonical, so a non-canonical R never matches.
// Small-order A and R are not rejected separately: RFC 8032 does not require it.
//
// Field arithmetic is the ref10 representation mod p = 2^255 - 19 (fe25519.ts, generated);
// points are twisted Edwards (a = -1) in ref10's coordinate systems: P2 (X:Y:Z), P3 extended
// (X:Y:Z:T) with x = X/Z, y = Y/Z, xy = T/Z, P1P1 "completed" ((X:Z),(Y:T)), and precomputed
// affine (y+x, y-x, 2dxy). The addition (add-2008-hwcd-3, and its mixed form with a precomputed
// affine point) and doubling (dbl-2008-hwcd) formulas are complete, so there are no exceptional
// cases. [S]B + [k](-A) is one joint double-and-add (Straus) over signed sliding-window (wNAF)
// digits of S and k: odd multiples of B (computed once) and of -A (computed once per key).
// Not constant time: every input is public.
import { Modulus, limbsFromHex, toMont, fromMont, montMul, modAdd, cmp } from "./mont";
import { sha512Init, sha512Update, sha512Final } from "./sha512";
import { FE_BYTES, feMul, feSq, feSq2, feAdd, feSub, feNeg, feCarry, feFromBytes, feToBytes, feInvert, fePow22523 } from "./fe25519";

const FE: usize = FE_BYTES;
const P3: usize = 4 * FE;   // also P1P1
const PRE: usize = 3 * FE;  // precomputed affine point: y+x, y-x, 2dxy
const WB: i32 = 8;          // window of S: odd multiples 1..127 of B
const WA: i32 = 6;          // window of k: odd multiples 1..31 of -A
const NB: i32 = 1 << (WB - 2);
const NA: i32 = 1 << (WA - 2);
const NMAX: i32 = NB > NA ? NB : NA;

// constants as field elements
const D: usize = memory.data(<i32>FE, 8);
const D2: usize = memory.data(<i32>FE, 8);
const SQRTM1: usize = memory.data(<i32>FE, 8);
const ONE: usize = memory.data(<i32>FE, 8);
const BTAB: usize = memory.data(<i32>PRE * NB, 8);

class Ed {
  L: Modulus = new Modulus(limbsFromHex("1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed"));
}

/** out = the field element with big-endian hex value (init only). */
function feFromHex(out: usize, hex: string): void {
  let limbs = limbsFromHex(hex); // little-endian u32 limbs = little-endian bytes
  feFromBytes(out, changetype<usize>(limbs));
}

let ed: Ed | null = null;
function E(): Ed {
  if (ed == null) {
    let e = new Ed();
    feFromHex(D, "52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3");
    feAdd(D2, D, D);
    feCarry(D2, D2);
    feFromHex(SQRTM1, "2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0");
    store<i32>(ONE, 1);
    let b = limbsFromHex("6666666666666666666666666666666666666666666666666666666666666658");
    decodePoint(changetype<usize>(b)); // B = (x, 4/5) with x even
    fillTable(BTAB, NB);
    ed = e;
  }
  return ed!;
}

// scratch (static: no allocation per verify)
const T0: usize = memory.data(<i32>FE, 8);
const P1: usize = memory.data(<i32>P3, 8);   // P1P1 result
const Q3: usize = memory.data(<i32>P3, 8);   // P3 operand
const R2: usize = memory.data(<i32>P3, 8);   // running P2 (Z, T unused past 3 FE)

/** r (P2) = p (P1P1); r may alias p. */
function p1p1ToP2(r: usize, p: usize): void {
  feMul(r, p, p + 3 * FE);
  feMul(r + FE, p + FE, p + 2 * FE);
  feMul(r + 2 * FE, p + 2 * FE, p + 3 * FE);
}

/** r (P3) = p (P1P1); r must not alias p. */
function p1p1ToP3(r: usize, p: usize): void {
  feMul(r, p, p + 3 * FE);
  feMul(r + FE, p + FE, p + 2 * FE);
  feMul(r + 2 * FE, p + 2 * FE, p + 3 * FE);
  feMul(r + 3 * FE, p, p + FE);
}

/** r (P1P1) = 2p, p a P2 (or the X, Y, Z of a P3); r must not alias p. */
function p2Dbl(r: usize, p: usize): void {
  feSq(r, p);                           // XX
  feSq(r + 2 * FE, p + FE);             // YY
  feSq2(r + 3 * FE, p + 2 * FE);        // 2ZZ
  feAdd(r + FE, p, p + FE);
  feSq(T0, r + FE);                     // (X+Y)^2
  feAdd(r + FE, r + 2 * FE, r);         // YY + XX
  feSub(r + 2 * FE, r + 2 * FE, r);     // YY - XX
  feSub(r, T0, r + FE);                 // 2XY
  feSub(r + 3 * FE, r + 3 * FE, r + 2 * FE);
}

/** r (P1P1) = p (P3) + q (precomputed), or p - q when neg; r must not alias p. */
function madd(r: usize, p: usize, q: usize, neg: bool): void {
  feAdd(r, p + FE, p);                  // Y1 + X1
  feSub(r + FE, p + FE, p);             // Y1 - X1
  if (neg) {
    feMul(r + 2 * FE, r, q + FE);
    feMul(r + FE, r + FE, q);
  } else {
    feMul(r + 2 * FE, r, q);
    feMul(r + FE, r + FE, q + FE);
  }
  feMul(r + 3 * FE, q + 2 * FE, p + 3 * FE); // 2d x2 y2 T1
  feAdd(T0, p + 2 * FE, p + 2 * FE);    // 2 Z1
  feSub(r, r + 2 * FE, r + FE);
  feAdd(r + FE, r + 2 * FE, r + FE);
  if (neg) {
    feSub(r + 2 * FE, T0, r + 3 * FE);
    feAdd(r + 3 * FE, T0, r + 3 * FE);
  } else {
    feAdd(r + 2 * FE, T0, r + 3 * FE);
    feSub(r + 3 * FE, T0, r + 3 * FE);
  }
}

// table construction (once for B, once per key for -A)
const TP: usize = memory.data(<i32>P3 * NMAX, 8); // odd multiples in P3
const TZ: usize = memory.data(<i32>FE * NMAX, 8); // prefix products of their Z
const C2: usize = memory.data(<i32>P3, 8);        // 2Q as cached: Y+X, Y-X, Z, 2dT
const ZI: usize = memory.data(<i32>FE, 8);
const AX: usize = memory.data(<i32>FE, 8);
const AY: usize = memory.data(<i32>FE, 8);

/**
 * t = n precomputed affine points (2i+1)Q, i < n, for Q = (DX, DY) affine. Z inverses are
 * batched (one field inversion).
 */
function fillTable(t: usize, n: i32): void {
  // TP[0] = Q
  memory.copy(TP, DX, FE);
  memory.copy(TP + FE, DY, FE);
  memory.fill(TP + 2 * FE, 0, FE);
  store<i32>(TP + 2 * FE, 1);
  feMul(TP + 3 * FE, DX, DY);
  // 2Q, cached
  p2Dbl(P1, TP);
  p1p1ToP3(Q3, P1);
  feAdd(C2, Q3 + FE, Q3);
  feSub(C2 + FE, Q3 + FE, Q3);
  memory.copy(C2 + 2 * FE, Q3 + 2 * FE, FE);
  feMul(C2 + 3 * FE, Q3 + 3 * FE, D2);
  for (let i = 1; i < n; i++) {
    let p = TP + <usize>(i - 1) * P3;
    // P1 = p + 2Q (add-2008-hwcd-3 with the cached operand)
    feAdd(P1, p + FE, p);
    feSub(P1 + FE, p + FE, p);
    feMul(P1 + 2 * FE, P1, C2);
    feMul(P1 + FE, P1 + FE, C2 + FE);
    feMul(P1 + 3 * FE, C2 + 3 * FE, p + 3 * FE);
    feMul(P1, p + 2 * FE, C2 + 2 * FE);
    feAdd(T0, P1, P1);
    feSub(P1, P1 + 2 * FE, P1 + FE);
    feAdd(P1 + FE, P1 + 2 * FE, P1 + FE);
    feAdd(P1 + 2 * FE, T0, P1 + 3 * FE);
    feSub(P1 + 3 * FE, T0, P1 + 3 * FE);
    p1p1ToP3(p + P3, P1);
  }
  // batch inversion of the Z coordinates
  memory.copy(TZ, TP + 2 * FE, FE);
  for (let i = 1; i < n; i++) feMul(TZ + <usize>i * FE, TZ + <usize>(i - 1) * FE, TP + <usize>i * P3 + 2 * FE);
  feInvert(ZI, TZ + <usize>(n - 1) * FE);  // 1 / (Z0 ... Z(n-1))
  for (let i = n - 1; i >= 0; i--) {
    let p = TP + <usize>i * P3;
    if (i > 0) {
      feMul(T0, ZI, TZ + <usize>(i - 1) * FE); // 1 / Zi
      feMul(ZI, ZI, p + 2 * FE);                // 1 / (Z0 ... Z(i-1))
    } else {
      memory.copy(T0, ZI, FE);
    }
    feMul(AX, p, T0);
    feMul(AY, p + FE, T0);
    let o = t + <usize>i * PRE;
    feAdd(o, AY, AX);
    feCarry(o, o);
    feSub(o + FE, AY, AX);
    feCarry(o + FE, o + FE);
    feMul(o + 2 * FE, AX, AY);
    feMul(o + 2 * FE, o + 2 * FE, D2);
  }
}

const DX: usize = memory.data(<i32>FE, 8);
const DY: usize = memory.data(<i32>FE, 8);
const DU: usize = memory.data(<i32>FE, 8);
const DV: usize = memory.data(<i32>FE, 8);
const DT: usize = memory.data(<i32>FE, 8);
const DB: usize = memory.data(32, 8);
const DB2: usize = memory.data(32, 8);

function bytesZero(s: usize): bool {
  return (load<u64>(s) | load<u64>(s, 8) | load<u64>(s, 16) | load<u64>(s, 24)) == 0;
}

function bytesEq(a: usize, b: usize): bool {
  return ((load<u64>(a) ^ load<u64>(b)) | (load<u64>(a, 8) ^ load<u64>(b, 8)) |
    (load<u64>(a, 16) ^ load<u64>(b, 16)) | (load<u64>(a, 24) ^ load<u64>(b, 24))) == 0;
}

/** Decode a 32-byte point into DX, DY; false if invalid (see header). */
function decodePoint(s: usize): bool {
  let sign = <u32>(load<u8>(s + 31) >>> 7);
  // y >= p = 2^255 - 19 (bit 255 cleared) iff bytes 1..30 are 0xff, byte 31 is 0x7f, byte 0 >= 0xed
  let allOnes = (load<u8>(s + 31) & 0x7f) == 0x7f && load<u8>(s) >= 0xed;
  for (let i: usize = 1; i < 31 && allOnes; i++) allOnes = load<u8>(s + i) == 0xff;
  if (allOnes) return false; // non-canonical y
  feFromBytes(DY, s);
  feSq(DU, DY);
  feMul(DV, DU, D);
  feSub(DU, DU, ONE);
  feCarry(DU, DU);                      // u = y^2 - 1
  feAdd(DV, DV, ONE);
  feCarry(DV, DV);                      // v = d y^2 + 1
  // x = u v^3 (u v^7)^((p-5)/8)
  feSq(DT, DV);
  feMul(DT, DT, DV);                    // v^3
  feSq(DX, DT);
  feMul(DX, DX, DV);                    // v^7
  feMul(DX, DX, DU);                    // u v^7
  fePow22523(DX, DX);
  feMul(DX, DX, DT);
  feMul(DX, DX, DU);
  // check v x^2 == +-u
  feSq(DT, DX);
  feMul(DT, DT, DV);
  feToBytes(DB, DT);
  feToBytes(DB2, DU);
  if (!bytesEq(DB, DB2)) {
    feNeg(DT, DT);
    feToBytes(DB, DT);
    if (!bytesEq(DB, DB2)) return false; // not on the curve
    feMul(DX, DX, SQRTM1);
  }
  feToBytes(DB, DX);
  if (bytesZero(DB) && sign == 1) return false;
  if ((<u32>load<u8>(DB) & 1) != sign) feNeg(DX, DX);
  return true;
}

export class EdKey {
  readonly negTable: StaticArray<u8>; // odd multiples 1, 3, .., 2^(WA-1)-1 of -A, precomputed affine
  readonly bytes: StaticArray<u8>;    // the 32-byte encoding of A, hashed into k
  constructor(negTable: StaticArray<u8>, bytes: StaticArray<u8>) { this.negTable = negTable; this.bytes = bytes; }
}

export function edKeyCreate(a: usize, aLen: i32): EdKey | null {
  if (aLen != 32) return null;
  E();
  if (!decodePoint(a)) return null;
  feNeg(DX, DX);                        // -A = (-x, y)
  let table = new StaticArray<u8>(<i32>PRE * NA);
  fillTable(changetype<usize>(table), NA);
  let bytes = new StaticArray<u8>(32);
  memory.copy(changetype<usize>(bytes), a, 32);
  return new EdKey(table, bytes);
}

const HASH: usize = memory.data(64, 8);
const K: usize = memory.data(32, 8);
const KH: usize = memory.data(32, 8);
const SC: usize = memory.data(32, 8);
const ENC: usize = memory.data(32, 8);
const NAF_S: usize = memory.data(256, 8);
const NAF_K: usize = memory.data(256, 8);

/**
 * r[0..256) = signed digits of the 256-bit little-endian scalar at s (s < 2^255): each digit 0 or
 * odd with |digit| <= 2^(w-1) - 1, sum r[i] 2^i = s (ref10's slide, for a window w).
 */
function slide(r: usize, s: usize, w: i32): void {
  let m = (1 << (w - 1)) - 1;
  for (let i = 0; i < 256; i++) store<i8>(r + <usize>i, <i8>((<u32>load<u8>(s + <usize>(i >> 3)) >> (<u32>i & 7)) & 1));
  for (let i = 0; i < 256; i++) {
    let ri = <i32>load<i8>(r + <usize>i);
    if (ri == 0) continue;
    for (let b = 1; b <= w && i + b < 256; b++) {
      let rb = <i32>load<i8>(r + <usize>(i + b));
      if (rb == 0) continue;
      if (ri + (rb << b) <= m) {
        ri += rb << b;
        store<i8>(r + <usize>(i + b), 0);
      } else if (ri - (rb << b) >= -m) {
        ri -= rb << b;
        for (let k = i + b; k < 256; k++) {
          if (load<i8>(r + <usize>k) == 0) { store<i8>(r + <usize>k, 1); break; }
          store<i8>(r + <usize>k, 0);
        }
      } else break;
    }
    store<i8>(r + <usize>i, <i8>ri);
  }
}

export function ed25519VerifyRaw(key: EdKey, msg: usize, msgLen: i32, sig: usize, sigLen: i32): bool {
  if (sigLen != 64) return false;
  let e = E();
  let L = e.L;
  memory.copy(SC, sig + 32, 32);
  if (cmp(SC, L.m, 8) >= 0) return false; // S must be canonical
  // k = SHA-512(R || A || M) mod L: 512-bit little-endian hi*2^256 + lo.
  sha512Init();
  sha512Update(sig, 32);
  sha512Update(changetype<usize>(key.bytes), 32);
  sha512Update(msg, msgLen);
  sha512Final(HASH);
  montMul(KH, HASH + 32, L.r2, L);        // hi * 2^256 mod L
  toMont(K, HASH, L);
  fromMont(K, K, L);                      // lo mod L
  modAdd(K, K, KH, L);
  // R2 = [S]B + [k](-A), joint double-and-add over signed digits
  slide(NAF_S, SC, WB);
  slide(NAF_K, K, WA);
  let at = changetype<usize>(key.negTable);
  let i = 255;
  while (i >= 0 && load<i8>(NAF_S + <usize>i) == 0 && load<i8>(NAF_K + <usize>i) == 0) i--;
  memory.fill(R2, 0, 3 * FE);             // identity (0 : 1 : 1)
  store<i32>(R2 + FE, 1);
  store<i32>(R2 + 2 * FE, 1);
  for (; i >= 0; i--) {
    p2Dbl(P1, R2);
    let a = <i32>load<i8>(NAF_S + <usize>i);
    let b = <i32>load<i8>(NAF_K + <usize>i);
    if (a != 0) {
      p1p1ToP3(Q3, P1);
      madd(P1, Q3, BTAB + <usize>((a < 0 ? -a : a) >> 1) * PRE, a < 0);
    }
    if (b != 0) {
      p1p1ToP3(Q3, P1);
      madd(P1, Q3, at + <usize>((b < 0 ? -b : b) >> 1) * PRE, b < 0);
    }
    p1p1ToP2(R2, P1);
  }
  // encode: y with the parity of x in the top bit
  feInvert(ZI, R2 + 2 * FE);
  feMul(AX, R2, ZI);
  feMul(AY, R2 + FE, ZI);
  feToBytes(ENC, AY);
  feToBytes(DB, AX);
  store<u8>(ENC + 31, load<u8>(ENC + 31) | <u8>((load<u8>(DB) & 1) << 7));
  return bytesEq(ENC, sig);
}
