// POST /authorize: the filter's question "may this verified request reach this workload?".
// Re-verifies the token (defence in depth), builds Cellery's OPA input and maps OPA's answer.
// Only a boolean true allows; undefined, non-boolean and errors deny.
import type { HttpResult, StsContext } from "./context.ts";
import { TokenRejected } from "./trust.ts";
import { queryOpa, ruleName } from "./opa.ts";
import { AUTHZ_DECISIONS, AUTHZ_HELP, OPA_ERRORS, OPA_ERRORS_HELP } from "./metrics.ts";
import { logger } from "./log.ts";
import { parseSpiffeId, type SpiffeId } from "./identity.ts";
import { firstError, validateAuthorizeBody } from "./schemas.ts";

export type DecisionStatus =
  | "ALLOWED"
  | "DENIED_BY_POLICY"
  | "POLICY_UNDEFINED"
  | "TOKEN_INVALID"
  | "OPA_UNAVAILABLE"
  | "AUTHORIZATION_DISABLED"
  | "UNSECURED_PATH"
  | "BAD_REQUEST";

interface AuthorizeRequest {
  requestId: string;
  /** The SPIFFE ID of the mTLS peer of the request, as the sidecar saw it, or "". */
  principal: string;
  destination: { cellName: string; workload: string };
  requestContext: { host: string; path: string; rawPath: string; query: string; method: string; protocol: string };
  requestHeaders: Record<string, string>;
  jwt?: string;
}

const WORKLOAD = /^[A-Za-z0-9]([A-Za-z0-9._-]{0,126}[A-Za-z0-9])?$/;
const MAX_HEADERS = 100;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

/** Returns the request or a reason it is malformed. */
function parseRequest(rawBody: string): AuthorizeRequest | string {
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    return "body is not JSON";
  }
  if (!isObject(body)) return "body must be a JSON object";
  if (!validateAuthorizeBody(body)) return firstError(validateAuthorizeBody);
  const dst = body.destination;
  if (!isObject(dst)) return "destination is required";
  const workload = str(dst.workload);
  const cellName = str(dst.cellName);
  if (!workload || !WORKLOAD.test(workload)) return "destination.workload must be a workload name";
  if (cellName === undefined) return "destination.cellName is required";
  const rc = body.requestContext;
  if (!isObject(rc) || typeof rc.path !== "string") return "requestContext.path is required";
  for (const k of ["host", "method", "protocol", "rawPath", "query"]) {
    if (rc[k] !== undefined && typeof rc[k] !== "string") return `requestContext.${k} must be a string`;
  }
  const headers: Record<string, string> = {};
  if (body.requestHeaders !== undefined) {
    if (!isObject(body.requestHeaders)) return "requestHeaders must be an object";
    const entries = Object.entries(body.requestHeaders);
    if (entries.length > MAX_HEADERS) return "too many requestHeaders";
    for (const [k, v] of entries) {
      if (typeof v !== "string") return "requestHeaders values must be strings";
      headers[k.toLowerCase()] = v;
    }
  }
  if (body.jwt !== undefined && typeof body.jwt !== "string") return "jwt must be a string";
  let principal = "";
  if (body.source !== undefined) {
    if (!isObject(body.source)) return "source must be an object";
    const p = body.source.principal;
    if (p !== undefined && typeof p !== "string") return "source.principal must be a string";
    if (typeof p === "string" && p.length > 2048) return "source.principal too long";
    principal = p ?? "";
  }
  if (body.requestId !== undefined && typeof body.requestId !== "string") return "requestId must be a string";
  return {
    requestId: str(body.requestId) ?? "",
    principal,
    destination: { cellName, workload },
    requestContext: {
      host: str(rc.host) ?? "",
      path: rc.path,
      rawPath: str(rc.rawPath) ?? rc.path,
      query: str(rc.query) ?? "",
      method: str(rc.method) ?? "",
      protocol: str(rc.protocol) ?? "",
    },
    requestHeaders: headers,
    jwt: str(body.jwt) || undefined,
  };
}

function decide(
  ctx: StsContext,
  httpStatus: number,
  allow: boolean,
  status: DecisionStatus,
  ttlSeconds: number,
  extra: Record<string, unknown> = {},
  bodyExtra: Record<string, unknown> = {},
): HttpResult {
  ctx.metrics.inc(AUTHZ_DECISIONS, AUTHZ_HELP, { status });
  logger.info("authorization decision", { status, allow, ...extra });
  const body: Record<string, unknown> = { ...bodyExtra, allow, status, ttlSeconds };
  if (typeof extra.reason === "string" && httpStatus !== 200) body.reason = extra.reason;
  return { status: httpStatus, body, headers: { "cache-control": "no-store" } };
}

/**
 * `caller` is the authenticated mTLS peer of this /authorize request (the destination workload's
 * sidecar), already checked to be of our trust domain and namespace.
 */
