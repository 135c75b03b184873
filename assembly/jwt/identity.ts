// Who a verified token says the caller is: its subject and configured claims, as the header
// values the filter writes (filter/outputs.ts), encoded once and kept with the cached token so
// that a cache hit writes bytes without re-deriving them.
import { HeaderName } from "../host/headers";
import { Config, JwtRule } from "../config/types";
import { JsonValue, JsonKind } from "../util/json";
import { base64Encode } from "../util/base64";
import { Jwt } from "./parse";

// The identity headers of one verified token.
export class Identity {
  names: HeaderName[] = [];
  values: ArrayBuffer[] = [];
  add(name: HeaderName, value: ArrayBuffer): void { this.names.push(name); this.values.push(value); }
}

export function identityOf(c: Config, jr: JwtRule, jwt: Jwt): Identity {
  const id = new Identity();
  const sub = jwt.sub;
  if (sub !== null && isSafe(sub)) id.add(c.subjectHeader, String.UTF8.encode(sub));
  for (let i = 0; i < jr.outputClaimToHeaders.length; i++) {
    const ch = unchecked(jr.outputClaimToHeaders[i]);
    const v = claimAt(jwt.payload!, ch.claim);
    if (v === null) continue;
    const text = claimText(v);
    if (text !== null) id.add(ch.header, String.UTF8.encode(text));
  }
  const ph = jr.outputPayloadToHeader;
  if (ph !== null) id.add(ph, jwt.payloadB64());
  return id;
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
