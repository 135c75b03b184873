// Header maps. Names are pre-encoded by callers (see `HeaderName`) so that a lookup on the
// hot path allocates only the value the host hands back.
import {
  proxy_get_header_map_value, proxy_replace_header_map_value, proxy_remove_header_map_value,
  proxy_add_header_map_value, proxy_get_header_map_pairs, proxy_send_local_response,
} from "./sdk";
import { retPtrSlot, retSizeSlot, takeReturned } from "./buffers";

export const enum MapType { Request = 0, Response = 2, HttpCallResponse = 6 }

export class HeaderName {
  readonly bytes: ArrayBuffer;
  constructor(public readonly name: string) { this.bytes = String.UTF8.encode(name.toLowerCase()); }
}

// The request headers of the callback under way, read in one host call (see HeaderSnapshot), or
// null. While it is set, request-header reads are answered from it, except for a header this
// filter has changed since (set, replaced, added or removed: read from the host again); the
// stream drops it before its callback returns.
let requestSnapshot: HeaderSnapshot | null = null;
// Reused across requests (cleared, never reallocated): the hot path allocates as little as it can.
const changedNames: ArrayBuffer[] = [];

function isChanged(name: HeaderName): bool {
  const b = name.bytes;
  for (let i = 0; i < changedNames.length; i++) {
    const c = unchecked(changedNames[i]);
    if (c == b || (c.byteLength == b.byteLength && memory.compare(changetype<usize>(c), changetype<usize>(b), b.byteLength) == 0)) return true;
  }
  return false;
}

/** Reads every request header at once; false (and no snapshot) when the host refuses. */
export function snapshotRequestHeaders(): bool {
  const s = new HeaderSnapshot();
  requestSnapshot = s.load(MapType.Request) ? s : null;
  changedNames.length = 0;
  return requestSnapshot !== null;
}
export function dropRequestSnapshot(): void { requestSnapshot = null; changedNames.length = 0; }

// True only when the snapshot proves the request has no such header right now: it is live, and
// this filter has not set, added or removed that header since it was read.
function knownAbsent(map: MapType, name: HeaderName): bool {
  const snap = requestSnapshot;
  return map == MapType.Request && snap !== null && !isChanged(name) && snap.find(name) < 0;
}

@inline function changed(map: MapType, name: HeaderName): void {
  if (map == MapType.Request && requestSnapshot !== null) changedNames.push(name.bytes);
}

// Null when the header is absent.
export function getHeader(map: MapType, name: HeaderName): ArrayBuffer | null {
  const snap = requestSnapshot;
  if (map == MapType.Request && snap !== null && !isChanged(name)) {
    const off = snap.find(name);
    return off < 0 ? null : snap.buf.slice(off, off + snap.foundLen);
  }
  store<usize>(retPtrSlot(), 0);
  store<usize>(retSizeSlot(), 0);
  const r = proxy_get_header_map_value(<i32>map, changetype<usize>(name.bytes), name.bytes.byteLength, retPtrSlot(), retSizeSlot());
  if (r != 0) return null;
  return takeReturned();
}

// Where a header's value lies: `buf[start, start + len)`.
export class ByteView {
  buf: ArrayBuffer = EMPTY;
  start: i32 = 0;
  len: i32 = 0;
}
const EMPTY = new ArrayBuffer(0);

/**
 * Like getHeader, without copying the value out of the request snapshot: `out` points into the
 * snapshot's buffer (which the GC keeps alive for as long as `out.buf` is referenced; it is never
 * written to). False when the header is absent.
 */
export function getHeaderView(map: MapType, name: HeaderName, out: ByteView): bool {
  const snap = requestSnapshot;
  if (map == MapType.Request && snap !== null && !isChanged(name)) {
    const off = snap.find(name);
    if (off < 0) return false;
    out.buf = snap.buf;
    out.start = off;
    out.len = snap.foundLen;
    return true;
  }
  const v = getHeader(map, name);
  if (v === null) return false;
  out.buf = v;
  out.start = 0;
  out.len = v.byteLength;
  return true;
}

