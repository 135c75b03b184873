// The downstream connection as Envoy verified it. The calling workload is the URI SAN (SPIFFE ID)
// of the mTLS peer certificate, exactly what Istio's `source.principal` is; nothing in the request
// can change it.
import { getPropertyEncoded } from "./buffers";

const URI_SAN = String.UTF8.encode("connection\0uri_san_peer_certificate");

// The verified peer's URI SAN, or null without mTLS (or without a URI SAN).
export function peerUriSan(): string | null {
  const v = getPropertyEncoded(URI_SAN);
  return v === null || v.byteLength == 0 ? null : String.UTF8.decode(v);
}
