// The plugin's root context: configuration, key sets, the refresh timer and every
// dispatch_http_call response. One per plugin per worker.
import { StreamContext, streamById } from "../host/abi";
import { getBuffer, BufferType } from "../host/buffers";
import { Pair } from "../host/headers";
import { httpCall, callResponseStatus, callResponseBody } from "../host/http";
import { nowMillis, setTickPeriod } from "../host/runtime";
import * as log from "../host/log";
import { parseConfig } from "../config/parse";
import { Config, Mode } from "../config/types";
import { ProviderKeys } from "../jwks/store";
import { parseDiscovery, lastDiscoveryError } from "../jwks/discovery";
import { TokenCache } from "../cache/tokens";
import { Stats } from "./stats";
import { Event } from "../jwt/events";
import { Replies } from "./replies";
import { AuthzCache } from "../authz/cache";
import { ExchangeCache } from "../authz/exchange_cache";
import { UserContextStore } from "../authz/user_context";
import { Stream } from "./stream";
import { Plugin, CallKind } from "./plugin";

const TICK_MS: u32 = 500;
const MAX_JWKS_BYTES: u32 = 256 * 1024;
const MAX_DISCOVERY_BYTES: u32 = 64 * 1024;

class Waiter {
  constructor(public streamId: u32, public deadlineMs: i64) {}
}

class Pending {
  constructor(public kind: CallKind, public provider: ProviderKeys | null, public streamId: u32) {}
}

export class CellauthRoot extends Plugin {
  private pending: Map<u32, Pending> = new Map();
  private keyWaiters: Map<i32, Waiter[]> = new Map();

  onConfigure(size: u32): bool {
    log.refreshLevel();
    const buf = getBuffer(BufferType.PluginConfiguration, size);
    const text = buf === null ? "" : String.UTF8.decode(buf);
    const res = parseConfig(text);
    const c = res.config;
    if (c === null) {
      log.error("cellauth: configuration refused: " + res.error);
      return false;
    }
    for (let i = 0; i < res.warnings.length; i++) log.warn("cellauth: " + res.warnings[i]);
    const providers = new Array<ProviderKeys>();
    for (let i = 0; i < c.jwtRules.length; i++) {
      const p = new ProviderKeys(c.jwtRules[i], c.cell, c.maxJsonDepth);
      if (c.jwtRules[i].inlineJwks !== null && !p.loadInline()) {
        log.error("cellauth: configuration refused: config.jwtRules[" + i.toString() + "].jwks: " + p.lastError);
        return false;
      }
      if (p.keys !== null) logSkippedKeys(p);
      providers.push(p);
    }
    this.config = c;
    this.providers = providers;
    this.tokens = new TokenCache(c.cacheMaxEntries, c.cacheMaxTokenBytes);
    const authz = c.authorization;
    this.decisions = new AuthzCache(authz !== null ? authz.cacheMaxEntries : 0);
    const tx = c.tokenExchange;
    this.exchanged = new ExchangeCache(tx !== null ? tx.cacheMaxEntries : 0);
    this.users = new UserContextStore(c.cell, c.userContextSlots, c.userContextTtlSeconds);
    if (c.userContextEnabled && c.mode == Mode.Inbound) this.users!.init();
    if (this.stats !== null) this.stats!.flush();   // the old config's batched counts
    this.stats = new Stats(c.cell);
    this.replies = new Replies(c.realm);
    setTickPeriod(TICK_MS);
    log.info("cellauth: configured cell " + c.cell + " (" + c.jwtRules.length.toString() + " jwtRules, mode " + modeName(c) + ")");
    this.onTick();
    return true;
  }

  newStream(id: u32): StreamContext { return new Stream(id, this); }

  onTick(): void {
    if (this.stats !== null) this.stats!.flush();
    const now = nowMillis();
    for (let i = 0; i < this.providers.length; i++) {
      const p = this.providers[i];
      if (!p.isRemote) continue;
      if (p.sync()) this.wakeKeyWaiters(p, false, now);
      if (p.isDue(now) && !p.inFlight) this.fetchKeys(p, p.refreshLeaseKey, now, p.rule.remote!.refetchIntervalMs);
      this.wakeKeyWaiters(p, true, now);   // waiters past their deadline fail closed
    }
  }

