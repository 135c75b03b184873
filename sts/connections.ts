// Connection admission for the mTLS server. Anyone who can reach the port can open TCP sockets
// without a certificate, so those must not use up what authenticated workloads need:
// - a socket that has not finished its TLS handshake waits in a pool of its own, bounded by
//   `maxPending`; when the pool is full, the socket that has waited longest is closed to admit
//   the newcomer. A workload's handshake takes milliseconds, so evicting one would take
//   `maxPending` new connections within those milliseconds, while idle sockets go first;
// - only connections whose handshake succeeded (a client certificate from our CA) count toward
//   `maxConnections`; one beyond it is closed at once.
import type { Server, Socket } from "node:net";

export interface Admission {
  /** Sockets still in their handshake (for tests and metrics). */
  pending(): number;
  /** Closes every socket still in its handshake (the server is stopping). */
  closePending(): void;
}

export function admitConnections(server: Server, opts: { maxConnections: number; maxPending: number; onEvicted?: () => void; onRefused?: () => void }): Admission {
  // Insertion order is arrival order: the first key is the socket that has waited longest.
  const pending = new Map<string, Socket>();
  let established = 0;
  const keyOf = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;
  server.on("connection", (s: Socket) => {
    const key = keyOf(s);
    pending.set(key, s);
    s.once("close", () => {
      if (pending.get(key) === s) pending.delete(key);
    });
    if (pending.size > opts.maxPending) {
      const [oldKey, oldest] = pending.entries().next().value as [string, Socket];
      pending.delete(oldKey);
      oldest.destroy();
      opts.onEvicted?.();
    }
  });
  server.on("secureConnection", (s: Socket) => {
    pending.delete(keyOf(s));
    if (established >= opts.maxConnections) {
      s.destroy();
      opts.onRefused?.();
      return;
    }
    established++;
    s.once("close", () => established--);
  });
  return {
    pending: () => pending.size,
    closePending: () => {
      for (const s of pending.values()) s.destroy();
      pending.clear();
    },
  };
}
