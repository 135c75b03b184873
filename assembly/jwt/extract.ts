// Finds every token in a request: each configured header (with prefix), every occurrence of each
// configured query parameter and cookie, of every jwtRule the matched rule allows. A header token
// stays inside the buffer the host returned; nothing is copied. Also strips verified tokens from
// the query string and the Cookie header.
import { HeaderName, MapType, ByteView, getHeader, getHeaderString, getHeaderView } from "../host/headers";
import { Location, LocationKind, JwtRule } from "../config/types";
import { Identity } from "./identity";
import { normalizePath } from "../rules/path";

export class Extracted {
  buf: ArrayBuffer = new ArrayBuffer(0);
  start: i32 = 0;
  len: i32 = 0;
  loc: Location | null = null;        // where it came from, so it can be stripped when not forwarded
  // A header token: where the whole header value (prefix included) lies in `buf`.
  valueStart: i32 = 0;
  valueLen: i32 = 0;
  ruleMask: u64 = 0;                  // bit i: jwtRules[i] declares this location
  // Set once the token has verified: the jwtRule, the identity headers, and exp (0 = none).
  rule: JwtRule | null = null;
  identity: Identity | null = null;
  exp: i64 = 0;

  get header(): HeaderName | null { const l = this.loc; return l !== null && l.kind == LocationKind.Header ? l.header : null; }
  text(): string { return String.UTF8.decodeUnsafe(changetype<usize>(this.buf) + this.start, this.len); }
  // The header value exactly as received and verified (forwardOriginalToken writes it back).
  headerValue(): ArrayBuffer { return this.buf.slice(this.valueStart, this.valueStart + this.valueLen); }
}

const COOKIE = new HeaderName("cookie");

const PATH = new HeaderName(":path");
const METHOD = new HeaderName(":method");

// The request line, read from the host once. `path()` is :path as received (query included);
// `normalized()` is what rules and the STS see (rules/path.ts normalizePath; null = refused).
export class RequestView {
  private p: string | null = null;
  private m: string | null = null;
  private np: string | null = null;
  private npDone: bool = false;
  private cookie: ArrayBuffer | null = null;
  private cookieRead: bool = false;

  path(): string {
    const p = this.p;
    if (p !== null) return p;
    const v = getHeaderString(MapType.Request, PATH);
    const r = v !== null ? v : "/";
    this.p = r;
    return r;
  }

  normalized(): string | null {
    if (!this.npDone) { this.np = normalizePath(this.path()); this.npDone = true; }
    return this.np;
  }

  // The path part as received, without the query: safe to log.
  rawPath(): string {
    const p = this.path();
    const q = queryStart(p);
    return q < 0 ? p : p.substring(0, q);
  }

  // The query string without '?' (and without any parameter named in `drop`), "" when none.
  query(drop: string[]): string {
    const p = this.path();
    const q = queryStart(p);
    if (q < 0) return "";
    return removeParams(p.substring(q + 1), drop);
  }

  method(): string {
    const m = this.m;
    if (m !== null) return m;
    const v = getHeaderString(MapType.Request, METHOD);
    const r = v !== null ? v : "";
    this.m = r;
    return r;
  }

  cookies(): ArrayBuffer | null {
    if (!this.cookieRead) { this.cookie = getHeader(MapType.Request, COOKIE); this.cookieRead = true; }
    return this.cookie;
  }
}

function queryStart(p: string): i32 {
  const q = p.indexOf("?");
  const h = p.indexOf("#");
  return h >= 0 && (q < 0 || h < q) ? -1 : q;
}

const SCRATCH = new ByteView();
const EMPTY = new ArrayBuffer(0);

// Appends every token found at `locs` to `out`, in order. The common case (one header location
// with a token, a param location and no '?' in the path) costs one header read and one scan.
export function extractTokens(locs: Location[], req: RequestView, out: Extracted[]): void {
  for (let i = 0; i < locs.length; i++) {
    const l = unchecked(locs[i]);
    if (l.kind == LocationKind.Header) {
      const v = SCRATCH;
      if (!getHeaderView(MapType.Request, l.header!, v)) continue;
      const e = fromHeaderValue(v, l.prefix);
      v.buf = EMPTY;
      if (e === null) continue;
      e.loc = l;
      e.ruleMask = l.mask;
      out.push(e);
    } else if (l.kind == LocationKind.Param) {
      const p = req.path();
      const q = queryStart(p);
      if (q >= 0) fromQuery(p, q + 1, l, out);
    } else {
      const jar = req.cookies();
      if (jar !== null) fromCookies(jar, l, out);
    }
  }
}

