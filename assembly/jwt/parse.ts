// Splits and decodes a compact JWS without copying the token: the signing input is a view
// over the bytes the host handed us. Strict base64url and a depth-bounded strict JSON reader.
import { JsonValue, JsonKind, parseJsonBytes } from "../util/json";
import { base64urlDecode } from "../util/base64";
import { Status } from "./status";

// NumericDate (RFC 7519 §2): any non-negative JSON number, fractions dropped as jwt_verify_lib
// does. Bounded by 2^53 (exactly representable, ~285 million years), so that date arithmetic with
// skew and lifetimes can never overflow; beyond that a date is garbage, not a date.
const MAX_DATE: i64 = 9007199254740991;

export class Jwt {
  buf: ArrayBuffer = new ArrayBuffer(0);
  start: i32 = 0;
  len: i32 = 0;
  dot1: i32 = 0;          // offsets of the two dots, relative to start
  dot2: i32 = 0;
  alg: string = "";
  kid: string | null = null;
  header: JsonValue | null = null;
  payload: JsonValue | null = null;
  signature: Uint8Array = new Uint8Array(0);
  iss: string | null = null;
  sub: string | null = null;
  aud: string[] = [];
  hasExp: bool = false;
  exp: i64 = 0;
  hasNbf: bool = false;
  nbf: i64 = 0;
  hasIat: bool = false;
  iat: i64 = 0;

  // The bytes that were signed: "<header>.<payload>", as a view (no copy).
  signingInput(): Uint8Array { return Uint8Array.wrap(this.buf, this.start, this.dot2); }
  // The payload's base64url text, as Istio/Envoy forward it in outputPayloadToHeader.
  payloadB64(): ArrayBuffer { return this.buf.slice(this.start + this.dot1 + 1, this.start + this.dot2); }
  text(): string { return String.UTF8.decodeUnsafe(changetype<usize>(this.buf) + this.start, this.len); }
}

export function parseJwt(buf: ArrayBuffer, start: i32, len: i32, maxDepth: i32, out: Jwt): Status {
  out.buf = buf;
  out.start = start;
  out.len = len;
  const base = changetype<usize>(buf) + <usize>start;
  let dot1 = -1;
  let dot2 = -1;
  for (let i = 0; i < len; i++) {
    if (load<u8>(base + i) == 0x2E) {
      if (dot1 < 0) dot1 = i;
      else if (dot2 < 0) dot2 = i;
      else return Status.JwtBadFormat;   // five-part JWE or garbage
    }
  }
  if (dot1 <= 0 || dot2 <= dot1 + 1 || dot2 >= len - 1) return Status.JwtBadFormat;
  out.dot1 = dot1;
  out.dot2 = dot2;

  const headerBytes = base64urlDecode(base, dot1);
  if (headerBytes === null) return Status.JwtHeaderParseErrorBadBase64;
  const header = parseJsonBytes(headerBytes.dataStart, headerBytes.length, maxDepth);
  if (header === null || header.kind != JsonKind.Object) return Status.JwtHeaderBadJson;
  out.header = header;
  const alg = header.get("alg");
  if (alg === null || alg.kind != JsonKind.String) return Status.JwtHeaderBadAlg;
  out.alg = alg.str;
  const kid = header.get("kid");
  if (kid !== null) {
    if (kid.kind != JsonKind.String) return Status.JwtHeaderBadKid;
    out.kid = kid.str;
  } else {
    out.kid = null;
  }
  // We implement no JWS extensions, so any `crit` entry is one we do not understand (RFC 7515 §4.1.11).
  if (header.has("crit")) return Status.JwtHeaderBadCrit;

  const payloadBytes = base64urlDecode(base + dot1 + 1, dot2 - dot1 - 1);
  if (payloadBytes === null) return Status.JwtPayloadParseErrorBadBase64;
  const payload = parseJsonBytes(payloadBytes.dataStart, payloadBytes.length, maxDepth);
  if (payload === null || payload.kind != JsonKind.Object) return Status.JwtPayloadBadJson;
  out.payload = payload;

  const sig = base64urlDecode(base + dot2 + 1, len - dot2 - 1);
  if (sig === null) return Status.JwtSignatureParseErrorBadBase64;
  out.signature = sig;

  out.iss = null;
  const iss = payload.get("iss");
  if (iss !== null) {
    if (iss.kind != JsonKind.String) return Status.JwtPayloadParseErrorIssNotString;
    out.iss = iss.str;
  }
  out.sub = null;
  const sub = payload.get("sub");
  if (sub !== null) {
    if (sub.kind != JsonKind.String) return Status.JwtPayloadParseErrorSubNotString;
    out.sub = sub.str;
  }
  out.aud = [];
  const aud = payload.get("aud");
  if (aud !== null) {
    if (aud.kind == JsonKind.String) {
      out.aud.push(aud.str);
    } else if (aud.kind == JsonKind.Array) {
      for (let i = 0; i < aud.items.length; i++) {
        if (aud.items[i].kind != JsonKind.String) return Status.JwtPayloadParseErrorAudNotString;
        out.aud.push(aud.items[i].str);
      }
    } else {
      return Status.JwtPayloadParseErrorAudNotString;
    }
  }
  const exp = payload.get("exp");
  out.hasExp = exp !== null;
  if (exp !== null) {
    if (!isDate(exp)) return Status.JwtPayloadParseErrorExpNotInteger;
    out.exp = dateOf(exp);
  }
  const nbf = payload.get("nbf");
  out.hasNbf = nbf !== null;
  if (nbf !== null) {
    if (!isDate(nbf)) return Status.JwtPayloadParseErrorNbfNotInteger;
    out.nbf = dateOf(nbf);
  }
  const iat = payload.get("iat");
  out.hasIat = iat !== null;
  if (iat !== null) {
    if (!isDate(iat)) return Status.JwtPayloadParseErrorIatNotInteger;
    out.iat = dateOf(iat);
  }
  return Status.Ok;
}

function isDate(v: JsonValue): bool {
  if (v.kind != JsonKind.Number) return false;
  if (v.isInt) return v.int >= 0 && v.int <= MAX_DATE;
  // 1.30081938e+09, now + 3600.5: finite (the reader refuses anything else), checked as a double.
  return v.num >= 0 && v.num <= <f64>MAX_DATE;
}

function dateOf(v: JsonValue): i64 {
  return v.isInt ? v.int : <i64>Math.floor(v.num);
}
