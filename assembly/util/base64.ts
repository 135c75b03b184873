// Base64 / base64url (RFC 4648) for JOSE.
//
// Decoding is strict on purpose: only the canonical unpadded base64url form of a byte string is
// accepted (RFC 7515 section 2 forbids padding and line breaks). Anything else would let two
// different token strings verify as the same signature input, or smuggle bytes past a cache key.
// Table-driven; decodes straight into the output array; never traps (null on any bad input).

const URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const STD_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const INVALID: u8 = 0xFF;

// Decode table for the base64url alphabet: 6-bit value per byte, INVALID otherwise.
const URL_DECODE = buildDecodeTable(URL_ALPHABET);

function buildDecodeTable(alphabet: string): StaticArray<u8> {
  const t = new StaticArray<u8>(256);
  for (let i = 0; i < 256; i++) unchecked(t[i] = INVALID);
  for (let i = 0; i < 64; i++) unchecked(t[alphabet.charCodeAt(i)] = <u8>i);
  return t;
}

/** Decoded length for an unpadded input length, or -1 when no canonical encoding has that length. */
@inline function decodedLength(len: i32): i32 {
  const rem = len & 3;
  if (rem == 1) return -1;
  return (len >> 2) * 3 + (rem == 0 ? 0 : rem - 1);
}

// T is u8 (UTF-8/ASCII bytes) or u16 (an AssemblyScript string). Code units >= 256 are invalid.
function decodeUnits<T>(src: usize, len: i32): Uint8Array | null {
  if (len < 0) return null;
  const outLen = decodedLength(len);
  if (outLen < 0) return null;
  const out = new Uint8Array(outLen);
  if (len == 0) return out;
  const table = changetype<usize>(URL_DECODE);
  const step = <usize>sizeof<T>();
  let o = out.dataStart;
  let p = src;
  const fullEnd = src + <usize>(len & ~3) * step;
  // Each lookup yields 0..63 or 0xFF; OR-ing them flags any invalid unit in one test per quad.
  while (p < fullEnd) {
    const c0 = <u32>load<T>(p);
    const c1 = <u32>load<T>(p + step);
    const c2 = <u32>load<T>(p + 2 * step);
    const c3 = <u32>load<T>(p + 3 * step);
    if ((c0 | c1 | c2 | c3) > 0xFF) return null;
    const a = <u32>load<u8>(table + c0);
    const b = <u32>load<u8>(table + c1);
    const c = <u32>load<u8>(table + c2);
    const d = <u32>load<u8>(table + c3);
    if ((a | b | c | d) & 0x80) return null;
    const w = (a << 18) | (b << 12) | (c << 6) | d;
    store<u8>(o, <u8>(w >> 16));
    store<u8>(o, <u8>(w >> 8), 1);
    store<u8>(o, <u8>w, 2);
    o += 3;
    p += 4 * step;
  }
  const rem = len & 3;
  if (rem) {
    const c0 = <u32>load<T>(p);
    const c1 = <u32>load<T>(p + step);
    const c2 = rem == 3 ? <u32>load<T>(p + 2 * step) : 0x41; // 'A' (0) as a neutral filler
    if ((c0 | c1 | c2) > 0xFF) return null;
    const a = <u32>load<u8>(table + c0);
    const b = <u32>load<u8>(table + c1);
    const c = <u32>load<u8>(table + c2);
    if ((a | b | c) & 0x80) return null;
    if (rem == 2) {
      if (b & 0x0F) return null; // non-canonical: unused low bits must be zero
      store<u8>(o, <u8>((a << 2) | (b >> 4)));
    } else {
      if (c & 0x03) return null;
      const w = (a << 18) | (b << 12) | (c << 6);
      store<u8>(o, <u8>(w >> 16));
      store<u8>(o, <u8>(w >> 8), 1);
    }
  }
  return out;
}

/** Strict base64url (no padding, canonical) from `len` bytes at `ptr`. */
export function base64urlDecode(ptr: usize, len: i32): Uint8Array | null {
  if (len > 0 && ptr == 0) return null;
  return decodeUnits<u8>(ptr, len);
}

/** Same rules as base64urlDecode, from a string (any non-ASCII character is rejected). */
export function base64urlDecodeString(s: string): Uint8Array | null {
  return decodeUnits<u16>(changetype<usize>(s), s.length);
}

function encodeBytes(src: usize, n: i32, alphabet: string, pad: bool): string {
  const full = n / 3;
  const rem = n - full * 3;
  let outLen = full * 4;
  if (rem) outLen += pad ? 4 : rem + 1;
  if (outLen == 0) return "";
  const out = changetype<string>(__new(<usize>outLen << 1, idof<string>()));
  const abc = changetype<usize>(alphabet);
  let o = changetype<usize>(out);
  let p = src;
  const end = src + <usize>(full * 3);
  while (p < end) {
    const w = (<u32>load<u8>(p) << 16) | (<u32>load<u8>(p, 1) << 8) | <u32>load<u8>(p, 2);
    store<u16>(o, load<u16>(abc + ((w >> 18) << 1)));
    store<u16>(o, load<u16>(abc + (((w >> 12) & 63) << 1)), 2);
    store<u16>(o, load<u16>(abc + (((w >> 6) & 63) << 1)), 4);
    store<u16>(o, load<u16>(abc + ((w & 63) << 1)), 6);
    o += 8;
    p += 3;
  }
  if (rem) {
    const w = (<u32>load<u8>(p) << 16) | (rem == 2 ? <u32>load<u8>(p, 1) << 8 : 0);
    store<u16>(o, load<u16>(abc + ((w >> 18) << 1)));
    store<u16>(o, load<u16>(abc + (((w >> 12) & 63) << 1)), 2);
    if (rem == 2) store<u16>(o, load<u16>(abc + (((w >> 6) & 63) << 1)), 4);
    else if (pad) store<u16>(o, 0x3D, 4);
    if (pad) store<u16>(o, 0x3D, 6);
  }
  return out;
}

/** base64url without padding (JOSE form). */
export function base64urlEncode(data: Uint8Array): string {
  return encodeBytes(data.dataStart, data.length, URL_ALPHABET, false);
}

/** Standard base64 alphabet with '=' padding (e.g. HTTP Basic, PEM bodies). */
export function base64Encode(data: Uint8Array): string {
  return encodeBytes(data.dataStart, data.length, STD_ALPHABET, true);
}

/** base64url of the UTF-8 encoding of s; a lone surrogate is encoded as U+FFFD. */
export function base64urlEncodeString(s: string): string {
  const buf = String.UTF8.encode(s, false, String.UTF8.ErrorMode.REPLACE);
  return encodeBytes(changetype<usize>(buf), buf.byteLength, URL_ALPHABET, false);
}
