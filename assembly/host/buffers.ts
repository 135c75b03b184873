// Reading buffers and values the host allocates for us through the exported `malloc`.
import { proxy_get_buffer_bytes, proxy_get_property, free } from "./sdk";

export const enum BufferType { HttpCallResponseBody = 4, VmConfiguration = 6, PluginConfiguration = 7 }

const retPtr = memory.data(8);
const retSize = memory.data(8);

// The host wrote a pointer to a buffer it allocated with our `malloc` (a pinned ArrayBuffer);
// unpinning hands it to the GC, so the returned object owns it.
export function takeReturned(): ArrayBuffer {
  const ptr = load<usize>(retPtr);
  const size = load<usize>(retSize);
  if (ptr == 0 || size == 0) {
    if (ptr != 0) free(ptr);
    return new ArrayBuffer(0);
  }
  free(ptr);
  return changetype<ArrayBuffer>(ptr);
}
export function retPtrSlot(): usize { return retPtr; }
export function retSizeSlot(): usize { return retSize; }

export function getBuffer(type: BufferType, size: u32): ArrayBuffer | null {
  store<usize>(retPtr, 0);
  store<usize>(retSize, 0);
  if (proxy_get_buffer_bytes(<i32>type, 0, size, retPtr, retSize) != 0) return null;
  return takeReturned();
}

// A property such as ["plugin_root_id"], encoded as the ABI wants: path segments joined by NUL.
export function getProperty(path: string[]): ArrayBuffer | null {
  return getPropertyEncoded(String.UTF8.encode(path.join("\0")));
}

// The same, for a key encoded once (UTF-8, segments joined by NUL).
export function getPropertyEncoded(key: ArrayBuffer): ArrayBuffer | null {
  store<usize>(retPtr, 0);
  store<usize>(retSize, 0);
  if (proxy_get_property(changetype<usize>(key), key.byteLength, retPtr, retSize) != 0) return null;
  return takeReturned();
}
