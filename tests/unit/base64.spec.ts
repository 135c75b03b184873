import {
  base64urlDecode, base64urlDecodeString, base64urlEncode, base64Encode, base64urlEncodeString,
} from "../../assembly/util/base64";

function bytes(b: u8[]): Uint8Array {
  const a = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) a[i] = b[i];
  return a;
}

function ascii(s: string): Uint8Array {
  return Uint8Array.wrap(String.UTF8.encode(s));
}

function hex(a: Uint8Array | null): string {
  if (a === null) return "<null>";
  let s = "";
  for (let i = 0; i < a.length; i++) s += (a[i] < 16 ? "0" : "") + a[i].toString(16);
  return s;
}

function text(a: Uint8Array | null): string {
  if (a === null) return "<null>";
  return String.UTF8.decode(a.buffer.slice(a.byteOffset, a.byteOffset + a.length));
}

// Decodes through both entry points (bytes and string) and checks they agree.
function dec(s: string): Uint8Array | null {
  const viaString = base64urlDecodeString(s);
  const raw = ascii(s);
  const viaBytes = base64urlDecode(raw.dataStart, raw.length);
  expect<string>(hex(viaBytes)).toBe(hex(viaString), "byte and string decoders agree on " + s);
  return viaString;
}

function rejects(s: string): void {
  expect<Uint8Array | null>(dec(s)).toBeNull(s);
}

describe("base64url decode: RFC 4648 vectors", () => {
  it("empty", () => { const r = dec(""); expect<bool>(r !== null).toBe(true); expect<i32>((r as Uint8Array).length).toBe(0); });
  it("f", () => { expect<string>(text(dec("Zg"))).toBe("f"); });
  it("fo", () => { expect<string>(text(dec("Zm8"))).toBe("fo"); });
  it("foo", () => { expect<string>(text(dec("Zm9v"))).toBe("foo"); });
  it("foob", () => { expect<string>(text(dec("Zm9vYg"))).toBe("foob"); });
  it("fooba", () => { expect<string>(text(dec("Zm9vYmE"))).toBe("fooba"); });
  it("foobar", () => { expect<string>(text(dec("Zm9vYmFy"))).toBe("foobar"); });
});

describe("base64url decode: JOSE", () => {
  it("RFC 7515 A.1 protected header", () => {
    expect<string>(text(dec("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"))).toBe("{\"typ\":\"JWT\",\r\n \"alg\":\"HS256\"}");
  });
  it("RFC 7515 A.1 payload", () => {
    expect<string>(text(dec("eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ")))
      .toBe("{\"iss\":\"joe\",\r\n \"exp\":1300819380,\r\n \"http://example.com/is_root\":true}");
  });
  it("RSA exponent AQAB", () => { expect<string>(hex(dec("AQAB"))).toBe("010001"); });
  it("url alphabet characters - and _", () => {
    expect<string>(hex(dec("-_8"))).toBe("fbff");
    expect<string>(hex(dec("____"))).toBe("ffffff");
    expect<string>(hex(dec("----"))).toBe("fbefbe");
  });
  it("all 256 byte values round trip", () => {
    const all = new Uint8Array(256);
    for (let i = 0; i < 256; i++) all[i] = <u8>i;
    const enc = base64urlEncode(all);
    expect<string>(hex(dec(enc))).toBe(hex(all));
  });
  it("every length 0..40 round trips", () => {
    for (let n = 0; n <= 40; n++) {
      const a = new Uint8Array(n);
      for (let i = 0; i < n; i++) a[i] = <u8>(i * 37 + n);
      expect<string>(hex(dec(base64urlEncode(a)))).toBe(hex(a));
    }
  });
});

