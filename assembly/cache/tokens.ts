// Per-worker verified-token cache (Envoy's jwt_cache_config): a fixed, direct-mapped table.
// An entry is a small record (bytes, expiry, rule, identity headers), not the parsed token, so
// a full cache holds little for the GC to trace.
// Bounded in entries and token size; an entry dies at the token's exp or when the key set
// it was verified against changes. Memory is fixed once the table is full.
import { hash64 } from "../util/hash";
import { deadlinePassed } from "../host/runtime";
import { Jwt } from "../jwt/parse";
import { JwtRule } from "../config/types";
import { Identity } from "../jwt/identity";

export class CachedToken {
  hash: u64 = 0;
  bytes: ArrayBuffer = new ArrayBuffer(0);
  expiresMs: i64 = 0;      // the token's exp in ms; i64.MAX_VALUE when the token has no exp
  keysVersion: u32 = 0;
  rule: JwtRule | null = null;
  exp: i64 = 0;            // the token's exp, 0 when it has none (bounds authz caching)
  identity: Identity | null = null;
  bound: string | null = null;   // cnf.spiffe_id: re-checked against the presenting peer on every hit
}

export class TokenCache {
  private slots: Array<CachedToken | null>;
  private mask: i32;
  hits: u64 = 0;
  misses: u64 = 0;

  constructor(public maxEntries: i32, public maxTokenBytes: i32) {
    let n = 1;
    while (n < maxEntries) n <<= 1;
    this.slots = new Array<CachedToken | null>(maxEntries > 0 ? n : 0);
    this.mask = n - 1;
  }

  get enabled(): bool { return this.maxEntries > 0; }

  // The caller checks `keysVersion` against the rule's current key set and calls `evict` on a mismatch.
  // Expiry by deadlinePassed (host/runtime.ts): the tick clock, no host call, moved one tick
  // ahead, and the real clock within 2 s of exp, so a hit never serves a token past its exp.
  lookup(buf: ArrayBuffer, start: i32, len: i32): CachedToken | null {
    if (!this.enabled || len > this.maxTokenBytes) return null;
    const ptr = changetype<usize>(buf) + <usize>start;
    const h = hash64(ptr, len);
    const e = unchecked(this.slots[<i32>(h & <u64>this.mask)]);
    if (e === null || e.hash != h || e.bytes.byteLength != len || memory.compare(changetype<usize>(e.bytes), ptr, len) != 0) {
      this.misses++;
      return null;
    }
    if (deadlinePassed(e.expiresMs)) {
      unchecked(this.slots[<i32>(h & <u64>this.mask)] = null);
      this.misses++;
      return null;
    }
    this.hits++;
    return e;
  }

  evict(e: CachedToken): void {
    const i = <i32>(e.hash & <u64>this.mask);
    if (unchecked(this.slots[i]) === e) unchecked(this.slots[i] = null);
  }

  insert(jwt: Jwt, rule: JwtRule, keysVersion: u32, identity: Identity, bound: string | null): void {
    if (!this.enabled || jwt.len > this.maxTokenBytes) return;
    const ptr = changetype<usize>(jwt.buf) + <usize>jwt.start;
    const e = new CachedToken();
    e.hash = hash64(ptr, jwt.len);
    e.bytes = jwt.buf.slice(jwt.start, jwt.start + jwt.len);
    e.expiresMs = jwt.hasExp && jwt.exp < i64.MAX_VALUE / 1000 ? jwt.exp * 1000 : i64.MAX_VALUE;
    e.keysVersion = keysVersion;
    e.rule = rule;
    e.exp = jwt.hasExp ? jwt.exp : 0;
    e.identity = identity;
    e.bound = bound;
    unchecked(this.slots[<i32>(e.hash & <u64>this.mask)] = e);
  }
}
