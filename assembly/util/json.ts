// Strict RFC 8259 JSON reader and a small writer.
//
// Used for JWT headers/payloads, JWKS documents and the filter configuration, so it is deliberately
// unforgiving: anything a lenient parser might "repair" (trailing commas, comments, duplicate keys,
// bad UTF-8, lone surrogates, ...) is refused, because two parsers disagreeing about what a token
// says is a classic JWT bypass. It never traps: failures return null and set lastJsonError().
//
// One pass over the bytes; structure is never copied into intermediate strings; string values are
// decoded straight from UTF-8 into UTF-16 through one reusable scratch buffer.

export enum JsonKind { Null = 0, Bool = 1, Number = 2, String = 3, Array = 4, Object = 5 }

// Scalars share these instead of allocating three empty arrays each (the hot path parses a JWT per
// new token). They must never be mutated: containers always get their own arrays.
const NO_VALUES: JsonValue[] = [];
const NO_KEYS: string[] = [];

// Hard ceiling for maxDepth, so a caller cannot make the container stacks grow without bound.
const DEPTH_CEILING: i32 = 1024;

export class JsonValue {
  kind: JsonKind;
  b: bool = false;
  num: f64 = 0;
  isInt: bool = false;
  int: i64 = 0;
  str: string = "";
  items: JsonValue[];
  keys: string[];
  values: JsonValue[];

  constructor(kind: JsonKind = JsonKind.Null) {
    this.kind = kind;
    if (kind == JsonKind.Array) this.items = new Array<JsonValue>();
    else this.items = NO_VALUES;
    if (kind == JsonKind.Object) {
      this.keys = new Array<string>();
      this.values = new Array<JsonValue>();
    } else {
      this.keys = NO_KEYS;
      this.values = NO_VALUES;
    }
  }

  // ---- builders (handy for composing JSON output, e.g. the OPA input) ----
  static ofNull(): JsonValue { return new JsonValue(JsonKind.Null); }
  static ofBool(b: bool): JsonValue { const v = new JsonValue(JsonKind.Bool); v.b = b; return v; }
  static ofString(s: string): JsonValue { const v = new JsonValue(JsonKind.String); v.str = s; return v; }
  static ofInt(i: i64): JsonValue {
    const v = new JsonValue(JsonKind.Number);
    v.isInt = true; v.int = i; v.num = <f64>i;
    return v;
  }
  /** Non-finite numbers cannot be written as JSON, so they become null. */
  static ofNumber(n: f64): JsonValue {
    if (!isFinite(n)) return new JsonValue(JsonKind.Null);
    const v = new JsonValue(JsonKind.Number); v.num = n;
    return v;
  }
  static newArray(): JsonValue { return new JsonValue(JsonKind.Array); }
  static newObject(): JsonValue { return new JsonValue(JsonKind.Object); }

  /** Object: set or replace a member (keeps keys unique). No-op on other kinds. */
  set(key: string, value: JsonValue): void {
    if (this.kind != JsonKind.Object) return;
    const keys = this.keys;
    for (let i = 0, n = keys.length; i < n; i++) {
      if (keys[i] == key) { this.values[i] = value; return; }
    }
    keys.push(key);
    this.values.push(value);
  }
  /** Array: append. No-op on other kinds. */
  push(value: JsonValue): void {
    if (this.kind == JsonKind.Array) this.items.push(value);
  }

  // ---- readers ----
  get(key: string): JsonValue | null {
    if (this.kind != JsonKind.Object) return null;
    const keys = this.keys;
    for (let i = 0, n = keys.length; i < n; i++) {
      if (keys[i] == key) return this.values[i];
    }
    return null;
  }
  has(key: string): bool { return this.get(key) !== null; }
  isString(): bool { return this.kind == JsonKind.String; }
  isObject(): bool { return this.kind == JsonKind.Object; }
  isArray(): bool { return this.kind == JsonKind.Array; }
  isNumber(): bool { return this.kind == JsonKind.Number; }
  isBool(): bool { return this.kind == JsonKind.Bool; }
  isNull(): bool { return this.kind == JsonKind.Null; }