describe("base64url decode: strictness", () => {
  it("rejects padding", () => { rejects("Zg=="); rejects("Zm8="); rejects("Zm9v===="); rejects("="); });
  it("rejects length % 4 == 1", () => { rejects("Z"); rejects("Zm9vY"); });
  it("rejects non-zero unused bits (2-char tail)", () => { rejects("Zh"); rejects("Zv"); rejects("__"); });
  it("rejects non-zero unused bits (3-char tail)", () => { rejects("Zm9"); rejects("Zm-"); rejects("Zm_"); });
  it("rejects the standard alphabet's + and /", () => { rejects("Zm+v"); rejects("Zm/v"); rejects("+/8"); });
  it("rejects whitespace and line breaks", () => { rejects("Zm9v Yg"); rejects("Zm9v\nYmFy"); rejects(" Zm9v"); rejects("Zm9v\r\n"); });
  it("rejects other punctuation", () => { rejects("Zm9v."); rejects("Zm9v!"); rejects("Zm,v"); rejects("Zm9v\x00"); });
  it("rejects non-ASCII characters", () => {
    rejects("Zm9é");
    expect<Uint8Array | null>(base64urlDecodeString("Zm9" + String.fromCharCode(0x141))).toBeNull();
    expect<Uint8Array | null>(base64urlDecodeString("Zm" + String.fromCharCode(0x5A + 0x100) + "v")).toBeNull();
  });
  it("rejects high bytes in byte input", () => {
    const b = bytes([0x5A, 0x6D, 0x39, 0xF6]);
    expect<Uint8Array | null>(base64urlDecode(b.dataStart, b.length)).toBeNull();
    const c = bytes([0x5A, 0x80]);
    expect<Uint8Array | null>(base64urlDecode(c.dataStart, c.length)).toBeNull();
  });
  it("rejects a bad character in the tail", () => { rejects("Zm9vY="); rejects("Zm9vY$"); rejects("Zm9vYm!"); });
  it("rejects negative lengths and null pointers", () => {
    const b = ascii("Zm9v");
    expect<Uint8Array | null>(base64urlDecode(b.dataStart, -4)).toBeNull();
    expect<Uint8Array | null>(base64urlDecode(0, 4)).toBeNull();
  });
  it("decodes a sub-range of a buffer (JWT segment)", () => {
    const jwt = ascii("eyJhbGciOiJFUzI1NiJ9.e30.sig");
    const r = base64urlDecode(jwt.dataStart, 20);
    expect<string>(text(r)).toBe("{\"alg\":\"ES256\"}");
    expect<string>(text(base64urlDecode(jwt.dataStart + 21, 3))).toBe("{}");
  });
});

describe("base64 encode", () => {
  it("base64url vectors, unpadded", () => {
    expect<string>(base64urlEncode(ascii(""))).toBe("");
    expect<string>(base64urlEncode(ascii("f"))).toBe("Zg");
    expect<string>(base64urlEncode(ascii("fo"))).toBe("Zm8");
    expect<string>(base64urlEncode(ascii("foo"))).toBe("Zm9v");
    expect<string>(base64urlEncode(ascii("foob"))).toBe("Zm9vYg");
    expect<string>(base64urlEncode(ascii("fooba"))).toBe("Zm9vYmE");
    expect<string>(base64urlEncode(ascii("foobar"))).toBe("Zm9vYmFy");
  });
  it("standard vectors, padded", () => {
    expect<string>(base64Encode(ascii(""))).toBe("");
    expect<string>(base64Encode(ascii("f"))).toBe("Zg==");
    expect<string>(base64Encode(ascii("fo"))).toBe("Zm8=");
    expect<string>(base64Encode(ascii("foo"))).toBe("Zm9v");
    expect<string>(base64Encode(ascii("foob"))).toBe("Zm9vYg==");
    expect<string>(base64Encode(ascii("fooba"))).toBe("Zm9vYmE=");
    expect<string>(base64Encode(ascii("foobar"))).toBe("Zm9vYmFy");
  });
  it("alphabets differ only in the last two symbols", () => {
    const b = bytes([0xFB, 0xFF, 0xBF]);
    expect<string>(base64Encode(b)).toBe("+/+/");
    expect<string>(base64urlEncode(b)).toBe("-_-_");
  });
  it("base64urlEncodeString encodes UTF-8", () => {
    expect<string>(base64urlEncodeString("{\"alg\":\"ES256\"}")).toBe("eyJhbGciOiJFUzI1NiJ9");
    expect<string>(base64urlEncodeString("é😀")).toBe(base64urlEncode(bytes([0xC3, 0xA9, 0xF0, 0x9F, 0x98, 0x80])));
    expect<string>(text(dec(base64urlEncodeString("héllo wörld")))).toBe("héllo wörld");
  });
  it("base64urlEncodeString replaces a lone surrogate with U+FFFD", () => {
    expect<string>(hex(dec(base64urlEncodeString(String.fromCharCode(0xD800))))).toBe("efbfbd");
  });
});
