// The STS's HTTP(S) server on fastify. Binds 127.0.0.1 unless configured otherwise. With `tls`
// it terminates mutual TLS (client certificate required on every connection). Limits hold on
// every socket: body size (413), header, request and idle timeouts (checked every 250 ms, not
// Node's default 30 s), TLS handshake timeout, and a connection cap that only authenticated
// connections count toward (connections.ts). Every answer is JSON (or
// Prometheus text) and never echoes a token or a stack trace; logs are pino JSON without tokens.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { readFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import Fastify, { LogController, type FastifyReply, type FastifyRequest } from "fastify";
import type { HttpResult, StsContext } from "./context.ts";
import { exchangeToken } from "./exchange.ts";
import { authorize } from "./authorize.ts";
import { serveJwks } from "./jwks.ts";
import { opaHealthy } from "./opa.ts";
import { logger, pinoLogger } from "./log.ts";
import { callerOf, type SpiffeId } from "./identity.ts";
import { admitConnections, type Admission } from "./connections.ts";

function reply(r: FastifyReply, result: HttpResult): FastifyReply {
  const isText = typeof result.body === "string";
  r.code(result.status);
  r.header("content-type", result.headers?.["content-type"] ?? (isText ? "text/plain; version=0.0.4" : "application/json"));
  for (const [k, v] of Object.entries(result.headers ?? {})) if (k !== "content-type") r.header(k, v);
  return r.send(isText ? result.body : JSON.stringify(result.body));
}

async function readiness(ctx: StsContext): Promise<HttpResult> {
  const { config, opaToken } = ctx.state();
  let keys = false;
  try {
    keys = !!ctx.keys.signingKey();
  } catch {
    keys = false;
  }
  const opa = config.enableAuthorization ? await opaHealthy(config.opa.url, config.opa.timeoutMs, config.OPAQueryPrefix, opaToken) : true;
  return { status: keys && opa ? 200 : 503, body: { ready: keys && opa, keys, opa } };
}

/**
 * The authenticated caller, or the answer refusing it: 401 invalid_client when nobody is
 * authenticated (no mTLS, no XFCC), 403 unauthorized_client for a SPIFFE ID that is not of our
 * trust domain and namespace (or, for /admin/*, not in adminPrincipals).
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

type Handler = (req: FastifyRequest, body: string) => Promise<HttpResult> | HttpResult;

export interface RunningServer {
  server: Server;
  port: number;
  /** Stops at once: every connection is cut, in-flight requests included. */
  close(): Promise<void>;
  /**
   * Graceful stop (SIGTERM): the listening socket closes at once (new connections are refused),
   * idle keep-alive connections are closed, a request arriving on a busy keep-alive connection
   * gets 503 with `connection: close`, and in-flight requests finish. Connections still open
   * after `timeoutMs` are cut. Resolves when every connection is gone.
   */
  drain(timeoutMs: number): Promise<{ forced: boolean }>;
}

