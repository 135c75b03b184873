// The Envoy filter chains under test. Every listener answers with a direct_response 200, so no
// upstream process competes with Envoy and wrk for the two cores; only the auth filter differs.
import type { ClusterSpec, EnvoyConfigSpec, HttpFilterSpec } from '../../tests/lib/envoy-config.ts';
import { AUDIENCE, CELL, ISSUER } from './tokens.ts';
import { buildProbe } from '../../tests/lib/build-probe.ts';
import { buildFloor, buildHostcalls } from './floor.ts';

export type ConfigId = 'noauth' | 'wasm_floor' | 'wasm_probe' | 'hostcalls_1' | 'hostcalls_2' | 'hostcalls_3' | 'hostcalls_3a' | 'hostcalls_v1' | 'hostcalls_v3' | 'jwt_authn' | 'jwt_authn_cache' | 'cellauth_host' | 'cellauth_wasm' | 'cellauth_nocache' | 'cellauth_nosig' | 'cellauth_before' | 'cellauth_authz' | 'ext_authz' | 'jwt_authn_rbac' | 'opa_extauthz' | 'cellauth_authz_get' | 'cellauth_authz_before';

export interface BenchConfig {
  id: ConfigId;
  label: string;
  /** Needs an STS (and OPA) on cluster `sts`. */
  needsSts: boolean;
  /** Needs bench/opa-extauthz (OPA over ext_authz gRPC) on cluster `opa`. */
  needsOpaExtAuthz?: boolean;
  /** Enforces the bench policy (bench/policy/bench.rego): a token without scope `read` is 403. */
  enforcesPolicy?: boolean;
  /** Requests carry the STS /authorize JSON body (see `requestShape`). */
  bodyRequests: boolean;
  /** Tokens are ignored: one workload is enough. */
  ignoresTokens: boolean;
  /** Profiling only: runs when named in BENCH_CONFIGS, never in the default matrix. */
  profileOnly?: boolean;
  /** Envoy --concurrency (1 unless set: the scaling sweep sets 2). */
  concurrency?: number;
  /** Scaling sweeps: the line this point belongs to and its x value. */
  series?: string;
  x?: string;
  /** Envoy counters whose change over the measured rounds a row records (e.g. cache hits). */
  counters?: string[];
  /** `sts`: the STS cluster (mutual TLS with this Envoy's SVID), when `needsSts`; `opa`: the
   *  ext_authz gRPC server, when `needsOpaExtAuthz`. */
  spec(jwks: object, sts?: ClusterSpec, opa?: ClusterSpec): EnvoyConfigSpec;
}

const T = (t: string) => `type.googleapis.com/${t}`;
export const LISTENER = 'bench';
const ok = { status: 200, body: 'ok\n' };

export function chain(filters: HttpFilterSpec[], sts?: ClusterSpec, opa?: ClusterSpec): EnvoyConfigSpec {
  return {
    listeners: [{ name: LISTENER, filters, routes: [{ prefix: '/', directResponse: ok }] }],
    ...(sts || opa ? { clusters: { ...(sts ? { sts } : {}), ...(opa ? { opa } : {}) } } : {}),
  };
}

/** Where jwt_authn puts the verified payload (payload_in_metadata) for RBAC and ext_authz. */
export const JWT_METADATA_NS = 'envoy.filters.http.jwt_authn';
export const JWT_PAYLOAD_KEY = 'jwt_payload';
/** The bench policy's rule (bench/policy/bench.rego): edge tokens with this scope only. */
export const POLICY_SCOPE = 'read';

export function jwtAuthn(jwks: object, cache: boolean | number, payloadInMetadata = false, rules?: object[]): HttpFilterSpec {
  return { raw: {
    name: 'envoy.filters.http.jwt_authn',
    typed_config: {
      '@type': T('envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication'),
      providers: {
        bench: {
          issuer: ISSUER,
          audiences: [AUDIENCE],
          local_jwks: { inline_string: JSON.stringify(jwks) },
          ...(cache ? { jwt_cache_config: { jwt_cache_size: cache === true ? 1000 : cache } } : {}),
          ...(payloadInMetadata ? { payload_in_metadata: JWT_PAYLOAD_KEY } : {}),
        },
      },
      rules: rules ?? [{ match: { prefix: '/' }, requires: { provider_name: 'bench' } }],
    },
  } };
}

