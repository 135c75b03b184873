// What a stream needs from its plugin: the configuration and the per-worker state (key sets,
// caches, counters, replies), plus the two things only the plugin can do for it (wait for keys,
// own an http call). The plugin's root context (root.ts) implements it; a stream never imports
// the root, so the request path does not reach back up to the code that creates it.
import { RootContext } from "../host/abi";
import { Config, JwtRule } from "../config/types";
import { ProviderKeys } from "../jwks/store";
import { TokenCache } from "../cache/tokens";
import { AuthzCache } from "../authz/cache";
import { ExchangeCache } from "../authz/exchange_cache";
import { UserContextStore } from "../authz/user_context";
import { Stats } from "./stats";
import { Replies } from "./replies";

export enum CallKind { Jwks = 0, Authorize = 1, Exchange = 2, Discovery = 3 }

export abstract class Plugin extends RootContext {
  config: Config | null = null;
  providers: ProviderKeys[] = [];
  tokens: TokenCache = new TokenCache(0, 0);
  decisions: AuthzCache = new AuthzCache(0);
  exchanged: ExchangeCache = new ExchangeCache(0);
  users: UserContextStore | null = null;
  stats: Stats | null = null;
  replies: Replies | null = null;

  providerFor(rule: JwtRule): ProviderKeys { return unchecked(this.providers[rule.index]); }

  // A token named a kid the keys lack: true if the stream should wait for a refetch (woken by
  // onKeysChanged), false to decide with the keys it has.
  abstract refetchForUnknownKey(p: ProviderKeys, streamId: u32): bool;
  // The stream's authorization or exchange call: the plugin routes its answer back to the stream.
  abstract track(token: u32, kind: CallKind, streamId: u32): void;
}