export async function authorize(ctx: StsContext, caller: SpiffeId, contentType: string, rawBody: string): Promise<HttpResult> {
  const { config, unsecured, trust, opaToken } = ctx.state();
  if (!/^application\/json\b/i.test(contentType)) {
    return decide(ctx, 400, false, "BAD_REQUEST", 0, { reason: "content type must be application/json" });
  }
  const req = parseRequest(rawBody);
  if (typeof req === "string") return decide(ctx, 400, false, "BAD_REQUEST", 0, { reason: req });
  const log = { requestId: req.requestId, workload: req.destination.workload, caller: caller.id };
  // A sidecar asks only about its own workload, and only in this cell.
  if (caller.serviceAccount !== req.destination.workload) {
    return decide(ctx, 403, false, "BAD_REQUEST", 0, { ...log, reason: "destination.workload is not the caller's workload" }, { error: "unauthorized_client" });
  }
  if (req.destination.cellName !== config.cell) {
    return decide(ctx, 403, false, "BAD_REQUEST", 0, { ...log, reason: "destination.cellName is not this cell" }, { error: "unauthorized_client" });
  }

  if (unsecured.some((re) => re.test(req.requestContext.path))) {
    return decide(ctx, 200, true, "UNSECURED_PATH", config.decisionTtlSeconds, log);
  }
  if (!req.jwt) return decide(ctx, 401, false, "TOKEN_INVALID", 0, { ...log, reason: "missing" });

  let claims: Record<string, unknown>;
  let sourceCell = "";
  let issuerNamespace: string | undefined;
  try {
    const verified = await trust.verify(req.jwt);
    claims = verified.payload as Record<string, unknown>;
    // The source cell is the verified issuer's cell; an edge token never names one.
    if (!verified.global && verified.cell) {
      sourceCell = verified.cell.name;
      issuerNamespace = verified.cell.namespace;
    }
  } catch (e) {
    const reason = e instanceof TokenRejected ? e.reason : "malformed";
    return decide(ctx, 401, false, "TOKEN_INVALID", 0, { ...log, reason });
  }
  const peer = parseSpiffeId(req.principal);
  const peerOfTd = peer && peer.trustDomain === config.trustDomain ? peer : undefined;
  // Sender constraint: a bound token is valid only from the workload it was issued to.
  if (claims.cnf !== undefined) {
    const cnf = claims.cnf as { spiffe_id?: unknown } | null;
    const bound = cnf && typeof cnf === "object" ? cnf.spiffe_id : undefined;
    if (bound !== undefined && bound !== req.principal) {
      return decide(ctx, 401, false, "TOKEN_INVALID", 0, { ...log, reason: "not_bound_to_peer" });
    }
  }
  // A cell token travels between that cell's workloads and its peers: its presenter must be of the issuer's namespace.
  if (issuerNamespace !== undefined && peerOfTd?.namespace !== issuerNamespace) {
    return decide(ctx, 401, false, "TOKEN_INVALID", 0, { ...log, reason: "peer_namespace_mismatch" });
  }
  const now = Math.floor(Date.now() / 1000);
  // A cached decision must never outlive the token it was made for.
  const ttl = Math.max(0, Math.min(config.decisionTtlSeconds, (claims.exp as number) - now));

  if (!config.enableAuthorization) return decide(ctx, 200, true, "AUTHORIZATION_DISABLED", ttl, log);

  const authorizationContext: Record<string, unknown> = { jwtContent: { claims } };
  if (config.opa.includeRawToken) authorizationContext.jwt = req.jwt;
  const input = {
    requestId: req.requestId,
    source: {
      principal: req.principal,
      workload: peerOfTd?.serviceAccount ?? "",
      namespace: peerOfTd?.namespace ?? "",
      cellInstanceName: sourceCell,
    },
    destination: { cellName: req.destination.cellName, workload: req.destination.workload, isExternalToCellery: false },
    requestContext: req.requestContext,
    requestHeaders: req.requestHeaders,
    authorizationContext,
  };
  const rule = ruleName(req.destination.workload);
  const answer = await queryOpa(config.opa.url, `${config.OPAQueryPrefix}/${rule}`, input, config.opa.timeoutMs, opaToken);
  const withRule = { ...log, rule, sourceCell, principal: req.principal };
  if (answer.kind === "unavailable") {
    ctx.metrics.inc(OPA_ERRORS, OPA_ERRORS_HELP);
    return decide(ctx, 503, false, "OPA_UNAVAILABLE", 0, { ...withRule, reason: answer.reason });
  }
  if (answer.kind === "undefined" || typeof answer.value !== "boolean") {
    return decide(ctx, 200, false, "POLICY_UNDEFINED", ttl, withRule);
  }
  return answer.value
    ? decide(ctx, 200, true, "ALLOWED", ttl, withRule)
    : decide(ctx, 200, false, "DENIED_BY_POLICY", ttl, withRule);
}
