import { parseJson, parseJsonBytes, lastJsonError, jsonQuote, JsonValue, JsonKind } from "../../assembly/util/json";

// ---- helpers (AssemblyScript closures cannot capture locals, so each case is its own `it`) ----

function ok(s: string): JsonValue {
  const v = parseJson(s);
  if (v === null) {
    expect<string>("parse failed: " + lastJsonError()).toBe("parsed", s);
    return new JsonValue();
  }
  return v;
}

function rejects(s: string): void {
  expect<JsonValue | null>(parseJson(s)).toBeNull(s);
  expect<bool>(lastJsonError().length > 0).toBe(true, "error message set for " + s);
}

function bytesOf(b: u8[]): Uint8Array {
  const a = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) a[i] = b[i];
  return a;
}

// Wraps raw bytes in quotes so a UTF-8 sequence is tested inside a JSON string.
function parseQuotedBytes(b: u8[]): JsonValue | null {
  const all = new Array<u8>();
  all.push(0x22);
  for (let i = 0; i < b.length; i++) all.push(b[i]);
  all.push(0x22);
  const a = bytesOf(all);
  return parseJsonBytes(a.dataStart, a.length);
}

function nested(open: string, close: string, n: i32): string {
  return open.repeat(n) + close.repeat(n);
}

function roundTrip(s: string): void {
  const v = ok(s);
  const out = v.toJSON();
  expect<string>(out).toBe(s, "compact round trip");
  const again = parseJson(out);
  expect<bool>(again !== null).toBe(true);
  expect<string>((again as JsonValue).toJSON()).toBe(out);
}

describe("json: scalars", () => {
  it("null", () => { expect<bool>(ok("null").isNull()).toBe(true); });
  it("true", () => { const v = ok("true"); expect<bool>(v.isBool()).toBe(true); expect<bool>(v.b).toBe(true); });
  it("false", () => { const v = ok("false"); expect<bool>(v.isBool()).toBe(true); expect<bool>(v.b).toBe(false); });
  it("surrounding whitespace", () => { expect<bool>(ok(" \t\r\n 1 \n").isNumber()).toBe(true); });
  it("a string at top level", () => { expect<string>(ok("\"hi\"").str).toBe("hi"); });
  it("rejects truncated literals", () => { rejects("tru"); rejects("nul"); rejects("fals"); });
  it("rejects literal case variants", () => { rejects("True"); rejects("NULL"); });
  it("rejects NaN and Infinity", () => { rejects("NaN"); rejects("Infinity"); rejects("-Infinity"); });
  it("rejects empty input", () => { rejects(""); });
  it("rejects whitespace-only input", () => { rejects("  \n\t"); });
  it("rejects non-JSON whitespace (vertical tab, NBSP)", () => { rejects("\v1"); rejects("\u00A01"); });
  it("rejects a byte order mark", () => { rejects("\uFEFF{}"); });
  it("rejects content after the value", () => { rejects("1 2"); rejects("{} {}"); rejects("null x"); rejects("[]]"); });
  it("rejects empty or null input bytes", () => {
    expect<JsonValue | null>(parseJsonBytes(0, 0)).toBeNull();
    const a = bytesOf([0x31]);
    expect<JsonValue | null>(parseJsonBytes(a.dataStart, -1)).toBeNull();
  });
});

