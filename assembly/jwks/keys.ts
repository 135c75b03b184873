// A parsed JWKS: RSA, EC (P-256, P-384, P-521), OKP (Ed25519) and oct keys, each ready to verify
// (Montgomery constants, curve points and host DER precomputed once per fetch, not per request).
import { JsonValue, JsonKind, parseJson, lastJsonError } from "../util/json";
import { base64urlDecodeString } from "../util/base64";
import { RsaPublicKey, EcPublicKey, Ed25519PublicKey } from "../crypto/index";
import { rsaSpki, ecSpki } from "./der";
import { certificateJwk, isPemCertificate, lastX509Error } from "./x509";

export enum KeyType { RSA = 0, EC256 = 1, EC384 = 2, Ed25519 = 3, Oct = 4, EC521 = 5 }

export class Jwk {
  kid: string | null = null;
  alg: string | null = null;
  type: KeyType = KeyType.RSA;
  rsa: RsaPublicKey | null = null;
  ec: EcPublicKey | null = null;
  ed: Ed25519PublicKey | null = null;
  secret: Uint8Array | null = null;
  spki: Uint8Array | null = null;     // for the host's verify_signature (RSA and EC)
}

export class KeySet {
  keys: Jwk[] = [];
  skipped: string[] = [];             // why keys were ignored, for the log
}

let lastError = "";
export function lastJwksError(): string { return lastError; }

// Null when the document is not a JWKS or holds no usable signing key.
export function parseJwks(text: string, maxDepth: i32): KeySet | null {
  const doc = parseJson(text, maxDepth);
  if (doc === null) { lastError = "JWKS is not valid JSON (" + lastJsonError() + ")"; return null; }
  const keys = doc.get("keys");
  const set = new KeySet();
  if (keys === null && isCertificateMap(doc)) {
    // Google's X.509 key map: {"<kid>": "<PEM certificate>", ...}.
    for (let i = 0; i < doc.keys.length; i++) {
      const kid = doc.keys[i];
      const jwk = certificateJwk(kid, doc.values[i].str);
      const k = jwk !== null ? parseKey(jwk) : null;
      if (k === null) set.skipped.push("\"" + kid + "\": " + (jwk === null ? lastX509Error() : lastError));
      else set.keys.push(k);
    }
  } else {
    if (keys === null || keys.kind != JsonKind.Array) { lastError = "JWKS has no \"keys\" list"; return null; }
    for (let i = 0; i < keys.items.length; i++) {
      const k = parseKey(keys.items[i]);
      if (k === null) set.skipped.push("keys[" + i.toString() + "]" + kidOf(keys.items[i]) + ": " + lastError);
      else set.keys.push(k);
    }
  }
  if (set.keys.length == 0) { lastError = "JWKS has no usable signing key" + (set.skipped.length > 0 ? " (" + set.skipped.join("; ") + ")" : ""); return null; }
  return set;
}

function isCertificateMap(doc: JsonValue): bool {
  if (doc.kind != JsonKind.Object) return false;
  for (let i = 0; i < doc.values.length; i++) {
    const v = doc.values[i];
    if (v.kind == JsonKind.String && isPemCertificate(v.str)) return true;
  }
  return false;
}

function kidOf(k: JsonValue): string {
  const kid = field(k, "kid");
  return kid !== null ? " (kid \"" + kid + "\")" : "";
}

// A JWK's curve: its crv, else what its alg names, else what its coordinate length implies.
function ecCurve(k: JsonValue): string | null {
  const crv = field(k, "crv");
  if (crv !== null) return crv;
  const alg = field(k, "alg");
  if (alg == "ES256") return "P-256";
  if (alg == "ES384") return "P-384";
  if (alg == "ES512") return "P-521";
  if (alg !== null) return null;
  const x = field(k, "x");
  const n = x !== null ? x.length : 0;   // base64url characters of the coordinate
  return n == 43 ? "P-256" : n == 64 ? "P-384" : n == 88 ? "P-521" : null;
}

function field(k: JsonValue, name: string): string | null {
  const v = k.get(name);
  return v !== null && v.kind == JsonKind.String ? v.str : null;
}

function hasString(list: JsonValue, s: string): bool {
  for (let i = 0; i < list.items.length; i++) {
    const v = list.items[i];
    if (v.kind == JsonKind.String && v.str == s) return true;
  }
  return false;
}

