// SHA-256 (FIPS 180-4). One streaming state at module level: callers are single-threaded and
// never interleave two SHA-256 computations, so no per-call allocation is needed.

// @ts-ignore: decorator
@lazy const K256: StaticArray<u32> = [
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
];

const STATE: usize = memory.data(32, 8);
const BLOCK: usize = memory.data(64, 8);
const W: usize = memory.data(256, 8);
let blockLen: i32 = 0;
let totalLen: u64 = 0;

export function sha256Init(): void {
  store<u32>(STATE, 0x6a09e667, 0); store<u32>(STATE, 0xbb67ae85, 4);
  store<u32>(STATE, 0x3c6ef372, 8); store<u32>(STATE, 0xa54ff53a, 12);
  store<u32>(STATE, 0x510e527f, 16); store<u32>(STATE, 0x9b05688c, 20);
  store<u32>(STATE, 0x1f83d9ab, 24); store<u32>(STATE, 0x5be0cd19, 28);
  blockLen = 0;
  totalLen = 0;
}

function compress(p: usize): void {
  let k = changetype<usize>(K256);
  for (let i: usize = 0; i < 16; i++) store<u32>(W + (i << 2), bswap<u32>(load<u32>(p + (i << 2))));
  for (let i: usize = 16; i < 64; i++) {
    let w15 = load<u32>(W + ((i - 15) << 2));
    let w2 = load<u32>(W + ((i - 2) << 2));
    let s0 = rotr<u32>(w15, 7) ^ rotr<u32>(w15, 18) ^ (w15 >>> 3);
    let s1 = rotr<u32>(w2, 17) ^ rotr<u32>(w2, 19) ^ (w2 >>> 10);
    store<u32>(W + (i << 2), load<u32>(W + ((i - 16) << 2)) + s0 + load<u32>(W + ((i - 7) << 2)) + s1);
  }
  let a = load<u32>(STATE, 0), b = load<u32>(STATE, 4), c = load<u32>(STATE, 8), d = load<u32>(STATE, 12);
  let e = load<u32>(STATE, 16), f = load<u32>(STATE, 20), g = load<u32>(STATE, 24), h = load<u32>(STATE, 28);
  for (let i: usize = 0; i < 64; i++) {
    let S1 = rotr<u32>(e, 6) ^ rotr<u32>(e, 11) ^ rotr<u32>(e, 25);
    let ch = (e & f) ^ (~e & g);
    let t1 = h + S1 + ch + load<u32>(k + (i << 2)) + load<u32>(W + (i << 2));
    let S0 = rotr<u32>(a, 2) ^ rotr<u32>(a, 13) ^ rotr<u32>(a, 22);
    let maj = (a & b) ^ (a & c) ^ (b & c);
    let t2 = S0 + maj;
    h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  store<u32>(STATE, load<u32>(STATE, 0) + a, 0); store<u32>(STATE, load<u32>(STATE, 4) + b, 4);
  store<u32>(STATE, load<u32>(STATE, 8) + c, 8); store<u32>(STATE, load<u32>(STATE, 12) + d, 12);
  store<u32>(STATE, load<u32>(STATE, 16) + e, 16); store<u32>(STATE, load<u32>(STATE, 20) + f, 20);
  store<u32>(STATE, load<u32>(STATE, 24) + g, 24); store<u32>(STATE, load<u32>(STATE, 28) + h, 28);
}

export function sha256Update(ptr: usize, len: i32): void {
  if (len <= 0) return;
  totalLen += <u64>len;
  let n = <usize>len;
  if (blockLen > 0) {
    let take = <usize>(64 - blockLen);
    if (take > n) take = n;
    memory.copy(BLOCK + <usize>blockLen, ptr, take);
    blockLen += <i32>take; ptr += take; n -= take;
    if (blockLen < 64) return;
    compress(BLOCK);
    blockLen = 0;
  }
  while (n >= 64) { compress(ptr); ptr += 64; n -= 64; }
  if (n > 0) { memory.copy(BLOCK, ptr, n); blockLen = <i32>n; }
}

/** Writes the 32-byte digest to out. */
export function sha256Final(out: usize): void {
  let bits = totalLen << 3;
  store<u8>(BLOCK + <usize>blockLen, 0x80);
  let pos = blockLen + 1;
  if (pos > 56) {
    memory.fill(BLOCK + <usize>pos, 0, <usize>(64 - pos));
    compress(BLOCK);
    pos = 0;
  }
  memory.fill(BLOCK + <usize>pos, 0, <usize>(56 - pos));
  store<u64>(BLOCK + 56, bswap<u64>(bits));
  compress(BLOCK);
  for (let i: usize = 0; i < 8; i++) store<u32>(out + (i << 2), bswap<u32>(load<u32>(STATE + (i << 2))));
}
