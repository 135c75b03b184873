// What the authorizer and the exchanger see of the request they decide, and what they may do
// with it. filter/stream.ts implements these on the Stream itself: no adapter object, nothing
// allocated per request, and authz/ never imports filter/.
import { Config } from "../config/types";
import { Status } from "../jwt/status";
import { Event } from "../jwt/events";
import { RequestView, Extracted } from "../jwt/extract";
import { AuthzCache } from "./cache";
import { ExchangeCache } from "./exchange_cache";
import { UserContextStore } from "./user_context";

// Both: the configuration, the three ways out, and the key an STS answer will be cached under.
export interface DecidedRequest {
  readonly config: Config;
  // Set when the request waits on the STS (awaitDecision/awaitToken), read back with the answer.
  readonly pendingKey: string;
  count(e: Event): void;
  // The request goes on (counted as allowed): CONTINUE, or the reply of a later refusal.
  allow(): i32;
  // Refuses the request with s's local reply (and counts s): STOP.
  reject(s: Status): i32;
}

// Inbound authorization (authorize.ts).
export interface AuthzRequest extends DecidedRequest {
  // The first verified token as sent, and its exp (0 when it has none).
  tokenText(): string;
  // Where the token's bytes lie (for cache keys: no decoding).
  readonly token: Extracted | null;
  readonly tokenExp: i64;
  // The calling workload: the verified mTLS peer's SPIFFE ID.
  peerPrincipal(): string | null;
  // The normalised path, raw path, query and method.
  readonly req: RequestView;
  // The rule's token parameter names, never part of the query the STS sees.
  tokenParams(): string[];
  readonly decisions: AuthzCache;
  // The authorization call `call` is in flight: remember `key`, answer through the root's
  // callback, and pause the request (STOP_ALL) until then.
  awaitDecision(call: u32, key: string): i32;
}

// Gateway and outbound token exchange (exchange.ts).
export interface ExchangeRequest extends DecidedRequest {
  tokenText(): string;
  readonly exchanged: ExchangeCache;
  readonly users: UserContextStore | null;
  // As awaitDecision, for the token exchange call.
  awaitToken(call: u32, key: string): i32;
}
