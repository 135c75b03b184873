// GET /.well-known/jwks.json: the public half of the cell's keys, cacheable briefly so that
// peers pick up a rotation's new "next" key soon.
import type { HttpResult } from "./context.ts";
import type { KeyStore } from "./keys.ts";

export function serveJwks(keys: KeyStore): HttpResult {
  return {
    status: 200,
    body: keys.publicJwks(),
    headers: { "content-type": "application/jwk-set+json", "cache-control": "public, max-age=60" },
  };
}