// `prefix` is matched case-insensitively (RFC 6750 "Bearer" is a case-insensitive scheme).
// The token stays where the host put it (the request snapshot): no copy.
function fromHeaderValue(v: ByteView, prefix: string): Extracted | null {
  const base = changetype<usize>(v.buf) + <usize>v.start;
  const n = v.len;
  const pl = prefix.length;
  if (n < pl) return null;
  for (let i = 0; i < pl; i++) {
    let a = <u32>load<u8>(base + i);
    let b = <u32>prefix.charCodeAt(i);
    if (a >= 65 && a <= 90) a += 32;
    if (b >= 65 && b <= 90) b += 32;
    if (a != b) return null;
  }
  let s = pl;
  let e = n;
  while (s < e && load<u8>(base + s) == 0x20) s++;
  while (e > s && load<u8>(base + e - 1) == 0x20) e--;
  if (e <= s) return null;
  const out = new Extracted();
  out.buf = v.buf;
  out.start = v.start + s;
  out.len = e - s;
  out.valueStart = v.start;
  out.valueLen = n;
  return out;
}

@inline function hexVal(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

// application/x-www-form-urlencoded decoding of s[from, to): %XX and '+'. A bad escape stays as is.
function formDecode(s: string, from: i32, to: i32): string {
  let simple = true;
  for (let i = from; i < to; i++) { const c = s.charCodeAt(i); if (c == 0x25 || c == 0x2B) { simple = false; break; } }
  if (simple) return s.substring(from, to);
  const bytes = new Array<u8>();
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x2B) { bytes.push(0x20); continue; }
    if (c == 0x25 && i + 2 < to) {
      const h = hexVal(s.charCodeAt(i + 1));
      const l = hexVal(s.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) { bytes.push(<u8>((h << 4) | l)); i += 2; continue; }
    }
    if (c < 0x80) { bytes.push(<u8>c); continue; }
    const enc = Uint8Array.wrap(String.UTF8.encode(String.fromCharCode(c)));
    for (let k = 0; k < enc.length; k++) bytes.push(enc[k]);
  }
  const buf = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) buf[i] = bytes[i];
  return String.UTF8.decode(buf.buffer);
}

// Every non-empty value of parameter `l.name` (names compared after decoding, so that
// "%61ccess_token" is "access_token" as the service will read it).
function fromQuery(path: string, start: i32, l: Location, out: Extracted[]): void {
  const end = path.length;
  let i = start;
  while (i < end) {
    let amp = path.indexOf("&", i);
    if (amp < 0) amp = end;
    let eq = path.indexOf("=", i);
    if (eq < 0 || eq > amp) eq = amp;
    if (eq > i && formDecode(path, i, eq) == l.name && amp > eq + 1) {
      const bytes = String.UTF8.encode(formDecode(path, eq + 1, amp));
      const e = new Extracted();
      e.buf = bytes;
      e.len = bytes.byteLength;
      e.loc = l;
      e.ruleMask = l.mask;
      out.push(e);
    }
    i = amp + 1;
  }
}

// `query` (no '?') without the parameters whose decoded name is in `names`.
export function removeParams(query: string, names: string[]): string {
  if (names.length == 0 || query.length == 0) return query;
  let out = "";
  let i = 0;
  const end = query.length;
  while (i <= end) {
    let amp = query.indexOf("&", i);
    if (amp < 0) amp = end;
    let eq = query.indexOf("=", i);
    if (eq < 0 || eq > amp) eq = amp;
    if (amp > i && !names.includes(formDecode(query, i, eq))) out += (out.length > 0 ? "&" : "") + query.substring(i, amp);
    i = amp + 1;
  }
  return out;
}

// Every non-empty cookie named `l.name` in the Cookie header.
function fromCookies(jar: ArrayBuffer, l: Location, out: Extracted[]): void {
  const base = changetype<usize>(jar);
  const n = jar.byteLength;
  const name = l.name;
  const nl = name.length;
  let i = 0;
  while (i < n) {
    while (i < n && (load<u8>(base + i) == 0x20 || load<u8>(base + i) == 0x3B)) i++;
    let semi = i;
    while (semi < n && load<u8>(base + semi) != 0x3B) semi++;
    if (semi - i > nl && load<u8>(base + i + nl) == 0x3D) {
      let same = true;
      for (let k = 0; k < nl; k++) if (<u32>load<u8>(base + i + k) != <u32>name.charCodeAt(k)) { same = false; break; }
      if (same) {
        let e = semi;
        while (e > i + nl + 1 && load<u8>(base + e - 1) == 0x20) e--;
        if (e > i + nl + 1) {
          const t = new Extracted();
          t.buf = jar;
          t.start = i + nl + 1;
          t.len = e - t.start;
          t.loc = l;
          t.ruleMask = l.mask;
          out.push(t);
        }
      }
    }
    i = semi + 1;
  }
}

// The Cookie header without the cookies named in `names` ("" when none is left).
export function removeCookies(jar: string, names: string[]): string {
  const parts = jar.split(";");
  let out = "";
  for (let i = 0; i < parts.length; i++) {
    const c = parts[i].trim();
    if (c.length == 0) continue;
    const eq = c.indexOf("=");
    const name = eq < 0 ? c : c.substring(0, eq);
    if (names.includes(name)) continue;
    out += (out.length > 0 ? "; " : "") + c;
  }
  return out;
}
