// The validated user context of a request, handed from the inbound filter to the outbound
// filter of the same sidecar by x-request-id (as Cellery did). The proxy-wasm ABI cannot delete
// shared data, so this is a fixed ring of slots keyed by a hash of the request id: old entries
// are overwritten, and a reader checks the request id and the expiry before trusting a slot.
import { getShared, setShared } from "../host/runtime";
import { hash64 } from "../util/hash";

export class UserContextStore {
  constructor(public cell: string, public slots: i32, public ttlSeconds: i64) {}

  private key(requestId: string): string {
    const slot = hash64(changetype<usize>(requestId), requestId.length << 1) % <u64>this.slots;
    return "cellauth/" + this.cell + "/uc/" + slot.toString();
  }

  put(requestId: string, token: string, tokenExp: i64, now: i64): void {
    let until = now + this.ttlSeconds;
    if (tokenExp > 0 && tokenExp < until) until = tokenExp;
    setShared(this.key(requestId), String.UTF8.encode(requestId + "\n" + until.toString() + "\n" + token), 0);
  }

  get(requestId: string, now: i64): string | null {
    const v = getShared(this.key(requestId)).value;
    if (v === null) return null;
    const text = String.UTF8.decode(v);
    const a = text.indexOf("\n");
    const b = a < 0 ? -1 : text.indexOf("\n", a + 1);
    if (b < 0 || text.substring(0, a) != requestId) return null;
    if (I64.parseInt(text.substring(a + 1, b)) <= now) return null;
    return text.substring(b + 1);
  }
}
