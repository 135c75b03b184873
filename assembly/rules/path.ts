// Request path matching in the style of Istio AuthorizationPolicy / RequestAuthentication `paths`.
//
// Kinds: exact, prefix, suffix, and path templates with the Istio (Envoy uri_template) operators:
//   {*}   exactly one non-empty path segment (no '/')
//   {**}  zero or more characters, '/' included; it must be the LAST operator (literal text may follow,
//         e.g. "/foo/{**}/" matches "/foo//" and "/foo/a/b/" but not "/foo/a")
// As in Istio, an operator must be a whole segment ("/a/{*}.txt" is invalid), and '{', '}' or '*'
// anywhere else make the template invalid, so a typo is refused at config time instead of silently
// matching literally. Matching is case-sensitive and ignores any ?query or #fragment of the request
// path. The matcher does not normalise: the filter matches the output of `normalizePath` below.
// A configured `prefix` (segmentPrefix) matches on a segment boundary: "/healthz" matches
// "/healthz" and "/healthz/x", never "/healthzadmin". Istio's "/x*" (parse) is a plain string prefix.
// Pure and never traps.

export enum PathKind { Exact = 0, Prefix = 1, Template = 2, Suffix = 3 }

const OP_ONE: u8 = 1;  // {*}
const OP_ANY: u8 = 2;  // {**}

let gPathError: string = "";

export function lastPathError(): string { return gPathError; }

/** Length of the path part of `path`: up to the first '?' or '#'. */
function pathLength(path: string): i32 {
  const n = path.length;
  for (let i = 0; i < n; i++) {
    const c = path.charCodeAt(i);
    if (c == 0x3F || c == 0x23) return i;
  }
  return n;
}

/** The path without its query string or fragment (up to the first '?' or '#'). */
export function stripQuery(path: string): string {
  const n = pathLength(path);
  return n == path.length ? path : path.substring(0, n);
}

/** True when `lit` occurs in `s` at `pos` and ends at or before `limit`. */
@inline function regionEquals(s: string, pos: i32, limit: i32, lit: string): bool {
  const m = lit.length;
  if (pos < 0 || pos + m > limit) return false;
  return memory.compare(changetype<usize>(s) + (<usize>pos << 1), changetype<usize>(lit), <usize>m << 1) == 0;
}

export class PathMatcher {
  kind: PathKind;
  /** The pattern as configured (for logs and stats). */
  pattern: string;
  /** Prefix only: the match must end at a segment boundary ('/' or the end of the path). */
  segment: bool = false;
  // Template form: lits[0] op[0] lits[1] op[1] ... lits[n]; ops.length == lits.length - 1.
  private lits: string[] = [];
  private ops: u8[] = [];

  private constructor(kind: PathKind, pattern: string) {
    this.kind = kind;
    this.pattern = pattern;
  }

  static exact(p: string): PathMatcher { return new PathMatcher(PathKind.Exact, p); }
  static prefix(p: string): PathMatcher { return new PathMatcher(PathKind.Prefix, p); }
  static suffix(p: string): PathMatcher { return new PathMatcher(PathKind.Suffix, p); }
  /** A prefix of whole segments: "/a" matches "/a" and "/a/b", not "/ab". */
  static segmentPrefix(p: string): PathMatcher {
    const m = new PathMatcher(PathKind.Prefix, p);
    m.segment = true;
    return m;
  }

  /** Compiles a template; null with lastPathError() when it is not a valid template. */
  static template(t: string): PathMatcher | null {
    gPathError = "";
    const n = t.length;
    if (n == 0 || t.charCodeAt(0) != 0x2F) { gPathError = "path template must start with '/'"; return null; }
    const m = new PathMatcher(PathKind.Template, t);
    let litStart = 0;   // start of the literal text being accumulated
    let segStart = 1;   // start of the current segment (just after a '/')
    let sawAny = false;
    for (let i = 1; i <= n; i++) {
      if (i < n && t.charCodeAt(i) != 0x2F) continue;
      // Segment t[segStart, i) is complete.
      const segLen = i - segStart;
      let op: u8 = 0;
      if (segLen == 3 && regionEquals(t, segStart, n, "{*}")) op = OP_ONE;
      else if (segLen == 4 && regionEquals(t, segStart, n, "{**}")) op = OP_ANY;
      if (op) {
        if (sawAny) { gPathError = "{**} must be the last operator in the path template (at " + segStart.toString() + ")"; return null; }
        if (op == OP_ANY) sawAny = true;
        m.lits.push(t.substring(litStart, segStart));
        m.ops.push(op);
        litStart = i;
      } else {
        for (let j = segStart; j < i; j++) {
          const c = t.charCodeAt(j);
          if (c == 0x7B || c == 0x7D || c == 0x2A) {
            gPathError = "'" + String.fromCharCode(c) + "' at " + j.toString() +
              " is not part of a whole-segment {*} or {**} operator";
            return null;
          }
          if (c == 0x3F || c == 0x23) {
            // The request side strips ?query and #fragment, so such a literal could never match.
            gPathError = "'" + String.fromCharCode(c) + "' at " + j.toString() + " cannot appear in a path template";
            return null;
          }
        }
      }
      segStart = i + 1;
    }
    m.lits.push(t.substring(litStart));
    return m;
  }

