// Cache keys built in one allocation from raw parts. Each part is written as its byte length (a
// u32) and then its bytes, so two different inputs never share a key, whatever their parts
// contain. The key is a String whose code units are those bytes: it is hashed and compared by
// the bounded caches, never read as text. Built on every authorization, so it copies each part
// once (the token straight from the request buffer, without decoding it) instead of the chain of
// concatenations a text key would cost.
// One builder per VM is enough: a VM runs one callback at a time and build() resets it.
const ptrs = new StaticArray<usize>(16);
const lens = new StaticArray<i32>(16);
let count = 0;

export function keyBytes(ptr: usize, len: i32): void {
  assert(count < 16, "cache key: too many parts");
  unchecked(ptrs[count] = ptr);
  unchecked(lens[count] = len);
  count++;
}

// A string part, as its UTF-16 code units (no encoding step).
export function keyString(s: string): void {
  keyBytes(changetype<usize>(s), s.length << 1);
}

export function buildKey(): string {
  let size = 0;
  for (let i = 0; i < count; i++) size += 4 + unchecked(lens[i]);
  size = (size + 1) & ~1;   // a String holds whole code units
  const out = __new(size, idof<String>());
  let at = out;
  for (let i = 0; i < count; i++) {
    const n = unchecked(lens[i]);
    store<u32>(at, <u32>n);
    memory.copy(at + 4, unchecked(ptrs[i]), n);
    at += 4 + n;
  }
  if (at < out + size) store<u8>(at, 0);
  count = 0;
  return changetype<string>(out);
}