export function cellauth(jwks: object, crypto: 'auto' | 'wasm', authz: boolean, cacheEntries = 1000, wasmPath?: string, noSignature = false, extra: Record<string, unknown> = {}): HttpFilterSpec {
  return { wasm: { wasmPath, pluginConfig: {
    version: 'v1', cell: CELL, workload: CELL, crypto,
    ...(noSignature ? { enableSignatureValidation: false, insecureAcknowledgeSignatureValidationDisabled: true } : {}),
    // Same size as jwt_authn's jwt_cache_size, so the cache-hit comparison is like for like.
    tokenCache: { maxEntries: cacheEntries },
    jwtRules: [{ issuer: ISSUER, audiences: [AUDIENCE], jwks }],
    // As long as wrk waits (--timeout 5s): a loaded machine must not turn a slow STS answer into a 503.
    ...(authz ? { authorization: { cluster: 'sts', timeoutMs: 5000, cacheTtlSeconds: 30 } } : {}),
    ...extra,
  } } };
}

// Cellery's model: every request goes to the STS. The STS has no ext_authz-shaped endpoint, so the
// check request is made to land on POST /authorize itself: the client asks for /authorize with
// the STS's JSON body, and ext_authz forwards method, path, content-type and the body unchanged.
function extAuthz(sts: ClusterSpec): HttpFilterSpec {
  return { raw: {
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': T('envoy.extensions.filters.http.ext_authz.v3.ExtAuthz'),
      transport_api_version: 'V3',
      http_service: {
        server_uri: { uri: `https://127.0.0.1:${sts.port}`, cluster: 'sts', timeout: '2s' },
        authorization_request: { allowed_headers: { patterns: [{ exact: 'content-type' }] } },
      },
      with_request_body: { max_request_bytes: 16384, allow_partial_message: false },
      failure_mode_allow: false,
    },
  } };
}

// The bench rule as Istio renders an AuthorizationPolicy into Envoy's RBAC filter
//   action: ALLOW; rules: [{ from: [{ source: { requestPrincipals: ["<iss>/*"] } }],
//                            when: [{ key: request.auth.claims[scope], values: ["read"] }] }]
// with the claims read where jwt_authn puts them (payload_in_metadata), not Istio's istio_authn
// filter: one policy, an and of the source and the condition, any permission.
function rbac(): HttpFilterSpec {
  const claim = (key: string, exact: string) => ({ or_ids: { ids: [{ metadata: {
    filter: JWT_METADATA_NS, path: [{ key: JWT_PAYLOAD_KEY }, { key }], value: { string_match: { exact } },
  } }] } });
  return { raw: {
    name: 'envoy.filters.http.rbac',
    typed_config: {
      '@type': T('envoy.extensions.filters.http.rbac.v3.RBAC'),
      rules: {
        action: 'ALLOW',
        policies: {
          'ns[default]-policy[reviews-read]-rule[0]': {
            permissions: [{ and_rules: { rules: [{ any: true }] } }],
            principals: [{ and_ids: { ids: [claim('iss', ISSUER), claim('scope', POLICY_SCOPE)] } }],
          },
        },
      },
    },
  } };
}

// OPA over ext_authz gRPC on every request (opa-envoy-plugin's deployment, an Istio CUSTOM
// action): jwt_authn verifies and forwards the payload as metadata, ext_authz asks OPA.
function opaExtAuthz(): HttpFilterSpec {
  return { raw: {
    name: 'envoy.filters.http.ext_authz',
    typed_config: {
      '@type': T('envoy.extensions.filters.http.ext_authz.v3.ExtAuthz'),
      transport_api_version: 'V3',
      grpc_service: { envoy_grpc: { cluster_name: 'opa' }, timeout: '2s' },
      metadata_context_namespaces: [JWT_METADATA_NS],
      failure_mode_allow: false,
    },
  } };
}

