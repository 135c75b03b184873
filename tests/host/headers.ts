// An ordered, multi-valued header map with Envoy's semantics for the ABI's map calls.
import type { Pair } from './pairs.ts';
import type { HeaderInput } from './types.ts';

export class HeaderMap {
  pairs: Pair[];
  constructor(pairs: Pair[] = []) { this.pairs = pairs; }

  static from(input: HeaderInput | undefined): HeaderMap {
    if (!input) return new HeaderMap();
    const list: Pair[] = Array.isArray(input) ? [...(input as Pair[])] : Object.entries(input as Record<string, string>);
    return new HeaderMap(list.map(([k, v]) => [k.toLowerCase(), String(v)]));
  }

  // Envoy returns the first value of a repeated header.
  get(key: string): string | undefined {
    const k = key.toLowerCase();
    return this.pairs.find(([n]) => n === k)?.[1];
  }
  add(key: string, value: string): void { this.pairs.push([key.toLowerCase(), value]); }
  // setCopy: the first entry takes the value in place, later duplicates go.
  replace(key: string, value: string): void {
    const k = key.toLowerCase();
    const i = this.pairs.findIndex(([n]) => n === k);
    if (i < 0) { this.pairs.push([k, value]); return; }
    this.pairs[i] = [k, value];
    this.pairs = this.pairs.filter(([n], j) => n !== k || j === i);
  }
  remove(key: string): void {
    const k = key.toLowerCase();
    this.pairs = this.pairs.filter(([n]) => n !== k);
  }
  setAll(pairs: Pair[]): void { this.pairs = pairs.map(([k, v]) => [k.toLowerCase(), v]); }
  // Envoy's HeaderMap::byteSize: the sum of key and value lengths.
  byteSize(): number {
    const enc = new TextEncoder();
    return this.pairs.reduce((n, [k, v]) => n + enc.encode(k).length + enc.encode(v).length, 0);
  }
  record(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.pairs) out[k] = k in out ? `${out[k]},${v}` : v;
    return out;
  }
  clone(): HeaderMap { return new HeaderMap(this.pairs.map(([k, v]) => [k, v])); }
}
