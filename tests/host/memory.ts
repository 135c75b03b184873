// Guest memory access for host calls. Every read and write is bounds-checked so that a bad
// pointer from the module becomes InvalidMemoryAccess, as in cpp-host, instead of a host crash.
// Views are re-created on each access because a guest `malloc` may grow (and detach) the buffer.

export class GuestMemory {
  constructor(private readonly memory: WebAssembly.Memory, private readonly malloc: (size: number) => number) {}

  get size(): number { return this.memory.buffer.byteLength; }

  private ok(ptr: number, len: number): boolean {
    return Number.isInteger(ptr) && Number.isInteger(len) && ptr >= 0 && len >= 0 && ptr + len <= this.size;
  }

  // A copy, or null when out of bounds.
  read(ptr: number, len: number): Uint8Array | null {
    ptr >>>= 0; len >>>= 0;
    if (!this.ok(ptr, len)) return null;
    return new Uint8Array(this.memory.buffer, ptr, len).slice();
  }

  readString(ptr: number, len: number): string | null {
    const b = this.read(ptr, len);
    return b === null ? null : new TextDecoder().decode(b);
  }

  write(ptr: number, bytes: Uint8Array): boolean {
    ptr >>>= 0;
    if (!this.ok(ptr, bytes.length)) return false;
    new Uint8Array(this.memory.buffer).set(bytes, ptr);
    return true;
  }

  writeU32(ptr: number, v: number): boolean {
    ptr >>>= 0;
    if (!this.ok(ptr, 4)) return false;
    new DataView(this.memory.buffer).setUint32(ptr, v >>> 0, true);
    return true;
  }

  writeU64(ptr: number, v: bigint): boolean {
    ptr >>>= 0;
    if (!this.ok(ptr, 8)) return false;
    new DataView(this.memory.buffer).setBigUint64(ptr, BigInt.asUintN(64, v), true);
    return true;
  }

  readU32(ptr: number): number | null {
    ptr >>>= 0;
    if (!this.ok(ptr, 4)) return null;
    return new DataView(this.memory.buffer).getUint32(ptr, true);
  }

  // Allocates with the module's exported malloc and copies `bytes` in; 0 when malloc fails.
  alloc(bytes: Uint8Array): number {
    const p = this.malloc(bytes.length) >>> 0;
    if (p === 0 && bytes.length > 0) return 0;
    if (!this.write(p, bytes)) return 0;
    return p;
  }

  // cpp-host copyToPointerSize: an empty value writes pointer 0 and size 0 without allocating.
  copyOut(bytes: Uint8Array, ptrPtr: number, sizePtr: number): boolean {
    let p = 0;
    if (bytes.length > 0) {
      p = this.alloc(bytes);
      if (p === 0) return false;
    }
    return this.writeU32(ptrPtr, p) && this.writeU32(sizePtr, bytes.length);
  }
}