// The token-cache hit rate of each row: single-token rows measure hits, distinct rows misses.
const TOKEN_CACHE_COUNTERS = [`cellauth.${CELL}.token_cache_hit`, `cellauth.${CELL}.token_cache_miss`];

export const CONFIGS: BenchConfig[] = [
  { id: 'noauth', label: 'no auth', needsSts: false, bodyRequests: false, ignoresTokens: true, spec: () => chain([]) },
  // The harness's ABI probe: one header lookup, one counter, one response header. It prices the
  // proxy-wasm round trips every wasm filter pays, apart from anything cellauth does.
  { id: 'wasm_probe', label: 'minimal AS wasm filter (probe)', needsSts: false, bodyRequests: false, ignoresTokens: true, profileOnly: true,
    spec: () => chain([{ wasm: { pluginConfig: 'bench', rootId: 'probe', vmId: 'probe', wasmPath: buildProbe() } }]) },
  // The cheapest proxy-wasm filter (three callbacks, no host call): the floor under any wasm filter.
  { id: 'wasm_floor', label: 'empty AS wasm filter (floor)', needsSts: false, bodyRequests: false, ignoresTokens: true,
    spec: () => chain([{ wasm: { pluginConfig: 'bench', rootId: 'floor', vmId: 'floor', wasmPath: buildFloor() } }]) },
  // Profiling (issue 12): the floor plus cellauth's cache-hit host calls and no other work (read
  // every header; and replace the subject; and remove the token): what those calls cost apart
  // from what cellauth computes in the VM.
  // hostcalls_1, _2 and _3a run by default: the targets table splits the cache hit with them.
  ...([1, 2, 3] as const).map((n): BenchConfig => ({
    id: `hostcalls_${n}`, label: `empty AS filter + ${['', 'header read', 'header read, replace', 'header read, replace, remove'][n]} (cellauth's cache-hit host calls)`,
    needsSts: false, bodyRequests: false, ignoresTokens: true, profileOnly: n == 3,
    spec: () => chain([{ wasm: { pluginConfig: String(n), rootId: `hostcalls_${n}`, vmId: `hostcalls_${n}`, wasmPath: buildHostcalls() } }]),
  })),
  { id: 'hostcalls_3a', label: 'empty AS filter + header read, add, remove (cellauth\'s cache-hit host calls when no subject header came in)',
    needsSts: false, bodyRequests: false, ignoresTokens: true,
    spec: () => chain([{ wasm: { pluginConfig: '3a', rootId: 'hostcalls_3a', vmId: 'hostcalls_3a', wasmPath: buildHostcalls() } }]) },
  // Profiling: could a filter read less than every header? One value read (Authorization), or
  // the three a rule match needs (:path, :method, Authorization), instead of the one pairs read.
  ...(['v1', 'v3'] as const).map((v): BenchConfig => ({
    id: `hostcalls_${v}`, label: `empty AS filter + ${v == 'v1' ? 'one header value read (Authorization)' : 'three header value reads (:path, :method, Authorization)'}`,
    needsSts: false, bodyRequests: false, ignoresTokens: true, profileOnly: true,
    spec: () => chain([{ wasm: { pluginConfig: v, rootId: `hostcalls_${v}`, vmId: `hostcalls_${v}`, wasmPath: buildHostcalls() } }]),
  })),
  { id: 'jwt_authn', label: 'jwt_authn (no cache)', needsSts: false, bodyRequests: false, ignoresTokens: false, spec: (j) => chain([jwtAuthn(j, false)]) },
  { id: 'jwt_authn_cache', label: 'jwt_authn + jwt_cache', needsSts: false, bodyRequests: false, ignoresTokens: false, spec: (j) => chain([jwtAuthn(j, true)]) },
  { id: 'cellauth_host', label: 'cellauth host crypto', needsSts: false, bodyRequests: false, ignoresTokens: false, counters: TOKEN_CACHE_COUNTERS, spec: (j) => chain([cellauth(j, 'auto', false)]) },
  { id: 'cellauth_wasm', label: 'cellauth AS crypto', needsSts: false, bodyRequests: false, ignoresTokens: false, counters: TOKEN_CACHE_COUNTERS, spec: (j) => chain([cellauth(j, 'wasm', false)]) },
  { id: 'cellauth_nocache', label: 'cellauth host crypto, no token cache', needsSts: false, bodyRequests: false, ignoresTokens: false, profileOnly: true, spec: (j) => chain([cellauth(j, 'auto', false, 0)]) },
  // Profiling: everything but the signature check (and the cache insert that follows it), to
  // price verify_signature on the distinct-token path. Invalid-token rows pass here, by design.
  { id: 'cellauth_nosig', label: 'cellauth without signature check (profiling)', needsSts: false, bodyRequests: false, ignoresTokens: false, profileOnly: true,
    spec: (j) => chain([cellauth(j, 'auto', false, 1000, undefined, true)]) },
  // Profiling: another build of the filter (BENCH_BEFORE_WASM) side by side with this one.
  { id: 'cellauth_before', label: 'cellauth host crypto (BENCH_BEFORE_WASM build)', needsSts: false, bodyRequests: false, ignoresTokens: false, profileOnly: true,
    spec: (j) => chain([cellauth(j, 'auto', false, 1000, process.env.BENCH_BEFORE_WASM)]) },
  { id: 'cellauth_authz', label: 'cellauth + STS authz (cached)', needsSts: true, enforcesPolicy: true, bodyRequests: true, ignoresTokens: false, spec: (j, sts) => chain([cellauth(j, 'auto', true)], sts) },
  { id: 'ext_authz', label: 'ext_authz → STS per request', needsSts: true, bodyRequests: true, ignoresTokens: false, spec: (_j, sts) => chain([extAuthz(sts!)], sts) },
  // What users pick today (issue 12), all three on GET / with the token in the header (the
  // usual request): on a POST whose body Envoy has not read, a direct response from a filter chain
  // that never pauses makes Envoy close the connection (measured: one connection per request for
  // jwt_authn + RBAC), which would price a TCP handshake into that row. jwt_authn has its cache,
  // like cellauth's token cache (Istio renders none, so Istio's own numbers would be lower).
  { id: 'cellauth_authz_get', label: 'cellauth + STS authz (decision cache), GET', needsSts: true, enforcesPolicy: true, bodyRequests: false, ignoresTokens: false,
    spec: (j, sts) => chain([cellauth(j, 'auto', true)], sts) },
  // Profiling: cellauth_authz_get with another build of the filter (BENCH_BEFORE_WASM).
  { id: 'cellauth_authz_before', label: 'cellauth + STS authz (decision cache), GET (BENCH_BEFORE_WASM build)', needsSts: true, enforcesPolicy: true, bodyRequests: false, ignoresTokens: false, profileOnly: true,
    spec: (j, sts) => chain([cellauth(j, 'auto', true, 1000, process.env.BENCH_BEFORE_WASM)], sts) },
  { id: 'jwt_authn_rbac', label: 'jwt_authn + RBAC (Istio AuthorizationPolicy)', needsSts: false, enforcesPolicy: true, bodyRequests: false, ignoresTokens: false,
    spec: (j) => chain([jwtAuthn(j, true, true), rbac()]) },
  { id: 'opa_extauthz', label: 'jwt_authn + OPA over ext_authz gRPC per request', needsSts: false, needsOpaExtAuthz: true, enforcesPolicy: true, bodyRequests: false, ignoresTokens: false,
    spec: (j, _sts, opa) => chain([jwtAuthn(j, true, true), opaExtAuthz()], undefined, opa) },
];

/** The request body both STS configurations send (the STS /authorize contract) before the token. */
export function authorizeBodyPrefix(): string {
  const b = JSON.stringify({
    requestId: 'bench', destination: { cellName: CELL, workload: CELL },
    requestContext: { host: 'bench', path: '/authorize', method: 'POST', protocol: 'HTTP/1.1' },
    jwt: 'TOKEN',
  });
  return b.slice(0, b.indexOf('TOKEN'));
}
