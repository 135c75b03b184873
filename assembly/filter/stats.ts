// Counters, defined once per configure and prefixed with the cell: cellauth.<cell>.<name>.
// One counter per Status (from the status table) plus the success and background events
// (jwt/events.ts).
// The events passing requests record on the hot paths (allowed, token_cache_hit/miss,
// authz_allowed, authz_cache_hit, exchange_cache_hit, external_passthrough) are counted in the VM and added to Envoy's
// counters on the root's tick (every 500 ms): a host call fewer per event on the cache-hit paths,
// for counters at most one tick behind. Rejections and everything else are counted at once.
import { defineMetric, incrementMetric, MetricType } from "../host/runtime";
import { Status, statusCount, statusCounter } from "../jwt/status";
import { Event, LastBatched, eventCounter } from "../jwt/events";

export class Stats {
  private statusIds: u32[] = [];
  private eventIds: u32[] = [];
  private pending: StaticArray<i64> = new StaticArray<i64>(<i32>LastBatched + 1);

  constructor(cell: string) {
    const prefix = "cellauth." + cell + ".";
    for (let i = 0; i < statusCount(); i++) this.statusIds.push(defineMetric(MetricType.Counter, prefix + statusCounter(<Status>i)));
    for (let i = 0; i < <i32>Event.Count; i++) this.eventIds.push(defineMetric(MetricType.Counter, prefix + eventCounter(<Event>i)));
  }

  status(s: Status): void { incrementMetric(unchecked(this.statusIds[<i32>s])); }
  event(e: Event): void {
    if (e <= LastBatched) unchecked(this.pending[<i32>e]++);
    else incrementMetric(unchecked(this.eventIds[<i32>e]));
  }

  // Called from the root's tick.
  flush(): void {
    for (let i = 0; i <= <i32>LastBatched; i++) {
      const n = unchecked(this.pending[i]);
      if (n == 0) continue;
      unchecked(this.pending[i] = 0);
      incrementMetric(unchecked(this.eventIds[i]), n);
    }
  }
}