const VIEW = new ByteView();

export function getHeaderString(map: MapType, name: HeaderName): string | null {
  if (!getHeaderView(map, name, VIEW)) return null;
  const s = String.UTF8.decodeUnsafe(changetype<usize>(VIEW.buf) + <usize>VIEW.start, <usize>VIEW.len);
  VIEW.buf = EMPTY;
  return s;
}

export function setHeader(map: MapType, name: HeaderName, value: string): void {
  setHeaderBytes(map, name, String.UTF8.encode(value));
}

export function setHeaderBytes(map: MapType, name: HeaderName, value: ArrayBuffer): void {
  // Absent from the request as read: an add, which Envoy does for less than a replace (a replace
  // first looks for every copy to remove). Present (a client sent its own): the replace drops them all.
  const add = knownAbsent(map, name);
  changed(map, name);
  if (add) proxy_add_header_map_value(<i32>map, changetype<usize>(name.bytes), name.bytes.byteLength, changetype<usize>(value), value.byteLength);
  else proxy_replace_header_map_value(<i32>map, changetype<usize>(name.bytes), name.bytes.byteLength, changetype<usize>(value), value.byteLength);
}

export function addHeader(map: MapType, name: HeaderName, value: string): void {
  changed(map, name);
  const v = String.UTF8.encode(value);
  proxy_add_header_map_value(<i32>map, changetype<usize>(name.bytes), name.bytes.byteLength, changetype<usize>(v), v.byteLength);
}

export function removeHeader(map: MapType, name: HeaderName): void {
  // Nothing to remove (the request as read has no such header, and this filter has not added
  // one since): no host call.
  if (knownAbsent(map, name)) return;
  changed(map, name);
  proxy_remove_header_map_value(<i32>map, changetype<usize>(name.bytes), name.bytes.byteLength);
}

// Every header of a map in one host call (proxy_get_header_map_pairs), for the hot path: values
// are found by name in the ABI buffer without decoding the others. A repeated header yields its
// first value, as proxy_get_header_map_value does. getHeader consults it only for headers this
// filter has not changed since it was read. `ok` is false when the host refused the call.
export class HeaderSnapshot {
  buf: ArrayBuffer = new ArrayBuffer(0);
  ok: bool = false;
  private n: u32 = 0;
  /** Length of the value the last successful `find` located. */
  foundLen: i32 = 0;

  load(map: MapType): bool {
    store<usize>(retPtrSlot(), 0);
    store<usize>(retSizeSlot(), 0);
    if (proxy_get_header_map_pairs(<i32>map, retPtrSlot(), retSizeSlot()) != 0) return false;
    const buf = takeReturned();
    const size = <u64>buf.byteLength;
    let n: u32 = 0;
    if (size >= 4) n = load<u32>(changetype<usize>(buf));
    if (size > 0 && (size < 4 || <u64>n * 8 + 4 > size)) return false;
    // The layout must be exact (proxy-wasm-cpp-host's marshalPairs): every key and value ends in a
    // NUL where its length says, and the last one ends the buffer. `find` then answers "absent"
    // only when the header is, which knownAbsent relies on to skip writes and removals; a buffer
    // that is miscounted or runs past its end is not a snapshot at all.
    const base = changetype<usize>(buf);
    let data: u64 = 4 + <u64>n * 8;
    for (let i: u32 = 0; i < n; i++) {
      const kl = <u64>load<u32>(base + 4 + <usize>i * 8);
      const vl = <u64>load<u32>(base + 8 + <usize>i * 8);
      if (data + kl + vl + 2 > size) return false;
      if (load<u8>(base + <usize>(data + kl)) != 0 || load<u8>(base + <usize>(data + kl + 1 + vl)) != 0) return false;
      data += kl + vl + 2;
    }
    if (size > 0 && data != size) return false;
    this.buf = buf;
    this.n = n;
    this.ok = true;
    return true;
  }

