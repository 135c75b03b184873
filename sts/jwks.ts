// GET /.well-known/jwks.json: the public half of the cell's keys, cacheable briefly so that
// peers pick up a rotation's new "next" key soon.
import type { ServerResponse } from "node:http";
import type { KeyStore } from "./keys.ts";

export function serveJwks(keys: KeyStore, res: ServerResponse): void {
  const body = JSON.stringify(keys.publicJwks());
  res.writeHead(200, {
    "content-type": "application/jwk-set+json",
    "cache-control": "public, max-age=60",
  });
  res.end(body);
}
