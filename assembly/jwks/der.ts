// DER SubjectPublicKeyInfo for Envoy's verify_signature, built once per key at JWKS parse time.
const RSA_ALG: u8[] = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];
const EC_P256_ALG: u8[] = [0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const EC_P384_ALG: u8[] = [0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22];

function pushLen(out: u8[], n: i32): void {
  if (n < 0x80) { out.push(<u8>n); return; }
  if (n < 0x100) { out.push(0x81); out.push(<u8>n); return; }
  if (n < 0x10000) { out.push(0x82); out.push(<u8>(n >> 8)); out.push(<u8>n); return; }
  out.push(0x83); out.push(<u8>(n >> 16)); out.push(<u8>(n >> 8)); out.push(<u8>n);
}

function tlv(tag: u8, body: u8[]): u8[] {
  const out = new Array<u8>();
  out.push(tag);
  pushLen(out, body.length);
  for (let i = 0; i < body.length; i++) out.push(body[i]);
  return out;
}

// Unsigned big-endian integer: strip leading zeros, then add one if the top bit is set.
function derInt(v: Uint8Array): u8[] {
  let s = 0;
  while (s < v.length - 1 && v[s] == 0) s++;
  const body = new Array<u8>();
  if (v.length == 0 || (v[s] & 0x80) != 0) body.push(0);
  for (let i = s; i < v.length; i++) body.push(v[i]);
  return tlv(0x02, body);
}

function concat(a: u8[], b: u8[]): u8[] {
  const out = a.slice(0);
  for (let i = 0; i < b.length; i++) out.push(b[i]);
  return out;
}

function bytes(a: u8[]): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i];
  return out;
}

export function rsaSpki(n: Uint8Array, e: Uint8Array): Uint8Array {
  const rsaKey = tlv(0x30, concat(derInt(n), derInt(e)));
  const bits = new Array<u8>();
  bits.push(0);
  for (let i = 0; i < rsaKey.length; i++) bits.push(rsaKey[i]);
  return bytes(tlv(0x30, concat(RSA_ALG, tlv(0x03, bits))));
}

export function ecSpki(bitsOfCurve: i32, x: Uint8Array, y: Uint8Array): Uint8Array {
  const point = new Array<u8>();
  point.push(0);      // no unused bits
  point.push(0x04);   // uncompressed
  for (let i = 0; i < x.length; i++) point.push(x[i]);
  for (let i = 0; i < y.length; i++) point.push(y[i]);
  return bytes(tlv(0x30, concat(bitsOfCurve == 256 ? EC_P256_ALG : EC_P384_ALG, tlv(0x03, point))));
}

// JWS ES* signatures are raw r||s; BoringSSL wants DER ECDSA-Sig-Value.
export function ecdsaRawToDer(sig: Uint8Array): Uint8Array {
  const half = sig.length >> 1;
  const r = derInt(sig.subarray(0, half));
  const s = derInt(sig.subarray(half));
  return bytes(tlv(0x30, concat(r, s)));
}