  /** Offset in `buf` of the first value of `name` (length in `foundLen`), or -1. */
  find(name: HeaderName): i32 {
    const base = changetype<usize>(this.buf);
    const key = changetype<usize>(name.bytes);
    const kl = <u32>name.bytes.byteLength;
    let data: u64 = 4 + <u64>this.n * 8;
    for (let i: u32 = 0; i < this.n; i++) {
      const a = load<u32>(base + 4 + <usize>i * 8);
      const b = load<u32>(base + 8 + <usize>i * 8);
      if (a == kl && memory.compare(base + <usize>data, key, kl) == 0) {
        this.foundLen = <i32>b;
        return <i32>(data + a + 1);
      }
      data += <u64>a + b + 2;
    }
    return -1;
  }
}

export class Pair {
  constructor(public key: string, public value: string) {}
}

// All pairs of a map, decoded from the ABI wire format:
// u32 count, then (u32 key len, u32 value len) per entry, then each key and value NUL-terminated.
export function getPairs(map: MapType): Pair[] {
  store<usize>(retPtrSlot(), 0);
  store<usize>(retSizeSlot(), 0);
  const out = new Array<Pair>();
  if (proxy_get_header_map_pairs(<i32>map, retPtrSlot(), retSizeSlot()) != 0) return out;
  const buf = takeReturned();
  const size = <u32>buf.byteLength;
  if (size < 4) return out;
  const base = changetype<usize>(buf);
  const n = load<u32>(base);
  if (<u64>n * 8 + 4 > <u64>size) return out;
  let data: u32 = 4 + n * 8;
  for (let i: u32 = 0; i < n; i++) {
    const kl = load<u32>(base + 4 + i * 8);
    const vl = load<u32>(base + 8 + i * 8);
    if (<u64>data + kl + vl + 2 > <u64>size) break;
    const k = String.UTF8.decodeUnsafe(base + data, kl);
    data += kl + 1;
    const v = String.UTF8.decodeUnsafe(base + data, vl);
    data += vl + 1;
    out.push(new Pair(k, v));
  }
  return out;
}

export function serializePairs(pairs: Pair[]): ArrayBuffer {
  const keys = new Array<ArrayBuffer>(pairs.length);
  const values = new Array<ArrayBuffer>(pairs.length);
  let size = 4 + pairs.length * 8;
  for (let i = 0; i < pairs.length; i++) {
    keys[i] = String.UTF8.encode(pairs[i].key);
    values[i] = String.UTF8.encode(pairs[i].value);
    size += keys[i].byteLength + values[i].byteLength + 2;
  }
  const buf = new ArrayBuffer(size);
  const base = changetype<usize>(buf);
  store<u32>(base, pairs.length);
  let data = 4 + pairs.length * 8;
  for (let i = 0; i < pairs.length; i++) {
    store<u32>(base + 4 + i * 8, keys[i].byteLength);
    store<u32>(base + 8 + i * 8, values[i].byteLength);
    memory.copy(base + data, changetype<usize>(keys[i]), keys[i].byteLength);
    data += keys[i].byteLength + 1;
    memory.copy(base + data, changetype<usize>(values[i]), values[i].byteLength);
    data += values[i].byteLength + 1;
  }
  return buf;
}

// A local reply whose parts were encoded ahead of time (headers in the ABI pairs format).
export function sendEncodedResponse(status: u32, details: ArrayBuffer, body: ArrayBuffer, headers: ArrayBuffer): void {
  proxy_send_local_response(status, changetype<usize>(details), details.byteLength, changetype<usize>(body), body.byteLength,
    changetype<usize>(headers), headers.byteLength, -1);
}

export function sendLocalResponse(status: u32, details: string, body: string, headers: Pair[]): void {
  const d = String.UTF8.encode(details);
  const b = String.UTF8.encode(body);
  const h = serializePairs(headers);
  proxy_send_local_response(status, changetype<usize>(d), d.byteLength, changetype<usize>(b), b.byteLength,
    changetype<usize>(h), h.byteLength, -1);
}
