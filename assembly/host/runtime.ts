// Clock, timers, metrics and shared data.
import {
  proxy_get_current_time_nanoseconds, proxy_set_tick_period_milliseconds, proxy_define_metric,
  proxy_increment_metric, proxy_get_shared_data, proxy_set_shared_data, proxy_record_metric,
} from "./sdk";
import { retPtrSlot, retSizeSlot, takeReturned } from "./buffers";

const u64Slot = memory.data(8);

// The wall clock as this VM last read it, and the tick period. The root reads the clock on every
// tick, so the last reading is at most one tick period old (plus the tick's own delay): the hot
// path reads that instead of calling the host (see deadlinePassed).
let lastReadMs: i64 = 0;
let tickMs: i64 = 0;

export function nowNanos(): u64 {
  proxy_get_current_time_nanoseconds(u64Slot);
  const n = load<u64>(u64Slot);
  lastReadMs = <i64>(n / 1_000_000);
  return n;
}

// The clock as last read (no host call) while a tick keeps it fresh, else the clock itself. It
// may be up to one tick period behind: deadlinePassed allows for that.
function clockForCache(): i64 {
  if (tickMs > 0 && lastReadMs > 0) return lastReadMs;
  return nowMillis();
}

// Within this much of a deadline, a cache hit reads the real clock.
const NEAR_DEADLINE_MS: i64 = 2000;

/** Has `deadlineMs` passed? For cache hits: the tick clock (no host call) moved one tick ahead,
 *  and, within NEAR_DEADLINE_MS of the deadline, the real clock. So an entry never outlives its
 *  deadline because of the tick's period, nor because a tick ran late (a stalled worker serving
 *  queued requests on the old clock), unless the tick is more than NEAR_DEADLINE_MS late. */
export function deadlinePassed(deadlineMs: i64): bool {
  const approx = clockForCache() + tickMs;
  if (approx >= deadlineMs) return true;
  if (deadlineMs - approx > NEAR_DEADLINE_MS) return false;
  return nowMillis() >= deadlineMs;
}
export function nowSeconds(): i64 { return <i64>(nowNanos() / 1_000_000_000); }
export function nowMillis(): i64 { return <i64>(nowNanos() / 1_000_000); }

export function setTickPeriod(ms: u32): void {
  proxy_set_tick_period_milliseconds(ms);
  tickMs = <i64>ms;
}

export const enum MetricType { Counter = 0, Gauge = 1, Histogram = 2 }

// Returns the metric id, or 0xFFFFFFFF when the host refused it (counted nowhere, harmless).
export function defineMetric(type: MetricType, name: string): u32 {
  const n = String.UTF8.encode(name);
  store<u32>(u64Slot, 0xFFFFFFFF);
  if (proxy_define_metric(<i32>type, changetype<usize>(n), n.byteLength, u64Slot) != 0) return 0xFFFFFFFF;
  return load<u32>(u64Slot);
}
export function incrementMetric(id: u32, by: i64 = 1): void {
  if (id != 0xFFFFFFFF) proxy_increment_metric(id, by);
}
export function recordMetric(id: u32, value: u64): void {
  if (id != 0xFFFFFFFF) proxy_record_metric(id, value);
}

export class SharedValue {
  constructor(public value: ArrayBuffer | null, public cas: u32) {}
}

// Missing keys come back with a null value and cas 0.
export function getShared(key: string): SharedValue {
  const k = String.UTF8.encode(key);
  store<usize>(retPtrSlot(), 0);
  store<usize>(retSizeSlot(), 0);
  store<u32>(u64Slot, 0);
  const r = proxy_get_shared_data(changetype<usize>(k), k.byteLength, retPtrSlot(), retSizeSlot(), u64Slot);
  if (r != 0) return new SharedValue(null, 0);
  const cas = load<u32>(u64Slot);
  return new SharedValue(takeReturned(), cas);
}

// True when written; false on a CAS mismatch (someone else wrote first) or a host error.
export function setShared(key: string, value: ArrayBuffer, cas: u32): bool {
  const k = String.UTF8.encode(key);
  return proxy_set_shared_data(changetype<usize>(k), k.byteLength, changetype<usize>(value), value.byteLength, cas) == 0;
}
