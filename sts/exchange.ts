// POST /token: RFC 8693 token exchange. Validates the subject token against the trusted
// issuers and mints a token for the destination cell, recording the delegation in `act`.
import { randomUUID } from "node:crypto";
import { SignJWT, type JWTPayload } from "jose";
import type { HttpResult, StsContext } from "./context.ts";
import { cellAudience, TokenRejected } from "./trust.ts";
import { allowedAudiences } from "./config.ts";
import { parseSpiffeId, type SpiffeId } from "./identity.ts";
import { firstError, validateTokenForm } from "./schemas.ts";
import { TOKEN_HELP, TOKEN_REQUESTS } from "./metrics.ts";
import { logger } from "./log.ts";

export const GRANT_TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange";
export const TOKEN_TYPE_JWT = "urn:ietf:params:oauth:token-type:jwt";

type OAuthError = "invalid_request" | "invalid_grant" | "invalid_target" | "unsupported_grant_type";

// Claims that describe the subject token itself, or who may present it, rather than the user;
// they are never carried. (`act` is rebuilt; an edge token's act/may_act/cnf/cell are identity
// claims a user's IdP might let users set.)
const NOT_CARRIED = new Set(["iss", "aud", "exp", "iat", "nbf", "jti", "act", "may_act", "cnf", "cell"]);
const MAX_ACT_DEPTH = 16;
const NO_STORE = { "cache-control": "no-store", pragma: "no-cache" };

function fail(ctx: StsContext, error: OAuthError, description: string): HttpResult {
  ctx.metrics.inc(TOKEN_REQUESTS, TOKEN_HELP, { result: error });
  logger.info("token request refused", { error, reason: description });
  return { status: 400, body: { error, error_description: description }, headers: NO_STORE };
}

function actDepth(act: unknown): number {
  let depth = 0;
  for (let a = act; a && typeof a === "object"; a = (a as { act?: unknown }).act) depth++;
  return depth;
}

/**
 * `caller` is the authenticated mTLS peer (checked to be of our trust domain and namespace): the
 * requesting workload is its service account, never a request parameter.
 */
