// WasmPlugins: per service an inbound (SERVER, AUTHN phase) and an outbound (CLIENT) plugin,
// each selecting only that service's pods so the filter knows its workload name (the STS asks
// OPA about <workload>_allow); and one for the cell gateway. The STS pod is never selected:
// its JWKS must stay reachable without a token.
import { WasmPlugin } from "@kubernetes-models/istio/extensions.istio.io/v1alpha1/WasmPlugin";
import type { Cell } from "../cell.ts";
import { cellLabels, PLUGIN_NAME } from "../names.ts";
import { gatewayConfig, inboundConfig, outboundConfig, type PluginConfig } from "../plugin-config.ts";
import { checked, type Rendered } from "./model.ts";

export interface WasmImage { url: string; sha256: string }

function plugin(cell: Cell, name: string, labels: Record<string, string>, image: WasmImage, extra: Record<string, unknown>, config: PluginConfig): Rendered {
  return checked(`wasmplugin-${name}`, new WasmPlugin({
    metadata: { name, namespace: cell.namespace, labels: cellLabels(cell) },
    spec: {
      selector: { matchLabels: labels },
      url: image.url,
      sha256: image.sha256,
      imagePullPolicy: "IfNotPresent",
      pluginName: PLUGIN_NAME,
      ...extra,
      // Not in the 2.3.0 model's schema (it predates the field); istioctl validates it.
      failStrategy: "FAIL_CLOSE",
      pluginConfig: config,
    } as WasmPlugin["spec"],
  }));
}

export function wasmPlugins(cell: Cell, image: WasmImage): Rendered[] {
  const out: Rendered[] = [];
  for (const s of cell.services) {
    out.push(plugin(cell, `${s.name}-cellauth-inbound`, { app: s.name }, image, { phase: "AUTHN", match: [{ mode: "SERVER" }] }, inboundConfig(cell, s.name)));
    out.push(plugin(cell, `${s.name}-cellauth-outbound`, { app: s.name }, image, { match: [{ mode: "CLIENT" }] }, outboundConfig(cell, s.name)));
  }
  if (cell.globalIssuer) {
    out.push(plugin(cell, `${cell.name}-cellauth-gateway`, cell.gateway.labels, image, { phase: "AUTHN" }, gatewayConfig(cell)));
  }
  return out;
}
