// proxy-wasm ABI v0.2.1 entry points, dispatched to cellauth's contexts.
// A plugin (root context) per Envoy filter config; a stream context per HTTP request.
import { proxy_set_effective_context, proxy_continue_stream } from "./sdk";

export class RootContext {
  constructor(public id: u32) {}
  onVmStart(vmConfigSize: u32): bool { return true; }
  onConfigure(pluginConfigSize: u32): bool { return true; }
  onTick(): void {}
  onHttpCallResponse(token: u32, headers: u32, bodySize: u32, trailers: u32): void {}
  newStream(id: u32): StreamContext { return new StreamContext(id, this); }
}

export class StreamContext {
  constructor(public id: u32, public root: RootContext) {}
  onRequestHeaders(headers: u32, endOfStream: bool): i32 { return 0; }
  onRequestBody(size: u32, endOfStream: bool): i32 { return 0; }
  // Makes this stream the target of host calls made from a root callback (e.g. resume after an http call).
  activate(): void { proxy_set_effective_context(this.id); }
  // Resumes a request this stream paused (StreamType Request = 0).
  continueRequest(): void { proxy_continue_stream(0); }
}

let factory: (id: u32) => RootContext = (id: u32): RootContext => new RootContext(id);
const roots = new Map<u32, RootContext>();
const streams = new Map<u32, StreamContext>();

export function setRootFactory(f: (id: u32) => RootContext): void { factory = f; }
export function streamById(id: u32): StreamContext | null { return streams.has(id) ? streams.get(id) : null; }

export function proxy_abi_version_0_2_1(): void {}

export function proxy_on_context_create(id: u32, parentId: u32): void {
  if (parentId == 0) {
    roots.set(id, factory(id));
  } else if (roots.has(parentId)) {
    streams.set(id, roots.get(parentId).newStream(id));
  }
}

export function proxy_on_vm_start(rootId: u32, size: u32): u32 {
  return roots.has(rootId) && roots.get(rootId).onVmStart(size) ? 1 : 0;
}
export function proxy_validate_configuration(rootId: u32, size: u32): u32 { return 1; }
export function proxy_on_configure(rootId: u32, size: u32): u32 {
  return roots.has(rootId) && roots.get(rootId).onConfigure(size) ? 1 : 0;
}
export function proxy_on_tick(rootId: u32): void {
  if (roots.has(rootId)) roots.get(rootId).onTick();
}
// Envoy reports a call to the context that dispatched it: the root, or a stream. The root owns
// every call's bookkeeping either way.
export function proxy_on_http_call_response(id: u32, token: u32, headers: u32, bodySize: u32, trailers: u32): void {
  if (roots.has(id)) roots.get(id).onHttpCallResponse(token, headers, bodySize, trailers);
  else if (streams.has(id)) streams.get(id).root.onHttpCallResponse(token, headers, bodySize, trailers);
}

// Unknown stream ids continue: a stream created before a failed configure has no context.
export function proxy_on_request_headers(id: u32, headers: u32, endOfStream: u32): i32 {
  return streams.has(id) ? streams.get(id).onRequestHeaders(headers, endOfStream != 0) : 0;
}
export function proxy_on_request_body(id: u32, size: u32, endOfStream: u32): i32 {
  return streams.has(id) ? streams.get(id).onRequestBody(size, endOfStream != 0) : 0;
}

export function proxy_on_delete(id: u32): void {
  if (!streams.delete(id)) roots.delete(id);
}
