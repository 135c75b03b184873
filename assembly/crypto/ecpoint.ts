// Jacobian point arithmetic on y^2 = x^3 - 3x + b. A point (X, Y, Z) is the affine point
// (X/Z^2, Y/Z^3); Z = 0 is the point at infinity. All coordinates are in Montgomery form.
// Formulas: dbl-2001-b and add-1998-cmo-2 (hyperelliptic.org EFD), with the exceptional
// cases of addition (equal points, opposite points, infinity) handled explicitly.
import { Modulus, montMul, modAdd, modSub, isZero, montPow } from "./mont";
import { Curve, FE } from "./curves";

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
  montMul(t0, Z, Z, P);          // delta
  montMul(t1, Y, Y, P);          // gamma
  montMul(t2, X, t1, P);         // beta
  modSub(t3, X, t0, P);
  modAdd(t4, X, t0, P);
  montMul(t3, t3, t4, P);
  modAdd(t4, t3, t3, P);
  modAdd(t3, t4, t3, P);         // alpha = 3(X-delta)(X+delta)
  modAdd(t4, Y, Z, P);
  montMul(t4, t4, t4, P);
  modSub(t4, t4, t1, P);
  modSub(out + 2 * FE, t4, t0, P); // Z3 = (Y+Z)^2 - gamma - delta (Z no longer needed)
  modAdd(t2, t2, t2, P);
  modAdd(t2, t2, t2, P);         // 4 beta
  montMul(t5, t3, t3, P);
  modAdd(t6, t2, t2, P);
  modSub(out, t5, t6, P);        // X3 = alpha^2 - 8 beta
  modSub(t2, t2, out, P);
  montMul(t2, t3, t2, P);
  montMul(t1, t1, t1, P);
  modAdd(t1, t1, t1, P);
  modAdd(t1, t1, t1, P);
  modAdd(t1, t1, t1, P);         // 8 gamma^2
  modSub(out + FE, t2, t1, P);   // Y3
}

/** out = p + q. out may alias p or q. */
export function pointAdd(out: usize, p: usize, q: usize, C: Curve): void {
  if (isInfinity(p, C)) { copyPoint(out, q); return; }
  if (isInfinity(q, C)) { copyPoint(out, p); return; }
  let P = C.p;
  let X1 = p, Y1 = p + FE, Z1 = p + 2 * FE;
  let X2 = q, Y2 = q + FE, Z2 = q + 2 * FE;
  montMul(t0, Z1, Z1, P);        // Z1Z1
  montMul(t1, Z2, Z2, P);        // Z2Z2
  montMul(t2, X1, t1, P);        // U1
  montMul(t3, X2, t0, P);        // U2
  montMul(t4, Y1, Z2, P);
  montMul(t4, t4, t1, P);        // S1
  montMul(t5, Y2, Z1, P);
  montMul(t5, t5, t0, P);        // S2
  modSub(t3, t3, t2, P);         // H
  modSub(t5, t5, t4, P);         // r
  if (isZero(t3, C.limbs)) {
    if (isZero(t5, C.limbs)) { pointDouble(out, p, C); return; }
    setInfinity(out, C);
    return;
  }
  montMul(t6, Z1, Z2, P);
  montMul(out + 2 * FE, t6, t3, P); // Z3 = Z1 Z2 H (Z1, Z2 not read again)
  montMul(t0, t3, t3, P);        // HH
  montMul(t1, t3, t0, P);        // HHH
  montMul(t2, t2, t0, P);        // V = U1 HH
  montMul(t6, t5, t5, P);
  modSub(t6, t6, t1, P);
  modSub(t6, t6, t2, P);
  modSub(t6, t6, t2, P);         // X3 = r^2 - HHH - 2V
  modSub(t2, t2, t6, P);
  montMul(t2, t5, t2, P);
  montMul(t4, t4, t1, P);
  modSub(out + FE, t2, t4, P);   // Y3 = r(V - X3) - S1 HHH
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
  montMul(t0, Z1, Z1, P);        // Z1Z1
  montMul(t3, x, t0, P);         // U2
  montMul(t5, Z1, t0, P);
  montMul(t5, y, t5, P);         // S2
  modSub(t3, t3, X1, P);         // H = U2 - X1
  modSub(t5, t5, Y1, P);         // r = S2 - Y1
  if (isZero(t3, C.limbs)) {
    if (isZero(t5, C.limbs)) {
      memory.copy(t6, x, n); memory.copy(t6 + FE, y, n); memory.copy(t6 + 2 * FE, P.one, n);
      pointDouble(out, t6, C);
      return;
    }
    setInfinity(out, C);
    return;
  }
  montMul(out + 2 * FE, Z1, t3, P); // Z3 = Z1 H (Z1 not read again)
  montMul(t0, t3, t3, P);        // HH
  montMul(t1, t3, t0, P);        // HHH
  montMul(t2, X1, t0, P);        // V = X1 HH
  montMul(t6, t5, t5, P);
  modSub(t6, t6, t1, P);
  modSub(t6, t6, t2, P);
  modSub(t6, t6, t2, P);         // X3 = r^2 - HHH - 2V
  modSub(t2, t2, t6, P);
  montMul(t2, t5, t2, P);
  montMul(t4, Y1, t1, P);
  modSub(out + FE, t2, t4, P);   // Y3 = r(V - X3) - Y1 HHH
  memory.copy(out, t6, n);
}

/** In place: Jacobian (X, Y, Z), Z != 0, to affine (x, y, 1). */
export function toAffine(p: usize, C: Curve): void {
  let P = C.p;
  montPow(t7, p + 2 * FE, changetype<usize>(C.pMinus2), C.limbs, P);
  montMul(t0, t7, t7, P);
  montMul(p, p, t0, P);
  montMul(t0, t0, t7, P);
  montMul(p + FE, p + FE, t0, P);
  memory.copy(p + 2 * FE, P.one, <usize>C.limbs << 2);
}
