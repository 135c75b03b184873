// Multi-precision arithmetic modulo an odd modulus, in Montgomery form.
// Numbers are little-endian arrays of 32-bit limbs addressed by raw pointers; products are
// formed in 64-bit registers (wasm has i64 multiply but no 64x64->128, so 32-bit limbs with
// 64-bit accumulators are the widest limbs that avoid emulated 128-bit products).
// The same code serves RSA moduli (64..256 limbs) and the P-256/P-384/Ed25519 fields and
// group orders (8 or 12 limbs).

import { montMul8, modAdd8, modSub8 } from "./mont8";

export const MAX_LIMBS: i32 = 256; // 8192-bit RSA

// Montgomery product accumulator (N + 2 limbs).
const T: usize = memory.data((MAX_LIMBS + 2) * 4, 8);

export class Modulus {
  readonly n: i32;        // limb count
  readonly bits: i32;     // bit length of m
  readonly m: usize;      // modulus limbs
  readonly n0: u32;       // -m^-1 mod 2^32
  readonly r2: usize;     // R^2 mod m, R = 2^(32n)
  readonly one: usize;    // R mod m: Montgomery form of 1
  private mArr: StaticArray<u32>;
  private r2Arr: StaticArray<u32>;
  private oneArr: StaticArray<u32>;

  /** m: limbs (little-endian, exactly n limbs, odd, top limb non-zero). */
  constructor(mLimbs: StaticArray<u32>) {
    let n = mLimbs.length;
    this.n = n;
    this.mArr = mLimbs;
    this.m = changetype<usize>(mLimbs);
    let top = unchecked(mLimbs[n - 1]);
    this.bits = (n - 1) * 32 + (32 - <i32>clz<u32>(top));
    let m0 = unchecked(mLimbs[0]);
    let x: u32 = 1;
    for (let i = 0; i < 5; i++) x = x * (2 - m0 * x); // Newton: x = m0^-1 mod 2^32
    this.n0 = 0 - x;
    this.r2Arr = new StaticArray<u32>(n);
    this.oneArr = new StaticArray<u32>(n);
    this.r2 = changetype<usize>(this.r2Arr);
    this.one = changetype<usize>(this.oneArr);
    // R mod m and R^2 mod m by repeated doubling: slow, but only once per key.
    let r = this.r2;
    store<u32>(r, 1);
    for (let i = 0; i < 32 * n; i++) dblMod(r, this.m, n);
    memory.copy(this.one, r, <usize>n << 2);
    for (let i = 0; i < 32 * n; i++) dblMod(r, this.m, n);
  }
}

export function limbsFromHex(hex: string): StaticArray<u32> {
  let len = hex.length;
  let n = (len + 7) >> 3;
  let out = new StaticArray<u32>(n);
  for (let i = 0; i < len; i++) {
    let c = <u32>hex.charCodeAt(len - 1 - i);
    let v: u32 = c <= 57 ? c - 48 : (c | 32) - 87;
    unchecked(out[i >> 3] |= v << ((<u32>i & 7) << 2));
  }
  return out;
}

/** a = 2a mod m, for a < m. */
export function dblMod(a: usize, m: usize, n: i32): void {
  let carry: u32 = 0;
  for (let i = 0; i < n; i++) {
    let p = a + (<usize>i << 2);
    let v = load<u32>(p);
    store<u32>(p, (v << 1) | carry);
    carry = v >>> 31;
  }
  if (carry != 0 || cmp(a, m, n) >= 0) subInPlace(a, m, n);
}

