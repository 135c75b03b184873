// A fast non-cryptographic 64-bit hash for cache keys. Entries also store the full key and
// compare it, so a collision can only cost a miss, never a false hit.
export function hash64(ptr: usize, len: i32, seed: u64 = 0x9E3779B97F4A7C15): u64 {
  let h: u64 = seed ^ (<u64>len * 0xC2B2AE3D27D4EB4F);
  let i = 0;
  for (; i + 8 <= len; i += 8) {
    let k = load<u64>(ptr + i) * 0x87C37B91114253D5;
    k = rotl<u64>(k, 31) * 0x4CF5AD432745937F;
    h = rotl<u64>(h ^ k, 27) * 5 + 0x52DCE729;
  }
  let tail: u64 = 0;
  for (let s: u64 = 0; i < len; i++, s += 8) tail |= (<u64>load<u8>(ptr + i)) << s;
  h ^= tail * 0x87C37B91114253D5;
  h ^= h >> 33; h *= 0xFF51AFD7ED558CCD;
  h ^= h >> 33; h *= 0xC4CEB9FE1A85EC53;
  h ^= h >> 33;
  return h;
}

export function bytesEqual(a: usize, alen: i32, b: usize, blen: i32): bool {
  if (alen != blen) return false;
  return memory.compare(a, b, alen) == 0;
}
