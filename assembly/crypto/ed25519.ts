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
// Field arithmetic is Montgomery arithmetic mod p = 2^255 - 19 (mont.ts); points are extended
// twisted Edwards coordinates (X:Y:Z:T), x = X/Z, y = Y/Z, xy = T/Z, a = -1, using the complete
// formulas add-2008-hwcd-3 and dbl-2008-hwcd, so there are no exceptional cases.
import { Modulus, limbsFromHex, limbsFromBytes, toMont, fromMont, montMul, modAdd, modSub, montPow, cmp, isZero } from "./mont";
import { sha512Init, sha512Update, sha512Final } from "./sha512";

const FE: usize = 32;
const PT: usize = 4 * FE;
const TABLE: i32 = 16;

class Ed {
  P: Modulus = new Modulus(limbsFromHex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed"));
  L: Modulus = new Modulus(limbsFromHex("1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed"));
  d: StaticArray<u32> = new StaticArray<u32>(8);
  d2: StaticArray<u32> = new StaticArray<u32>(8);
  sqrtm1: StaticArray<u32> = new StaticArray<u32>(8);
  expSqrt: StaticArray<u32> = limbsFromHex("ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffd"); // (p-5)/8 = 2^252-3
  expInv: StaticArray<u32> = limbsFromHex("7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeb"); // p-2
  bTable: StaticArray<u8> = new StaticArray<u8>(<i32>PT * TABLE);
  constructor() {
    toMont(changetype<usize>(this.d), changetype<usize>(limbsFromHex("52036cee2b6ffe738cc740797779e89800700a4d4141d8ab75eb4dca135978a3")), this.P);
    modAdd(changetype<usize>(this.d2), changetype<usize>(this.d), changetype<usize>(this.d), this.P);
    toMont(changetype<usize>(this.sqrtm1), changetype<usize>(limbsFromHex("2b8324804fc1df0b2b4d00993dfbd7a72f431806ad2fe478c4ee1b274a0ea0b0")), this.P);
  }
}

let ed: Ed | null = null;
function E(): Ed {
  if (ed == null) {
    let e = new Ed();
    ed = e;
    let b = changetype<usize>(e.bTable) + PT;
    toMont(b, changetype<usize>(limbsFromHex("216936d3cd6e53fec0a4e231fdd6dc5c692cc7609525a7b2c9562d608f25d51a")), e.P);
    toMont(b + FE, changetype<usize>(limbsFromHex("6666666666666666666666666666666666666666666666666666666666666658")), e.P);
    memory.copy(b + 2 * FE, e.P.one, FE);
    montMul(b + 3 * FE, b, b + FE, e.P);
    fillTable(changetype<usize>(e.bTable), e);
  }
  return ed!;
}

const ta: usize = memory.data(<i32>FE, 8);
const tb: usize = memory.data(<i32>FE, 8);
const tc: usize = memory.data(<i32>FE, 8);
const td: usize = memory.data(<i32>FE, 8);
const te: usize = memory.data(<i32>FE, 8);
const tf: usize = memory.data(<i32>FE, 8);
const tg: usize = memory.data(<i32>FE, 8);
const th: usize = memory.data(<i32>FE, 8);

/** out = p + q (add-2008-hwcd-3, k = 2d). out may alias p or q. */
function edAdd(out: usize, p: usize, q: usize, e: Ed): void {
  let P = e.P;
  modSub(ta, p + FE, p, P);
  modSub(tb, q + FE, q, P);
  montMul(ta, ta, tb, P);                 // A = (Y1-X1)(Y2-X2)
  modAdd(tb, p + FE, p, P);
  modAdd(tc, q + FE, q, P);
  montMul(tb, tb, tc, P);                 // B = (Y1+X1)(Y2+X2)
  montMul(tc, p + 3 * FE, q + 3 * FE, P);
  montMul(tc, tc, changetype<usize>(e.d2), P); // C = T1 2d T2
  montMul(td, p + 2 * FE, q + 2 * FE, P);
  modAdd(td, td, td, P);                  // D = 2 Z1 Z2
  modSub(te, tb, ta, P);                  // E = B - A
  modSub(tf, td, tc, P);                  // F = D - C
  modAdd(tg, td, tc, P);                  // G = D + C
  modAdd(th, tb, ta, P);                  // H = B + A
  montMul(out, te, tf, P);
  montMul(out + FE, tg, th, P);
  montMul(out + 2 * FE, tf, tg, P);
  montMul(out + 3 * FE, te, th, P);
}

/** out = 2p (dbl-2008-hwcd with a = -1, signs folded as in ref10). out may alias p. */
function edDouble(out: usize, p: usize, e: Ed): void {
  let P = e.P;
  montMul(ta, p, p, P);                   // A = X^2
  montMul(tb, p + FE, p + FE, P);         // B = Y^2
  montMul(tc, p + 2 * FE, p + 2 * FE, P);
  modAdd(tc, tc, tc, P);                  // C = 2 Z^2
  modAdd(th, ta, tb, P);                  // H' = A + B
  modAdd(te, p, p + FE, P);
  montMul(te, te, te, P);
  modSub(te, th, te, P);                  // E' = A + B - (X+Y)^2
  modSub(tg, ta, tb, P);                  // G' = A - B
  modAdd(tf, tc, tg, P);                  // F' = C + G'
  montMul(out, te, tf, P);
  montMul(out + FE, tg, th, P);
  montMul(out + 2 * FE, tf, tg, P);
  montMul(out + 3 * FE, te, th, P);
}

function setIdentity(p: usize, e: Ed): void {
  memory.fill(p, 0, PT);
  memory.copy(p + FE, e.P.one, FE);
  memory.copy(p + 2 * FE, e.P.one, FE);
}

function fillTable(t: usize, e: Ed): void {
  setIdentity(t, e);
  for (let i = 2; i < TABLE; i++) {
    let dst = t + <usize>i * PT;
    if ((i & 1) == 0) edDouble(dst, t + <usize>(i >> 1) * PT, e);
    else edAdd(dst, t + <usize>(i - 1) * PT, t + PT, e);
  }
}

const DX: usize = memory.data(<i32>FE, 8);
const DY: usize = memory.data(<i32>FE, 8);
const DU: usize = memory.data(<i32>FE, 8);
const DV: usize = memory.data(<i32>FE, 8);
const DT: usize = memory.data(<i32>FE, 8);
const ZERO: usize = memory.data(<i32>FE, 8);

/** Decode a 32-byte point into DX, DY (Montgomery form); false if invalid (see header). */
function decodePoint(s: usize, e: Ed): bool {
  let P = e.P;
  let sign = <u32>(load<u8>(s + 31) >>> 7);
  limbsFromBytesLE(DY, s);
  store<u32>(DY + 28, load<u32>(DY + 28) & 0x7fffffff);
  if (cmp(DY, P.m, 8) >= 0) return false; // non-canonical y
  toMont(DY, DY, P);
  montMul(DU, DY, DY, P);
  montMul(DV, DU, changetype<usize>(e.d), P);
  modSub(DU, DU, P.one, P);               // u = y^2 - 1
  modAdd(DV, DV, P.one, P);               // v = d y^2 + 1
  // x = u v^3 (u v^7)^((p-5)/8)
  montMul(DT, DV, DV, P);
  montMul(DT, DT, DV, P);                 // v^3
  montMul(DX, DT, DT, P);
  montMul(DX, DX, DV, P);                 // v^7
  montMul(DX, DX, DU, P);                 // u v^7
  montPow(DX, DX, changetype<usize>(e.expSqrt), 8, P);
  montMul(DX, DX, DT, P);
  montMul(DX, DX, DU, P);
  // check v x^2 == +-u
  montMul(DT, DX, DX, P);
  montMul(DT, DT, DV, P);
  if (cmp(DT, DU, 8) != 0) {
    modSub(DT, ZERO, DT, P);
    if (cmp(DT, DU, 8) != 0) return false;
    montMul(DX, DX, changetype<usize>(e.sqrtm1), P);
  }
  fromMont(DT, DX, P);
  if (isZero(DT, 8) && sign == 1) return false;
  if ((load<u32>(DT) & 1) != sign) modSub(DX, ZERO, DX, P);
  return true;
}

function limbsFromBytesLE(out: usize, s: usize): void { memory.copy(out, s, 32); } // wasm is little-endian

export class EdKey {
  readonly negTable: StaticArray<u8>; // multiples 0..15 of -A
  readonly bytes: StaticArray<u8>;    // the 32-byte encoding of A, hashed into k
  constructor(negTable: StaticArray<u8>, bytes: StaticArray<u8>) { this.negTable = negTable; this.bytes = bytes; }
}

export function edKeyCreate(a: usize, aLen: i32): EdKey | null {
  if (aLen != 32) return null;
  let e = E();
  if (!decodePoint(a, e)) return null;
  let table = new StaticArray<u8>(<i32>PT * TABLE);
  let t = changetype<usize>(table) + PT;
  modSub(t, ZERO, DX, e.P);               // -A = (-x, y)
  memory.copy(t + FE, DY, FE);
  memory.copy(t + 2 * FE, e.P.one, FE);
  montMul(t + 3 * FE, t, t + FE, e.P);
  fillTable(changetype<usize>(table), e);
  let bytes = new StaticArray<u8>(32);
  memory.copy(changetype<usize>(bytes), a, 32);
  return new EdKey(table, bytes);
}

const HASH: usize = memory.data(64, 8);
const K: usize = memory.data(<i32>FE, 8);
const KH: usize = memory.data(<i32>FE, 8);
const SC: usize = memory.data(<i32>FE, 8);
const ACC: usize = memory.data(<i32>PT, 8);
const ENC: usize = memory.data(32, 8);

function nibble(k: usize, i: i32): i32 {
  return <i32>((load<u32>(k + (<usize>(i >> 3) << 2)) >>> ((<u32>i & 7) << 2)) & 15);
}

export function ed25519VerifyRaw(key: EdKey, msg: usize, msgLen: i32, sig: usize, sigLen: i32): bool {
  if (sigLen != 64) return false;
  let e = E();
  let L = e.L;
  let P = e.P;
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
  // ACC = [S]B + [k](-A)
  let bt = changetype<usize>(e.bTable);
  let at = changetype<usize>(key.negTable);
  setIdentity(ACC, e);
  for (let i = 63; i >= 0; i--) {
    if (i != 63) for (let d = 0; d < 4; d++) edDouble(ACC, ACC, e);
    let a = nibble(SC, i);
    if (a != 0) edAdd(ACC, ACC, bt + <usize>a * PT, e);
    let b = nibble(K, i);
    if (b != 0) edAdd(ACC, ACC, at + <usize>b * PT, e);
  }
  // encode: y with the parity of x in the top bit
  montPow(DT, ACC + 2 * FE, changetype<usize>(e.expInv), 8, P);
  montMul(DX, ACC, DT, P);
  montMul(DY, ACC + FE, DT, P);
  fromMont(DX, DX, P);
  fromMont(DY, DY, P);
  memory.copy(ENC, DY, 32);
  store<u8>(ENC + 31, load<u8>(ENC + 31) | <u8>((load<u32>(DX) & 1) << 7));
  let diff: u32 = 0;
  for (let i: usize = 0; i < 32; i++) diff |= <u32>(load<u8>(ENC + i) ^ load<u8>(sig + i));
  return diff == 0;
}