/** Compare a and b (n limbs each): -1, 0, 1. */
export function cmp(a: usize, b: usize, n: i32): i32 {
  for (let i = n - 1; i >= 0; i--) {
    let x = load<u32>(a + (<usize>i << 2)), y = load<u32>(b + (<usize>i << 2));
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

export function isZero(a: usize, n: i32): bool {
  let acc: u32 = 0;
  for (let i = 0; i < n; i++) acc |= load<u32>(a + (<usize>i << 2));
  return acc == 0;
}

/** a -= b; returns the borrow. */
export function subInPlace(a: usize, b: usize, n: i32): u32 {
  let borrow: i64 = 0;
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    let d = <i64>load<u32>(a + o) - <i64>load<u32>(b + o) + borrow;
    store<u32>(a + o, <u32>d);
    borrow = d >> 32;
  }
  return <u32>(borrow & 1);
}

/** out = a + b mod m (a, b < m). out may alias a or b. */
export function modAdd(out: usize, a: usize, b: usize, M: Modulus): void {
  let n = M.n;
  if (n == 8) { modAdd8(out, a, b, M.m); return; }
  let carry: u64 = 0;
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    let s = <u64>load<u32>(a + o) + <u64>load<u32>(b + o) + carry;
    store<u32>(out + o, <u32>s);
    carry = s >> 32;
  }
  if (carry != 0 || cmp(out, M.m, n) >= 0) subInPlace(out, M.m, n);
}

/** out = a - b mod m (a, b < m). out may alias a or b. */
export function modSub(out: usize, a: usize, b: usize, M: Modulus): void {
  let n = M.n;
  if (n == 8) { modSub8(out, a, b, M.m); return; }
  let borrow: i64 = 0;
  for (let i = 0; i < n; i++) {
    let o = <usize>i << 2;
    let d = <i64>load<u32>(a + o) - <i64>load<u32>(b + o) + borrow;
    store<u32>(out + o, <u32>d);
    borrow = d >> 32;
  }
  if (borrow != 0) {
    let carry: u64 = 0;
    let m = M.m;
    for (let i = 0; i < n; i++) {
      let o = <usize>i << 2;
      let s = <u64>load<u32>(out + o) + <u64>load<u32>(m + o) + carry;
      store<u32>(out + o, <u32>s);
      carry = s >> 32;
    }
  }
}

/**
 * out = a * b * R^-1 mod m, for a, b < m (or one of them < R and the other < m).
 * Finely integrated operand scanning: the multiply and the reduction share one pass over
 * the limbs. out may alias a or b (the product is accumulated in T first).
 */
export function montMul(out: usize, a: usize, b: usize, M: Modulus): void {
  if (M.n == 8) { montMul8(out, a, b, M.m, M.n0); return; }
  let n = <usize>M.n;
  let m = M.m;
  let n0 = M.n0;
  memory.fill(T, 0, (n + 1) << 2);
  let a0 = <u64>load<u32>(a);
  let m0 = <u64>load<u32>(m);
  for (let i: usize = 0; i < n; i++) {
    let bi = <u64>load<u32>(b + (i << 2));
    let s1 = <u64>load<u32>(T) + a0 * bi;
    let q = <u64>(<u32>s1 * n0);
    let s2 = (s1 & 0xffffffff) + q * m0;
    let c1 = s1 >> 32;
    let c2 = s2 >> 32;
    let j: usize = 1;
    if ((n & 1) == 0) {
      // even limb count: one single step, then pairs read as aligned 64-bit words
      s1 = <u64>load<u32>(T, 4) + <u64>load<u32>(a, 4) * bi + c1;
      c1 = s1 >> 32;
      s2 = (s1 & 0xffffffff) + q * <u64>load<u32>(m, 4) + c2;
      c2 = s2 >> 32;
      let prev = s2 & 0xffffffff; // T[0] pending, stored together with T[1]
      for (j = 2; j < n; j += 2) {
        let o = j << 2;
        let tw = load<u64>(T + o), aw = load<u64>(a + o), mw = load<u64>(m + o);
        s1 = (tw & 0xffffffff) + (aw & 0xffffffff) * bi + c1;
        c1 = s1 >> 32;
        s2 = (s1 & 0xffffffff) + q * (mw & 0xffffffff) + c2;
        c2 = s2 >> 32;
        store<u64>(T + o - 8, prev | (s2 << 32));
        s1 = (tw >> 32) + (aw >> 32) * bi + c1;
        c1 = s1 >> 32;
        s2 = (s1 & 0xffffffff) + q * (mw >> 32) + c2;
        c2 = s2 >> 32;
        prev = s2 & 0xffffffff;
      }
      store<u32>(T + (n << 2) - 8, <u32>prev);
      let s = <u64>load<u32>(T + (n << 2)) + c1 + c2;
      store<u32>(T + (n << 2) - 4, <u32>s);
      store<u32>(T + (n << 2), <u32>(s >> 32));
      continue;
    }
    for (; j < n; j++) {
      let o = j << 2;
      s1 = <u64>load<u32>(T + o) + <u64>load<u32>(a + o) * bi + c1;
      c1 = s1 >> 32;
      s2 = (s1 & 0xffffffff) + q * <u64>load<u32>(m + o) + c2;
      c2 = s2 >> 32;
      store<u32>(T + o - 4, <u32>s2);
    }
    let s = <u64>load<u32>(T + (n << 2)) + c1 + c2;
    store<u32>(T + (n << 2) - 4, <u32>s);
    store<u32>(T + (n << 2), <u32>(s >> 32));
  }
  if (load<u32>(T + (n << 2)) != 0 || cmp(T, m, <i32>n) >= 0) subInPlace(T, m, <i32>n);
  memory.copy(out, T, n << 2);
}

