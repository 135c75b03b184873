// Google's X.509 key map, `{"<kid>": "-----BEGIN CERTIFICATE-----\n...\n-----END CERTIFICATE-----\n"}`,
// as served for Google service accounts and Firebase ID tokens. Only the certificate's
// SubjectPublicKeyInfo is read (RSA, or EC with a named curve); it becomes the equivalent JWK,
// which keys.ts then checks like any other key. Like jwt_authn's PEM keys, the certificate's
// signature and validity dates are not checked: the key map is trusted the way a JWKS is, by
// where it was fetched from, and rotated by being re-fetched.
import { JsonValue } from "../util/json";
import { base64urlDecodeString, base64urlEncode } from "../util/base64";

const BEGIN = "-----BEGIN CERTIFICATE-----";
const END = "-----END CERTIFICATE-----";

const OID_RSA: u8[] = [0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const OID_EC: u8[] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const OID_P256: u8[] = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const OID_P384: u8[] = [0x2b, 0x81, 0x04, 0x00, 0x22];
const OID_P521: u8[] = [0x2b, 0x81, 0x04, 0x00, 0x23];

let lastError = "";
export function lastX509Error(): string { return lastError; }

/** True when a string looks like one PEM certificate (the map's values). */
export function isPemCertificate(s: string): bool { return s.trimStart().startsWith(BEGIN); }

// One DER tag-length-value: content at [start, end).
class Tlv {
  tag: u8 = 0;
  start: i32 = 0;
  end: i32 = 0;
}

function readTlv(d: Uint8Array, pos: i32, limit: i32, out: Tlv): bool {
  if (pos < 0 || pos + 2 > limit) return false;
  out.tag = d[pos];
  let p = pos + 1;
  let len: i32 = d[p++];
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n == 0 || n > 3 || p + n > limit) return false;   // indefinite or > 16 MiB: not a key
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | <i32>d[p++];
  }
  if (p + len > limit) return false;
  out.start = p;
  out.end = p + len;
  return true;
}

function equals(d: Uint8Array, t: Tlv, oid: u8[]): bool {
  if (t.tag != 0x06 || t.end - t.start != oid.length) return false;
  for (let i = 0; i < oid.length; i++) if (d[t.start + i] != oid[i]) return false;
  return true;
}

function fail(why: string): JsonValue | null { lastError = why; return null; }

function pemBody(pem: string): Uint8Array | null {
  const s = pem.trim();
  if (!s.startsWith(BEGIN) || !s.endsWith(END)) return null;
  const body = s.substring(BEGIN.length, s.length - END.length);
  // Standard base64 with line breaks (RFC 7468) to the canonical unpadded base64url the strict decoder takes.
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c == 0x0A || c == 0x0D || c == 0x20 || c == 0x09 || c == 0x3D) continue;
    if (c == 0x2B) out += "-";
    else if (c == 0x2F) out += "_";
    else if (c == 0x2D || c == 0x5F) return null;   // base64url characters are not PEM
    else out += String.fromCharCode(c);
  }
  return base64urlDecodeString(out);
}

function unsignedB64(d: Uint8Array, t: Tlv): string {
  let s = t.start;
  while (s < t.end - 1 && d[s] == 0) s++;
  return base64urlEncode(d.subarray(s, t.end));
}

/** The certificate's public key as a JWK object with `kid`, or null (see lastX509Error()). */
export function certificateJwk(kid: string, pem: string): JsonValue | null {
  const der = pemBody(pem);
  if (der === null) return fail("not a PEM certificate");
  const n = der.length;
  const cert = new Tlv();
  const tbs = new Tlv();
  const t = new Tlv();
  if (!readTlv(der, 0, n, cert) || cert.tag != 0x30 || cert.end != n) return fail("not a DER certificate");
  if (!readTlv(der, cert.start, cert.end, tbs) || tbs.tag != 0x30) return fail("not a DER certificate");
  // TBSCertificate: [0] version?, serialNumber, signature, issuer, validity, subject, subjectPublicKeyInfo.
  let p = tbs.start;
  if (!readTlv(der, p, tbs.end, t)) return fail("truncated certificate");
  if (t.tag == 0xA0) { p = t.end; }
  for (let i = 0; i < 5; i++) {
    if (!readTlv(der, p, tbs.end, t)) return fail("truncated certificate");
    p = t.end;
  }
  const spki = new Tlv();
  if (!readTlv(der, p, tbs.end, spki) || spki.tag != 0x30) return fail("no subjectPublicKeyInfo");
  const algId = new Tlv();
  const bits = new Tlv();
  if (!readTlv(der, spki.start, spki.end, algId) || algId.tag != 0x30) return fail("bad subjectPublicKeyInfo");
  if (!readTlv(der, algId.end, spki.end, bits) || bits.tag != 0x03 || bits.end - bits.start < 2 || der[bits.start] != 0) return fail("bad public key bit string");
  const oid = new Tlv();
  if (!readTlv(der, algId.start, algId.end, oid)) return fail("bad key algorithm");
  const jwk = JsonValue.newObject();
  if (equals(der, oid, OID_RSA)) {
    const seq = new Tlv();
    const mod = new Tlv();
    const exp = new Tlv();
    if (!readTlv(der, bits.start + 1, bits.end, seq) || seq.tag != 0x30) return fail("bad RSA public key");
    if (!readTlv(der, seq.start, seq.end, mod) || mod.tag != 0x02) return fail("bad RSA modulus");
    if (!readTlv(der, mod.end, seq.end, exp) || exp.tag != 0x02) return fail("bad RSA exponent");
    jwk.set("kty", JsonValue.ofString("RSA"));
    jwk.set("n", JsonValue.ofString(unsignedB64(der, mod)));
    jwk.set("e", JsonValue.ofString(unsignedB64(der, exp)));
  } else if (equals(der, oid, OID_EC)) {
    const curve = new Tlv();
    if (!readTlv(der, oid.end, algId.end, curve)) return fail("EC key without a named curve");
    const crv = equals(der, curve, OID_P256) ? "P-256" : equals(der, curve, OID_P384) ? "P-384" : equals(der, curve, OID_P521) ? "P-521" : "";
    if (crv.length == 0) return fail("EC curve is not supported");
    const point = bits.start + 1;
    const len = bits.end - point;
    if (der[point] != 0x04 || (len & 1) == 0) return fail("EC point is not uncompressed");
    const half = (len - 1) >> 1;
    jwk.set("kty", JsonValue.ofString("EC"));
    jwk.set("crv", JsonValue.ofString(crv));
    jwk.set("x", JsonValue.ofString(base64urlEncode(der.subarray(point + 1, point + 1 + half))));
    jwk.set("y", JsonValue.ofString(base64urlEncode(der.subarray(point + 1 + half, bits.end))));
  } else {
    return fail("certificate key algorithm is not supported");
  }
  jwk.set("kid", JsonValue.ofString(kid));
  return jwk;
}
