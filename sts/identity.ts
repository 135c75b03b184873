// Who is calling: the SPIFFE ID of the verified mTLS peer, either from the TLS session the STS
// terminated itself (peerIdentity "tls") or from the `x-forwarded-client-cert` header its own
// sidecar set after terminating mTLS (peerIdentity "xfcc"; the LAST element is the sidecar's).
import type { IncomingHttpHeaders } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Socket } from "node:net";

export interface SpiffeId {
  id: string;
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
}

// spiffe://<td>/ns/<namespace>/sa/<service-account>: the form Istio issues. Labels are strict on
// purpose: nothing that could be a path trick (., .., %, empty segments) is a workload name.
const SPIFFE = /^spiffe:\/\/([a-z0-9.-]{1,255})\/ns\/([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)\/sa\/([a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?)$/;

/** Parses an Istio-form SPIFFE ID; undefined for anything else. */
export function parseSpiffeId(id: string): SpiffeId | undefined {
  const m = SPIFFE.exec(id);
  if (!m) return undefined;
  return { id, trustDomain: m[1], namespace: m[2], serviceAccount: m[4] };
}

export function spiffeIdOf(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/**
 * Parses an `x-forwarded-client-cert` value into its elements (one per hop), each a list of
 * [key, value] pairs with keys lower-cased. Elements are separated by `,`, pairs by `;`, key and
 * value by `=`; a value may be double-quoted, and inside quotes `,`, `;` and `=` are literal and
 * `\"` is an escaped quote (Envoy quotes Subject and any value with those characters).
 * Throws on a syntax error (an unterminated quote, a pair without `=`).
 */
export function parseXfcc(header: string): [string, string][][] {
  const elements: [string, string][][] = [];
  let pairs: [string, string][] = [];
  let i = 0;
  const n = header.length;
  const skipSpace = () => {
    while (i < n && (header[i] === " " || header[i] === "\t")) i++;
  };
  for (let guard = 0; guard <= n + 1; guard++) {
    skipSpace();
    // key
    let key = "";
    while (i < n && header[i] !== "=" && header[i] !== ";" && header[i] !== ",") key += header[i++];
    key = key.trim();
    if (i >= n || header[i] !== "=") {
      if (key === "" && (i >= n || header[i] === "," || header[i] === ";")) {
        // empty pair/element (e.g. a trailing separator): tolerated
      } else {
        throw new Error("xfcc: pair without '='");
      }
    } else {
      i++; // '='
      let value = "";
      if (header[i] === '"') {
        i++;
        let closed = false;
        while (i < n) {
          const c = header[i++];
          if (c === "\\" && i < n) {
            value += header[i++];
          } else if (c === '"') {
            closed = true;
            break;
          } else value += c;
        }
        if (!closed) throw new Error("xfcc: unterminated quoted value");
        skipSpace();
        if (i < n && header[i] !== ";" && header[i] !== ",") throw new Error("xfcc: text after a quoted value");
      } else {
        while (i < n && header[i] !== ";" && header[i] !== ",") value += header[i++];
        value = value.trim();
      }
      pairs.push([key.toLowerCase(), value]);
    }
    if (i >= n) break;
    if (header[i] === ",") {
      elements.push(pairs);
      pairs = [];
    }
    i++; // ';' or ','
  }
  elements.push(pairs);
  return elements.filter((e) => e.length > 0);
}

/** The URI= of the last XFCC element (the hop closest to the STS: its own sidecar). */
export function xfccPeerUri(header: string | string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  // Several header lines are one list, in order (RFC 9110 §5.3).
  const text = Array.isArray(header) ? header.join(",") : header;
  let elements: [string, string][][];
  try {
    elements = parseXfcc(text);
  } catch {
    return undefined;
  }
  const last = elements.at(-1);
  if (!last) return undefined;
  const uris = last.filter(([k]) => k === "uri").map(([, v]) => v);
  // An SVID has exactly one URI SAN.
  return uris.length === 1 ? uris[0] : undefined;
}

/**
 * The URI SANs in Node's `subjectAltName` string ("URI:spiffe://..., DNS:localhost, IP Address:...").
 * Node JSON-quotes a value that contains a separator (URI:"a, b"), so a crafted SAN cannot add an
 * entry of its own.
 */
export function uriSans(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  const out: string[] = [];
  let i = 0;
  const s = subjectAltName;
  for (let guard = 0; i < s.length && guard <= s.length; guard++) {
    const colon = s.indexOf(":", i);
    if (colon < 0) break;
    const type = s.slice(i, colon);
    let value: string;
    let next: number;
    if (s[colon + 1] === '"') {
      // JSON string: find its end.
      let j = colon + 2;
      while (j < s.length && s[j] !== '"') j += s[j] === "\\" ? 2 : 1;
      try {
        value = JSON.parse(s.slice(colon + 1, j + 1)) as string;
      } catch {
        return [];
      }
      next = s.indexOf(", ", j + 1);
    } else {
      next = s.indexOf(", ", colon + 1);
      value = s.slice(colon + 1, next < 0 ? s.length : next);
    }
    if (type === "URI") out.push(value);
    if (next < 0) break;
    i = next + 2;
  }
  return out;
}

export type PeerIdentityMode = "tls" | "xfcc";

export type Caller =
  | { kind: "ok"; spiffe: SpiffeId }
  /** No authenticated caller at all (no TLS configured, no XFCC, no URI SAN). */
  | { kind: "unauthenticated"; reason: string }
  /** Authenticated, but not a SPIFFE ID of our trust domain and namespace. */
  | { kind: "unauthorized"; reason: string; id?: string };

export interface CallerPolicy {
  mode: PeerIdentityMode;
  tls: boolean;
  trustDomain: string;
  namespace: string;
}

/** The authenticated caller of one request, checked against trust domain and namespace. */
export function callerOf(socket: Socket, headers: IncomingHttpHeaders, policy: CallerPolicy): Caller {
  let uri: string | undefined;
  if (policy.mode === "xfcc") {
    uri = xfccPeerUri(headers["x-forwarded-client-cert"]);
    if (!uri) return { kind: "unauthenticated", reason: "no x-forwarded-client-cert URI" };
  } else {
    if (!policy.tls) return { kind: "unauthenticated", reason: "no mutual TLS configured" };
    const tls = socket as TLSSocket;
    if (typeof tls.getPeerX509Certificate !== "function" || !tls.authorized) {
      return { kind: "unauthenticated", reason: "no verified client certificate" };
    }
    const cert = tls.getPeerX509Certificate();
    const uris = uriSans(cert?.subjectAltName);
    if (uris.length !== 1) return { kind: "unauthenticated", reason: "client certificate has no single URI SAN" };
    uri = uris[0];
  }
  const id = parseSpiffeId(uri);
  if (!id) return { kind: "unauthorized", reason: "caller is not a SPIFFE workload ID", id: uri };
  if (id.trustDomain !== policy.trustDomain) return { kind: "unauthorized", reason: "caller is of another trust domain", id: uri };
  if (id.namespace !== policy.namespace) return { kind: "unauthorized", reason: "caller is of another namespace", id: uri };
  return { kind: "ok", spiffe: id };
}