describe("json: numbers", () => {
  it("integer", () => {
    const v = ok("42");
    expect<bool>(v.isInt).toBe(true); expect<i64>(v.int).toBe(42); expect<f64>(v.num).toBe(42.0);
  });
  it("negative integer", () => { const v = ok("-17"); expect<bool>(v.isInt).toBe(true); expect<i64>(v.int).toBe(-17); });
  it("zero", () => { const v = ok("0"); expect<bool>(v.isInt).toBe(true); expect<i64>(v.int).toBe(0); });
  it("-0 is the integer 0", () => { const v = ok("-0"); expect<bool>(v.isInt).toBe(true); expect<i64>(v.int).toBe(0); });
  it("fraction", () => { const v = ok("3.25"); expect<bool>(v.isInt).toBe(false); expect<f64>(v.num).toBe(3.25); });
  it("0.1 is parsed exactly as the nearest double", () => { expect<f64>(ok("0.1").num).toBe(0.1); });
  it("exponent forms are numbers but not ints", () => {
    const v = ok("1e3"); expect<bool>(v.isInt).toBe(false); expect<f64>(v.num).toBe(1000.0);
    expect<f64>(ok("1E+2").num).toBe(100.0);
    expect<f64>(ok("25e-2").num).toBe(0.25);
    expect<f64>(ok("-1.5E0").num).toBe(-1.5);
  });
  it("i64 max is an int", () => {
    const v = ok("9223372036854775807"); expect<bool>(v.isInt).toBe(true); expect<i64>(v.int).toBe(i64.MAX_VALUE);
  });
  it("i64 min is an int", () => {
    const v = ok("-9223372036854775808"); expect<bool>(v.isInt).toBe(true); expect<i64>(v.int).toBe(i64.MIN_VALUE);
  });
  it("i64 max + 1 is not an int but has num", () => {
    const v = ok("9223372036854775808"); expect<bool>(v.isInt).toBe(false); expect<f64>(v.num).toBe(9223372036854775808.0);
  });
  it("i64 min - 1 is not an int", () => { expect<bool>(ok("-9223372036854775809").isInt).toBe(false); });
  it("huge integer is not an int", () => {
    const v = ok("123456789012345678901234567890"); expect<bool>(v.isInt).toBe(false); expect<f64>(v.num).toBeGreaterThan(1.2e29);
  });
  it("typical JWT exp", () => { const v = ok("1716239022"); expect<bool>(v.isInt).toBe(true); expect<i64>(v.int).toBe(1716239022); });
  it("extremes of double", () => {
    expect<f64>(ok("1.7976931348623157e308").num).toBe(1.7976931348623157e308);
    expect<f64>(ok("5e-324").num).toBe(5e-324);
  });
  it("rejects numbers that overflow to infinity", () => { rejects("1e400"); rejects("-1e400"); });
  it("rejects leading zeros", () => { rejects("01"); rejects("-01"); rejects("00"); rejects("[007]"); });
  it("rejects a leading plus", () => { rejects("+1"); });
  it("rejects a bare fraction", () => { rejects(".5"); rejects("-.5"); });
  it("rejects a trailing dot", () => { rejects("1."); rejects("1.e5"); });
  it("rejects an empty exponent", () => { rejects("1e"); rejects("1e+"); rejects("1E-"); });
  it("rejects a lone minus", () => { rejects("-"); rejects("- 1"); });
  it("rejects hex and junk after digits", () => { rejects("0x10"); rejects("12a"); rejects("1_000"); });
});

