// A parsed JWKS: RSA, EC (P-256, P-384), OKP (Ed25519) and oct keys, each ready to verify
// (Montgomery constants, curve points and host DER precomputed once per fetch, not per request).
import { JsonValue, JsonKind, parseJson, lastJsonError } from "../util/json";
import { base64urlDecodeString } from "../util/base64";
import { RsaPublicKey, EcPublicKey, Ed25519PublicKey } from "../crypto/index";
import { rsaSpki, ecSpki } from "./der";
import { certificateJwk, isPemCertificate, lastX509Error } from "./x509";

export enum KeyType { RSA = 0, EC256 = 1, EC384 = 2, Ed25519 = 3, Oct = 4 }

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

function b64(k: JsonValue, name: string): Uint8Array | null {
  const s = field(k, name);
  return s === null ? null : base64urlDecodeString(s);
}

function parseKey(k: JsonValue): Jwk | null {
  if (k.kind != JsonKind.Object) { lastError = "not an object"; return null; }
  const use = field(k, "use");
  if (use !== null && use != "sig") { lastError = "use is \"" + use + "\", not \"sig\""; return null; }
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
    const bits = crv == "P-256" ? 256 : crv == "P-384" ? 384 : 0;
    if (bits == 0) { lastError = "EC curve \"" + (crv !== null ? crv : "") + "\" is not supported"; return null; }
    if (x === null || y === null || x.length != bits / 8 || y.length != bits / 8) { lastError = "EC key needs x and y of the curve's size"; return null; }
    const key = EcPublicKey.create(bits, x, y);
    if (key === null) { lastError = "EC point is not on the curve"; return null; }
    jwk.type = bits == 256 ? KeyType.EC256 : KeyType.EC384;
    jwk.ec = key;
    jwk.spki = ecSpki(bits, x, y);
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
