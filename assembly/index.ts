// cellauth proxy-wasm filter: the module Envoy loads. Exports exactly the ABI v0.2.1 surface.
import { setRootFactory, RootContext } from "./host/abi";
import { CellauthRoot } from "./filter/root";

export {
  proxy_abi_version_0_2_1, proxy_on_context_create, proxy_on_vm_start, proxy_validate_configuration,
  proxy_on_configure, proxy_on_tick, proxy_on_http_call_response, proxy_on_queue_ready,
  proxy_on_foreign_function, proxy_on_request_headers, proxy_on_response_headers,
  proxy_on_request_body, proxy_on_request_trailers, proxy_on_response_body, proxy_on_response_trailers,
  proxy_on_done, proxy_on_log, proxy_on_delete,
} from "./host/abi";
export { malloc } from "./host/sdk";

setRootFactory((id: u32): RootContext => new CellauthRoot(id));
