// Everything that went right, or happened in the background, and is counted: the counterpart of
// status.ts (everything that failed). Low in the layers, so that whatever counts (filter/, authz/)
// names its events without importing the counters themselves (filter/stats.ts).
export enum Event {
  // Counted on the hot paths, batched by filter/stats.ts: keep these first (up to LastBatched).
  Allowed = 0, CacheHit, CacheMiss, AuthzAllowed, AuthzCacheHit, ExchangeCacheHit, ExternalPassthrough,
  JwksFetchOk, JwksFetchFailed, JwksRefetchUnknownKid, AuthzFailOpen, ExchangeOk, CorsPreflight,
  Count,
}
export const LastBatched = Event.ExternalPassthrough;
const EVENT_NAMES = ["allowed", "token_cache_hit", "token_cache_miss", "authz_allowed", "authz_cache_hit",
  "exchange_cache_hit", "external_passthrough", "jwks_fetch_ok", "jwks_fetch_failed", "jwks_refetch_unknown_kid",
  "authz_fail_open", "exchange_ok", "cors_preflight"];

// The counter's name, after cellauth.<cell>.
export function eventCounter(e: Event): string { return EVENT_NAMES[<i32>e]; }
