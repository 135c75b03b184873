// The empty filter (floor-filter.ts) plus exactly the host calls cellauth makes on a token-cache
// hit, and nothing else: read every request header in one call, replace the subject header,
// remove the Authorization header. The plugin configuration is the number of those calls to make
// ("1": the read; "2": and the replace; "3": all three; a trailing "a" adds the subject header
// instead of replacing it, which is what cellauth does when the client sent none). Beside the floor and cellauth in one
// run, it splits cellauth's cache-hit cost into the price of the host calls themselves and the
// work cellauth does in the VM (bench/lib/configs.ts: hostcalls_1..3).
// "v1" and "v3" instead read single header values (Authorization; then :path and :method too):
// what reading less than every header would cost (hostcalls_v1, hostcalls_v3).
import {
  proxy_get_header_map_pairs, proxy_get_header_map_value, proxy_replace_header_map_value, proxy_add_header_map_value, proxy_remove_header_map_value, proxy_get_buffer_bytes,
} from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
export { malloc } from "@gcoredev/proxy-wasm-sdk-as/assembly/malloc";
import { free } from "@gcoredev/proxy-wasm-sdk-as/assembly/malloc";

const P = memory.data(8);
const S = memory.data(8);
const SUBJECT = String.UTF8.encode("x-cellery-auth-subject");
const ALICE = String.UTF8.encode("alice");
const AUTHORIZATION = String.UTF8.encode("authorization");
const PATH = String.UTF8.encode(":path");
const METHOD = String.UTF8.encode(":method");
let calls: i32 = 0;
let add = false;
let values: i32 = 0;

export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_context_create(id: u32, parent: u32): void {}
export function proxy_on_vm_start(id: u32, size: u32): u32 { return 1; }
export function proxy_on_configure(id: u32, size: u32): u32 {
  store<usize>(P, 0); store<usize>(S, 0);
  if (proxy_get_buffer_bytes(7, 0, size, P, S) != 0 || load<usize>(S) == 0) return 0;
  const first = load<u8>(load<usize>(P));
  if (first == 0x76 && load<usize>(S) > 1) {   // "v1" or "v3"
    values = <i32>load<u8>(load<usize>(P) + 1) - 48;
    free(load<usize>(P));
    return values == 1 || values == 3 ? 1 : 0;
  }
  calls = <i32>first - 48;   // one ASCII digit, then "a" or nothing
  add = load<usize>(S) > 1 && load<u8>(load<usize>(P) + 1) == 0x61;
  free(load<usize>(P));
  return calls >= 1 && calls <= 3 ? 1 : 0;
}

function readValue(name: ArrayBuffer): void {
  store<usize>(P, 0); store<usize>(S, 0);
  if (proxy_get_header_map_value(0, changetype<usize>(name), name.byteLength, P, S) == 0 && load<usize>(P) != 0) free(load<usize>(P));
}
export function proxy_on_request_headers(id: u32, n: u32, eos: u32): i32 {
  if (values > 0) {
    readValue(AUTHORIZATION);
    if (values == 3) { readValue(PATH); readValue(METHOD); }
    return 0;
  }
  store<usize>(P, 0); store<usize>(S, 0);
  // The host allocates the pairs with our malloc; freeing them at once is what cellauth's GC does later.
  if (proxy_get_header_map_pairs(0, P, S) == 0 && load<usize>(P) != 0) free(load<usize>(P));
  if (calls >= 2) {
    if (add) proxy_add_header_map_value(0, changetype<usize>(SUBJECT), SUBJECT.byteLength, changetype<usize>(ALICE), ALICE.byteLength);
    else proxy_replace_header_map_value(0, changetype<usize>(SUBJECT), SUBJECT.byteLength, changetype<usize>(ALICE), ALICE.byteLength);
  }
  if (calls >= 3) proxy_remove_header_map_value(0, changetype<usize>(AUTHORIZATION), AUTHORIZATION.byteLength);
  return 0;
}
export function proxy_on_delete(id: u32): void {}
