// Renders a v3 Envoy bootstrap for e2e tests: loopback listeners on port 0, each with an
// ordered list of HTTP filters (cellauth's wasm filter or raw filter configs), routes to
// clusters or direct responses, and STATIC HTTP/1.1 clusters on 127.0.0.1.
import { resolve } from 'node:path';
import { filterWasm } from './build-filter.ts';

export interface WasmFilterSpec {
  wasm: {
    pluginConfig: object | string;
    rootId?: string;
    vmId?: string;
    /** Default build/cellauth.wasm. */
    wasmPath?: string;
    /** Envoy's name for the plugin (proxy-wasm `plugin_name`). Default rootId. */
    name?: string;
  };
}
/** A complete http_filters entry, e.g. {name: 'envoy.filters.http.jwt_authn', typed_config: {...}}. */
export interface RawFilterSpec { raw: Record<string, unknown> }
export type HttpFilterSpec = WasmFilterSpec | RawFilterSpec;

export interface RouteSpec {
  /** Default prefix '/'. */
  prefix?: string;
  path?: string;
  cluster?: string;
  directResponse?: { status: number; body?: string };
  timeoutMs?: number;
  /** Per-route typed_per_filter_config, passed through as is. */
  perFilterConfig?: Record<string, unknown>;
}

export interface ListenerSpec {
  name: string;
  filters: HttpFilterSpec[];
  /** Default: everything to the cluster `upstream`. */
  routes?: RouteSpec[];
}

export interface ClusterSpec { port: number; host?: string; http2?: boolean }

export interface EnvoyConfigSpec {
  listeners: ListenerSpec[];
  /** name -> port (127.0.0.1) or a spec. The filter dispatches http calls by these names. */
  clusters?: Record<string, number | ClusterSpec>;
}

const T = (t: string) => `type.googleapis.com/${t}`;

export function wasmFilter(spec: WasmFilterSpec['wasm']): Record<string, unknown> {
  const rootId = spec.rootId ?? 'cellauth';
  return {
    name: 'envoy.filters.http.wasm',
    typed_config: {
      '@type': T('envoy.extensions.filters.http.wasm.v3.Wasm'),
      config: {
        name: spec.name ?? rootId,
        root_id: rootId,
        vm_config: {
          vm_id: spec.vmId ?? 'cellauth',
          runtime: 'envoy.wasm.runtime.v8',
          code: { local: { filename: resolve(spec.wasmPath ?? filterWasm) } },
        },
        configuration: {
          '@type': T('google.protobuf.StringValue'),
          value: typeof spec.pluginConfig === 'string' ? spec.pluginConfig : JSON.stringify(spec.pluginConfig),
        },
        fail_open: false,
      },
    },
  };
}

function route(r: RouteSpec): Record<string, unknown> {
  const match = r.path !== undefined ? { path: r.path } : { prefix: r.prefix ?? '/' };
  const out: Record<string, unknown> = { match };
  if (r.directResponse) {
    out.direct_response = { status: r.directResponse.status, ...(r.directResponse.body !== undefined ? { body: { inline_string: r.directResponse.body } } : {}) };
  } else {
    out.route = { cluster: r.cluster ?? 'upstream', timeout: `${(r.timeoutMs ?? 5000) / 1000}s` };
  }
  if (r.perFilterConfig) out.typed_per_filter_config = r.perFilterConfig;
  return out;
}

function listener(l: ListenerSpec): Record<string, unknown> {
  const filters = l.filters.map((f) => ('wasm' in f ? wasmFilter(f.wasm) : f.raw));
  return {
    name: l.name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': T('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
          stat_prefix: l.name,
          codec_type: 'AUTO',
          route_config: {
            name: `${l.name}-routes`,
            virtual_hosts: [{ name: 'all', domains: ['*'], routes: (l.routes ?? [{}]).map(route) }],
          },
          http_filters: [...filters, { name: 'envoy.filters.http.router', typed_config: { '@type': T('envoy.extensions.filters.http.router.v3.Router') } }],
        },
      }],
    }],
  };
}

function cluster(name: string, c: number | ClusterSpec): Record<string, unknown> {
  const spec = typeof c === 'number' ? { port: c } : c;
  return {
    name,
    type: 'STATIC',
    connect_timeout: '0.25s',
    ...(spec.http2 ? { typed_extension_protocol_options: {
      'envoy.extensions.upstreams.http.v3.HttpProtocolOptions': {
        '@type': T('envoy.extensions.upstreams.http.v3.HttpProtocolOptions'), explicit_http_config: { http2_protocol_options: {} },
      } } } : {}),
    load_assignment: {
      cluster_name: name,
      endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: spec.host ?? '127.0.0.1', port_value: spec.port } } } }] }],
    },
  };
}

export function renderBootstrap(spec: EnvoyConfigSpec): Record<string, unknown> {
  return {
    admin: { address: { socket_address: { address: '127.0.0.1', port_value: 0 } } },
    static_resources: {
      listeners: spec.listeners.map(listener),
      clusters: Object.entries(spec.clusters ?? {}).map(([n, c]) => cluster(n, c)),
    },
  };
}
