// The key set of one jwtRule, as one worker sees it. Remote key sets live in proxy-wasm shared
// data so that one fetch serves every worker; each worker re-parses only when the shared copy's
// CAS changes. The last good set survives failed fetches; no set at all fails closed.
import { JwtRule } from "../config/types";
import { getShared, setShared } from "../host/runtime";
import { KeySet, parseJwks, lastJwksError } from "./keys";

export class ProviderKeys {
  keys: KeySet | null = null;
  version: u32 = 0;          // bumps whenever this worker's key set changes (invalidates cached tokens)
  fetchedAtMs: i64 = 0;
  lastError: string = "";
  inFlight: bool = false;    // this worker has a fetch outstanding
  // OIDC discovery (remoteJwks.discovery): where this worker last found the keys, and when.
  jwksPath: string = "";
  jwksAuthority: string = "";
  discoveredAtMs: i64 = 0;
  skippedLogged: string = "";   // the ignored keys last reported, so a refresh repeats no warning
  private sharedCas: u32 = 0;
  readonly dataKey: string;
  readonly refreshLeaseKey: string;   // scheduled refreshes: one worker fetches
  readonly kidLeaseKey: string;       // unknown-kid refetches: at most one per refetchIntervalMs

  constructor(public rule: JwtRule, cell: string, public maxDepth: i32) {
    const k = "cellauth/" + cell + "/jwks/" + rule.name;
    this.dataKey = k;
    this.refreshLeaseKey = k + "/lease/refresh";
    this.kidLeaseKey = k + "/lease/kid";
  }

  get isRemote(): bool { return this.rule.remote !== null; }

  // Inline keys: parsed once at configure; an unusable inline JWKS refuses the config.
  loadInline(): bool {
    const text = this.rule.inlineJwks;
    if (text === null) return false;
    const set = parseJwks(text, this.maxDepth);
    if (set === null) { this.lastError = lastJwksError(); return false; }
    this.install(set, 0);
    return true;
  }

  // Adopts the shared copy when another worker (or we) stored a newer one. Returns true on change.
  sync(): bool {
    if (!this.isRemote) return false;
    const sv = getShared(this.dataKey);
    const value = sv.value;
    if (value === null || sv.cas == this.sharedCas) return false;
    this.sharedCas = sv.cas;
    const text = String.UTF8.decode(value);
    const nl = text.indexOf("\n");
    if (nl <= 0) return false;
    const set = parseJwks(text.substring(nl + 1), this.maxDepth);
    if (set === null) { this.lastError = lastJwksError(); return false; }
    this.install(set, I64.parseInt(text.substring(0, nl)));
    return true;
  }

  // Stores a freshly fetched JWKS for every worker. Returns false (keeping the old set) if unusable.
  storeFetched(body: string, nowMs: i64): bool {
    const set = parseJwks(body, this.maxDepth);
    if (set === null) { this.lastError = lastJwksError(); return false; }
    setShared(this.dataKey, String.UTF8.encode(nowMs.toString() + "\n" + body), 0);
    this.sync();
    return true;
  }

  // The discovered jwks_uri is re-read once per cacheDurationSeconds, and after a failed key fetch.
  needsDiscovery(nowMs: i64): bool {
    const remote = this.rule.remote;
    if (remote === null || !remote.discovery) return false;
    return this.jwksPath.length == 0 || nowMs >= this.discoveredAtMs + remote.cacheDurationSeconds * 1000;
  }

  isDue(nowMs: i64): bool {
    const remote = this.rule.remote;
    if (remote === null) return false;
    return this.keys === null || nowMs >= this.fetchedAtMs + remote.cacheDurationSeconds * 1000;
  }

  // One fetch per interval across all workers: whoever swaps the lease timestamp by CAS fetches.
  claimFetch(leaseKey: string, nowMs: i64, minIntervalMs: i64): bool {
    const sv = getShared(leaseKey);
    const value = sv.value;
    if (value !== null && value.byteLength > 0) {
      const last = I64.parseInt(String.UTF8.decode(value));
      if (nowMs - last < minIntervalMs && nowMs >= last) return false;
    }
    return setShared(leaseKey, String.UTF8.encode(nowMs.toString()), sv.cas);
  }

  private install(set: KeySet, fetchedAtMs: i64): void {
    this.keys = set;
    this.fetchedAtMs = fetchedAtMs;
    this.version++;
    this.lastError = "";
  }
}