  /** Compact JSON. Integers are written without ".0"; other numbers use the shortest round-trip form. */
  toJSON(): string {
    const w = new Utf16Writer(64);
    writeValue(w, this);
    return w.toString();
  }
}

// ----------------------------------------------------------------------------------------------
// Writer

class Utf16Writer {
  buf: StaticArray<u16>;
  len: i32 = 0;
  constructor(cap: i32) { this.buf = new StaticArray<u16>(cap < 16 ? 16 : cap); }

  @inline private ensure(extra: i32): void {
    const need = this.len + extra;
    if (need <= this.buf.length) return;
    let cap = this.buf.length << 1;
    while (cap < need) cap <<= 1;
    const nb = new StaticArray<u16>(cap);
    memory.copy(changetype<usize>(nb), changetype<usize>(this.buf), <usize>this.len << 1);
    this.buf = nb;
  }
  putCode(c: u32): void {
    this.ensure(1);
    store<u16>(changetype<usize>(this.buf) + (<usize>this.len << 1), <u16>c);
    this.len++;
  }
  putString(s: string): void {
    const n = s.length;
    this.ensure(n);
    memory.copy(changetype<usize>(this.buf) + (<usize>this.len << 1), changetype<usize>(s), <usize>n << 1);
    this.len += n;
  }
  toString(): string {
    return String.UTF16.decodeUnsafe(changetype<usize>(this.buf), <usize>this.len << 1);
  }
}

const HEX_DIGITS = "0123456789abcdef";

function writeQuoted(w: Utf16Writer, s: string): void {
  w.putCode(0x22);
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = <u32>s.charCodeAt(i);
    if (c == 0x22) { w.putCode(0x5C); w.putCode(0x22); }
    else if (c == 0x5C) { w.putCode(0x5C); w.putCode(0x5C); }
    else if (c < 0x20) {
      w.putCode(0x5C);
      if (c == 0x08) w.putCode(0x62);       // \b
      else if (c == 0x0C) w.putCode(0x66);  // \f
      else if (c == 0x0A) w.putCode(0x6E);  // \n
      else if (c == 0x0D) w.putCode(0x72);  // \r
      else if (c == 0x09) w.putCode(0x74);  // \t
      else {
        w.putCode(0x75); w.putCode(0x30); w.putCode(0x30);
        w.putCode(<u32>HEX_DIGITS.charCodeAt(c >> 4));
        w.putCode(<u32>HEX_DIGITS.charCodeAt(c & 15));
      }
    } else if ((c & 0xF800) == 0xD800) {
      // Keep valid pairs; a lone surrogate cannot be encoded as UTF-8, so it becomes U+FFFD
      // (strict readers, ours included, would refuse the document otherwise).
      if (c < 0xDC00 && i + 1 < n && (<u32>s.charCodeAt(i + 1) & 0xFC00) == 0xDC00) {
        w.putCode(c); w.putCode(<u32>s.charCodeAt(i + 1)); i++;
      } else {
        w.putCode(0xFFFD);
      }
    } else {
      w.putCode(c);
    }
  }
  w.putCode(0x22);
}

// Bound for hand-built (possibly cyclic) trees: deeper containers are written as null.
const WRITE_DEPTH_LIMIT: i32 = 4096;

function childCount(v: JsonValue): i32 {
  if (v.kind == JsonKind.Array) return v.items.length;
  if (v.kind == JsonKind.Object) return min(v.keys.length, v.values.length);
  return 0;
}

/** Writes child i of container p, preceded by its key for objects; returns the child. */
function enterChild(w: Utf16Writer, p: JsonValue, i: i32): JsonValue {
  if (i) w.putCode(0x2C);
  if (p.kind == JsonKind.Object) {
    writeQuoted(w, unchecked(p.keys[i]));
    w.putCode(0x3A);
    return unchecked(p.values[i]);
  }
  return unchecked(p.items[i]);
}

