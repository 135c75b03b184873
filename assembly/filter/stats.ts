// Counters, defined once per configure and prefixed with the cell: cellauth.<cell>.<name>.
// One counter per Status (from the status table) plus the success and background events
// (jwt/events.ts).
// The three events every passing request records (allowed, token_cache_hit, token_cache_miss)
// are counted in the VM and added to Envoy's counters on the root's tick (every 500 ms): that is
// two host calls fewer per request on the cache-hit path, for counters at most one tick behind.
// Rejections and everything else are counted at once.
import { defineMetric, incrementMetric, MetricType } from "../host/runtime";
import { Status, statusCount, statusCounter } from "../jwt/status";
import { Event, eventCounter } from "../jwt/events";

export class Stats {
  private statusIds: u32[] = [];
  private eventIds: u32[] = [];
  private pending: StaticArray<i64> = new StaticArray<i64>(<i32>Event.CacheMiss + 1);

  constructor(cell: string) {
    const prefix = "cellauth." + cell + ".";
    for (let i = 0; i < statusCount(); i++) this.statusIds.push(defineMetric(MetricType.Counter, prefix + statusCounter(<Status>i)));
    for (let i = 0; i < <i32>Event.Count; i++) this.eventIds.push(defineMetric(MetricType.Counter, prefix + eventCounter(<Event>i)));
  }

  status(s: Status): void { incrementMetric(unchecked(this.statusIds[<i32>s])); }
  event(e: Event): void {
    if (e <= Event.CacheMiss) unchecked(this.pending[<i32>e]++);
    else incrementMetric(unchecked(this.eventIds[<i32>e]));
  }

  // Called from the root's tick.
  flush(): void {
    for (let i = 0; i <= <i32>Event.CacheMiss; i++) {
      const n = unchecked(this.pending[i]);
      if (n == 0) continue;
      unchecked(this.pending[i] = 0);
      incrementMetric(unchecked(this.eventIds[i]), n);
    }
  }
}
