// A fixed-size, direct-mapped string-keyed cache with expiry: memory is bounded by
// construction, a colliding insert simply replaces the older entry.
import { hash64 } from "../util/hash";
import { deadlinePassed } from "../host/runtime";

export class Entry<T> {
  constructor(public key: string, public value: T, public expiresAt: i64) {}
}

export class BoundedCache<T> {
  private slots: Array<Entry<T> | null>;
  private mask: i32;

  constructor(public maxEntries: i32) {
    let n = 1;
    while (n < maxEntries) n <<= 1;
    this.slots = new Array<Entry<T> | null>(maxEntries > 0 ? n : 0);
    this.mask = n - 1;
  }

  private slot(key: string): i32 {
    return <i32>(hash64(changetype<usize>(key), key.length << 1) & <u64>this.mask);
  }

  // `expiresAt` is in ms; whether it has passed is host/runtime.ts's deadlinePassed.
  get(key: string): Entry<T> | null {
    if (this.maxEntries == 0) return null;
    const i = this.slot(key);
    const e = unchecked(this.slots[i]);
    if (e === null || e.key != key) return null;
    if (deadlinePassed(e.expiresAt)) { unchecked(this.slots[i] = null); return null; }
    return e;
  }

  set(key: string, value: T, expiresAt: i64): void {
    if (this.maxEntries == 0) return;
    unchecked(this.slots[this.slot(key)] = new Entry<T>(key, value, expiresAt));
  }
}