function writeScalar(w: Utf16Writer, v: JsonValue): void {
  switch (v.kind) {
    case JsonKind.Bool: w.putString(v.b ? "true" : "false"); break;
    case JsonKind.Number: {
      if (v.isInt) w.putString(v.int.toString());
      else if (!isFinite(v.num)) w.putString("null");
      else w.putString(v.num.toString());
      break;
    }
    case JsonKind.String: writeQuoted(w, v.str); break;
    default: w.putString("null");
  }
}

// Iterative for the same reason as the reader below: no recursion, so no shadow-stack overflow.
function writeValue(w: Utf16Writer, root: JsonValue): void {
  const stack = new Array<JsonValue>();
  const index = new Array<i32>();
  let v = root;
  while (true) {
    const k = v.kind;
    if (k == JsonKind.Array || k == JsonKind.Object) {
      const open: u32 = k == JsonKind.Array ? 0x5B : 0x7B;
      if (stack.length >= WRITE_DEPTH_LIMIT) {
        w.putString("null");
      } else if (childCount(v) == 0) {
        w.putCode(open); w.putCode(open + 2); // [] or {}
      } else {
        w.putCode(open);
        stack.push(v);
        index.push(0);
        v = enterChild(w, v, 0);
        continue;
      }
    } else {
      writeScalar(w, v);
    }
    // Climb: next sibling of the innermost open container, closing finished ones.
    while (true) {
      const n = stack.length;
      if (n == 0) return;
      const p = unchecked(stack[n - 1]);
      const i = unchecked(index[n - 1]) + 1;
      if (i < childCount(p)) {
        unchecked(index[n - 1] = i);
        v = enterChild(w, p, i);
        break;
      }
      w.putCode(p.kind == JsonKind.Array ? 0x5D : 0x7D);
      stack.pop();
      index.pop();
    }
  }
}

/** A JSON string literal, quotes included. */
export function jsonQuote(s: string): string {
  const w = new Utf16Writer(s.length + 2);
  writeQuoted(w, s);
  return w.toString();
}

// ----------------------------------------------------------------------------------------------
// Reader state (module globals: the parser is not re-entrant, and wasm is single-threaded)

let gBase: usize = 0;   // start of input, for error offsets
let gPos: usize = 0;
let gEnd: usize = 0;
let gMaxDepth: i32 = 32;
let gError: string = "";

// Scratch for decoded string values; grown on demand and trimmed after big documents.
const SCRATCH_INITIAL: i32 = 256;
let gScratch = new StaticArray<u16>(SCRATCH_INITIAL);
let gScratchLen: i32 = 0;

export function lastJsonError(): string { return gError; }

export function parseJson(s: string, maxDepth: i32 = 32): JsonValue | null {
  // WTF-8 keeps a lone surrogate visible as an encoded surrogate, which the reader then refuses.
  const bytes = String.UTF8.encode(s);
  return parseJsonBytes(changetype<usize>(bytes), bytes.byteLength, maxDepth);
}

export function parseJsonBytes(ptr: usize, len: i32, maxDepth: i32 = 32): JsonValue | null {
  gBase = ptr;
  gPos = ptr;
  gEnd = len > 0 ? ptr + <usize>len : ptr;
  gMaxDepth = maxDepth < 0 ? 0 : (maxDepth > DEPTH_CEILING ? DEPTH_CEILING : maxDepth);
  gError = "";
  if (len <= 0 || ptr == 0) return fail("empty input");
  skipWs();
  if (gPos >= gEnd) return fail("empty input");
  const v = parseDocument();
  if (gScratch.length > 4096) gScratch = new StaticArray<u16>(SCRATCH_INITIAL);
  if (v === null) return null;
  skipWs();
  if (gPos < gEnd) return unexpected();
  return v;
}

// ---- errors ----

@inline function offset(): i32 { return <i32>(gPos - gBase); }

function fail(msg: string): JsonValue | null {
  gError = msg + " at " + offset().toString();
  return null;
}