export async function startServer(ctx: StsContext, port: number, host = "127.0.0.1"): Promise<RunningServer> {
  const { config } = ctx.state();
  const limits = config.limits;
  const httpOptions = {
    requestTimeout: limits.requestTimeoutMs,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.idleTimeoutMs,
    // Node checks header/request timeouts on this interval (default 30 s, which let slow sockets live ~19 s).
    connectionsCheckingInterval: 250,
    maxHeaderSize: 16 * 1024,
  };
  let admission: Admission | undefined;
  const app = Fastify({
    loggerInstance: pinoLogger,
    // No per-request lines from fastify (a URL may carry a token); handlers log what matters.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.maxBodyBytes,
    return503OnClosing: true,
    serverFactory: (handler) => {
      // With tls: HTTPS, a client certificate from our CA required on every connection (JWKS and
      // health included). Without: plain HTTP (behind a sidecar in xfcc mode).
      const server: Server = config.tls
        ? (createHttpsServer(
            {
              ...httpOptions,
              cert: readFileSync(config.tls.certFile),
              key: readFileSync(config.tls.keyFile),
              ca: readFileSync(config.tls.caFile),
              requestCert: true,
              rejectUnauthorized: true,
              minVersion: "TLSv1.2",
              handshakeTimeout: limits.headersTimeoutMs,
            },
            handler,
          ) as unknown as Server)
        : createServer(httpOptions, handler);
      // Idle sockets (no bytes either way) are closed; the cap refuses connections beyond it.
      server.setTimeout(limits.idleTimeoutMs);
      if (config.tls) {
        // Sockets still in their handshake (no certificate yet) do not count toward the cap: they
        // wait in a bounded pool of their own, the longest-waiting closed first (connections.ts).
        admission = admitConnections(server, {
          maxConnections: limits.maxConnections,
          maxPending: limits.maxConnections,
          onEvicted: () => ctx.metrics.inc("sts_handshakes_evicted_total", "Sockets closed before finishing their TLS handshake to admit a newer one."),
          onRefused: () => ctx.metrics.inc("sts_connections_refused_total", "Authenticated connections closed because maxConnections were open."),
        });
      } else {
        server.maxConnections = limits.maxConnections;
      }
      return server;
    },
  });

  // Bodies are read as text (up to bodyLimit, else 413) whatever the content type; each
  // endpoint checks its content type and validates its body against a JSON Schema itself, so
  // that every refusal keeps the endpoint's own error shape.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "string" }, (_req, body, done) => done(null, body));

  const routes: Record<string, { method: string; handler: Handler }> = {
    "/.well-known/jwks.json": {
      method: "GET",
      handler: () => {
        ctx.metrics.inc("sts_jwks_requests_total", "JWKS documents served.");
        return serveJwks(ctx.keys);
      },
    },
    "/healthz": { method: "GET", handler: () => ({ status: 200, body: { status: "ok" } }) },
    "/readyz": { method: "GET", handler: () => readiness(ctx) },
    "/metrics": { method: "GET", handler: () => ({ status: 200, body: ctx.metrics.render() }) },
    "/token": {
      method: "POST",
      handler: (req, body) => {
        const caller = authenticate(ctx, req.raw, "/token");
        return "id" in caller ? exchangeToken(ctx, caller, String(req.headers["content-type"] ?? ""), body) : caller;
      },
    },
    "/authorize": {
      method: "POST",
      handler: (req, body) => {
        const caller = authenticate(ctx, req.raw, "/authorize");
        return "id" in caller ? authorize(ctx, caller, String(req.headers["content-type"] ?? ""), body) : caller;
      },
    },
    "/admin/rotate": {
      method: "POST",
      handler: async (req) => {
        if (!ctx.state().config.enableAdminEndpoints) return { status: 404, body: { error: "not_found" } };
        const caller = authenticate(ctx, req.raw, "/admin/rotate");
        if (!("id" in caller)) return caller;
        if (ctx.keys.readOnly) {
          return { status: 409, body: { error: "keys_read_only", error_description: "signing keys are provisioned read-only: rotate them by updating the keys Secret" } };
        }
        const kid = await ctx.keys.rotate();
        logger.warn("signing key rotated by admin request", { caller: caller.id, kid });
        return { status: 200, body: { kid } };
      },
    },
  };
  for (const [path, route] of Object.entries(routes)) {
    app.all(path, async (req, r) => {
      if (req.method !== route.method && !(route.method === "GET" && req.method === "HEAD")) {
        return reply(r, { status: 405, body: { error: "method_not_allowed" }, headers: { allow: route.method } });
      }
      return reply(r, await route.handler(req, typeof req.body === "string" ? req.body : ""));
    });
  }
  app.setNotFoundHandler((_req, r) => reply(r, { status: 404, body: { error: "not_found" } }));
  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, r) => {
    const status = err.statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const description = err.code === "FST_ERR_CTP_BODY_TOO_LARGE" ? "body too large" : "malformed request";
      return reply(r, { status, body: { error: "invalid_request", error_description: description } });
    }
    logger.error("request failed", { path: req.url, reason: err.message });
    return reply(r, { status: 500, body: { error: "server_error" } });
  });

  await app.listen({ port, host });
  const server = app.server as Server;
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: async () => {
      admission?.closePending();
      server.closeAllConnections?.();
      await app.close();
    },
    drain: async (timeoutMs) => {
      let forced = false;
      const timer = setTimeout(() => {
        forced = true;
        server.closeAllConnections?.();
      }, timeoutMs);
      // A keep-alive connection whose in-flight request has just been answered becomes idle:
      // close it then rather than waiting for the client or idleTimeoutMs.
      const idle = setInterval(() => server.closeIdleConnections?.(), 50);
      try {
        // fastify closes the listener, then idle connections (forceCloseConnections "idle").
        admission?.closePending();
        await app.close();
      } finally {
        clearTimeout(timer);
        clearInterval(idle);
      }
      return { forced };
    },
  };
}

export type { ServerResponse };
