// Jacobian point arithmetic on y^2 = x^3 - 3x + b. A point (X, Y, Z) is the affine point
// (X/Z^2, Y/Z^3); Z = 0 is the point at infinity. All coordinates are in Montgomery form.
// Formulas: dbl-2001-b and add-1998-cmo-2 (hyperelliptic.org EFD), with the exceptional
// cases of addition (equal points, opposite points, infinity) handled explicitly.
import { Modulus, montMul, modAdd, modSub, isZero } from "./mont";
import { Curve, FE } from "./curves";
import { p256Mul, p256Sqr, p256Add, p256Sub } from "./p256";
import { p521Mul, p521Sqr, p521Add, p521Sub } from "./p521";

// Field operations: P-256 (8 limbs) and P-521 (17 limbs) take the special-prime code in p256.ts
// and p521.ts, P-384 the generic Montgomery code. All produce the same fully reduced
// Montgomery-form values.
@inline function fmul(out: usize, a: usize, b: usize, C: Curve): void {
  if (C.limbs == 8) p256Mul(out, a, b); else if (C.limbs == 17) p521Mul(out, a, b); else montMul(out, a, b, C.p);
}
@inline function fsqr(out: usize, a: usize, C: Curve): void {
  if (C.limbs == 8) p256Sqr(out, a); else if (C.limbs == 17) p521Sqr(out, a); else montMul(out, a, a, C.p);
}
@inline function fadd(out: usize, a: usize, b: usize, C: Curve): void {
  if (C.limbs == 8) p256Add(out, a, b); else if (C.limbs == 17) p521Add(out, a, b); else modAdd(out, a, b, C.p);
}
@inline function fsub(out: usize, a: usize, b: usize, C: Curve): void {
  if (C.limbs == 8) p256Sub(out, a, b); else if (C.limbs == 17) p521Sub(out, a, b); else modSub(out, a, b, C.p);
}

const t0: usize = memory.data(<i32>FE, 8);
const t1: usize = memory.data(<i32>FE, 8);
const t2: usize = memory.data(<i32>FE, 8);
const t3: usize = memory.data(<i32>FE, 8);
const t4: usize = memory.data(<i32>FE, 8);
const t5: usize = memory.data(<i32>FE, 8);
const t6: usize = memory.data(<i32>FE, 8);
const t7: usize = memory.data(<i32>FE, 8);

export function isInfinity(p: usize, C: Curve): bool { return isZero(p + 2 * FE, C.limbs); }

export function setInfinity(p: usize, C: Curve): void {
  let n = <usize>C.limbs << 2;
  memory.copy(p, C.p.one, n);
  memory.copy(p + FE, C.p.one, n);
  memory.fill(p + 2 * FE, 0, n);
}

export function copyPoint(out: usize, p: usize): void { memory.copy(out, p, 3 * FE); }

/** out = 2p. out may alias p. */
export function pointDouble(out: usize, p: usize, C: Curve): void {
  let P = C.p;
  let X = p, Y = p + FE, Z = p + 2 * FE;
  fsqr(t0, Z, C);          // delta
  fsqr(t1, Y, C);          // gamma
  fmul(t2, X, t1, C);         // beta
  fsub(t3, X, t0, C);
  fadd(t4, X, t0, C);
  fmul(t3, t3, t4, C);
  fadd(t4, t3, t3, C);
  fadd(t3, t4, t3, C);         // alpha = 3(X-delta)(X+delta)
  fadd(t4, Y, Z, C);
  fsqr(t4, t4, C);
  fsub(t4, t4, t1, C);
  fsub(out + 2 * FE, t4, t0, C); // Z3 = (Y+Z)^2 - gamma - delta (Z no longer needed)
  fadd(t2, t2, t2, C);
  fadd(t2, t2, t2, C);         // 4 beta
  fsqr(t5, t3, C);
  fadd(t6, t2, t2, C);
  fsub(out, t5, t6, C);        // X3 = alpha^2 - 8 beta
  fsub(t2, t2, out, C);
  fmul(t2, t3, t2, C);
  fsqr(t1, t1, C);
  fadd(t1, t1, t1, C);
  fadd(t1, t1, t1, C);
  fadd(t1, t1, t1, C);         // 8 gamma^2
  fsub(out + FE, t2, t1, C);   // Y3
}

