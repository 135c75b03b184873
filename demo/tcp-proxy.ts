// A real TCP proxy on 127.0.0.1:0 that forwards bytes to a target port, optionally holding every
// chunk from the target back for `delayMs` first. Put in front of an STS, it makes a genuinely
// slow STS (the real process answers, late) without faking any answer.
import { connect, createServer, type Socket } from "node:net";

export interface TcpProxy {
  port: number;
  /** Delay applied to every chunk flowing back from the target (0 = none). */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: () => number): Promise<TcpProxy> {
  let delay = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((client) => {
    const upstream = connect(targetPort(), "127.0.0.1");
    sockets.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    // The target closing must not cut off bytes still held back by the delay.
    const later = (fn: () => void) => {
      if (delay <= 0) return fn();
      const t = setTimeout(() => {
        timers.delete(t);
        fn();
      }, delay);
      timers.add(t);
    };
    client.on("error", drop).on("close", drop);
    upstream.on("error", () => later(drop)).on("close", () => later(drop));
    client.on("data", (c) => upstream.write(c));
    upstream.on("data", (c) => {
      later(() => {
        if (!client.destroyed) client.write(c);
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    setDelay(ms) {
      delay = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
