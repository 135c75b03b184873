// Finds the token in a request: the configured headers (with prefix), query parameters and
// cookies of the rules that may apply. The token stays inside the buffer the host gave us.
import { HeaderName, MapType, getHeader, getHeaderString } from "../host/headers";
import { JwtRule } from "../config/types";

export class Extracted {
  buf: ArrayBuffer = new ArrayBuffer(0);
  start: i32 = 0;
  len: i32 = 0;
  header: HeaderName | null = null;   // where it came from, so it can be stripped when not forwarded
  ruleMask: u64 = 0;                  // bit i: jwtRules[i] declares this location

  text(): string { return String.UTF8.decodeUnsafe(changetype<usize>(this.buf) + this.start, this.len); }
}

const COOKIE = new HeaderName("cookie");

const PATH = new HeaderName(":path");
const METHOD = new HeaderName(":method");

// The request line, read from the host only when something needs it: a request whose token is
// in a header and whose rules match everything never decodes its path.
export class RequestView {
  private p: string | null = null;
  private m: string | null = null;
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

// Returns the first token found, scanning rules in order and each rule's locations in the
// order headers, params, cookies. Other rules sharing that location are collected so the
// issuer can pick among them.
export function extractToken(rules: JwtRule[], req: RequestView): Extracted | null {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    for (let h = 0; h < r.fromHeaders.length; h++) {
      const fh = r.fromHeaders[h];
      const v = getHeader(MapType.Request, fh.name);
      if (v === null) continue;
      const e = fromHeaderValue(v, fh.prefix);
      if (e === null) continue;
      e.header = fh.name;
      collect(e, rules, fh.name.name, 0);
      return e;
    }
    for (let p = 0; p < r.fromParams.length; p++) {
      const e = fromQuery(req.path(), r.fromParams[p]);
      if (e === null) continue;
      collect(e, rules, r.fromParams[p], 1);
      return e;
    }
    for (let c = 0; c < r.fromCookies.length; c++) {
      const jar = req.cookies();
      if (jar === null) continue;
      const e = fromCookies(jar, r.fromCookies[c]);
      if (e === null) continue;
      collect(e, rules, r.fromCookies[c], 2);
      return e;
    }
  }
  return null;
}

function collect(e: Extracted, rules: JwtRule[], name: string, kind: i32): void {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    let has = false;
    if (kind == 0) { for (let h = 0; h < r.fromHeaders.length; h++) if (r.fromHeaders[h].name.name == name) has = true; }
    else if (kind == 1) has = r.fromParams.includes(name);
    else has = r.fromCookies.includes(name);
    if (has) e.ruleMask |= (<u64>1) << <u64>r.index;
  }
}

// `prefix` is matched case-insensitively (RFC 6750 "Bearer" is a case-insensitive scheme).
function fromHeaderValue(v: ArrayBuffer, prefix: string): Extracted | null {
  const base = changetype<usize>(v);
  const n = v.byteLength;
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
  out.buf = v;
  out.start = s;
  out.len = e - s;
  return out;
}

function fromQuery(path: string, name: string): Extracted | null {
  const q = path.indexOf("?");
  if (q < 0) return null;
  let end = path.indexOf("#");
  if (end < 0) end = path.length;
  let i = q + 1;
  while (i < end) {
    let amp = path.indexOf("&", i);
    if (amp < 0 || amp > end) amp = end;
    const eq = path.indexOf("=", i);
    if (eq > 0 && eq < amp && eq - i == name.length && path.substring(i, eq) == name && amp > eq + 1) {
      const bytes = String.UTF8.encode(path.substring(eq + 1, amp));
      const out = new Extracted();
      out.buf = bytes;
      out.len = bytes.byteLength;
      return out;
    }
    i = amp + 1;
  }
  return null;
}

function fromCookies(jar: ArrayBuffer, name: string): Extracted | null {
  const base = changetype<usize>(jar);
  const n = jar.byteLength;
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
          const out = new Extracted();
          out.buf = jar;
          out.start = i + nl + 1;
          out.len = e - out.start;
          return out;
        }
      }
    }
    i = semi + 1;
  }
  return null;
}
