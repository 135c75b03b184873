// A fully unrolled
// 8-limb (256-bit) Montgomery product for the P-256 and Ed25519 fields and group orders.
// Same algorithm as montMul in mont.ts; unrolled so every limb lives in a local (no loop, no
// scratch memory), which V8 turns into straight-line 64-bit register code.

/** out = a*b*2^-256 mod m for a < 2^256, b < m (8 limbs each); out may alias a or b. */
export function montMul8(out: usize, a: usize, b: usize, m: usize, n0: u32): void {
  let a0 = <u64>load<u32>(a, 0); let m0 = <u64>load<u32>(m, 0);
  let a1 = <u64>load<u32>(a, 4); let m1 = <u64>load<u32>(m, 4);
  let a2 = <u64>load<u32>(a, 8); let m2 = <u64>load<u32>(m, 8);
  let a3 = <u64>load<u32>(a, 12); let m3 = <u64>load<u32>(m, 12);
  let a4 = <u64>load<u32>(a, 16); let m4 = <u64>load<u32>(m, 16);
  let a5 = <u64>load<u32>(a, 20); let m5 = <u64>load<u32>(m, 20);
  let a6 = <u64>load<u32>(a, 24); let m6 = <u64>load<u32>(m, 24);
  let a7 = <u64>load<u32>(a, 28); let m7 = <u64>load<u32>(m, 28);
  let t0: u64 = 0;
  let t1: u64 = 0;
  let t2: u64 = 0;
  let t3: u64 = 0;
  let t4: u64 = 0;
  let t5: u64 = 0;
  let t6: u64 = 0;
  let t7: u64 = 0;
  let t8: u64 = 0;
  let bi: u64, s1: u64, s2: u64, c1: u64, c2: u64, q: u64;
  bi = <u64>load<u32>(b, 0);
  s1 = t0 + a0 * bi; q = <u64>(<u32>s1 * n0); s2 = (s1 & 0xffffffff) + q * m0; c1 = s1 >> 32; c2 = s2 >> 32;
  s1 = t1 + a1 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m1 + c2; c2 = s2 >> 32; t0 = s2 & 0xffffffff;
  s1 = t2 + a2 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m2 + c2; c2 = s2 >> 32; t1 = s2 & 0xffffffff;
  s1 = t3 + a3 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m3 + c2; c2 = s2 >> 32; t2 = s2 & 0xffffffff;
  s1 = t4 + a4 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m4 + c2; c2 = s2 >> 32; t3 = s2 & 0xffffffff;
  s1 = t5 + a5 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m5 + c2; c2 = s2 >> 32; t4 = s2 & 0xffffffff;
  s1 = t6 + a6 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m6 + c2; c2 = s2 >> 32; t5 = s2 & 0xffffffff;
  s1 = t7 + a7 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m7 + c2; c2 = s2 >> 32; t6 = s2 & 0xffffffff;
  s1 = t8 + c1 + c2; t7 = s1 & 0xffffffff; t8 = s1 >> 32;
  bi = <u64>load<u32>(b, 4);
  s1 = t0 + a0 * bi; q = <u64>(<u32>s1 * n0); s2 = (s1 & 0xffffffff) + q * m0; c1 = s1 >> 32; c2 = s2 >> 32;
  s1 = t1 + a1 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m1 + c2; c2 = s2 >> 32; t0 = s2 & 0xffffffff;
  s1 = t2 + a2 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m2 + c2; c2 = s2 >> 32; t1 = s2 & 0xffffffff;
  s1 = t3 + a3 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m3 + c2; c2 = s2 >> 32; t2 = s2 & 0xffffffff;
  s1 = t4 + a4 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m4 + c2; c2 = s2 >> 32; t3 = s2 & 0xffffffff;
  s1 = t5 + a5 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m5 + c2; c2 = s2 >> 32; t4 = s2 & 0xffffffff;
  s1 = t6 + a6 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m6 + c2; c2 = s2 >> 32; t5 = s2 & 0xffffffff;
  s1 = t7 + a7 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m7 + c2; c2 = s2 >> 32; t6 = s2 & 0xffffffff;
  s1 = t8 + c1 + c2; t7 = s1 & 0xffffffff; t8 = s1 >> 32;
  bi = <u64>load<u32>(b, 8);
  s1 = t0 + a0 * bi; q = <u64>(<u32>s1 * n0); s2 = (s1 & 0xffffffff) + q * m0; c1 = s1 >> 32; c2 = s2 >> 32;
  s1 = t1 + a1 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m1 + c2; c2 = s2 >> 32; t0 = s2 & 0xffffffff;
  s1 = t2 + a2 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m2 + c2; c2 = s2 >> 32; t1 = s2 & 0xffffffff;
  s1 = t3 + a3 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m3 + c2; c2 = s2 >> 32; t2 = s2 & 0xffffffff;
  s1 = t4 + a4 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m4 + c2; c2 = s2 >> 32; t3 = s2 & 0xffffffff;
  s1 = t5 + a5 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m5 + c2; c2 = s2 >> 32; t4 = s2 & 0xffffffff;
  s1 = t6 + a6 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m6 + c2; c2 = s2 >> 32; t5 = s2 & 0xffffffff;
  s1 = t7 + a7 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m7 + c2; c2 = s2 >> 32; t6 = s2 & 0xffffffff;
  s1 = t8 + c1 + c2; t7 = s1 & 0xffffffff; t8 = s1 >> 32;
  bi = <u64>load<u32>(b, 12);
  s1 = t0 + a0 * bi; q = <u64>(<u32>s1 * n0); s2 = (s1 & 0xffffffff) + q * m0; c1 = s1 >> 32; c2 = s2 >> 32;
  s1 = t1 + a1 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m1 + c2; c2 = s2 >> 32; t0 = s2 & 0xffffffff;
  s1 = t2 + a2 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m2 + c2; c2 = s2 >> 32; t1 = s2 & 0xffffffff;
  s1 = t3 + a3 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m3 + c2; c2 = s2 >> 32; t2 = s2 & 0xffffffff;
  s1 = t4 + a4 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m4 + c2; c2 = s2 >> 32; t3 = s2 & 0xffffffff;
  s1 = t5 + a5 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m5 + c2; c2 = s2 >> 32; t4 = s2 & 0xffffffff;
  s1 = t6 + a6 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m6 + c2; c2 = s2 >> 32; t5 = s2 & 0xffffffff;
  s1 = t7 + a7 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m7 + c2; c2 = s2 >> 32; t6 = s2 & 0xffffffff;
  s1 = t8 + c1 + c2; t7 = s1 & 0xffffffff; t8 = s1 >> 32;
  bi = <u64>load<u32>(b, 16);
  s1 = t0 + a0 * bi; q = <u64>(<u32>s1 * n0); s2 = (s1 & 0xffffffff) + q * m0; c1 = s1 >> 32; c2 = s2 >> 32;
  s1 = t1 + a1 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m1 + c2; c2 = s2 >> 32; t0 = s2 & 0xffffffff;
  s1 = t2 + a2 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m2 + c2; c2 = s2 >> 32; t1 = s2 & 0xffffffff;
  s1 = t3 + a3 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m3 + c2; c2 = s2 >> 32; t2 = s2 & 0xffffffff;
  s1 = t4 + a4 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m4 + c2; c2 = s2 >> 32; t3 = s2 & 0xffffffff;
  s1 = t5 + a5 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m5 + c2; c2 = s2 >> 32; t4 = s2 & 0xffffffff;
  s1 = t6 + a6 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m6 + c2; c2 = s2 >> 32; t5 = s2 & 0xffffffff;
  s1 = t7 + a7 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m7 + c2; c2 = s2 >> 32; t6 = s2 & 0xffffffff;
  s1 = t8 + c1 + c2; t7 = s1 & 0xffffffff; t8 = s1 >> 32;
  bi = <u64>load<u32>(b, 20);
  s1 = t0 + a0 * bi; q = <u64>(<u32>s1 * n0); s2 = (s1 & 0xffffffff) + q * m0; c1 = s1 >> 32; c2 = s2 >> 32;
  s1 = t1 + a1 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m1 + c2; c2 = s2 >> 32; t0 = s2 & 0xffffffff;
  s1 = t2 + a2 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m2 + c2; c2 = s2 >> 32; t1 = s2 & 0xffffffff;
  s1 = t3 + a3 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m3 + c2; c2 = s2 >> 32; t2 = s2 & 0xffffffff;
  s1 = t4 + a4 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m4 + c2; c2 = s2 >> 32; t3 = s2 & 0xffffffff;
  s1 = t5 + a5 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m5 + c2; c2 = s2 >> 32; t4 = s2 & 0xffffffff;
  s1 = t6 + a6 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m6 + c2; c2 = s2 >> 32; t5 = s2 & 0xffffffff;
  s1 = t7 + a7 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m7 + c2; c2 = s2 >> 32; t6 = s2 & 0xffffffff;
  s1 = t8 + c1 + c2; t7 = s1 & 0xffffffff; t8 = s1 >> 32;
  bi = <u64>load<u32>(b, 24);
  s1 = t0 + a0 * bi; q = <u64>(<u32>s1 * n0); s2 = (s1 & 0xffffffff) + q * m0; c1 = s1 >> 32; c2 = s2 >> 32;
  s1 = t1 + a1 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m1 + c2; c2 = s2 >> 32; t0 = s2 & 0xffffffff;
  s1 = t2 + a2 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m2 + c2; c2 = s2 >> 32; t1 = s2 & 0xffffffff;
  s1 = t3 + a3 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m3 + c2; c2 = s2 >> 32; t2 = s2 & 0xffffffff;
  s1 = t4 + a4 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m4 + c2; c2 = s2 >> 32; t3 = s2 & 0xffffffff;
  s1 = t5 + a5 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m5 + c2; c2 = s2 >> 32; t4 = s2 & 0xffffffff;
  s1 = t6 + a6 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m6 + c2; c2 = s2 >> 32; t5 = s2 & 0xffffffff;
  s1 = t7 + a7 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m7 + c2; c2 = s2 >> 32; t6 = s2 & 0xffffffff;
  s1 = t8 + c1 + c2; t7 = s1 & 0xffffffff; t8 = s1 >> 32;
  bi = <u64>load<u32>(b, 28);
  s1 = t0 + a0 * bi; q = <u64>(<u32>s1 * n0); s2 = (s1 & 0xffffffff) + q * m0; c1 = s1 >> 32; c2 = s2 >> 32;
  s1 = t1 + a1 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m1 + c2; c2 = s2 >> 32; t0 = s2 & 0xffffffff;
  s1 = t2 + a2 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m2 + c2; c2 = s2 >> 32; t1 = s2 & 0xffffffff;
  s1 = t3 + a3 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m3 + c2; c2 = s2 >> 32; t2 = s2 & 0xffffffff;
  s1 = t4 + a4 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m4 + c2; c2 = s2 >> 32; t3 = s2 & 0xffffffff;
  s1 = t5 + a5 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m5 + c2; c2 = s2 >> 32; t4 = s2 & 0xffffffff;
  s1 = t6 + a6 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m6 + c2; c2 = s2 >> 32; t5 = s2 & 0xffffffff;
  s1 = t7 + a7 * bi + c1; c1 = s1 >> 32; s2 = (s1 & 0xffffffff) + q * m7 + c2; c2 = s2 >> 32; t6 = s2 & 0xffffffff;
  s1 = t8 + c1 + c2; t7 = s1 & 0xffffffff; t8 = s1 >> 32;
  // conditional final subtraction, branch-free select
  let br: i64 = 0;
  let d0 = <i64>t0 - <i64>m0 + br; br = d0 >> 32;
  let d1 = <i64>t1 - <i64>m1 + br; br = d1 >> 32;
  let d2 = <i64>t2 - <i64>m2 + br; br = d2 >> 32;
  let d3 = <i64>t3 - <i64>m3 + br; br = d3 >> 32;
  let d4 = <i64>t4 - <i64>m4 + br; br = d4 >> 32;
  let d5 = <i64>t5 - <i64>m5 + br; br = d5 >> 32;
  let d6 = <i64>t6 - <i64>m6 + br; br = d6 >> 32;
  let d7 = <i64>t7 - <i64>m7 + br; br = d7 >> 32;
  // keep t when t < m (borrow out and no carry limb)
  let keep = <u64>(0 - <i64>((br != 0) & (t8 == 0)));
  store<u32>(out, <u32>((t0 & keep) | (<u64>d0 & ~keep)), 0);
  store<u32>(out, <u32>((t1 & keep) | (<u64>d1 & ~keep)), 4);
  store<u32>(out, <u32>((t2 & keep) | (<u64>d2 & ~keep)), 8);
  store<u32>(out, <u32>((t3 & keep) | (<u64>d3 & ~keep)), 12);
  store<u32>(out, <u32>((t4 & keep) | (<u64>d4 & ~keep)), 16);
  store<u32>(out, <u32>((t5 & keep) | (<u64>d5 & ~keep)), 20);
  store<u32>(out, <u32>((t6 & keep) | (<u64>d6 & ~keep)), 24);
  store<u32>(out, <u32>((t7 & keep) | (<u64>d7 & ~keep)), 28);
}

