// The validated user context of a request, handed from the inbound filter to the outbound
// filter of the same sidecar by x-request-id (as Cellery did). The proxy-wasm ABI cannot delete
// shared data, so this is a fixed ring of slots keyed by a hash of the request id; a reader checks
// the request id and the expiry before trusting a slot.
//
// x-request-id is client-settable, so an entry is *claimed*, never overwritten: while an entry
// for a request id is live, only a request of the same user (the same verified token, or none
// for an anonymous one) may claim that id again (a retry, a fan-out). Any other request with that
// id is refused by the inbound filter, so it can neither replace the first user's context nor
// reach a service whose outbound calls would read it. Claims are compare-and-swap on the slot
// (every slot is created at configure so that it always has a CAS), so two workers cannot both win.
import { getShared, setShared, deadlinePassed } from "../host/runtime";
import { hash64 } from "../util/hash";

const FREE = String.UTF8.encode("-");   // a slot nobody has claimed yet

export class UserContextStore {
  constructor(public cell: string, public slots: i32, public ttlSeconds: i64) {}

  private key(requestId: string): string {
    const slot = hash64(changetype<usize>(requestId), requestId.length << 1) % <u64>this.slots;
    return "cellauth/" + this.cell + "/uc/" + slot.toString();
  }

  // Creates the slots that do not exist yet (once per VM, at configure).
  init(): void {
    for (let i = 0; i < this.slots; i++) {
      const k = "cellauth/" + this.cell + "/uc/" + i.toString();
      if (getShared(k).value === null) setShared(k, FREE, 0);
    }
  }

  // Claims `requestId` for `token` ("" = an anonymous request). False when a live entry for
  // that id belongs to another token, or the slot kept changing under us.
  claim(requestId: string, token: string, tokenExp: i64, now: i64): bool {
    const k = this.key(requestId);
    let until = now + this.ttlSeconds;
    if (tokenExp > 0 && tokenExp < until) until = tokenExp;
    const value = String.UTF8.encode(requestId + "\n" + until.toString() + "\n" + token);
    for (let attempt = 0; attempt < 4; attempt++) {
      const sv = getShared(k);
      const v = sv.value;
      if (v !== null && v.byteLength > 0) {
        const e = parse(String.UTF8.decode(v));
        if (e !== null && e.requestId == requestId && e.until > now && e.token != token) return false;
      }
      if (setShared(k, value, sv.cas)) return true;
    }
    return false;
  }

  // The token stored for a live request id; null when none (or the request was anonymous).
  get(requestId: string): string | null {
    const v = getShared(this.key(requestId)).value;
    if (v === null || v.byteLength == 0) return null;
    const e = parse(String.UTF8.decode(v));
    if (e === null || e.requestId != requestId || e.token.length == 0 || deadlinePassed(e.until * 1000)) return null;
    return e.token;
  }
}

class Entry {
  constructor(public requestId: string, public until: i64, public token: string) {}
}

function parse(text: string): Entry | null {
  const a = text.indexOf("\n");
  const b = a < 0 ? -1 : text.indexOf("\n", a + 1);
  if (b < 0) return null;
  return new Entry(text.substring(0, a), I64.parseInt(text.substring(a + 1, b)), text.substring(b + 1));
}