function unexpected(): JsonValue | null {
  if (gPos >= gEnd) return fail("unexpected end of input");
  const c = <u32>load<u8>(gPos);
  if (c > 0x20 && c < 0x7F) return fail("unexpected '" + String.fromCharCode(c) + "'");
  return fail("unexpected byte 0x" + (c < 16 ? "0" : "") + c.toString(16));
}

// ---- lexing helpers ----

@inline function isWs(c: u32): bool { return c == 0x20 || c == 0x0A || c == 0x0D || c == 0x09; }
@inline function isDigit(c: u32): bool { return c - 0x30 < 10; }

function skipWs(): void {
  let p = gPos;
  const e = gEnd;
  while (p < e && isWs(<u32>load<u8>(p))) p++;
  gPos = p;
}

function matchLiteral(lit: string): bool {
  // lit is ASCII; compare byte by byte without allocating.
  const n = lit.length;
  if (gPos + <usize>n > gEnd) return false;
  for (let i = 0; i < n; i++) {
    if (<u32>load<u8>(gPos + <usize>i) != <u32>lit.charCodeAt(i)) return false;
  }
  return true;
}

// ---- grammar ----

// Iterative on purpose: AssemblyScript's shadow stack is small (16 KiB by default) and a recursive
// descent traps on deep input long before any sane maxDepth.
//
// Open containers are kept as parallel stacks. Finished children accumulate on gVals (and member
// names on gNames) and are sliced into exactly-sized arrays when their container closes, so no
// array is ever grown element by element (allocation dominates the cost of parsing a JWT).
const KIND_ARRAY: u8 = 1;
const KIND_OBJECT: u8 = 2;
const gKinds = new Array<u8>();
const gValStarts = new Array<i32>();
const gNameStarts = new Array<i32>();
const gVals = new Array<JsonValue>();
const gNames = new Array<string>();
// Per open object: a hash set of its member names once it has many (else null). Linear search
// is faster for the handful of members a JWT has, but a token stuffed with thousands of members
// must not cost quadratic time on the hot path.
const gNameSets = new Array<Set<string> | null>();
const NAME_SET_THRESHOLD: i32 = 16;

function resetStacks(): void {
  gKinds.length = 0;
  gValStarts.length = 0;
  gNameStarts.length = 0;
  gNameSets.length = 0;
  gVals.length = 0;
  gNames.length = 0;
}

function parseDocument(): JsonValue | null {
  resetStacks();
  const v = parseNested();
  resetStacks();
  return v;
}

function parseNested(): JsonValue | null {
  while (true) {
    // ---- a value starts here (whitespace already skipped) ----
    if (gPos >= gEnd) return unexpected();
    const c = <u32>load<u8>(gPos);
    let v: JsonValue;
    if (c == 0x7B || c == 0x5B) {
      if (gKinds.length >= gMaxDepth) return fail("nesting deeper than " + gMaxDepth.toString());
      const isObj = c == 0x7B;
      gPos++;
      skipWs();
      if (gPos < gEnd && <u32>load<u8>(gPos) == (isObj ? 0x7D : 0x5D)) {
        gPos++;
        v = new JsonValue(isObj ? JsonKind.Object : JsonKind.Array); // empty container is complete
      } else {
        gKinds.push(isObj ? KIND_OBJECT : KIND_ARRAY);
        gValStarts.push(gVals.length);
        gNameStarts.push(gNames.length);
        gNameSets.push(null);
        if (isObj && !parseMemberName()) return null;
        continue;
      }
    } else {
      const s = parseScalar(c);
      if (s === null) return null;
      v = s;
    }
    // ---- v is complete: attach it, then close as many containers as the input closes ----
    while (true) {
      const depth = gKinds.length;
      if (depth == 0) return v;
      gVals.push(v);
      const isObj = unchecked(gKinds[depth - 1]) == KIND_OBJECT;
      skipWs();
      if (gPos >= gEnd) return unexpected();
      const d = <u32>load<u8>(gPos);
      if (d == 0x2C) {
        // A closer right after ',' is refused: by parseMemberName (objects) or as a value (arrays).
        gPos++;
        skipWs();
        if (isObj && !parseMemberName()) return null;
        break;
      }
      if (d == (isObj ? 0x7D : 0x5D)) {
        gPos++;
        v = closeContainer(isObj);
        continue;
      }
      return unexpected();
    }
  }
  return null; // unreachable
}

