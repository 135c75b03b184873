// Short Weierstrass curves with a = -3 (NIST P-256, P-384, P-521; FIPS 186-4 D.1.2), their constants
// in Montgomery form, and a precomputed affine table of small multiples of the generator.
import { Modulus, limbsFromHex, toMont, subInPlace } from "./mont";

export const FE: usize = 72; // bytes per field element slot (18 limbs; P-521 uses 17), whatever the curve
export const PT: usize = 3 * FE; // Jacobian point slot: X, Y, Z
// wNAF widths: odd multiples 1P, 3P, ..., (2^(w-1) - 1)P are tabulated in affine form.
export const W_G: i32 = 8;              // generator: 64 entries, computed once per curve
export const W_Q: i32 = 6;              // public key: 16 entries, computed once per key
export const AFF: usize = 2 * FE;       // affine table entry: x, y
// Each scalar is split into SPLIT parts k = k0 + k1 2^b + ... (b = Curve.partBits), and the tables
// hold odd multiples of P, 2^b P, ... so one verify runs bits / SPLIT doublings instead of bits.
export const SPLIT: i32 = 4;
export const G_TABLE: usize = AFF << (W_G - 2);    // bytes of one part's table for G
export const Q_TABLE: usize = AFF << (W_Q - 2);    // bytes of one part's table for a key

export class Curve {
  readonly size: i32;      // bytes per coordinate / scalar
  readonly limbs: i32;     // 32-bit limbs per field element / scalar
  readonly partBits: i32;  // bits per scalar part: SPLIT * partBits >= bits of n
  readonly p: Modulus;
  readonly n: Modulus;
  readonly b: usize;       // Montgomery form
  readonly nMinus2: StaticArray<u32>;
  readonly rPlusNlimit: StaticArray<u32>; // p - n: r + n < p iff r < p - n
  readonly pMinus2: StaticArray<u32>;
  readonly gTable: StaticArray<u8>;       // SPLIT tables of odd multiples of 2^(jb) G (affine), filled on first use
  tableReady: bool = false;
  private bArr: StaticArray<u32>;

  /** The hex constants must have exactly ceil(size / 4) limbs' worth of digits (leading zeros). */
  constructor(size: i32, partBits: i32, pHex: string, nHex: string, bHex: string, gxHex: string, gyHex: string) {
    let limbs = (size + 3) >> 2;
    let p = new Modulus(limbsFromHex(pHex));
    let n = new Modulus(limbsFromHex(nHex));
    let bArr = new StaticArray<u32>(limbs);
    toMont(changetype<usize>(bArr), changetype<usize>(limbsFromHex(bHex)), p);
    let nm2 = limbsFromHex(nHex);
    let two = new StaticArray<u32>(limbs);
    unchecked(two[0] = 2);
    subInPlace(changetype<usize>(nm2), changetype<usize>(two), limbs);
    let lim = limbsFromHex(pHex);
    subInPlace(changetype<usize>(lim), n.m, limbs);
    let pm2 = limbsFromHex(pHex);
    subInPlace(changetype<usize>(pm2), changetype<usize>(two), limbs);
    let table = new StaticArray<u8>(<i32>G_TABLE * SPLIT);
    let g = changetype<usize>(table);
    toMont(g, changetype<usize>(limbsFromHex(gxHex)), p);
    toMont(g + FE, changetype<usize>(limbsFromHex(gyHex)), p);
    this.size = size;
    this.limbs = limbs;
    this.partBits = partBits;
    this.p = p;
    this.n = n;
    this.bArr = bArr;
    this.b = changetype<usize>(bArr);
    this.nMinus2 = nm2;
    this.pMinus2 = pm2;
    this.rPlusNlimit = lim;
    this.gTable = table;
  }
}

let p256: Curve | null = null;
let p384: Curve | null = null;
let p521: Curve | null = null;

export function curveP256(): Curve {
  if (p256 == null) p256 = new Curve(32, 64,
    "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
    "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
    "5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b",
    "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
    "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
  return p256!;
}

export function curveP384(): Curve {
  if (p384 == null) p384 = new Curve(48, 96,
    "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
    "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aef",
    "aa87ca22be8b05378eb1c71ef320ad746e1d3b628ba79b9859f741e082542a385502f25dbf55296c3a545e3872760ab7",
    "3617de4a96262c6f5d9e98bf9292dc29f8f41dbd289a147ce9da3113b5f0b8c00a60b1ce1d7e819d7a431d7c90ea0e5f");
  return p384!;
}

export function curveP521(): Curve {
  if (p521 == null) p521 = new Curve(66, 131,
    "000001ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "000001fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409",
    "00000051953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00",
    "000000c6858e06b70404e9cd9e3ecb662395b4429c648139053fb521f828af606b4d3dbaa14b5e77efe75928fe1dc127a2ffa8de3348b3c1856a429bf97e7e31c2e5bd66",
    "0000011839296a789a3bc0045c8a5fb42c7d1bd998f54449579b446817afbd17273e662c97ee72995ef42640c550b9013fad0761353c7086a272c24088be94769fd16650");
  return p521!;
}