  /**
   * Istio `paths` syntax: "*" (any), "/x*" (prefix), "*.txt" (suffix), a template when it contains
   * '{' or '}', otherwise exact. Null (with lastPathError()) for an invalid template or pattern.
   */
  static parse(p: string): PathMatcher | null {
    gPathError = "";
    if (p.indexOf("{") >= 0 || p.indexOf("}") >= 0) return PathMatcher.template(p);
    const n = p.length;
    if (p == "*") return PathMatcher.prefix("");
    if (n > 0 && p.charCodeAt(n - 1) == 0x2A) {
      const head = p.substring(0, n - 1);
      if (head.indexOf("*") >= 0) { gPathError = "'*' is only allowed at the start or end of a path"; return null; }
      return PathMatcher.prefix(head);
    }
    if (n > 0 && p.charCodeAt(0) == 0x2A) {
      const tail = p.substring(1);
      if (tail.indexOf("*") >= 0) { gPathError = "'*' is only allowed at the start or end of a path"; return null; }
      return PathMatcher.suffix(tail);
    }
    if (p.indexOf("*") >= 0) { gPathError = "'*' is only allowed at the start or end of a path"; return null; }
    return PathMatcher.exact(p);
  }

  matches(path: string): bool {
    const n = pathLength(path);
    const p = this.pattern;
    switch (this.kind) {
      case PathKind.Exact: return n == p.length && regionEquals(path, 0, n, p);
      case PathKind.Prefix: {
        if (!regionEquals(path, 0, n, p)) return false;
        const m = p.length;
        return !this.segment || m == n || m == 0 || p.charCodeAt(m - 1) == 0x2F || path.charCodeAt(m) == 0x2F;
      }
      case PathKind.Suffix: return regionEquals(path, n - p.length, n, p);
      case PathKind.Template: return this.matchTemplate(path, n);
    }
    return false;
  }

  private matchTemplate(path: string, n: i32): bool {
    const lits = this.lits;
    const ops = this.ops;
    let pos = 0;
    for (let i = 0, k = ops.length; i < k; i++) {
      const lit = unchecked(lits[i]);
      if (!regionEquals(path, pos, n, lit)) return false;
      pos += lit.length;
      if (unchecked(ops[i]) == OP_ANY) {
        // Last operator: everything left must end with the final literal, which may not overlap
        // what has already been matched.
        const tail = unchecked(lits[i + 1]);
        return n - pos >= tail.length && regionEquals(path, n - tail.length, n, tail);
      }
      // {*}: one non-empty segment. The next literal starts with '/' (operators are whole
      // segments), so taking everything up to the next '/' is the only possible match.
      const start = pos;
      while (pos < n && path.charCodeAt(pos) != 0x2F) pos++;
      if (pos == start) return false;
    }
    const last = unchecked(lits[lits.length - 1]);
    return pos + last.length == n && regionEquals(path, pos, n, last);
  }
}

// ---- request path normalisation ----

@inline function hexVal(c: i32): i32 {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

@inline function isUnreserved(c: i32): bool {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45 || c == 46 || c == 95 || c == 126;
}

/**
 * The path the filter's rules and the STS see: the path part of `raw` (no ?query or #fragment),
 * %-escapes of unreserved characters decoded, `;parameters` dropped from every segment, empty
 * segments merged, and dot segments removed (RFC 3986 §5.2.4). Null when the path holds an
 * encoded '/' or '\' (%2F, %5C, any case) or a raw '\': servers disagree on what those mean,
 * so such a path is refused rather than guessed at. A path without '%', '\\', ';', "//" or "/."
 * costs one scan and no copy beyond dropping the query.
 */
export function normalizePath(raw: string): string | null {
  const n = pathLength(raw);
  let simple = true;
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c == 0x25 || c == 0x5C || c == 0x3B) { simple = false; break; }
    if (c == 0x2F && i + 1 < n) {
      const d = raw.charCodeAt(i + 1);
      if (d == 0x2F || d == 0x2E) { simple = false; break; }
    }
  }
  if (simple) return n == raw.length ? raw : raw.substring(0, n);
  // 1. decode unreserved escapes; refuse encoded separators and backslashes.
  let dec = "";
  let from = 0;
  for (let i = 0; i < n; i++) {
    const c = raw.charCodeAt(i);
    if (c == 0x5C) return null;
    if (c != 0x25 || i + 2 >= n) continue;
    const h = hexVal(raw.charCodeAt(i + 1));
    const l = hexVal(raw.charCodeAt(i + 2));
    if (h < 0 || l < 0) continue;
    const b = (h << 4) | l;
    if (b == 0x2F || b == 0x5C) return null;
    if (!isUnreserved(b)) continue;
    dec += raw.substring(from, i) + String.fromCharCode(b);
    from = i + 3;
    i += 2;
  }
  dec += raw.substring(from, n);
  if (dec.length == 0 || dec.charCodeAt(0) != 0x2F) return dec;
  // 2. segments: drop ;params, merge empty segments, remove dot segments.
  const parts = dec.split("/");
  const out = new Array<string>();
  let trailing = false;
  for (let i = 1; i < parts.length; i++) {
    let seg = unchecked(parts[i]);
    const semi = seg.indexOf(";");
    if (semi >= 0) seg = seg.substring(0, semi);
    const last = i == parts.length - 1;
    if (seg.length == 0 || seg == ".") { trailing = last; continue; }
    if (seg == "..") { if (out.length > 0) out.pop(); trailing = last; continue; }
    out.push(seg);
    trailing = false;
  }
  if (out.length == 0) return "/";
  return "/" + out.join("/") + (trailing ? "/" : "");
}
