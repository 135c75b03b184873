// A minimal OpenID provider's metadata endpoints on 127.0.0.1 for discovery tests:
// `<issuer path>/.well-known/openid-configuration` and the JWKS at its jwks_uri, both swappable,
// with fetch counts. (For a real provider with real OAuth 2.0 flows, see tests/lib/hydra.ts.)
import { createServer, type Server } from 'node:http';

export interface OidcMetadataServer {
  readonly port: number;
  /** http://127.0.0.1:<port><issuerPath> */
  readonly issuer: string;
  readonly discoveryFetches: number;
  readonly jwksFetches: number;
  setJwks(jwks: object): void;
  /** Overrides fields of the discovery document (e.g. a foreign issuer, a moved jwks_uri). */
  setDiscovery(patch: Record<string, unknown>): void;
  stop(): Promise<void>;
}

export async function startOidcMetadataServer(jwks: object, opts: { issuerPath?: string; jwksPath?: string } = {}): Promise<OidcMetadataServer> {
  const issuerPath = opts.issuerPath ?? '/realms/shop';
  const jwksPath = opts.jwksPath ?? `${issuerPath}/protocol/openid-connect/certs`;
  let keys = JSON.stringify(jwks);
  let patch: Record<string, unknown> = {};
  let discoveryFetches = 0;
  let jwksFetches = 0;
  let port = 0;
  const issuer = () => `http://127.0.0.1:${port}${issuerPath}`;
  const server: Server = createServer((req, res) => {
    const path = req.url?.split('?')[0];
    const send = (body: string) => res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    if (path === `${issuerPath}/.well-known/openid-configuration`) {
      discoveryFetches++;
      send(JSON.stringify({
        issuer: issuer(), jwks_uri: `http://127.0.0.1:${port}${jwksPath}`,
        authorization_endpoint: `${issuer()}/auth`, token_endpoint: `${issuer()}/token`,
        response_types_supported: ['code'], subject_types_supported: ['public'], id_token_signing_alg_values_supported: ['RS256', 'ES256'],
        ...patch,
      }));
    } else if (path === jwksPath || (typeof patch.jwks_uri === 'string' && path === new URL(patch.jwks_uri).pathname)) {
      jwksFetches++;
      send(keys);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r, j) => { server.once('error', j); server.listen(0, '127.0.0.1', () => r()); });
  port = (server.address() as { port: number }).port;
  return {
    port,
    get issuer() { return issuer(); },
    get discoveryFetches() { return discoveryFetches; },
    get jwksFetches() { return jwksFetches; },
    setJwks(j) { keys = JSON.stringify(j); },
    setDiscovery(p) { patch = p; },
    stop: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }),
  };
}
