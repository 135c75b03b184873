// State that Envoy keeps per process rather than per worker VM: shared data (per vm_id, with
// CAS) and stats. Give one SharedStore to two ProxyWasmHost instances to model two workers.
import { WasmResult, MetricType } from './abi.ts';

export interface Metric { name: string; type: number; value: number; samples: number[] }

export class SharedStore {
  private data = new Map<string, { value: Uint8Array; cas: number }>();
  private nextCasValue = 1;
  readonly metrics = new Map<string, Metric>();

  // cpp-host SharedData::nextCas: starts at 1 and skips 0, which means "no CAS".
  private nextCas(): number {
    const c = this.nextCasValue;
    this.nextCasValue = (this.nextCasValue + 1) >>> 0;
    if (this.nextCasValue === 0) this.nextCasValue = 1;
    return c;
  }

  private key(vmId: string, key: string): string { return `${vmId}\u0000${key}`; }

  get(vmId: string, key: string): { value: Uint8Array; cas: number } | undefined {
    const e = this.data.get(this.key(vmId, key));
    return e && { value: e.value.slice(), cas: e.cas };
  }

  // cas 0 writes unconditionally; a non-zero cas must match the entry's current cas. A missing
  // key is written whatever the cas, as cpp-host does.
  set(vmId: string, key: string, value: Uint8Array, cas: number): number {
    const k = this.key(vmId, key);
    const e = this.data.get(k);
    if (e && cas !== 0 && cas !== e.cas) return WasmResult.CasMismatch;
    this.data.set(k, { value: value.slice(), cas: this.nextCas() });
    return WasmResult.Ok;
  }

  keys(vmId: string): string[] {
    const p = `${vmId}\u0000`;
    return [...this.data.keys()].filter((k) => k.startsWith(p)).map((k) => k.slice(p.length));
  }

  metric(name: string, type: number): Metric {
    let m = this.metrics.get(name);
    if (!m) { m = { name, type, value: 0, samples: [] }; this.metrics.set(name, m); }
    return m;
  }
}

export { MetricType };