/** out = a + b mod m (a, b < m, 8 limbs); out may alias a or b. */
export function modAdd8(out: usize, a: usize, b: usize, m: usize): void {
  let c: u64 = 0;
  c = <u64>load<u32>(a, 0) + <u64>load<u32>(b, 0) + (c >> 32); let s0 = c & 0xffffffff;
  c = <u64>load<u32>(a, 4) + <u64>load<u32>(b, 4) + (c >> 32); let s1 = c & 0xffffffff;
  c = <u64>load<u32>(a, 8) + <u64>load<u32>(b, 8) + (c >> 32); let s2 = c & 0xffffffff;
  c = <u64>load<u32>(a, 12) + <u64>load<u32>(b, 12) + (c >> 32); let s3 = c & 0xffffffff;
  c = <u64>load<u32>(a, 16) + <u64>load<u32>(b, 16) + (c >> 32); let s4 = c & 0xffffffff;
  c = <u64>load<u32>(a, 20) + <u64>load<u32>(b, 20) + (c >> 32); let s5 = c & 0xffffffff;
  c = <u64>load<u32>(a, 24) + <u64>load<u32>(b, 24) + (c >> 32); let s6 = c & 0xffffffff;
  c = <u64>load<u32>(a, 28) + <u64>load<u32>(b, 28) + (c >> 32); let s7 = c & 0xffffffff;
  let top = c >> 32;
  let br: i64 = 0;
  let d0 = <i64>s0 - <i64>load<u32>(m, 0) + br; br = d0 >> 32;
  let d1 = <i64>s1 - <i64>load<u32>(m, 4) + br; br = d1 >> 32;
  let d2 = <i64>s2 - <i64>load<u32>(m, 8) + br; br = d2 >> 32;
  let d3 = <i64>s3 - <i64>load<u32>(m, 12) + br; br = d3 >> 32;
  let d4 = <i64>s4 - <i64>load<u32>(m, 16) + br; br = d4 >> 32;
  let d5 = <i64>s5 - <i64>load<u32>(m, 20) + br; br = d5 >> 32;
  let d6 = <i64>s6 - <i64>load<u32>(m, 24) + br; br = d6 >> 32;
  let d7 = <i64>s7 - <i64>load<u32>(m, 28) + br; br = d7 >> 32;
  let keep = <u64>(0 - <i64>((br != 0) & (top == 0)));
  store<u32>(out, <u32>((s0 & keep) | (<u64>d0 & ~keep)), 0);
  store<u32>(out, <u32>((s1 & keep) | (<u64>d1 & ~keep)), 4);
  store<u32>(out, <u32>((s2 & keep) | (<u64>d2 & ~keep)), 8);
  store<u32>(out, <u32>((s3 & keep) | (<u64>d3 & ~keep)), 12);
  store<u32>(out, <u32>((s4 & keep) | (<u64>d4 & ~keep)), 16);
  store<u32>(out, <u32>((s5 & keep) | (<u64>d5 & ~keep)), 20);
  store<u32>(out, <u32>((s6 & keep) | (<u64>d6 & ~keep)), 24);
  store<u32>(out, <u32>((s7 & keep) | (<u64>d7 & ~keep)), 28);
}

