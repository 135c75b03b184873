// RSA public exponentiation (s^e mod n) with Montgomery multiplication in radix 2^w, w = 28 or 27.
// Why not the 32-bit limbs of mont.ts: with w-bit limbs every limb product fits in 2w bits, so a
// whole Montgomery product (multiply and reduction) accumulates in 64-bit columns with no carry
// propagation inside the inner loops; the carries are resolved once per product. The inner
// loops then have no loop-carried dependency and run at the multiplier's throughput.
// Column bound: a column receives at most n products of the multiplication (or n/2 doubled
// cross products when squaring) and n of the reduction, each < 2^(2w), plus one carry, so
// 2n * 2^(2w) + 2^(64-w+1) < 2^64 is required: n <= 120 for w = 28, n <= 480 for w = 27.
// With wasm SIMD enabled at compile time (--enable simd) the inner loops form two products per
// i64x2.extmul instruction (about twice as fast in V8); without it the scalar loops are compiled.
// R = 2^(w*n) > 4m, so with inputs < 2m every product is < 2m (no conditional subtraction
// until the very end; Walter 1999).
import { Modulus, dblMod, cmp, subInPlace } from "./mont";

const MAX_WLIMBS: i32 = 312; // ceil((8192 + 2) / 27) = 304, plus zero padding for 4-way unrolling

// Scratch: one exponentiation at a time (wasm is single-threaded), nothing allocated per verify.
const T: usize = memory.data((2 * MAX_WLIMBS + 8) * 8, 16); // 64-bit columns
const A2: usize = memory.data(MAX_WLIMBS * 4, 16);          // 2a for squaring
const SW: usize = memory.data(MAX_WLIMBS * 4, 16);          // s, plain, radix 2^w
const SM: usize = memory.data(MAX_WLIMBS * 4, 16);          // s * R mod m
const XW: usize = memory.data(MAX_WLIMBS * 4, 16);          // running power

/** The modulus in radix 2^w with the constants of Montgomery multiplication. */
export class WideModulus {
  readonly n: i32;     // limb count
  readonly w: u32;     // limb width in bits
  readonly mask: u64;  // 2^w - 1
  readonly n0: u32;    // -m^-1 mod 2^w
  readonly m: usize;   // limbs, zero-padded
  readonly r2: usize;  // R^2 mod m, R = 2^(w n)
  private mArr: StaticArray<u32>;
  private r2Arr: StaticArray<u32>;

  constructor(M: Modulus) {
    let w: u32 = 28;
    let n = (M.bits + 2 + 27) / 28;
    if (n > 120) { w = 27; n = (M.bits + 2 + 26) / 27; }
    this.n = n;
    this.w = w;
    let mask: u64 = (<u64>1 << w) - 1;
    this.mask = mask;
    let x: u32 = 1;
    let m0 = load<u32>(M.m);
    for (let i = 0; i < 5; i++) x = x * (2 - m0 * x);
    this.n0 = (0 - x) & <u32>mask;
    this.mArr = new StaticArray<u32>(n + 4); // + zero padding read by the unrolled loops
    this.r2Arr = new StaticArray<u32>(n + 4);
    this.m = changetype<usize>(this.mArr);
    this.r2 = changetype<usize>(this.r2Arr);
    toWide(this.m, M.m, M.n, n, w);
    // R^2 mod m = 2^(2wn): start from 2^(bits-1) < m and double; once per key.
    let n32 = M.n;
    let r = changetype<usize>(new StaticArray<u32>(n32 + 1));
    let top = M.bits - 1;
    store<u32>(r + (<usize>(top >> 5) << 2), <u32>1 << (<u32>top & 31));
    let doublings = 2 * <i32>w * n - top;
    for (let i = 0; i < doublings; i++) dblMod(r, M.m, n32);
    toWide(this.r2, r, n32, n, w);
  }
}

/** 32-bit limbs (n32 of them) to n limbs of w bits, then 4 zero limbs of padding. */
function toWide(out: usize, a: usize, n32: i32, n: i32, w: u32): void {
  memory.fill(out, 0, <usize>(n + 4) << 2);
  let mask: u64 = (<u64>1 << w) - 1;
  let acc: u64 = 0;
  let bits: u32 = 0;
  let k = 0;
  for (let i = 0; i < n32 && k < n; i++) {
    acc |= <u64>load<u32>(a + (<usize>i << 2)) << bits;
    bits += 32;
    while (bits >= w && k < n) {
      store<u32>(out + (<usize>k << 2), <u32>(acc & mask));
      acc >>= w; bits -= w; k++;
    }
  }
  if (k < n) store<u32>(out + (<usize>k << 2), <u32>acc);
}