/** out = Montgomery form of a (a < m). */
export function toMont(out: usize, a: usize, M: Modulus): void { montMul(out, a, M.r2, M); }

const ONE_PLAIN: usize = memory.data(MAX_LIMBS * 4, 8);

/** out = plain value of Montgomery-form a, fully reduced. */
export function fromMont(out: usize, a: usize, M: Modulus): void {
  store<u32>(ONE_PLAIN, 1); // the rest of ONE_PLAIN is always zero
  montMul(out, a, ONE_PLAIN, M);
}

const POW_TABLE: usize = memory.data(16 * MAX_LIMBS * 4, 8);

/**
 * out = base^e in Montgomery form with a fixed 4-bit window (base^0..base^15 precomputed);
 * e is little-endian limbs (eLimbs of them), base is in Montgomery form. Not constant time:
 * used with public exponents and, for inversions, with public values only.
 */
export function montPow(out: usize, base: usize, e: usize, eLimbs: i32, M: Modulus): void {
  let n = <usize>M.n << 2;
  memory.copy(POW_TABLE, M.one, n);
  memory.copy(POW_TABLE + n, base, n);
  for (let i: usize = 2; i < 16; i++) montMul(POW_TABLE + i * n, POW_TABLE + (i - 1) * n, POW_TABLE + n, M);
  let started = false;
  for (let i = eLimbs * 8 - 1; i >= 0; i--) {
    let d = <usize>((load<u32>(e + (<usize>(i >> 3) << 2)) >>> ((<u32>i & 7) << 2)) & 15);
    if (started) {
      montMul(out, out, out, M); montMul(out, out, out, M);
      montMul(out, out, out, M); montMul(out, out, out, M);
      if (d != 0) montMul(out, out, POW_TABLE + d * n, M);
    } else if (d != 0) {
      memory.copy(out, POW_TABLE + d * n, n);
      started = true;
    }
  }
  if (!started) memory.copy(out, M.one, n);
}

/**
 * Big-endian bytes to n limbs. Leading zero bytes are allowed; returns false when the value
 * does not fit in n limbs.
 */
export function limbsFromBytes(out: usize, n: i32, p: usize, len: i32): bool {
  while (len > 0 && load<u8>(p) == 0) { p++; len--; }
  if (len > n * 4) return false;
  memory.fill(out, 0, <usize>n << 2);
  for (let i = 0; i < len; i++) {
    let byte = <u32>load<u8>(p + <usize>(len - 1 - i));
    let q = out + (<usize>(i >> 2) << 2);
    store<u32>(q, load<u32>(q) | (byte << ((<u32>i & 3) << 3)));
  }
  return true;
}

/** n limbs to exactly len big-endian bytes (the value must fit). */
export function limbsToBytes(out: usize, len: i32, a: usize, n: i32): void {
  for (let i = 0; i < len; i++) {
    let li = i >> 2;
    let byte: u32 = li < n ? (load<u32>(a + (<usize>li << 2)) >>> ((<u32>i & 3) << 3)) & 0xff : 0;
    store<u8>(out + <usize>(len - 1 - i), <u8>byte);
  }
}
