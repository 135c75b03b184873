// The ABI's header-map wire format: u32 count, then (u32 key len, u32 value len) per entry,
// then each key and each value followed by a NUL byte. Little-endian, as wasm memory is.

export type Pair = [string, string];

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodePairs(pairs: readonly Pair[]): Uint8Array {
  const bytes = pairs.map(([k, v]) => [enc.encode(k), enc.encode(v)] as const);
  let size = 4 + 8 * bytes.length;
  for (const [k, v] of bytes) size += k.length + v.length + 2;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  view.setUint32(0, bytes.length, true);
  let at = 4 + 8 * bytes.length;
  bytes.forEach(([k, v], i) => {
    view.setUint32(4 + i * 8, k.length, true);
    view.setUint32(8 + i * 8, v.length, true);
    out.set(k, at); at += k.length + 1;
    out.set(v, at); at += v.length + 1;
  });
  return out;
}

// Mirrors cpp-host's toPairs: a buffer too short for its own count yields no pairs.
// Unlike cpp-host (which would read past the end), lengths that overrun the buffer also yield none.
export function decodePairs(buf: Uint8Array): Pair[] {
  if (buf.length < 4) return [];
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = view.getUint32(0, true);
  if (4 + n * 8 > buf.length) return [];
  const out: Pair[] = [];
  let at = 4 + n * 8;
  for (let i = 0; i < n; i++) {
    const kl = view.getUint32(4 + i * 8, true);
    const vl = view.getUint32(8 + i * 8, true);
    if (at + kl + vl + 2 > buf.length) return [];
    const k = dec.decode(buf.subarray(at, at + kl)); at += kl + 1;
    const v = dec.decode(buf.subarray(at, at + vl)); at += vl + 1;
    out.push([k, v]);
  }
  return out;
}