  // A token named a kid we do not have: adopt a newer shared copy if there is one, else fetch
  // (at most once per refetchIntervalMs across workers). Returns true if the stream should wait.
  refetchForUnknownKey(p: ProviderKeys, streamId: u32): bool {
    if (!p.isRemote) return false;
    if (p.sync()) return false;   // caller retries with the newer set at once
    const now = nowMillis();
    if (!p.inFlight) {
      if (this.fetchKeys(p, p.kidLeaseKey, now, p.rule.remote!.refetchIntervalMs)) {
        this.stats!.event(Event.JwksRefetchUnknownKid);
      } else if (p.keys !== null) {
        return false;   // rate-limited and we do have keys: the kid is simply unknown
      }
      // No keys at all and another worker holds the fetch: wait for its shared copy (bounded).
    }
    let list = this.keyWaiters.has(p.rule.index) ? this.keyWaiters.get(p.rule.index) : new Array<Waiter>();
    list.push(new Waiter(streamId, now + <i64>p.rule.remote!.timeoutMs + 2 * <i64>TICK_MS));
    this.keyWaiters.set(p.rule.index, list);
    return true;
  }

  private fetchKeys(p: ProviderKeys, leaseKey: string, nowMs: i64, minIntervalMs: i64): bool {
    const remote = p.rule.remote!;
    if (!p.claimFetch(leaseKey, nowMs, minIntervalMs)) return false;
    // With OIDC discovery, the keys' location comes from the provider's discovery document first.
    if (p.needsDiscovery(nowMs)) return this.dispatchGet(p, CallKind.Discovery, remote.cluster, remote.discoveryPath, remote.authority);
    if (remote.discovery) return this.dispatchGet(p, CallKind.Jwks, remote.jwksCluster, p.jwksPath, p.jwksAuthority);
    return this.dispatchGet(p, CallKind.Jwks, remote.cluster, remote.path, remote.authority);
  }

  private dispatchGet(p: ProviderKeys, kind: CallKind, cluster: string, path: string, authority: string): bool {
    const headers: Pair[] = [
      new Pair(":method", "GET"), new Pair(":path", path), new Pair(":authority", authority),
      new Pair("accept", "application/json"),
    ];
    const token = httpCall(cluster, headers, new ArrayBuffer(0), p.rule.remote!.timeoutMs);
    if (token == 0) {
      log.warn("cellauth: " + (kind == CallKind.Discovery ? "OIDC discovery" : "JWKS fetch") + " for " + p.rule.name + " could not be dispatched (cluster " + cluster + ")");
      this.stats!.event(Event.JwksFetchFailed);
      p.inFlight = false;
      return false;
    }
    this.pending.set(token, new Pending(kind, p, 0));
    p.inFlight = true;
    return true;
  }

  // Authorization and token exchange calls are dispatched by streams and registered here.
  track(token: u32, kind: CallKind, streamId: u32): void { this.pending.set(token, new Pending(kind, null, streamId)); }

  onHttpCallResponse(token: u32, headers: u32, bodySize: u32, trailers: u32): void {
    if (!this.pending.has(token)) return;
    const call = this.pending.get(token);
    this.pending.delete(token);
    if (call.kind == CallKind.Jwks) {
      this.onJwksResponse(call.provider!, headers, bodySize);
      return;
    }
    if (call.kind == CallKind.Discovery) {
      this.onDiscoveryResponse(call.provider!, headers, bodySize);
      return;
    }
    const s = streamById(call.streamId);
    if (s === null) return;   // the request went away meanwhile
    const stream = changetype<Stream>(s);
    stream.activate();
    const status = callResponseStatus(headers);
    const body = callResponseBody(bodySize, 64 * 1024);
    if (call.kind == CallKind.Authorize) stream.onAuthorizeResponse(status, body);
    else stream.onExchangeResponse(status, body);
  }