describe("json: strings", () => {
  it("simple escapes", () => {
    expect<string>(ok("\"a\\\"b\\\\c\\/d\\be\\ff\\ng\\rh\\ti\"").str).toBe("a\"b\\c/d\be\ff\ng\rh\ti");
  });
  it("\\u escapes (BMP)", () => { expect<string>(ok("\"\\u0041\\u00e9\\u4E2D\"").str).toBe("Aé中"); });
  it("\\u0000 is allowed", () => { const s = ok("\"a\\u0000b\"").str; expect<i32>(s.length).toBe(3); expect<i32>(s.charCodeAt(1)).toBe(0); });
  it("escaped surrogate pair", () => { expect<string>(ok("\"\\uD83D\\uDE00\"").str).toBe("😀"); });
  it("raw UTF-8: 2, 3 and 4 byte sequences", () => { expect<string>(ok("\"é中😀\"").str).toBe("é中😀"); });
  it("raw UTF-8 bytes decoded", () => {
    const v = parseQuotedBytes([0xC3, 0xA9, 0xE2, 0x82, 0xAC, 0xF0, 0x9F, 0x98, 0x80]);
    expect<bool>(v !== null).toBe(true);
    expect<string>((v as JsonValue).str).toBe("é€😀");
  });
  it("highest code point U+10FFFF", () => {
    const v = parseQuotedBytes([0xF4, 0x8F, 0xBF, 0xBF]);
    expect<bool>(v !== null).toBe(true);
    expect<i32>((v as JsonValue).str.codePointAt(0)).toBe(0x10FFFF);
  });
  it("DEL (0x7F) is allowed raw", () => { expect<i32>(ok("\"\x7F\"").str.charCodeAt(0)).toBe(0x7F); });
  it("rejects raw control characters", () => { rejects("\"a\nb\""); rejects("\"\t\""); rejects("\"\x00\""); rejects("\"\x1F\""); });
  it("rejects invalid escapes", () => { rejects("\"\\x41\""); rejects("\"\\a\""); rejects("\"\\'\""); rejects("\"\\U0041\""); });
  it("rejects short or non-hex \\u", () => { rejects("\"\\u12\""); rejects("\"\\u12G4\""); rejects("\"\\u"); });
  it("rejects a lone high surrogate escape", () => { rejects("\"\\uD800\""); rejects("\"\\uD800x\""); });
  it("rejects a lone low surrogate escape", () => { rejects("\"\\uDC00\""); });
  it("rejects high surrogate followed by non-surrogate escape", () => { rejects("\"\\uD800\\u0041\""); rejects("\"\\uD800\\uD800\""); });
  it("rejects unterminated strings", () => { rejects("\"abc"); rejects("\"abc\\\""); rejects("\"\\"); });
  it("rejects single quotes", () => { rejects("'a'"); rejects("{'a':1}"); });
  it("rejects overlong UTF-8", () => {
    expect<JsonValue | null>(parseQuotedBytes([0xC0, 0xAF])).toBeNull();
    expect<JsonValue | null>(parseQuotedBytes([0xC1, 0xBF])).toBeNull();
    expect<JsonValue | null>(parseQuotedBytes([0xE0, 0x80, 0xAF])).toBeNull();
    expect<JsonValue | null>(parseQuotedBytes([0xF0, 0x80, 0x80, 0xAF])).toBeNull();
  });
  it("rejects UTF-8 encoded surrogates", () => {
    expect<JsonValue | null>(parseQuotedBytes([0xED, 0xA0, 0x80])).toBeNull();
    expect<JsonValue | null>(parseQuotedBytes([0xED, 0xBF, 0xBF])).toBeNull();
  });
  it("rejects code points above U+10FFFF and invalid lead bytes", () => {
    expect<JsonValue | null>(parseQuotedBytes([0xF4, 0x90, 0x80, 0x80])).toBeNull();
    expect<JsonValue | null>(parseQuotedBytes([0xF5, 0x80, 0x80, 0x80])).toBeNull();
    expect<JsonValue | null>(parseQuotedBytes([0xFF])).toBeNull();
  });
  it("rejects stray continuation bytes", () => { expect<JsonValue | null>(parseQuotedBytes([0x80])).toBeNull(); });
  it("rejects truncated UTF-8", () => {
    expect<JsonValue | null>(parseQuotedBytes([0xE2, 0x82])).toBeNull();
    expect<JsonValue | null>(parseQuotedBytes([0xF0, 0x9F, 0x98])).toBeNull();
    expect<JsonValue | null>(parseQuotedBytes([0xC3])).toBeNull();
    const a = bytesOf([0x22, 0xE2, 0x82]); // ends inside the sequence, no closing quote
    expect<JsonValue | null>(parseJsonBytes(a.dataStart, a.length)).toBeNull();
  });
  it("rejects a lone surrogate in the input string itself", () => {
    expect<JsonValue | null>(parseJson("\"" + String.fromCharCode(0xD800) + "\"")).toBeNull();
  });
  it("rejects non-ASCII outside strings", () => { rejects("é"); expect<JsonValue | null>(parseJsonBytes(bytesOf([0xC3, 0xA9]).dataStart, 2)).toBeNull(); });
});