function closeContainer(isObj: bool): JsonValue {
  const top = gKinds.length - 1;
  const vs = unchecked(gValStarts[top]);
  const v = new JsonValue(JsonKind.Null); // scalar shell: no arrays allocated yet
  if (isObj) {
    const ns = unchecked(gNameStarts[top]);
    v.kind = JsonKind.Object;
    v.keys = gNames.slice(ns);
    v.values = gVals.slice(vs);
    gNames.length = ns;
  } else {
    v.kind = JsonKind.Array;
    v.items = gVals.slice(vs);
  }
  gVals.length = vs;
  gKinds.length = top;
  gValStarts.length = top;
  gNameStarts.length = top;
  gNameSets.length = top;
  return v;
}

/** At a member name: parse it, refuse duplicates, consume ':' and the whitespace after it. */
function parseMemberName(): bool {
  if (gPos >= gEnd || load<u8>(gPos) != 0x22) { unexpected(); return false; }
  const nameAt = gPos;
  const name = parseString();
  if (name === null) return false;
  // Duplicate names are refused (RFC 8259 leaves them undefined; RFC 7515 section 4 requires
  // rejection for JOSE headers). Compared after unescaping, so "a" and "\u0061" collide.
  const top = gKinds.length - 1;
  const first = unchecked(gNameStarts[top]);
  const n = gNames.length;
  if (n - first < NAME_SET_THRESHOLD) {
    for (let i = first; i < n; i++) {
      if (unchecked(gNames[i]) == name) { gPos = nameAt; fail("duplicate key"); return false; }
    }
  } else {
    let set = unchecked(gNameSets[top]);
    if (set === null) {
      set = new Set<string>();
      for (let i = first; i < n; i++) set.add(unchecked(gNames[i]));
      unchecked(gNameSets[top] = set);
    }
    if (set.has(name)) { gPos = nameAt; fail("duplicate key"); return false; }
    set.add(name);
  }
  skipWs();
  if (gPos >= gEnd || load<u8>(gPos) != 0x3A) { unexpected(); return false; }
  gPos++;
  skipWs();
  gNames.push(name);
  return true;
}

function parseScalar(c: u32): JsonValue | null {
  if (c == 0x22) {
    const s = parseString();
    if (s === null) return null;
    const v = new JsonValue(JsonKind.String);
    v.str = s;
    return v;
  }
  if (c == 0x2D || isDigit(c)) return parseNumber();
  if (c == 0x74) {
    if (!matchLiteral("true")) return unexpected();
    gPos += 4;
    const v = new JsonValue(JsonKind.Bool); v.b = true;
    return v;
  }
  if (c == 0x66) {
    if (!matchLiteral("false")) return unexpected();
    gPos += 5;
    return new JsonValue(JsonKind.Bool);
  }
  if (c == 0x6E) {
    if (!matchLiteral("null")) return unexpected();
    gPos += 4;
    return new JsonValue(JsonKind.Null);
  }
  return unexpected();
}