  // The discovery document names jwks_uri (for the configured issuer only); the keys follow at once.
  private onDiscoveryResponse(p: ProviderKeys, headers: u32, bodySize: u32): void {
    p.inFlight = false;
    const status = callResponseStatus(headers);
    const body = callResponseBody(bodySize, MAX_DISCOVERY_BYTES);
    let why = status == 0 ? "unreachable or timed out" : status != 200 ? "HTTP " + status.toString() : body === null ? "empty or over 64 KiB" : "";
    if (why.length == 0) {
      const uri = parseDiscovery(String.UTF8.decode(body!), p.rule.issuer, this.config!.maxJsonDepth);
      if (uri !== null) {
        const remote = p.rule.remote!;
        p.jwksPath = uri.path;
        p.jwksAuthority = uri.authority;
        p.discoveredAtMs = nowMillis();
        log.debug("cellauth: OIDC discovery for " + p.rule.name + ": jwks_uri path " + uri.path + " via cluster " + remote.jwksCluster);
        if (this.dispatchGet(p, CallKind.Jwks, remote.jwksCluster, p.jwksPath, p.jwksAuthority)) return;
        why = "the JWKS fetch could not be dispatched";
      } else {
        why = lastDiscoveryError();
      }
    }
    this.stats!.event(Event.JwksFetchFailed);
    log.warn("cellauth: OIDC discovery for " + p.rule.name + " failed (" + why + "); " + (p.keys !== null ? "keeping the last good key set" : "no keys: failing closed"));
    this.wakeKeyWaiters(p, false, 0);
  }

  private onJwksResponse(p: ProviderKeys, headers: u32, bodySize: u32): void {
    p.inFlight = false;
    const status = callResponseStatus(headers);
    const body = callResponseBody(bodySize, MAX_JWKS_BYTES);
    if (status == 200 && body !== null && p.storeFetched(String.UTF8.decode(body), nowMillis())) {
      this.stats!.event(Event.JwksFetchOk);
      log.debug("cellauth: JWKS for " + p.rule.name + " refreshed (" + p.keys!.keys.length.toString() + " keys)");
      logSkippedKeys(p);
    } else {
      this.stats!.event(Event.JwksFetchFailed);
      p.jwksPath = "";   // with discovery: look the keys up again next time (jwks_uri may have moved)
      const why = status == 0 ? "unreachable or timed out" : status != 200 ? "HTTP " + status.toString() : p.lastError;
      log.warn("cellauth: JWKS fetch for " + p.rule.name + " failed (" + why + "); " + (p.keys !== null ? "keeping the last good key set" : "no keys: failing closed"));
    }
    this.wakeKeyWaiters(p, false, 0);
  }

  // Resumes the streams waiting on this provider's keys: all of them, or (expiredOnly) those
  // whose deadline has passed.
  private wakeKeyWaiters(p: ProviderKeys, expiredOnly: bool, nowMs: i64): void {
    if (!this.keyWaiters.has(p.rule.index)) return;
    const list = this.keyWaiters.get(p.rule.index);
    const wake = new Array<u32>();
    const keep = new Array<Waiter>();
    for (let i = 0; i < list.length; i++) {
      if (!expiredOnly || nowMs >= list[i].deadlineMs) wake.push(list[i].streamId);
      else keep.push(list[i]);
    }
    if (keep.length > 0) this.keyWaiters.set(p.rule.index, keep);
    else this.keyWaiters.delete(p.rule.index);
    for (let i = 0; i < wake.length; i++) {
      const s = streamById(wake[i]);
      if (s === null) continue;
      const stream = changetype<Stream>(s);
      stream.activate();
      stream.onKeysChanged();
    }
  }
}

// Keys a set could not use (unsupported type or curve, `use: enc`, malformed) are left out, never
// fatal while the set has a usable key: say which when that list changes (not on every refresh).
function logSkippedKeys(p: ProviderKeys): void {
  const set = p.keys;
  if (set === null || set.skipped.length == 0) return;
  const what = set.skipped.join("; ");
  if (what == p.skippedLogged) return;
  p.skippedLogged = what;
  log.warn("cellauth: " + p.rule.name + ": " + set.keys.length.toString() + " usable keys; ignored " + set.skipped.length.toString() + ": " + what);
}

function modeName(c: Config): string { return c.mode == 0 ? "inbound" : c.mode == 1 ? "outbound" : "gateway"; }
