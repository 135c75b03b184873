// dispatch_http_call: the only way the filter talks to the network, always off the hot path.
import { proxy_http_call, proxy_get_buffer_bytes } from "./sdk";
import { Pair, serializePairs, getPairs, MapType } from "./headers";
import { BufferType, getBuffer } from "./buffers";

const tokenSlot = memory.data(4);

// Returns the call token, or 0 if the host refused the call (unknown cluster, bad headers).
export function httpCall(cluster: string, headers: Pair[], body: ArrayBuffer, timeoutMs: u32): u32 {
  const c = String.UTF8.encode(cluster);
  const h = serializePairs(headers);
  const t = serializePairs([]);
  store<u32>(tokenSlot, 0);
  const r = proxy_http_call(changetype<usize>(c), c.byteLength, changetype<usize>(h), h.byteLength,
    changetype<usize>(body), body.byteLength, changetype<usize>(t), t.byteLength, timeoutMs, tokenSlot);
  return r == 0 ? load<u32>(tokenSlot) : 0;
}

// A POST to an STS endpoint; returns the call token, or 0 if the host refused it.
export function post(cluster: string, authority: string, path: string, contentType: string, body: string, timeoutMs: u32): u32 {
  const headers: Pair[] = [
    new Pair(":method", "POST"), new Pair(":path", path), new Pair(":authority", authority),
    new Pair("content-type", contentType),
  ];
  return httpCall(cluster, headers, String.UTF8.encode(body), timeoutMs);
}

// The `:status` of a call response, or 0 when the call failed (reset, timeout, no upstream).
export function callResponseStatus(numHeaders: u32): u32 {
  if (numHeaders == 0) return 0;
  const pairs = getPairs(MapType.HttpCallResponse);
  for (let i = 0; i < pairs.length; i++) {
    if (pairs[i].key == ":status") return <u32>I32.parseInt(pairs[i].value);
  }
  return 0;
}

export function callResponseHeader(name: string): string | null {
  const pairs = getPairs(MapType.HttpCallResponse);
  for (let i = 0; i < pairs.length; i++) {
    if (pairs[i].key == name) return pairs[i].value;
  }
  return null;
}

export function callResponseBody(size: u32, max: u32): ArrayBuffer | null {
  if (size == 0 || size > max) return null;
  return getBuffer(BufferType.HttpCallResponseBody, size);
}
