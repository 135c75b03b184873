// The Envoy filter chains under test. Every listener answers with a direct_response 200, so no
// upstream process competes with Envoy and wrk for the two cores; only the auth filter differs.
import type { ClusterSpec, EnvoyConfigSpec, HttpFilterSpec } from '../../tests/lib/envoy-config.ts';
import { AUDIENCE, CELL, ISSUER } from './tokens.ts';
import { buildProbe } from '../../tests/lib/build-probe.ts';
import { buildFloor } from './floor.ts';

export type ConfigId = 'noauth' | 'wasm_floor' | 'wasm_probe' | 'jwt_authn' | 'jwt_authn_cache' | 'cellauth_host' | 'cellauth_wasm' | 'cellauth_nocache' | 'cellauth_nosig' | 'cellauth_before' | 'cellauth_authz' | 'ext_authz';

export interface BenchConfig {
  id: ConfigId;
  label: string;
  /** Needs an STS (and OPA) on cluster `sts`. */
  needsSts: boolean;
  /** Requests carry the STS /authorize JSON body (see `requestShape`). */
  bodyRequests: boolean;
  /** Tokens are ignored: one workload is enough. */
  ignoresTokens: boolean;
  /** Profiling only: runs when named in BENCH_CONFIGS, never in the default matrix. */
  profileOnly?: boolean;
  /** `sts`: the STS cluster (mutual TLS with this Envoy's SVID), when `needsSts`. */
  spec(jwks: object, sts?: ClusterSpec): EnvoyConfigSpec;
}

const T = (t: string) => `type.googleapis.com/${t}`;
export const LISTENER = 'bench';
const ok = { status: 200, body: 'ok\n' };

function chain(filters: HttpFilterSpec[], sts?: ClusterSpec): EnvoyConfigSpec {
  return {
    listeners: [{ name: LISTENER, filters, routes: [{ prefix: '/', directResponse: ok }] }],
    ...(sts ? { clusters: { sts } } : {}),
  };
}

function jwtAuthn(jwks: object, cache: boolean): HttpFilterSpec {
  return { raw: {
    name: 'envoy.filters.http.jwt_authn',
    typed_config: {
      '@type': T('envoy.extensions.filters.http.jwt_authn.v3.JwtAuthentication'),
      providers: {
        bench: {
          issuer: ISSUER,
          audiences: [AUDIENCE],
          local_jwks: { inline_string: JSON.stringify(jwks) },
          ...(cache ? { jwt_cache_config: { jwt_cache_size: 1000 } } : {}),
        },
      },
      rules: [{ match: { prefix: '/' }, requires: { provider_name: 'bench' } }],
    },
  } };
}

function cellauth(jwks: object, crypto: 'auto' | 'wasm', authz: boolean, cacheEntries = 1000, wasmPath?: string, noSignature = false): HttpFilterSpec {
  return { wasm: { wasmPath, pluginConfig: {
    version: 'v1', cell: CELL, workload: CELL, crypto,
    ...(noSignature ? { enableSignatureValidation: false, insecureAcknowledgeSignatureValidationDisabled: true } : {}),
    // Same size as jwt_authn's jwt_cache_size, so the cache-hit comparison is like for like.
    tokenCache: { maxEntries: cacheEntries },
    jwtRules: [{ issuer: ISSUER, audiences: [AUDIENCE], jwks }],
    ...(authz ? { authorization: { cluster: 'sts', timeoutMs: 2000, cacheTtlSeconds: 30 } } : {}),
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

export const CONFIGS: BenchConfig[] = [
  { id: 'noauth', label: 'no auth', needsSts: false, bodyRequests: false, ignoresTokens: true, spec: () => chain([]) },
  // The harness's ABI probe: one header lookup, one counter, one response header. It prices the
  // proxy-wasm round trips every wasm filter pays, apart from anything cellauth does.
  { id: 'wasm_probe', label: 'minimal AS wasm filter (probe)', needsSts: false, bodyRequests: false, ignoresTokens: true, profileOnly: true,
    spec: () => chain([{ wasm: { pluginConfig: 'bench', rootId: 'probe', vmId: 'probe', wasmPath: buildProbe() } }]) },
  // The cheapest proxy-wasm filter (three callbacks, no host call): the floor under any wasm filter.
  { id: 'wasm_floor', label: 'empty AS wasm filter (floor)', needsSts: false, bodyRequests: false, ignoresTokens: true,
    spec: () => chain([{ wasm: { pluginConfig: 'bench', rootId: 'floor', vmId: 'floor', wasmPath: buildFloor() } }]) },
  { id: 'jwt_authn', label: 'jwt_authn (no cache)', needsSts: false, bodyRequests: false, ignoresTokens: false, spec: (j) => chain([jwtAuthn(j, false)]) },
  { id: 'jwt_authn_cache', label: 'jwt_authn + jwt_cache', needsSts: false, bodyRequests: false, ignoresTokens: false, spec: (j) => chain([jwtAuthn(j, true)]) },
  { id: 'cellauth_host', label: 'cellauth host crypto', needsSts: false, bodyRequests: false, ignoresTokens: false, spec: (j) => chain([cellauth(j, 'auto', false)]) },
  { id: 'cellauth_wasm', label: 'cellauth AS crypto', needsSts: false, bodyRequests: false, ignoresTokens: false, spec: (j) => chain([cellauth(j, 'wasm', false)]) },
  { id: 'cellauth_nocache', label: 'cellauth host crypto, no token cache', needsSts: false, bodyRequests: false, ignoresTokens: false, profileOnly: true, spec: (j) => chain([cellauth(j, 'auto', false, 0)]) },
  // Profiling: everything but the signature check (and the cache insert that follows it), to
  // price verify_signature on the distinct-token path. Invalid-token rows pass here, by design.
  { id: 'cellauth_nosig', label: 'cellauth without signature check (profiling)', needsSts: false, bodyRequests: false, ignoresTokens: false, profileOnly: true,
    spec: (j) => chain([cellauth(j, 'auto', false, 1000, undefined, true)]) },
  // Profiling: another build of the filter (BENCH_BEFORE_WASM) side by side with this one.
  { id: 'cellauth_before', label: 'cellauth host crypto (BENCH_BEFORE_WASM build)', needsSts: false, bodyRequests: false, ignoresTokens: false, profileOnly: true,
    spec: (j) => chain([cellauth(j, 'auto', false, 1000, process.env.BENCH_BEFORE_WASM)]) },
  { id: 'cellauth_authz', label: 'cellauth + STS authz (cached)', needsSts: true, bodyRequests: true, ignoresTokens: false, spec: (j, sts) => chain([cellauth(j, 'auto', true)], sts) },
  { id: 'ext_authz', label: 'ext_authz → STS per request', needsSts: true, bodyRequests: true, ignoresTokens: false, spec: (_j, sts) => chain([extAuthz(sts!)], sts) },
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