/** n limbs of w bits (value < 2^(32 n32 + 32)) to n32 + 1 limbs of 32 bits. */
function fromWide(out: usize, a: usize, n: i32, n32: i32, w: u32): void {
  memory.fill(out, 0, <usize>(n32 + 1) << 2);
  let acc: u64 = 0;
  let bits: u32 = 0;
  let k = 0;
  for (let i = 0; i < n; i++) {
    acc |= <u64>load<u32>(a + (<usize>i << 2)) << bits;
    bits += w;
    while (bits >= 32) {
      if (k <= n32) store<u32>(out + (<usize>k << 2), <u32>acc);
      acc >>= 32; bits -= 32; k++;
    }
  }
  if (k <= n32) store<u32>(out + (<usize>k << 2), <u32>acc);
}

/** Resolves the carries of columns T[n..2n) into out (n limbs of w bits). */
// @ts-ignore: decorator
@inline function normalize(out: usize, n: usize, w: u64, mask: u64): void {
  let c: u64 = 0;
  let t = T + (n << 3);
  for (let k: usize = 0; k < n; k++) {
    let v = load<u64>(t + (k << 3)) + c;
    store<u32>(out + (k << 2), <u32>(v & mask));
    c = v >> w;
  }
  // the inner loops read up to three limbs past n: keep them zero
  store<u64>(out + (n << 2), 0);
  store<u64>(out + (n << 2), 0, 8);
}

/** out = a b R^-1 (mod m), < 2m for a, b < 2m. out may alias a or b. */
function wideMul(out: usize, a: usize, b: usize, M: WideModulus): void {
  let n = <usize>M.n;
  let w = <u64>M.w;
  let mask = M.mask;
  let n0 = M.n0;
  let m = M.m;
  memory.fill(T, 0, (2 * n + 4) << 3);
  let a0 = <u64>load<u32>(a);
  let m0 = <u64>load<u32>(m);
  for (let i: usize = 0; i < n; i++) {
    let bi = <u64>load<u32>(b + (i << 2));
    let tp = T + (i << 3);
    let t0 = load<u64>(tp) + a0 * bi;
    let q = <u64>((<u32>t0 * n0) & <u32>mask);
    let carry = (t0 + q * m0) >> w; // the low w bits are zero by the choice of q
    // j = 1..n-1, four at a time; limbs past n are zero, so an overshoot adds nothing.
    if (ASC_FEATURE_SIMD) {
      let bv = i32x4.splat(<i32>bi), qv = i32x4.splat(<i32>q);
      for (let j: usize = 1; j < n; j += 4) {
        let p = tp + (j << 3);
        let o = j << 2;
        let av = v128.load(a + o), mv = v128.load(m + o);
        let lo = i64x2.add(i64x2.extmul_low_i32x4_u(av, bv), i64x2.extmul_low_i32x4_u(mv, qv));
        let hi = i64x2.add(i64x2.extmul_high_i32x4_u(av, bv), i64x2.extmul_high_i32x4_u(mv, qv));
        v128.store(p, i64x2.add(v128.load(p), lo));
        v128.store(p, i64x2.add(v128.load(p, 16), hi), 16);
      }
    } else for (let j: usize = 1; j < n; j += 4) {
      let p = tp + (j << 3);
      let o = j << 2;
      let x0 = load<u64>(p) + <u64>load<u32>(a + o) * bi + <u64>load<u32>(m + o) * q;
      let x1 = load<u64>(p, 8) + <u64>load<u32>(a + o, 4) * bi + <u64>load<u32>(m + o, 4) * q;
      let x2 = load<u64>(p, 16) + <u64>load<u32>(a + o, 8) * bi + <u64>load<u32>(m + o, 8) * q;
      let x3 = load<u64>(p, 24) + <u64>load<u32>(a + o, 12) * bi + <u64>load<u32>(m + o, 12) * q;
      store<u64>(p, x0);
      store<u64>(p, x1, 8);
      store<u64>(p, x2, 16);
      store<u64>(p, x3, 24);
    }
    store<u64>(tp, load<u64>(tp, 8) + carry, 8);
  }
  normalize(out, n, w, mask);
}

