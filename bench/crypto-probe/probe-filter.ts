// Bench-only proxy-wasm filter that prices the AssemblyScript verifiers inside Envoy (issue 12).
// Per request it verifies one fixed signature k times with the filter's own crypto API
// (assembly/crypto/index.ts, the calls assembly/jwt/verify.ts makes) and nothing else: Envoy CPU
// per request at k = 0, 1, 4 gives the cold first verify (k1 - k0) and the warm one (slope).
// The same binary runs in Node (bench/lib/crypto-probe-node.ts) through probe_bench.
// Plugin configuration, space-separated:
//   RS256 <k> <n hex> <e hex> <sig hex> <signing input hex> [copy] [grow=<pages>]
//   ES256 <k> <x hex> <y hex> <sig hex> <signing input hex> [copy] [grow=<pages>]
// copy: the input and signature are copied into new arrays before each verify (a copy per call);
// grow: linear memory is grown by that many 64 KiB pages at configure (pre-grown memory).
import { proxy_get_buffer_bytes, proxy_send_local_response } from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
import { HashAlg, RsaPublicKey, EcPublicKey, rsaPkcs1Verify, ecdsaVerify } from "../../assembly/crypto/index";

// The host allocates the buffers it hands over here; raw heap blocks work with every runtime.
export function malloc(size: i32): usize { return heap.alloc(size > 0 ? <usize>size : 1); }

const PP = memory.data(8);
const PS = memory.data(8);
const PLUGIN_CONFIGURATION = 7;

let isRsa = true;
let k = 0;
let copy = false;
let rsa: RsaPublicKey | null = null;
let ec: EcPublicKey | null = null;
let sig = new Uint8Array(0);
let input = new Uint8Array(0);

function hex(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = <u8>I32.parseInt(s.substr(i << 1, 2), 16);
  return out;
}

function configure(text: string): bool {
  const f = text.trim().split(" ");
  if (f.length < 6) return false;
  isRsa = f[0] == "RS256";
  k = I32.parseInt(f[1]);
  for (let i = 6; i < f.length; i++) {
    if (f[i] == "copy") copy = true;
    else if (f[i].startsWith("grow=")) memory.grow(I32.parseInt(f[i].substr(5)));
  }
  sig = hex(f[4]);
  input = hex(f[5]);
  if (isRsa) rsa = RsaPublicKey.create(hex(f[2]), hex(f[3]));
  else ec = EcPublicKey.create(256, hex(f[2]), hex(f[3]));
  // A probe whose signature does not verify would price a fast rejection: refuse to start.
  return (isRsa ? rsa !== null : ec !== null) && verifyOnce();
}

function verifyOnce(): bool {
  let d = input, s = sig;
  if (copy) { d = input.slice(0); s = sig.slice(0); }
  return isRsa ? rsaPkcs1Verify(rsa!, HashAlg.SHA256, d, s) : ecdsaVerify(ec!, HashAlg.SHA256, d, s);
}

/** k verifies; the number that failed (0 when all verified). */
export function probe_bench(n: i32): i32 {
  let bad = 0;
  for (let i = 0; i < n; i++) if (!verifyOnce()) bad++;
  return bad;
}

export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_context_create(id: u32, parent: u32): void {}
export function proxy_on_vm_start(id: u32, size: u32): u32 { return 1; }
export function proxy_on_configure(id: u32, size: u32): u32 {
  store<usize>(PP, 0);
  if (proxy_get_buffer_bytes(PLUGIN_CONFIGURATION, 0, size, PP, PS) != 0 || load<usize>(PP) == 0) return 0;
  const p = load<usize>(PP);
  const text = String.UTF8.decodeUnsafe(p, load<usize>(PS));
  heap.free(p);
  return configure(text) ? 1 : 0;
}
export function proxy_on_request_headers(id: u32, n: u32, eos: u32): i32 {
  if (probe_bench(k) == 0) return 0;
  proxy_send_local_response(500, 0, 0, 0, 0, 0, 0, -1);
  return 1;
}
export function proxy_on_delete(id: u32): void {}
