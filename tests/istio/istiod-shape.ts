// The Envoy HTTP filter that istiod (plus istio-agent, which swaps the oci:// code for the
// downloaded file) produces for a WasmPlugin, after pilot/pkg/model/extensions.go:
//   name <namespace>.<name>; root_id = spec.pluginName; configuration = a StringValue holding
//   spec.pluginConfig as JSON (protojson of a Struct: keys sorted); vm_config with runtime v8,
//   NO vm_id, and environment_variables.key_values carrying ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION
//   plus the INLINE vmConfig.env entries (HOST entries become host_env_keys); FAIL_CLOSE = fail_open false.
const T = (t: string) => `type.googleapis.com/${t}`;

export interface WasmPluginObject {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: {
    pluginName: string;
    pluginConfig?: Record<string, unknown>;
    failStrategy?: string;
    vmConfig?: { env?: { name: string; value?: string; valueFrom?: "INLINE" | "HOST" }[] };
  };
}

/** JSON with object keys sorted at every level, as Go's protojson writes a Struct. */
export function sortedJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(sortedJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${sortedJson((v as Record<string, unknown>)[k])}`).join(",")}}`;
  }
  return JSON.stringify(v);
}

export function istiodWasmFilter(plugin: WasmPluginObject, wasmFile: string): Record<string, unknown> {
  const name = `${plugin.metadata.namespace}.${plugin.metadata.name}`;
  const keyValues: Record<string, string> = { ISTIO_META_WASM_PLUGIN_RESOURCE_VERSION: plugin.metadata.resourceVersion ?? "1" };
  const hostEnvKeys: string[] = [];
  for (const e of plugin.spec.vmConfig?.env ?? []) {
    if (e.valueFrom === "HOST") hostEnvKeys.push(e.name);
    else keyValues[e.name] = e.value ?? "";
  }
  return {
    name,
    typed_config: {
      "@type": T("envoy.extensions.filters.http.wasm.v3.Wasm"),
      config: {
        name,
        root_id: plugin.spec.pluginName,
        configuration: { "@type": T("google.protobuf.StringValue"), value: sortedJson(plugin.spec.pluginConfig ?? {}) },
        vm_config: {
          runtime: "envoy.wasm.runtime.v8",
          code: { local: { filename: wasmFile } },
          environment_variables: { key_values: keyValues, ...(hostEnvKeys.length ? { host_env_keys: hostEnvKeys } : {}) },
        },
        fail_open: plugin.spec.failStrategy === "FAIL_OPEN",
      },
    },
  };
}
