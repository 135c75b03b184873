// The cheapest proxy-wasm HTTP filter there is: it exports only the callbacks a request must
// touch (context create, request headers, delete) and makes no host call. Envoy's cost for it
// over "no auth" is the floor that every proxy-wasm filter pays before doing any work; the
// bench's wasm_floor configuration measures it beside cellauth.
export { malloc } from "@gcoredev/proxy-wasm-sdk-as/assembly/malloc";

export function proxy_abi_version_0_2_1(): void {}
export function proxy_on_context_create(id: u32, parent: u32): void {}
export function proxy_on_vm_start(id: u32, size: u32): u32 { return 1; }
export function proxy_on_configure(id: u32, size: u32): u32 { return 1; }
export function proxy_on_request_headers(id: u32, n: u32, eos: u32): i32 { return 0; }
export function proxy_on_delete(id: u32): void {}
