// What a verified token adds to the request: the subject header, claim headers, the payload
// header, and the token itself removed unless forwardOriginalToken.
import { MapType, setHeader, setHeaderBytes, removeHeader } from "../host/headers";
import { Config, JwtRule } from "../config/types";
import { JsonValue, JsonKind } from "../util/json";
import { base64Encode } from "../util/base64";
import { Jwt } from "../jwt/parse";
import { Extracted } from "../jwt/extract";

export function writeIdentityHeaders(c: Config, jr: JwtRule, jwt: Jwt, token: Extracted): void {
  const sub = jwt.sub;
  if (sub !== null && isSafe(sub)) setHeader(MapType.Request, c.subjectHeader, sub);
  for (let i = 0; i < jr.outputClaimToHeaders.length; i++) {
    const ch = unchecked(jr.outputClaimToHeaders[i]);
    const v = claimAt(jwt.payload!, ch.claim);
    if (v === null) continue;
    const text = claimText(v);
    if (text !== null) setHeader(MapType.Request, ch.header, text);
  }
  const ph = jr.outputPayloadToHeader;
  if (ph !== null) setHeaderBytes(MapType.Request, ph, jwt.payloadB64());
  const from = token.header;
  if (!jr.forwardOriginalToken && from !== null) removeHeader(MapType.Request, from);
}

// Dotted paths walk nested objects: "realm_access.roles".
export function claimAt(payload: JsonValue, path: string[]): JsonValue | null {
  let v: JsonValue | null = payload;
  for (let i = 0; i < path.length && v !== null; i++) v = v.get(unchecked(path[i]));
  return v;
}

// Strings as they are; numbers and booleans as text; objects and lists as base64 JSON.
// A value that would break the header (control characters) is dropped, never injected.
export function claimText(v: JsonValue): string | null {
  if (v.kind == JsonKind.String) return isSafe(v.str) ? v.str : null;
  if (v.kind == JsonKind.Number || v.kind == JsonKind.Bool) return v.toJSON();
  if (v.kind == JsonKind.Object || v.kind == JsonKind.Array) return base64Encode(Uint8Array.wrap(String.UTF8.encode(v.toJSON())));
  return null;
}

function isSafe(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c == 0x7F) return false;
  }
  return true;
}