function b64(k: JsonValue, name: string): Uint8Array | null {
  const s = field(k, name);
  return s === null ? null : base64urlDecodeString(s);
}

function parseKey(k: JsonValue): Jwk | null {
  if (k.kind != JsonKind.Object) { lastError = "not an object"; return null; }
  const use = field(k, "use");
  if (use !== null && use != "sig") { lastError = "use is \"" + use + "\", not \"sig\""; return null; }
  // RFC 7517 §4.3: key_ops, when present, must allow "verify" (Wycheproof rejectWrongKeyOps).
  const ops = k.get("key_ops");
  if (ops !== null && (ops.kind != JsonKind.Array || !hasString(ops, "verify"))) { lastError = "key_ops " + ops.toJSON() + " does not include \"verify\""; return null; }
  const kty = field(k, "kty");
  const jwk = new Jwk();
  jwk.kid = field(k, "kid");
  jwk.alg = field(k, "alg");
  if (kty == "RSA") {
    const n = b64(k, "n");
    const e = b64(k, "e");
    if (n === null || e === null) { lastError = "RSA key needs base64url n and e"; return null; }
    const key = RsaPublicKey.create(n, e);
    if (key === null) { lastError = "RSA key is unusable (modulus under 2048 bits, even, or bad exponent)"; return null; }
    jwk.type = KeyType.RSA;
    jwk.rsa = key;
    jwk.spki = rsaSpki(n, e);
    return jwk;
  }
  if (kty == "EC") {
    const crv = ecCurve(k);
    const x = b64(k, "x");
    const y = b64(k, "y");
    const bits = crv == "P-256" ? 256 : crv == "P-384" ? 384 : crv == "P-521" ? 521 : 0;
    if (bits == 0) { lastError = "EC curve \"" + (crv !== null ? crv : "") + "\" is not supported"; return null; }
    const size = (bits + 7) >> 3; // RFC 7518 §6.2.1.2: full-size coordinates (66 octets for P-521)
    if (x === null || y === null || x.length != size || y.length != size) { lastError = "EC key needs x and y of the curve's size"; return null; }
    const key = EcPublicKey.create(bits, x, y);
    if (key === null) { lastError = "EC point is not on the curve"; return null; }
    jwk.type = bits == 256 ? KeyType.EC256 : bits == 384 ? KeyType.EC384 : KeyType.EC521;
    jwk.ec = key;
    jwk.spki = bits == 521 ? p521Spki(x, y) : ecSpki(bits, x, y);
    return jwk;
  }
  if (kty == "OKP") {
    const crv = field(k, "crv");
    const x = b64(k, "x");
    if (crv != "Ed25519") { lastError = "OKP curve must be Ed25519"; return null; }
    if (x === null || x.length != 32) { lastError = "Ed25519 key needs a 32-byte x"; return null; }
    const key = Ed25519PublicKey.create(x);
    if (key === null) { lastError = "Ed25519 key is not a valid point"; return null; }
    jwk.type = KeyType.Ed25519;
    jwk.ed = key;
    return jwk;
  }
  if (kty == "oct") {
    const s = b64(k, "k");
    if (s === null || s.length < 32) { lastError = "oct key needs k of at least 256 bits"; return null; }
    jwk.type = KeyType.Oct;
    jwk.secret = s;
    return jwk;
  }
  lastError = "kty \"" + (kty !== null ? kty : "") + "\" is not supported";
  return null;
}

// DER SubjectPublicKeyInfo of a P-521 key (id-ecPublicKey, secp521r1 = 1.3.132.0.35, uncompressed
// point): fixed-size, so a constant prefix and the two 66-byte coordinates.
const P521_SPKI_PREFIX: u8[] = [0x30, 0x81, 0x9b, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01,
  0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23, 0x03, 0x81, 0x86, 0x00, 0x04];
function p521Spki(x: Uint8Array, y: Uint8Array): Uint8Array {
  const n = P521_SPKI_PREFIX.length;
  const out = new Uint8Array(n + 132);
  for (let i = 0; i < n; i++) out[i] = P521_SPKI_PREFIX[i];
  out.set(x, n);
  out.set(y, n + 66);
  return out;
}
