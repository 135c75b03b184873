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

/** A workload certificate (X.509 SVID) and the trust domain's CA bundle (tests/lib/spiffe-ca.ts). */
export interface TlsFiles { certFile: string; keyFile: string; caFile: string }

/** Mutual TLS on a listener, as an Istio sidecar's inbound: a client certificate is required, it
 * must chain to the CA and carry a URI SAN of the trust domain, or the handshake fails. The app
 * gets the verified peer in x-forwarded-client-cert (set by Envoy; a client's own is dropped). */
export interface DownstreamTls extends TlsFiles {
  /** Default cluster.local. */
  trustDomain?: string;
  /** Default SANITIZE_SET; Istio's sidecars use APPEND_FORWARD. */
  forwardClientCertDetails?: 'SANITIZE_SET' | 'APPEND_FORWARD';
}

/** Mutual TLS to an upstream: present our certificate, accept only `serverSpiffeId` (or any ID of the trust domain). */
export interface UpstreamTls extends TlsFiles {
  serverSpiffeId?: string;
  trustDomain?: string;
}

export interface ListenerSpec {
  name: string;
  filters: HttpFilterSpec[];
  /** Default: everything to the cluster `upstream`. */
  routes?: RouteSpec[];
  tls?: DownstreamTls;
  /** A file access log line per request: request id, downstream peer URI SAN, response code. */
  accessLogPath?: string;
}

export interface ClusterSpec { port: number; host?: string; http2?: boolean; tls?: UpstreamTls }

export interface EnvoyConfigSpec {
  listeners: ListenerSpec[];
  /** name -> port (127.0.0.1) or a spec. The filter dispatches http calls by these names. */
  clusters?: Record<string, number | ClusterSpec>;
}

const T = (t: string) => `type.googleapis.com/${t}`;

/**
 * Connection-manager settings every Envoy the project ships or renders uses (issue 10): paths are
 * normalised (RFC 3986 dot segments, merged slashes) before any filter or route sees them, a path
 * with an encoded '/' or '\\' is refused (400), and so is a header whose name has an underscore
 * (`x_cellery_auth_subject` must never reach a service beside the real `x-cellery-auth-subject`).
 */
export const HARDENED_HCM = {
  normalize_path: true,
  merge_slashes: true,
  path_with_escaped_slashes_action: 'REJECT_REQUEST',
  common_http_protocol_options: { headers_with_underscores_action: 'REJECT_REQUEST' },
} as const;

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

const spiffePrefix = (trustDomain = 'cluster.local') => ({ san_type: 'URI', matcher: { prefix: `spiffe://${trustDomain}/` } });

function commonTls(t: TlsFiles, sans: Record<string, unknown>[]): Record<string, unknown> {
  return {
    tls_params: { tls_minimum_protocol_version: 'TLSv1_2' },
    tls_certificates: [{ certificate_chain: { filename: t.certFile }, private_key: { filename: t.keyFile } }],
    validation_context: { trusted_ca: { filename: t.caFile }, match_typed_subject_alt_names: sans },
  };
}

export function downstreamTransportSocket(t: DownstreamTls): Record<string, unknown> {
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': T('envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext'),
      require_client_certificate: true,
      common_tls_context: commonTls(t, [spiffePrefix(t.trustDomain)]),
    },
  };
}

export function upstreamTransportSocket(t: UpstreamTls): Record<string, unknown> {
  const san = t.serverSpiffeId ? { san_type: 'URI', matcher: { exact: t.serverSpiffeId } } : spiffePrefix(t.trustDomain);
  return {
    name: 'envoy.transport_sockets.tls',
    typed_config: {
      '@type': T('envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext'),
      common_tls_context: commonTls(t, [san]),
    },
  };
}

function listener(l: ListenerSpec): Record<string, unknown> {
  const filters = l.filters.map((f) => ('wasm' in f ? wasmFilter(f.wasm) : f.raw));
  const xfcc = l.tls
    ? { forward_client_cert_details: l.tls.forwardClientCertDetails ?? 'SANITIZE_SET', set_current_client_cert_details: { uri: true } }
    : { forward_client_cert_details: 'SANITIZE' };
  const accessLog = l.accessLogPath ? {
    access_log: [{
      name: 'envoy.access_loggers.file',
      typed_config: {
        '@type': T('envoy.extensions.access_loggers.file.v3.FileAccessLog'),
        path: l.accessLogPath,
        log_format: { json_format: { request_id: '%REQ(X-REQUEST-ID)%', peer: '%DOWNSTREAM_PEER_URI_SAN%', status: '%RESPONSE_CODE%' } },
      },
    }],
  } : {};
  return {
    name: l.name,
    address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
    filter_chains: [{
      ...(l.tls ? { transport_socket: downstreamTransportSocket(l.tls) } : {}),
      filters: [{
        name: 'envoy.filters.network.http_connection_manager',
        typed_config: {
          '@type': T('envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager'),
          stat_prefix: l.name,
          codec_type: 'AUTO',
          ...HARDENED_HCM,
          ...xfcc,
          ...accessLog,
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
    ...(spec.tls ? { transport_socket: upstreamTransportSocket(spec.tls) } : {}),
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
