// An upstream for e2e tests: answers 200 with JSON of what it received, so a test can see
// the headers the filter left (or added, or stripped). Listens on 127.0.0.1:0.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';

export interface Seen { method: string; path: string; headers: IncomingHttpHeaders; body: string }

export interface Upstream {
  port: number;
  /** Every request received, oldest first. */
  seen: Seen[];
  close(): Promise<void>;
}

export async function startUpstream(opts: { status?: number } = {}): Promise<Upstream> {
  const seen: Seen[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => { if (chunks.length < 1024) chunks.push(c); });
    req.on('end', () => {
      const s: Seen = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() };
      seen.push(s);
      if (seen.length > 10_000) seen.shift();
      const body = JSON.stringify(s);
      res.writeHead(opts.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    seen,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
