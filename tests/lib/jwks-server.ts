// Serves a swappable JWKS at /.well-known/jwks.json on 127.0.0.1, counts fetches, and can be
// stopped and restarted on the SAME port (JWKS down at start, then recovery), with an optional
// artificial delay or status override.
import { createServer, type Server } from 'node:http';

export interface JwksServer {
  readonly port: number;
  readonly path: string;
  /** Fetches answered (any status) since start or the last resetCount(). */
  readonly fetches: number;
  readonly running: boolean;
  setJwks(jwks: object | string): void;
  /** Delay before answering, in ms (0 = none). */
  setDelay(ms: number): void;
  /** Answer with this status and an empty object instead of the JWKS (0 = normal). */
  setStatus(status: number): void;
  resetCount(): void;
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

export async function startJwksServer(jwks: object | string, opts: { port?: number; path?: string; listen?: boolean } = {}): Promise<JwksServer> {
  const path = opts.path ?? '/.well-known/jwks.json';
  let body = typeof jwks === 'string' ? jwks : JSON.stringify(jwks);
  let delay = 0;
  let status = 0;
  let fetches = 0;
  let port = opts.port ?? 0;
  let server: Server | undefined;
  const timers = new Set<NodeJS.Timeout>();

  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const answer = () => {
      if (req.url?.split('?')[0] !== path) { res.writeHead(404).end(); return; }
      fetches++;
      const b = status ? '{}' : body;
      res.writeHead(status || 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(b) });
      res.end(b);
    };
    if (delay > 0) {
      const t = setTimeout(() => { timers.delete(t); answer(); }, delay);
      timers.add(t);
    } else answer();
  };

  const api: JwksServer = {
    get port() { return port; },
    path,
    get fetches() { return fetches; },
    get running() { return server !== undefined; },
    setJwks(j) { body = typeof j === 'string' ? j : JSON.stringify(j); },
    setDelay(ms) { delay = ms; },
    setStatus(s) { status = s; },
    resetCount() { fetches = 0; },
    async start() {
      if (server) return;
      const s = createServer(handler);
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(port, '127.0.0.1', () => resolve());
      });
      port = (s.address() as { port: number }).port;
      server = s;
    },
    async stop() {
      const s = server;
      if (!s) return;
      server = undefined;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      s.closeAllConnections();
      await new Promise<void>((resolve) => s.close(() => resolve()));
    },
  };
  if (opts.listen !== false) await api.start();
  return api;
}

/** A JWKS server that is down from the start but owns a port it can later start on. */
export async function reserveJwksServer(jwks: object | string, opts: { path?: string } = {}): Promise<JwksServer> {
  const s = await startJwksServer(jwks, opts);
  await s.stop();
  return s;
}
