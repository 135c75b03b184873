// OpenID Connect Discovery 1.0: `<issuer>/.well-known/openid-configuration` names the provider's
// `jwks_uri`. The document is only believed for the issuer it was fetched for (§4.3: its `issuer`
// must be identical to the issuer the configuration expects).
import { JsonKind, parseJson, lastJsonError } from "../util/json";

export const WELL_KNOWN = "/.well-known/openid-configuration";

export class UrlParts {
  scheme: string = "";
  authority: string = "";   // host[:port]
  path: string = "/";       // path and query, without a fragment
}

let lastError = "";
export function lastDiscoveryError(): string { return lastError; }

/** An absolute http(s) URL split into scheme, authority and path+query; null otherwise. */
export function splitUrl(url: string): UrlParts | null {
  const out = new UrlParts();
  let rest: string;
  if (url.startsWith("https://")) { out.scheme = "https"; rest = url.substring(8); }
  else if (url.startsWith("http://")) { out.scheme = "http"; rest = url.substring(7); }
  else return null;
  let end = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const c = rest.charCodeAt(i);
    if (c == 0x2F || c == 0x3F || c == 0x23) { end = i; break; }   // / ? #
  }
  out.authority = rest.substring(0, end);
  if (out.authority.length == 0 || out.authority.includes("@")) return null;
  for (let i = 0; i < out.authority.length; i++) {
    const c = out.authority.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7F || c == 0x5C) return null;
  }
  let tail = rest.substring(end);
  const hash = tail.indexOf("#");
  if (hash >= 0) tail = tail.substring(0, hash);
  for (let i = 0; i < tail.length; i++) {
    const c = tail.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7F) return null;
  }
  if (tail.startsWith("?")) tail = "/" + tail;
  out.path = tail.length == 0 ? "/" : tail;
  return out;
}

/** Where an issuer's discovery document lives (§4: the issuer's path, then the well-known suffix). */
export function discoveryPath(issuer: UrlParts): string {
  let p = issuer.path;
  const q = p.indexOf("?");
  if (q >= 0) p = p.substring(0, q);
  while (p.endsWith("/")) p = p.substring(0, p.length - 1);
  return p + WELL_KNOWN;
}

/** The document's jwks_uri, once its issuer is exactly `issuer`; null with lastDiscoveryError() otherwise. */
export function parseDiscovery(text: string, issuer: string, maxDepth: i32): UrlParts | null {
  const doc = parseJson(text, maxDepth);
  if (doc === null || doc.kind != JsonKind.Object) {
    lastError = "the discovery document is not a JSON object" + (doc === null ? " (" + lastJsonError() + ")" : "");
    return null;
  }
  const iss = doc.get("issuer");
  if (iss === null || iss.kind != JsonKind.String) { lastError = "the discovery document has no issuer"; return null; }
  if (iss.str != issuer) { lastError = "the discovery document is for issuer \"" + iss.str + "\", not \"" + issuer + "\""; return null; }
  const uri = doc.get("jwks_uri");
  if (uri === null || uri.kind != JsonKind.String) { lastError = "the discovery document has no jwks_uri"; return null; }
  const parts = splitUrl(uri.str);
  if (parts === null) { lastError = "jwks_uri \"" + uri.str + "\" is not an absolute http(s) URL"; return null; }
  return parts;
}