/** out = a^2 R^-1 (mod m), < 2m for a < 2m: the cross products a_i a_j (i < j) are formed once. */
function wideSqr(out: usize, a: usize, M: WideModulus): void {
  let n = <usize>M.n;
  let w = <u64>M.w;
  let mask = M.mask;
  let n0 = M.n0;
  let m = M.m;
  memory.fill(T, 0, (2 * n + 4) << 3);
  for (let j: usize = 0; j < n + 4; j++) store<u32>(A2 + (j << 2), load<u32>(a + (j << 2)) << 1);
  let m0 = <u64>load<u32>(m);
  for (let i: usize = 0; i < n; i++) {
    let ai = <u64>load<u32>(a + (i << 2));
    // A2[j] for j <= i is zero from here on, so the fused loop below may start at or before i+1.
    store<u32>(A2 + (i << 2), 0);
    let tp = T + (i << 3);
    let d = T + (i << 4);
    store<u64>(d, load<u64>(d) + ai * ai);
    let t0 = load<u64>(tp);
    let q = <u64>((<u32>t0 * n0) & <u32>mask);
    let carry = (t0 + q * m0) >> w;
    // reduction only for j in [1, e1), e1 = 1 mod 4 so that the fused loop steps in fours
    let e1: usize = 1 + (i & ~(<usize>3));
    if (ASC_FEATURE_SIMD) {
      let av = i32x4.splat(<i32>ai), qv = i32x4.splat(<i32>q);
      for (let j: usize = 1; j < e1; j += 4) {
        let p = tp + (j << 3);
        let mv = v128.load(m + (j << 2));
        v128.store(p, i64x2.add(v128.load(p), i64x2.extmul_low_i32x4_u(mv, qv)));
        v128.store(p, i64x2.add(v128.load(p, 16), i64x2.extmul_high_i32x4_u(mv, qv)), 16);
      }
      for (let j: usize = e1; j < n; j += 4) {
        let p = tp + (j << 3);
        let o = j << 2;
        let xv = v128.load(A2 + o), mv = v128.load(m + o);
        let lo = i64x2.add(i64x2.extmul_low_i32x4_u(xv, av), i64x2.extmul_low_i32x4_u(mv, qv));
        let hi = i64x2.add(i64x2.extmul_high_i32x4_u(xv, av), i64x2.extmul_high_i32x4_u(mv, qv));
        v128.store(p, i64x2.add(v128.load(p), lo));
        v128.store(p, i64x2.add(v128.load(p, 16), hi), 16);
      }
    } else {
    for (let j: usize = 1; j < e1; j += 4) {
      let p = tp + (j << 3);
      let o = j << 2;
      let x0 = load<u64>(p) + <u64>load<u32>(m + o) * q;
      let x1 = load<u64>(p, 8) + <u64>load<u32>(m + o, 4) * q;
      let x2 = load<u64>(p, 16) + <u64>load<u32>(m + o, 8) * q;
      let x3 = load<u64>(p, 24) + <u64>load<u32>(m + o, 12) * q;
      store<u64>(p, x0);
      store<u64>(p, x1, 8);
      store<u64>(p, x2, 16);
      store<u64>(p, x3, 24);
    }
    for (let j: usize = e1; j < n; j += 4) {
      let p = tp + (j << 3);
      let o = j << 2;
      let x0 = load<u64>(p) + <u64>load<u32>(A2 + o) * ai + <u64>load<u32>(m + o) * q;
      let x1 = load<u64>(p, 8) + <u64>load<u32>(A2 + o, 4) * ai + <u64>load<u32>(m + o, 4) * q;
      let x2 = load<u64>(p, 16) + <u64>load<u32>(A2 + o, 8) * ai + <u64>load<u32>(m + o, 8) * q;
      let x3 = load<u64>(p, 24) + <u64>load<u32>(A2 + o, 12) * ai + <u64>load<u32>(m + o, 12) * q;
      store<u64>(p, x0);
      store<u64>(p, x1, 8);
      store<u64>(p, x2, 16);
      store<u64>(p, x3, 24);
    }
    }
    store<u64>(tp, load<u64>(tp, 8) + carry, 8);
  }
  normalize(out, n, w, mask);
}

/**
 * out (M32.n + 1 limbs, the top one zero on return) = s^e mod m, fully reduced; s < m in
 * 32-bit limbs, e odd >= 3 in eLimbs 32-bit limbs. The power is kept as s^k R, and the last
 * step multiplies by plain s, which cancels R: no conversion out of Montgomery form.
 * Not constant time: e and s are public in a verification.
 */
export function widePowPublic(out: usize, s: usize, e: usize, eLimbs: i32, M32: Modulus, M: WideModulus): void {
  let n32 = M32.n;
  toWide(SW, s, n32, M.n, M.w);
  wideMul(SM, SW, M.r2, M);
  let top = eLimbs * 32 - 1;
  while (((load<u32>(e + (<usize>(top >> 5) << 2)) >>> (<u32>top & 31)) & 1) == 0) top--;
  memory.copy(XW, SM, <usize>(M.n + 4) << 2);
  for (let b = top - 1; b >= 1; b--) {
    wideSqr(XW, XW, M);
    if ((load<u32>(e + (<usize>(b >> 5) << 2)) >>> (<u32>b & 31)) & 1) wideMul(XW, XW, SM, M);
  }
  wideSqr(XW, XW, M);
  wideMul(XW, XW, SW, M);
  fromWide(out, XW, M.n, n32, M.w);
  // out < 2m: one subtraction at most; a set top limb means out >= m.
  if (load<u32>(out + (<usize>n32 << 2)) != 0 || cmp(out, M32.m, n32) >= 0) {
    subInPlace(out, M32.m, n32);
    store<u32>(out + (<usize>n32 << 2), 0);
  }
}