function parseNumber(): JsonValue | null {
  const start = gPos;
  let neg = false;
  if (load<u8>(gPos) == 0x2D) { neg = true; gPos++; }
  if (gPos >= gEnd) return unexpected();
  let c = <u32>load<u8>(gPos);
  if (!isDigit(c)) return unexpected();
  // Magnitude capped at 2^63 (the largest i64 magnitude, for i64.MIN); beyond that isInt is false.
  let mag: u64 = 0;
  let overflow = false;
  if (c == 0x30) {
    gPos++;
    if (gPos < gEnd && isDigit(<u32>load<u8>(gPos))) return fail("leading zero");
  } else {
    while (gPos < gEnd) {
      c = <u32>load<u8>(gPos);
      if (!isDigit(c)) break;
      const d = <u64>(c - 0x30);
      if (!overflow) {
        if (mag > 922337203685477580 || (mag == 922337203685477580 && d > 8)) overflow = true;
        else mag = mag * 10 + d;
      }
      gPos++;
    }
  }
  let isFloat = false;
  if (gPos < gEnd && load<u8>(gPos) == 0x2E) {
    isFloat = true;
    gPos++;
    if (gPos >= gEnd || !isDigit(<u32>load<u8>(gPos))) return fail("expected digit after '.'");
    while (gPos < gEnd && isDigit(<u32>load<u8>(gPos))) gPos++;
  }
  if (gPos < gEnd && (load<u8>(gPos) | 0x20) == 0x65) { // e or E
    isFloat = true;
    gPos++;
    if (gPos < gEnd && (load<u8>(gPos) == 0x2B || load<u8>(gPos) == 0x2D)) gPos++;
    if (gPos >= gEnd || !isDigit(<u32>load<u8>(gPos))) return fail("expected digit in exponent");
    while (gPos < gEnd && isDigit(<u32>load<u8>(gPos))) gPos++;
  }
  const v = new JsonValue(JsonKind.Number);
  if (!isFloat && !overflow && (neg || mag <= <u64>i64.MAX_VALUE)) {
    // -2^63 wraps to itself, which is exactly i64.MIN; -0 becomes the integer 0.
    const i: i64 = neg ? -(<i64>mag) : <i64>mag;
    v.isInt = true;
    v.int = i;
    v.num = <f64>i;
    return v;
  }
  const text = String.UTF8.decodeUnsafe(start, gPos - start); // validated ASCII number text
  const n = parseFloat(text);
  if (!isFinite(n)) { gPos = start; return fail("number out of range"); }
  v.num = n;
  return v;
}

/** Latin-1/ASCII bytes to UTF-16 code units. */
@inline function widen(dst: usize, src: usize, n: i32): void {
  for (let i = 0; i < n; i++) store<u16>(dst + (<usize>i << 1), load<u8>(src + <usize>i));
}

function scratchReserve(n: i32): void {
  if (n <= gScratch.length) return;
  let cap = gScratch.length << 1;
  while (cap < n) cap <<= 1;
  const nb = new StaticArray<u16>(cap);
  memory.copy(changetype<usize>(nb), changetype<usize>(gScratch), <usize>gScratchLen << 1);
  gScratch = nb;
}

@inline function scratchPut(cu: u32): void {
  if (gScratchLen >= gScratch.length) {
    const nb = new StaticArray<u16>(gScratch.length << 1);
    memory.copy(changetype<usize>(nb), changetype<usize>(gScratch), <usize>gScratchLen << 1);
    gScratch = nb;
  }
  store<u16>(changetype<usize>(gScratch) + (<usize>gScratchLen << 1), <u16>cu);
  gScratchLen++;
}

function hex4(p: usize): i32 {
  // -1 unless the 4 bytes at p are hex digits.
  if (p + 4 > gEnd) return -1;
  let v: i32 = 0;
  for (let i: usize = 0; i < 4; i++) {
    const c = <u32>load<u8>(p + i);
    let d: i32;
    if (c - 0x30 < 10) d = <i32>(c - 0x30);
    else if ((c | 0x20) - 0x61 < 6) d = <i32>((c | 0x20) - 0x61 + 10);
    else return -1;
    v = (v << 4) | d;
  }
  return v;
}