export async function exchangeToken(ctx: StsContext, caller: SpiffeId, contentType: string, rawBody: string): Promise<HttpResult> {
  const { config, trust } = ctx.state();
  if (!/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
    return fail(ctx, "invalid_request", "content type must be application/x-www-form-urlencoded");
  }
  const form = new URLSearchParams(rawBody);
  for (const name of ["grant_type", "subject_token", "subject_token_type", "audience", "resource", "source_workload"]) {
    if (form.getAll(name).length > 1) return fail(ctx, "invalid_request", `parameter ${name} given more than once`);
  }
  const seen = new Set<string>();
  for (const k of form.keys()) {
    if (seen.has(k)) return fail(ctx, "invalid_request", "a parameter is given more than once");
    seen.add(k);
  }
  if (!validateTokenForm(Object.fromEntries(form))) return fail(ctx, "invalid_request", firstError(validateTokenForm));
  const grantType = form.get("grant_type");
  if (!grantType) return fail(ctx, "invalid_request", "grant_type is required");
  if (grantType !== GRANT_TOKEN_EXCHANGE) return fail(ctx, "unsupported_grant_type", "only token exchange is supported");

  const workload = caller.serviceAccount;
  const claimed = form.get("source_workload");
  if (claimed !== null && claimed !== workload) {
    return fail(ctx, "invalid_request", "source_workload does not match the authenticated caller");
  }

  const audienceCell = form.get("audience");
  if (!audienceCell) return fail(ctx, "invalid_request", "audience is required");
  let dstNamespace: string | undefined;
  if (audienceCell === config.cell) dstNamespace = config.namespace;
  else dstNamespace = config.trustedPeers.find((p) => p.cell === audienceCell)?.namespace;
  if (!dstNamespace) return fail(ctx, "invalid_target", "audience is not a known cell");
  if (!allowedAudiences(config, workload).has(audienceCell)) {
    return fail(ctx, "invalid_target", "this workload may not request tokens for that audience");
  }
  const dstAudience = cellAudience(audienceCell, dstNamespace);
  // RFC 8693 `resource`: the workload the new token is for (its SPIFFE ID, a workload of the
  // audience cell). It becomes `may_act`: that workload, and only it besides the presenter, may
  // exchange the token again for its own onward calls.
  const resource = form.get("resource");
  let mayAct: string | undefined;
  if (resource !== null) {
    const target = parseSpiffeId(resource);
    if (!target || target.trustDomain !== config.trustDomain || target.namespace !== dstNamespace) {
      return fail(ctx, "invalid_target", "resource must be the SPIFFE ID of a workload of the audience cell");
    }
    mayAct = target.id;
  }

  const now = Math.floor(Date.now() / 1000);
  const subjectToken = form.get("subject_token");
  let claims: JWTPayload;
  let exp = now + config.tokenLifetimeSeconds;

  if (subjectToken) {
    const tokenType = form.get("subject_token_type");
    if (tokenType !== TOKEN_TYPE_JWT) return fail(ctx, "invalid_request", `subject_token_type must be ${TOKEN_TYPE_JWT}`);
    let subject: JWTPayload;
    let fromCell: boolean;
    try {
      const verified = await trust.verify(subjectToken);
      subject = verified.payload;
      fromCell = !verified.global;
    } catch (e) {
      const why = e instanceof TokenRejected ? e : new TokenRejected("malformed", "token could not be verified");
      return fail(ctx, "invalid_grant", `subject token rejected: ${why.reason}: ${why.message}`);
    }
    if (typeof subject.sub !== "string" || subject.sub === "") return fail(ctx, "invalid_grant", "subject token has no sub");
    // A cell token is usable as a subject only by the workload it is bound to (cnf) or the one it
    // was issued for (may_act): anyone else holding it stole it, and must not get it re-bound.
    if (fromCell) {
      const bound = (subject.cnf as { spiffe_id?: unknown } | undefined)?.spiffe_id;
      const next = (subject.may_act as { sub?: unknown } | undefined)?.sub;
      if (caller.id !== bound && caller.id !== next) {
        return fail(ctx, "invalid_grant", "subject token is bound to another workload");
      }
    }
    // Only a cell token's act is a delegation chain we (or a peer STS) recorded; an edge token's is not.
    const priorAct = fromCell ? subject.act : undefined;
    if (priorAct !== undefined && (typeof priorAct !== "object" || priorAct === null || Array.isArray(priorAct))) {
      return fail(ctx, "invalid_grant", "subject token act claim is not an object");
    }
    if (actDepth(priorAct) >= MAX_ACT_DEPTH) return fail(ctx, "invalid_grant", "delegation chain too long");
    claims = {};
    for (const [k, v] of Object.entries(subject)) if (!NOT_CARRIED.has(k)) claims[k] = v;
    // RFC 8693 §4.1: the newest actor (the calling workload) is outermost; earlier actors nest inside it.
    claims.act = priorAct ? { sub: caller.id, act: priorAct } : { sub: caller.id };
    // A derived token never outlives the token it came from.
    exp = Math.min(exp, subject.exp as number);
    if (exp <= now) return fail(ctx, "invalid_grant", "subject token rejected: expired: token expired");
  } else {
    if (form.has("subject_token_type")) return fail(ctx, "invalid_request", "subject_token_type given without subject_token");
    if (!config.allowTokenWithoutSubject) return fail(ctx, "invalid_request", "subject_token is required");
    claims = { sub: `${config.cell}/${workload}` };
  }
  claims.cell = { name: config.cell, workload };
  // Sender constraint (RFC 7800 confirmation): only this workload may present the token.
  claims.cnf = { spiffe_id: caller.id };
  if (mayAct) claims.may_act = { sub: mayAct };

  const signer = ctx.keys.signingKey();
  const jti = randomUUID();
  const accessToken = await new SignJWT(claims)
    .setProtectedHeader({ alg: signer.alg, kid: signer.kid, typ: "JWT" })
    .setIssuer(trust.ownIssuer)
    .setAudience([dstAudience])
    .setIssuedAt(now)
    .setExpirationTime(exp)
    .setJti(jti)
    .sign(signer.key);

  ctx.metrics.inc(TOKEN_REQUESTS, TOKEN_HELP, { result: "issued" });
  logger.info("token issued", { jti, aud: dstAudience, sub: claims.sub, caller: caller.id, mayAct, expiresIn: exp - now });
  return {
    status: 200,
    headers: NO_STORE,
    body: { access_token: accessToken, issued_token_type: TOKEN_TYPE_JWT, token_type: "Bearer", expires_in: exp - now },
  };
}