describe("json: arrays and objects", () => {
  it("empty containers", () => {
    expect<i32>(ok("[]").items.length).toBe(0);
    expect<i32>(ok("{}").keys.length).toBe(0);
    expect<i32>(ok(" [ ] ").items.length).toBe(0);
    expect<i32>(ok("{ }").keys.length).toBe(0);
  });
  it("array items in order", () => {
    const v = ok("[1, \"two\", true, null, [3], {\"x\":4}]");
    expect<i32>(v.items.length).toBe(6);
    expect<i64>(v.items[0].int).toBe(1);
    expect<string>(v.items[1].str).toBe("two");
    expect<bool>(v.items[2].b).toBe(true);
    expect<bool>(v.items[3].isNull()).toBe(true);
    expect<i64>(v.items[4].items[0].int).toBe(3);
    expect<i64>((v.items[5].get("x") as JsonValue).int).toBe(4);
  });
  it("object keys keep insertion order and get/has work", () => {
    const v = ok("{\"b\":1,\"a\":2,\"c\":{\"d\":[]}}");
    expect<string>(v.keys.join(",")).toBe("b,a,c");
    expect<i64>((v.get("a") as JsonValue).int).toBe(2);
    expect<bool>(v.has("c")).toBe(true);
    expect<bool>(v.has("z")).toBe(false);
    expect<JsonValue | null>(v.get("z")).toBeNull();
    expect<bool>((v.get("c") as JsonValue).has("d")).toBe(true);
  });
  it("get on a non-object is null", () => {
    expect<JsonValue | null>(ok("[1]").get("0")).toBeNull();
    expect<JsonValue | null>(ok("\"a\"").get("a")).toBeNull();
    expect<bool>(ok("1").has("a")).toBe(false);
  });
  it("escaped keys are decoded", () => { expect<bool>(ok("{\"\\u0061lg\":1}").has("alg")).toBe(true); });
  it("empty key is allowed", () => { expect<bool>(ok("{\"\":1}").has("")).toBe(true); });
  it("rejects trailing commas", () => { rejects("[1,]"); rejects("{\"a\":1,}"); rejects("[1,,2]"); rejects("[,]"); rejects("{,}"); });
  it("rejects a missing comma", () => { rejects("[1 2]"); rejects("{\"a\":1 \"b\":2}"); });
  it("rejects a missing colon or value", () => { rejects("{\"a\" 1}"); rejects("{\"a\":}"); rejects("{\"a\"}"); });
  it("rejects non-string keys", () => { rejects("{a:1}"); rejects("{1:1}"); rejects("{null:1}"); });
  it("rejects unclosed containers", () => { rejects("["); rejects("[1"); rejects("{\"a\":1"); rejects("{"); rejects("[[]"); });
  it("rejects mismatched brackets", () => { rejects("[}"); rejects("{]"); rejects("[1}"); });
  it("rejects comments", () => { rejects("[1 /* c */]"); rejects("// c\n1"); rejects("{\"a\":1} # c"); });
  it("rejects duplicate keys", () => { rejects("{\"a\":1,\"a\":2}"); rejects("{\"a\":1,\"b\":2,\"a\":1}"); });
  it("rejects duplicate keys that differ only by escaping", () => { rejects("{\"alg\":\"RS256\",\"\\u0061lg\":\"none\"}"); });
  it("rejects duplicate keys in nested objects", () => { rejects("[{\"k\":1,\"k\":1}]"); });
  it("same key in different objects is fine", () => { expect<i32>(ok("[{\"k\":1},{\"k\":2}]").items.length).toBe(2); });
  it("keys differing in case are distinct", () => { expect<i32>(ok("{\"a\":1,\"A\":2}").keys.length).toBe(2); });
});

describe("json: depth", () => {
  it("arrays at the default limit (32)", () => { expect<bool>(parseJson(nested("[", "]", 32)) !== null).toBe(true); });
  it("arrays over the default limit", () => {
    expect<JsonValue | null>(parseJson(nested("[", "]", 33))).toBeNull();
    expect<bool>(lastJsonError().startsWith("nesting deeper than 32")).toBe(true);
  });
  it("objects at and over a custom limit", () => {
    let at = "1";
    for (let i = 0; i < 4; i++) at = "{\"a\":" + at + "}";
    expect<bool>(parseJson(at, 4) !== null).toBe(true);
    expect<JsonValue | null>(parseJson("[" + at + "]", 4)).toBeNull();
  });
  it("maxDepth 0 allows only scalars", () => {
    expect<bool>(parseJson("1", 0) !== null).toBe(true);
    expect<JsonValue | null>(parseJson("[]", 0)).toBeNull();
  });
  it("very deep input fails cleanly instead of trapping", () => {
    expect<JsonValue | null>(parseJson(nested("[", "]", 100000), 100000)).toBeNull();
  });
});

