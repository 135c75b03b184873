// Everything that went right, or happened in the background, and is counted: the counterpart of
// status.ts (everything that failed). Low in the layers, so that whatever counts (filter/, authz/)
// names its events without importing the counters themselves (filter/stats.ts).
export enum Event {
  // Batched by filter/stats.ts: keep these three first.
  Allowed = 0, CacheHit, CacheMiss, JwksFetchOk, JwksFetchFailed, JwksRefetchUnknownKid,
  AuthzAllowed, AuthzCacheHit, AuthzFailOpen, ExchangeOk, ExchangeCacheHit, ExternalPassthrough, CorsPreflight,
  Count,
}
const EVENT_NAMES = ["allowed", "token_cache_hit", "token_cache_miss", "jwks_fetch_ok", "jwks_fetch_failed",
  "jwks_refetch_unknown_kid", "authz_allowed", "authz_cache_hit", "authz_fail_open", "exchange_ok",
  "exchange_cache_hit", "external_passthrough", "cors_preflight"];

// The counter's name, after cellauth.<cell>.
export function eventCounter(e: Event): string { return EVENT_NAMES[<i32>e]; }