/** out = a - b mod m (a, b < m, 8 limbs); out may alias a or b. */
export function modSub8(out: usize, a: usize, b: usize, m: usize): void {
  let br: i64 = 0;
  let d0 = <i64>load<u32>(a, 0) - <i64>load<u32>(b, 0) + br; br = d0 >> 32;
  let d1 = <i64>load<u32>(a, 4) - <i64>load<u32>(b, 4) + br; br = d1 >> 32;
  let d2 = <i64>load<u32>(a, 8) - <i64>load<u32>(b, 8) + br; br = d2 >> 32;
  let d3 = <i64>load<u32>(a, 12) - <i64>load<u32>(b, 12) + br; br = d3 >> 32;
  let d4 = <i64>load<u32>(a, 16) - <i64>load<u32>(b, 16) + br; br = d4 >> 32;
  let d5 = <i64>load<u32>(a, 20) - <i64>load<u32>(b, 20) + br; br = d5 >> 32;
  let d6 = <i64>load<u32>(a, 24) - <i64>load<u32>(b, 24) + br; br = d6 >> 32;
  let d7 = <i64>load<u32>(a, 28) - <i64>load<u32>(b, 28) + br; br = d7 >> 32;
  let mask = <u64>br; // all ones when a < b: add m back
  let c: u64 = 0;
  c = (<u64>d0 & 0xffffffff) + (<u64>load<u32>(m, 0) & mask) + (c >> 32); store<u32>(out, <u32>c, 0);
  c = (<u64>d1 & 0xffffffff) + (<u64>load<u32>(m, 4) & mask) + (c >> 32); store<u32>(out, <u32>c, 4);
  c = (<u64>d2 & 0xffffffff) + (<u64>load<u32>(m, 8) & mask) + (c >> 32); store<u32>(out, <u32>c, 8);
  c = (<u64>d3 & 0xffffffff) + (<u64>load<u32>(m, 12) & mask) + (c >> 32); store<u32>(out, <u32>c, 12);
  c = (<u64>d4 & 0xffffffff) + (<u64>load<u32>(m, 16) & mask) + (c >> 32); store<u32>(out, <u32>c, 16);
  c = (<u64>d5 & 0xffffffff) + (<u64>load<u32>(m, 20) & mask) + (c >> 32); store<u32>(out, <u32>c, 20);
  c = (<u64>d6 & 0xffffffff) + (<u64>load<u32>(m, 24) & mask) + (c >> 32); store<u32>(out, <u32>c, 24);
  c = (<u64>d7 & 0xffffffff) + (<u64>load<u32>(m, 28) & mask) + (c >> 32); store<u32>(out, <u32>c, 28);
}