/** out = p + q. out may alias p or q. */
export function pointAdd(out: usize, p: usize, q: usize, C: Curve): void {
  if (isInfinity(p, C)) { copyPoint(out, q); return; }
  if (isInfinity(q, C)) { copyPoint(out, p); return; }
  let P = C.p;
  let X1 = p, Y1 = p + FE, Z1 = p + 2 * FE;
  let X2 = q, Y2 = q + FE, Z2 = q + 2 * FE;
  fsqr(t0, Z1, C);        // Z1Z1
  fsqr(t1, Z2, C);        // Z2Z2
  fmul(t2, X1, t1, C);        // U1
  fmul(t3, X2, t0, C);        // U2
  fmul(t4, Y1, Z2, C);
  fmul(t4, t4, t1, C);        // S1
  fmul(t5, Y2, Z1, C);
  fmul(t5, t5, t0, C);        // S2
  fsub(t3, t3, t2, C);         // H
  fsub(t5, t5, t4, C);         // r
  if (isZero(t3, C.limbs)) {
    if (isZero(t5, C.limbs)) { pointDouble(out, p, C); return; }
    setInfinity(out, C);
    return;
  }
  fmul(t6, Z1, Z2, C);
  fmul(out + 2 * FE, t6, t3, C); // Z3 = Z1 Z2 H (Z1, Z2 not read again)
  fsqr(t0, t3, C);        // HH
  fmul(t1, t3, t0, C);        // HHH
  fmul(t2, t2, t0, C);        // V = U1 HH
  fsqr(t6, t5, C);
  fsub(t6, t6, t1, C);
  fsub(t6, t6, t2, C);
  fsub(t6, t6, t2, C);         // X3 = r^2 - HHH - 2V
  fsub(t2, t2, t6, C);
  fmul(t2, t5, t2, C);
  fmul(t4, t4, t1, C);
  fsub(out + FE, t2, t4, C);   // Y3 = r(V - X3) - S1 HHH
  memory.copy(out, t6, <usize>C.limbs << 2);
}

/**
 * out = p + (x, y) for an affine point (Z = 1), madd-2004-hmv style: 8M + 3S instead of 12M + 4S.
 * y is passed separately so a negated table entry needs no copy of x. out may alias p.
 */
export function pointAddAffine(out: usize, p: usize, x: usize, y: usize, C: Curve): void {
  let P = C.p;
  let n = <usize>C.limbs << 2;
  if (isInfinity(p, C)) {
    memory.copy(out, x, n);
    memory.copy(out + FE, y, n);
    memory.copy(out + 2 * FE, P.one, n);
    return;
  }
  let X1 = p, Y1 = p + FE, Z1 = p + 2 * FE;
  fsqr(t0, Z1, C);        // Z1Z1
  fmul(t3, x, t0, C);         // U2
  fmul(t5, Z1, t0, C);
  fmul(t5, y, t5, C);         // S2
  fsub(t3, t3, X1, C);         // H = U2 - X1
  fsub(t5, t5, Y1, C);         // r = S2 - Y1
  if (isZero(t3, C.limbs)) {
    if (isZero(t5, C.limbs)) {
      memory.copy(t6, x, n); memory.copy(t6 + FE, y, n); memory.copy(t6 + 2 * FE, P.one, n);
      pointDouble(out, t6, C);
      return;
    }
    setInfinity(out, C);
    return;
  }
  fmul(out + 2 * FE, Z1, t3, C); // Z3 = Z1 H (Z1 not read again)
  fsqr(t0, t3, C);        // HH
  fmul(t1, t3, t0, C);        // HHH
  fmul(t2, X1, t0, C);        // V = X1 HH
  fsqr(t6, t5, C);
  fsub(t6, t6, t1, C);
  fsub(t6, t6, t2, C);
  fsub(t6, t6, t2, C);         // X3 = r^2 - HHH - 2V
  fsub(t2, t2, t6, C);
  fmul(t2, t5, t2, C);
  fmul(t4, Y1, t1, C);
  fsub(out + FE, t2, t4, C);   // Y3 = r(V - X3) - Y1 HHH
  memory.copy(out, t6, n);
}

const POW_T: usize = memory.data(16 * <i32>FE, 8);

/**
 * out = a^-1 = a^(p-2) (Montgomery form; a != 0): montPow's fixed 4-bit window with the curve's
 * field multiply, so P-256 and P-521 key set-up uses their fast code. Public values only.
 */
export function fieldInv(out: usize, a: usize, C: Curve): void {
  let n = <usize>C.limbs << 2;
  memory.copy(POW_T, C.p.one, n);
  memory.copy(POW_T + FE, a, n);
  for (let i: usize = 2; i < 16; i++) fmul(POW_T + i * FE, POW_T + (i - 1) * FE, POW_T + FE, C);
  let e = changetype<usize>(C.pMinus2);
  let started = false;
  for (let i = C.limbs * 8 - 1; i >= 0; i--) {
    let d = <usize>((load<u32>(e + (<usize>(i >> 3) << 2)) >>> ((<u32>i & 7) << 2)) & 15);
    if (started) {
      fsqr(out, out, C); fsqr(out, out, C); fsqr(out, out, C); fsqr(out, out, C);
      if (d != 0) fmul(out, out, POW_T + d * FE, C);
    } else if (d != 0) {
      memory.copy(out, POW_T + d * FE, n);
      started = true;
    }
  }
}

/** In place: Jacobian (X, Y, Z), Z != 0, to affine (x, y, 1). */
export function toAffine(p: usize, C: Curve): void {
  let P = C.p;
  fieldInv(t7, p + 2 * FE, C);
  fsqr(t0, t7, C);
  fmul(p, p, t0, C);
  fmul(t0, t0, t7, C);
  fmul(p + FE, p + FE, t0, C);
  memory.copy(p + 2 * FE, P.one, <usize>C.limbs << 2);
}