describe("json: JOSE documents", () => {
  it("RFC 7515 A.1 header (with CRLF and spaces)", () => {
    const h = ok("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
    expect<string>((h.get("alg") as JsonValue).str).toBe("HS256");
    expect<string>((h.get("typ") as JsonValue).str).toBe("JWT");
  });
  it("RFC 7515 A.1 payload", () => {
    const p = ok("{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
    expect<i64>((p.get("exp") as JsonValue).int).toBe(1300819380);
    expect<bool>((p.get("http://example.com/is_root") as JsonValue).b).toBe(true);
  });
  it("RFC 7515 A.3 ES256 header", () => { expect<string>((ok("{\"alg\":\"ES256\"}").get("alg") as JsonValue).str).toBe("ES256"); });
  it("refuses a header with two alg members", () => { rejects("{\"alg\":\"RS256\",\"kid\":\"k1\",\"alg\":\"none\"}"); });
  it("JWKS with an RSA key", () => {
    const j = ok("{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k1\",\"use\":\"sig\",\"alg\":\"RS256\",\"n\":\"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw\",\"e\":\"AQAB\"}]}");
    const keys = j.get("keys") as JsonValue;
    expect<bool>(keys.isArray()).toBe(true);
    expect<string>((keys.items[0].get("e") as JsonValue).str).toBe("AQAB");
    expect<i32>((keys.items[0].get("n") as JsonValue).str.length).toBe(342);
  });
});

describe("json: errors", () => {
  it("reports the byte offset of an unexpected character", () => {
    expect<JsonValue | null>(parseJson("{\"a\":1,\"b\":[1,2,],}")).toBeNull();
    expect<string>(lastJsonError()).toBe("unexpected ']' at 16");
  });
  it("reports end of input", () => {
    expect<JsonValue | null>(parseJson("[1,")).toBeNull();
    expect<string>(lastJsonError()).toBe("unexpected end of input at 3");
  });
  it("reports duplicate keys at the second key", () => {
    expect<JsonValue | null>(parseJson("{\"a\":1,\"a\":2}")).toBeNull();
    expect<string>(lastJsonError()).toBe("duplicate key at 7");
  });
  it("offsets count UTF-8 bytes", () => {
    expect<JsonValue | null>(parseJson("[\"é\",x]")).toBeNull();
    expect<string>(lastJsonError()).toBe("unexpected 'x' at 6");
  });
  it("a later success clears the error", () => {
    parseJson("[");
    ok("[]");
    expect<string>(lastJsonError()).toBe("");
  });
});

describe("json: toJSON and jsonQuote", () => {
  it("round trips compact documents", () => {
    roundTrip("{\"a\":[1,-2,true,false,null],\"b\":{\"c\":\"d\"},\"e\":\"\"}");
    roundTrip("[]");
    roundTrip("{}");
    roundTrip("[[[]],{}]");
    roundTrip("-9223372036854775808");
  });
  it("integers have no .0, fractions keep their value", () => {
    expect<string>(ok("[10, 0.5, -0]").toJSON()).toBe("[10,0.5,0]");
    const f = parseJson(ok("1e3").toJSON()) as JsonValue;
    expect<f64>(f.num).toBe(1000.0);
    expect<f64>((parseJson(ok("1.5e300").toJSON()) as JsonValue).num).toBe(1.5e300);
    expect<f64>((parseJson(ok("1e-7").toJSON()) as JsonValue).num).toBe(1e-7);
    expect<f64>((parseJson(ok("123456789012345678901234567890").toJSON()) as JsonValue).num).toBe(1.2345678901234568e29);
  });
  it("removes insignificant whitespace", () => { expect<string>(ok(" { \"a\" : [ 1 , 2 ] } ").toJSON()).toBe("{\"a\":[1,2]}"); });
  it("escapes strings and keeps unicode", () => {
    const s = "q\"b\\n\nt\tc\x01d\x1Fé😀/";
    const v = ok(jsonQuote(s));
    expect<string>(v.str).toBe(s);
    expect<string>(jsonQuote(s)).toBe("\"q\\\"b\\\\n\\nt\\tc\\u0001d\\u001fé😀/\"");
  });
  it("jsonQuote replaces lone surrogates so the output stays valid", () => {
    const q = jsonQuote("a" + String.fromCharCode(0xD800) + "b");
    expect<string>(q).toBe("\"a\uFFFDb\"");
    expect<bool>(parseJson(q) !== null).toBe(true);
  });
  it("round trips decoded escapes", () => {
    const v = ok("{\"k\\n\":\"\\uD83D\\uDE00\\u0000\\b\"}");
    const again = parseJson(v.toJSON()) as JsonValue;
    expect<string>((again.get("k\n") as JsonValue).str).toBe("😀\u0000\b");
  });
  it("builders produce valid JSON", () => {
    const o = JsonValue.newObject();
    o.set("sub", JsonValue.ofString("alice"));
    o.set("n", JsonValue.ofInt(-5));
    o.set("f", JsonValue.ofNumber(0.25));
    o.set("nan", JsonValue.ofNumber(NaN));
    const a = JsonValue.newArray();
    a.push(JsonValue.ofBool(true));
    a.push(JsonValue.ofNull());
    o.set("a", a);
    o.set("sub", JsonValue.ofString("bob")); // replaces, keeps keys unique
    expect<string>(o.toJSON()).toBe("{\"sub\":\"bob\",\"n\":-5,\"f\":0.25,\"nan\":null,\"a\":[true,null]}");
    expect<bool>(parseJson(o.toJSON()) !== null).toBe(true);
  });
  it("kinds are reported", () => {
    expect<i32>(ok("{}").kind).toBe(JsonKind.Object);
    expect<i32>(ok("[]").kind).toBe(JsonKind.Array);
    expect<i32>(ok("\"\"").kind).toBe(JsonKind.String);
    expect<i32>(ok("1").kind).toBe(JsonKind.Number);
  });
});

describe("json: deep documents", () => {
  it("1000 levels parse with a raised limit and round trip", () => {
    const s = nested("[", "]", 1000);
    const v = parseJson(s, 1000);
    expect<bool>(v !== null).toBe(true, lastJsonError());
    expect<string>((v as JsonValue).toJSON()).toBe(s);
    expect<JsonValue | null>(parseJson(s, 999)).toBeNull();
  });
  it("deep mixed nesting at the limit", () => {
    let s = "0";
    for (let i = 0; i < 40; i++) s = (i & 1) ? "{\"k\":" + s + "}" : "[" + s + "]";
    expect<bool>(parseJson(s, 40) !== null).toBe(true);
    expect<JsonValue | null>(parseJson(s, 39)).toBeNull();
    expect<string>((parseJson(s, 40) as JsonValue).toJSON()).toBe(s);
  });
  it("a cyclic hand-built tree serialises without trapping", () => {
    const a = JsonValue.newArray();
    a.push(a);
    expect<bool>(a.toJSON().length > 0).toBe(true);
  });
});

describe("json: many members", () => {
  it("accepts 5000 distinct keys and finds them", () => {
    const parts = new Array<string>();
    for (let i = 0; i < 5000; i++) parts.push("\"k" + i.toString() + "\":" + i.toString());
    const v = parseJson("{" + parts.join(",") + "}");
    expect<bool>(v !== null).toBe(true, lastJsonError());
    expect<i32>((v as JsonValue).keys.length).toBe(5000);
    expect<i64>(((v as JsonValue).get("k4321") as JsonValue).int).toBe(4321);
  });
  it("refuses a duplicate among many keys (hash-set path)", () => {
    const parts = new Array<string>();
    for (let i = 0; i < 100; i++) parts.push("\"k" + i.toString() + "\":" + i.toString());
    parts.push("\"k7\":0");
    expect<JsonValue | null>(parseJson("{" + parts.join(",") + "}")).toBeNull();
    expect<bool>(lastJsonError().startsWith("duplicate key")).toBe(true);
  });
  it("refuses a duplicate right at the set threshold", () => {
    const parts = new Array<string>();
    for (let i = 0; i < 16; i++) parts.push("\"k" + i.toString() + "\":" + i.toString());
    parts.push("\"k0\":0");
    expect<JsonValue | null>(parseJson("{" + parts.join(",") + "}")).toBeNull();
  });
  it("nested objects keep separate key sets", () => {
    const parts = new Array<string>();
    for (let i = 0; i < 20; i++) parts.push("\"k" + i.toString() + "\":{\"k" + i.toString() + "\":1,\"x\":[{\"k1\":2}]}");
    expect<bool>(parseJson("{" + parts.join(",") + "}") !== null).toBe(true, lastJsonError());
  });
});

describe("json: long strings", () => {
  it("a long plain prefix followed by an escape", () => {
    const head = "x".repeat(5000);
    expect<string>(ok("\"" + head + "\\n\"").str).toBe(head + "\n");
  });
  it("a long non-ASCII string", () => {
    const s = "é😀中".repeat(3000);
    const v = ok(jsonQuote(s));
    expect<string>(v.str).toBe(s);
    expect<i32>(v.str.length).toBe(12000);
  });
  it("a long plain string (fast path)", () => {
    const s = "abc".repeat(10000);
    expect<string>(ok("[\"" + s + "\",\"\"]").items[0].str).toBe(s);
  });
  it("an invalid byte after a long plain prefix is still refused", () => {
    expect<JsonValue | null>(parseJson("\"" + "x".repeat(1000) + "\x01\"")).toBeNull();
    expect<string>(lastJsonError()).toBe("control character in string at 1001");
  });
});
