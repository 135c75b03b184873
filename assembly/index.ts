// cellauth proxy-wasm filter: the module Envoy loads. Exports the ABI v0.2.1 callbacks that do
// something. The host skips a callback that is not exported (on_done then counts as done), so
// leaving out the no-op ones (response headers/body/trailers, request trailers, on_log, on_done,
// queue, foreign) saves three VM entries on every request.
import { setRootFactory, RootContext } from "./host/abi";
import { CellauthRoot } from "./filter/root";

export {
  proxy_abi_version_0_2_1, proxy_on_context_create, proxy_on_vm_start, proxy_validate_configuration,
  proxy_on_configure, proxy_on_tick, proxy_on_http_call_response, proxy_on_request_headers,
  proxy_on_request_body, proxy_on_delete,
} from "./host/abi";
export { malloc } from "./host/sdk";

setRootFactory((id: u32): RootContext => new CellauthRoot(id));