/** gPos at the opening quote; returns the decoded string with gPos after the closing quote. */
function parseString(): string | null {
  const openAt = gPos;
  const e = gEnd;
  // Fast path: printable ASCII without escapes (most JWT/JWKS strings) is widened straight into
  // the result string. Otherwise the plain prefix is widened into the scratch buffer and the
  // general decoder continues from there.
  const first = gPos + 1;
  let p = first;
  while (p < e) {
    const c = <u32>load<u8>(p);
    if (c == 0x22 || c == 0x5C || c < 0x20 || c >= 0x80) break;
    p++;
  }
  const plain = <i32>(p - first);
  if (p < e && load<u8>(p) == 0x22) {
    gPos = p + 1;
    if (plain == 0) return "";
    const out = changetype<string>(__new(<usize>plain << 1, idof<string>()));
    widen(changetype<usize>(out), first, plain);
    return out;
  }
  gScratchLen = 0;
  scratchReserve(plain);
  widen(changetype<usize>(gScratch), first, plain);
  gScratchLen = plain;
  gPos = p;
  while (true) {
    if (gPos >= e) { gPos = openAt; fail("unterminated string"); return null; }
    const c = <u32>load<u8>(gPos);
    if (c == 0x22) { gPos++; break; }
    if (c == 0x5C) {
      if (!parseEscape()) return null;
      continue;
    }
    if (c < 0x20) { fail("control character in string"); return null; }
    if (c < 0x80) { scratchPut(c); gPos++; continue; }
    // Multi-byte UTF-8, validated per Unicode Table 3-7 (no overlongs, no surrogates, <= U+10FFFF).
    let need: i32;
    let lo: u32 = 0x80;
    let hi: u32 = 0xBF;
    let cp: u32;
    if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; }
    else if (c >= 0xE0 && c <= 0xEF) {
      need = 2; cp = c & 0x0F;
      if (c == 0xE0) lo = 0xA0;
      else if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3; cp = c & 0x07;
      if (c == 0xF0) lo = 0x90;
      else if (c == 0xF4) hi = 0x8F;
    } else { fail("invalid UTF-8"); return null; }
    if (gPos + <usize>need >= e) { fail("truncated UTF-8"); return null; }
    for (let i = 1; i <= need; i++) {
      const b = <u32>load<u8>(gPos + <usize>i);
      if (i == 1 ? (b < lo || b > hi) : (b & 0xC0) != 0x80) { fail("invalid UTF-8"); return null; }
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      scratchPut(0xD800 | (cp >> 10));
      scratchPut(0xDC00 | (cp & 0x3FF));
    } else {
      scratchPut(cp);
    }
    gPos += <usize>need + 1;
  }
  return String.UTF16.decodeUnsafe(changetype<usize>(gScratch), <usize>gScratchLen << 1);
}

function parseEscape(): bool {
  const at = gPos; // the backslash
  gPos++;
  if (gPos >= gEnd) { fail("unterminated string"); return false; }
  const e = <u32>load<u8>(gPos);
  let out: u32;
  switch (e) {
    case 0x22: out = 0x22; break;
    case 0x5C: out = 0x5C; break;
    case 0x2F: out = 0x2F; break;
    case 0x62: out = 0x08; break;
    case 0x66: out = 0x0C; break;
    case 0x6E: out = 0x0A; break;
    case 0x72: out = 0x0D; break;
    case 0x74: out = 0x09; break;
    case 0x75: {
      const u = hex4(gPos + 1);
      if (u < 0) { gPos = at; fail("invalid \\u escape"); return false; }
      gPos += 5;
      if (u >= 0xDC00 && u <= 0xDFFF) { gPos = at; fail("unpaired surrogate escape"); return false; }
      if (u >= 0xD800 && u <= 0xDBFF) {
        // Must be followed immediately by an escaped low surrogate.
        if (gPos + 1 < gEnd && load<u8>(gPos) == 0x5C && load<u8>(gPos + 1) == 0x75) {
          const lo = hex4(gPos + 2);
          if (lo >= 0xDC00 && lo <= 0xDFFF) {
            scratchPut(<u32>u);
            scratchPut(<u32>lo);
            gPos += 6;
            return true;
          }
        }
        gPos = at;
        fail("unpaired surrogate escape");
        return false;
      }
      scratchPut(<u32>u);
      return true;
    }
    default: { gPos = at; fail("invalid escape"); return false; }
  }
  scratchPut(out);
  gPos++;
  return true;
}
