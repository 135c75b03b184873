// node:http routing for the STS endpoints. Binds 127.0.0.1 unless configured otherwise; bodies are capped; every
// answer is JSON (or Prometheus text) and never echoes a token or a stack trace.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import type { HttpResult, StsContext } from "./context.ts";
import { exchangeToken } from "./exchange.ts";
import { authorize } from "./authorize.ts";
import { serveJwks } from "./jwks.ts";
import { opaHealthy } from "./opa.ts";
import { logger } from "./log.ts";
import { callerOf, type SpiffeId } from "./identity.ts";

const MAX_BODY = 64 * 1024;

class BodyTooLarge extends Error {}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(new BodyTooLarge());
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, result: HttpResult): void {
  const body = typeof result.body === "string" ? result.body : JSON.stringify(result.body);
  res.writeHead(result.status, {
    "content-type": typeof result.body === "string" ? "text/plain; version=0.0.4" : "application/json",
    ...result.headers,
  });
  res.end(body);
}

async function readiness(ctx: StsContext): Promise<HttpResult> {
  const { config } = ctx.state();
  let keys = false;
  try {
    keys = !!ctx.keys.signingKey();
  } catch {
    keys = false;
  }
  const opa = config.enableAuthorization ? await opaHealthy(config.opa.url, config.opa.timeoutMs) : true;
  return { status: keys && opa ? 200 : 503, body: { ready: keys && opa, keys, opa } };
}

/**
 * The authenticated caller, or the answer refusing it: 401 invalid_client when nobody is
 * authenticated (no mTLS, no XFCC), 403 unauthorized_client for a SPIFFE ID that is not of our
 * trust domain and namespace.
 */
function authenticate(ctx: StsContext, req: IncomingMessage, path: string): SpiffeId | HttpResult {
  const { config } = ctx.state();
  let caller = callerOf(req.socket, req.headers, {
    mode: config.peerIdentity,
    tls: !!config.tls,
    trustDomain: config.trustDomain,
    namespace: config.namespace,
  });
  // /admin/*: only the allowlisted principals (issue 10 item 8), whatever their namespace.
  if (path.startsWith("/admin/") && caller.kind !== "unauthenticated") {
    const id = caller.kind === "ok" ? caller.spiffe.id : caller.id;
    if (!id || !config.adminPrincipals.includes(id)) caller = { kind: "unauthorized", reason: "caller is not in adminPrincipals", id };
    else if (caller.kind === "unauthorized") return { id, trustDomain: "", namespace: "", serviceAccount: "" };
  }
  if (caller.kind === "ok") return caller.spiffe;
  ctx.metrics.inc("sts_callers_refused_total", "Requests refused because the caller was not authenticated or not allowed.", { reason: caller.kind });
  logger.info("caller refused", { path, reason: caller.reason, principal: caller.kind === "unauthorized" ? caller.id : undefined });
  const extra = path === "/authorize" ? { allow: false, status: "BAD_REQUEST", ttlSeconds: 0 } : {};
  return caller.kind === "unauthenticated"
    ? { status: 401, body: { error: "invalid_client", ...extra } }
    : { status: 403, body: { error: "unauthorized_client", ...extra } };
}

async function route(ctx: StsContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? "/").split("?")[0];
  const method = req.method ?? "GET";
  const contentType = String(req.headers["content-type"] ?? "");
  const only = (m: string) => {
    if (method === m) return true;
    send(res, { status: 405, body: { error: "method_not_allowed" }, headers: { allow: m } });
    return false;
  };
  switch (path) {
    case "/.well-known/jwks.json":
      if (only("GET")) {
        ctx.metrics.inc("sts_jwks_requests_total", "JWKS documents served.");
        serveJwks(ctx.keys, res);
      }
      return;
    case "/healthz":
      if (only("GET")) send(res, { status: 200, body: { status: "ok" } });
      return;
    case "/readyz":
      if (only("GET")) send(res, await readiness(ctx));
      return;
    case "/metrics":
      if (only("GET")) send(res, { status: 200, body: ctx.metrics.render() });
      return;
    case "/token":
    case "/authorize":
    case "/admin/rotate": {
      if (path === "/admin/rotate" && !ctx.state().config.enableAdminEndpoints) break;
      if (!only("POST")) return;
      const caller = authenticate(ctx, req, path);
      if (!("id" in caller)) {
        send(res, caller);
        return;
      }
      if (path === "/token") send(res, await exchangeToken(ctx, caller, contentType, await readBody(req)));
      else if (path === "/authorize") send(res, await authorize(ctx, caller, contentType, await readBody(req)));
      else send(res, { status: 200, body: { kid: await ctx.keys.rotate() } });
      return;
    }
  }
  send(res, { status: 404, body: { error: "not_found" } });
}

export interface RunningServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

export function startServer(ctx: StsContext, port: number, host = "127.0.0.1"): Promise<RunningServer> {
  const { config } = ctx.state();
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    route(ctx, req, res).catch((e) => {
      if (e instanceof BodyTooLarge) {
        if (!res.headersSent) send(res, { status: 413, body: { error: "invalid_request", error_description: "body too large" } });
        return;
      }
      logger.error("request failed", { path: (req.url ?? "").split("?")[0], reason: (e as Error).message });
      if (!res.headersSent) send(res, { status: 500, body: { error: "server_error" } });
      else res.destroy();
    });
  };
  // With tls: HTTPS, a client certificate from our CA required on every connection (JWKS and
  // health included). Without: plain HTTP (behind a sidecar in xfcc mode).
  const server: Server = config.tls
    ? createHttpsServer(
        {
          cert: readFileSync(config.tls.certFile),
          key: readFileSync(config.tls.keyFile),
          ca: readFileSync(config.tls.caFile),
          requestCert: true,
          rejectUnauthorized: true,
          minVersion: "TLSv1.2",
        },
        handler,
      ) as unknown as Server
    : createServer(handler);
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      const bound = (server.address() as AddressInfo).port;
      resolve({
        server,
        port: bound,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
