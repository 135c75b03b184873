// ECDSA verification (FIPS 186-4 §6.4.2, SEC 1 §4.1.4) on P-256 and P-384, raw r||s signatures.
// u1*G + u2*Q is computed with interleaved fixed 4-bit windows (Shamir's trick): one shared
// chain of doublings, a cached table of multiples of G and a per-verify table of multiples of Q.
import { HashAlg, hashLen, hashRaw } from "./hash";
import { Modulus, limbsFromBytes, cmp, montMul, modAdd, modSub, toMont, montPow, isZero, subInPlace } from "./mont";
import { Curve, curveP256, curveP384, FE, PT, TABLE, WINDOW } from "./curves";
import { pointAdd, pointDouble, setInfinity, isInfinity, copyPoint } from "./ecpoint";

export class EcKey {
  readonly curve: Curve;
  readonly table: StaticArray<u8>; // multiples 0..15 of Q, Jacobian, Montgomery form
  constructor(curve: Curve, table: StaticArray<u8>) { this.curve = curve; this.table = table; }
}

const X: usize = memory.data(<i32>FE, 8);
const Y: usize = memory.data(<i32>FE, 8);
const L: usize = memory.data(<i32>FE, 8);
const Rr: usize = memory.data(<i32>FE, 8);

function fillTable(t: usize, C: Curve): void {
  setInfinity(t, C);
  for (let i = 2; i < TABLE; i++) {
    let dst = t + <usize>i * PT;
    if ((i & 1) == 0) pointDouble(dst, t + <usize>(i >> 1) * PT, C);
    else pointAdd(dst, t + <usize>(i - 1) * PT, t + PT, C);
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
  let table = new StaticArray<u8>(<i32>PT * TABLE);
  let t = changetype<usize>(table);
  memory.copy(t + PT, X, <usize>n << 2);
  memory.copy(t + PT + FE, Y, <usize>n << 2);
  memory.copy(t + PT + 2 * FE, P.one, <usize>n << 2);
  fillTable(t, C);
  return new EcKey(C, table);
}

const R: usize = memory.data(<i32>FE, 8);
const S: usize = memory.data(<i32>FE, 8);
const E: usize = memory.data(<i32>FE, 8);
const W: usize = memory.data(<i32>FE, 8);
const U1: usize = memory.data(<i32>FE, 8);
const U2: usize = memory.data(<i32>FE, 8);
const H: usize = memory.data(64, 8);
const ACC: usize = memory.data(<i32>PT, 8);
const Z2: usize = memory.data(<i32>FE, 8);
const RZ: usize = memory.data(<i32>FE, 8);

function nibble(k: usize, i: i32): i32 {
  return <i32>((load<u32>(k + (<usize>(i >> 3) << 2)) >>> ((<u32>i & 7) << 2)) & 15);
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
  if (!C.tableReady) { fillTable(changetype<usize>(C.gTable), C); C.tableReady = true; }
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
  setInfinity(ACC, C);
  for (let i = n * 8 - 1; i >= 0; i--) {
    if (i != n * 8 - 1) for (let d = 0; d < WINDOW; d++) pointDouble(ACC, ACC, C);
    let a = nibble(U1, i);
    if (a != 0) pointAdd(ACC, ACC, gt + <usize>a * PT, C);
    let b = nibble(U2, i);
    if (b != 0) pointAdd(ACC, ACC, qt + <usize>b * PT, C);
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
