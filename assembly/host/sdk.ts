// The one place cellauth imports the proxy-wasm SDK (@gcoredev/proxy-wasm-sdk-as, the
// descendant of @solo-io/proxy-runtime). Swap the SDK here and nowhere else.
//
// We take only the SDK's raw ABI declarations and its host allocator. Its `runtime.ts`
// is not used: it logs through the `fastedge` module (WASI stdout, outside Envoy's log
// levels) and builds debug strings on every callback, which would sit on our hot path.
export * from "@gcoredev/proxy-wasm-sdk-as/assembly/imports";
export { malloc, free } from "@gcoredev/proxy-wasm-sdk-as/assembly/malloc";
