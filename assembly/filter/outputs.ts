// What a verified token adds to the request: its identity headers (jwt/identity.ts: the subject
// header, claim headers and the payload header). stream.ts removes the tokens themselves unless
// forwardOriginalToken.
import { MapType, HeaderName, setHeaderBytes } from "../host/headers";
import { Identity } from "../jwt/identity";

/** Does `id` write header `h`? (By name: two jwtRules may configure the same header.) */
export function writes(id: Identity, h: HeaderName): bool {
  const b = h.bytes;
  for (let i = 0; i < id.names.length; i++) {
    const n = unchecked(id.names[i]).bytes;
    if (n == b || (n.byteLength == b.byteLength && memory.compare(changetype<usize>(n), changetype<usize>(b), b.byteLength) == 0)) return true;
  }
  return false;
}

export function writeIdentityHeaders(id: Identity): void {
  for (let i = 0; i < id.names.length; i++) setHeaderBytes(MapType.Request, unchecked(id.names[i]), unchecked(id.values[i]));
}
