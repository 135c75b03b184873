// Constant-time comparison: the running time depends only on the lengths, never on where
// the first difference is, so a MAC check leaks nothing about how much of a forged tag matched.

export function ctEqualRaw(a: usize, b: usize, len: i32): bool {
  let diff: u32 = 0;
  for (let i: usize = 0; i < <usize>len; i++) diff |= <u32>(load<u8>(a + i) ^ load<u8>(b + i));
  return diff == 0;
}

export function ctEqual(a: Uint8Array, b: Uint8Array): bool {
  if (a.length != b.length) return false;
  return ctEqualRaw(a.dataStart, b.dataStart, a.length);
}
