// One HTTP request through cellauth. The story, in order:
//   strip spoofable headers -> pick the rule -> extract the token -> (token cache) -> parse
//   -> pick the issuer's jwtRule -> verify the signature against cached keys -> check claims
//   -> write identity headers -> authorize (inbound) or exchange (gateway/outbound) -> continue.
// Only the authorize/exchange steps and an unknown-kid refetch ever leave the hot path.
import { StreamContext } from "../host/abi";
import { MapType, HeaderName, getHeader, getHeaderString, removeHeader, sendLocalResponse } from "../host/headers";
import { nowSeconds } from "../host/runtime";
import * as log from "../host/log";
import { Config, Rule, Requirement, JwtRule, Mode } from "../config/types";
import { Status, statusName } from "../jwt/status";
import { Jwt, parseJwt } from "../jwt/parse";
import { checkClaims } from "../jwt/claims";
import { verifySignature, VerifyResult } from "../jwt/verify";
import { boundPrincipal, checkCellClaim, checkPeer } from "../jwt/binding";
import { peerUriSan } from "../host/connection";
import { extractToken, Extracted, RequestView } from "../jwt/extract";
import { selectRule } from "../rules/select";
import { writeIdentityHeaders, identityOf, Identity } from "./outputs";
import { Event } from "./stats";
import { CellauthRoot } from "./root";
import { Authorizer } from "../authz/authorize";
import { Exchanger } from "../authz/exchange";

const ORIGIN = new HeaderName("origin");
const AC_REQUEST_METHOD = new HeaderName("access-control-request-method");
const REQUEST_ID = new HeaderName("x-request-id");

export const CONTINUE: i32 = 0;
export const STOP: i32 = 1;
// Holds headers *and* body until we resume: a body must not slip past a pending decision.
export const STOP_ALL: i32 = 4;

// One per worker VM: a VM runs one callback at a time.
const VERIFY = new VerifyResult();

export class Stream extends StreamContext {
  cellauth: CellauthRoot;
  paused: bool = false;
  rule: Rule | null = null;
  token: Extracted | null = null;
  jwt: Jwt | null = null;          // set on the verification path only (not on a cache hit)
  jwtRule: JwtRule | null = null;
  tokenExp: i64 = 0;               // exp of the accepted token, 0 when it has none
  req: RequestView = new RequestView();
  pendingKey: string = "";
  pendingRequestId: string | null = null;
  pendingToken: string = "";
  private refetched: bool = false;
  private peer: string | null = null;
  private peerRead: bool = false;

  constructor(id: u32, root: CellauthRoot) {
    super(id, root);
    this.cellauth = root;
  }

  get config(): Config { return this.cellauth.config!; }

  // The calling workload: the verified mTLS peer's SPIFFE ID (read once, only when needed).
  peerPrincipal(): string | null {
    if (!this.peerRead) {
      this.peer = peerUriSan();
      this.peerRead = true;
    }
    return this.peer;
  }

  onRequestHeaders(headers: u32, endOfStream: bool): i32 {
    const c = this.cellauth.config;
    if (c === null) return this.reject(Status.JwksNoValidKeys);
    for (let i = 0; i < c.outputHeaders.length; i++) removeHeader(MapType.Request, unchecked(c.outputHeaders[i]));
    if (c.mode == Mode.Outbound) return new Exchanger(this).outbound();

    const req = this.req;
    if (c.bypassCorsPreflight && req.method() == "OPTIONS" &&
        getHeader(MapType.Request, ORIGIN) !== null && getHeader(MapType.Request, AC_REQUEST_METHOD) !== null) {
      this.cellauth.stats!.event(Event.CorsPreflight);
      return CONTINUE;
    }
    const rule = selectRule(c, req);
    this.rule = rule;
    if (rule.requires == Requirement.None) return CONTINUE;
    this.token = extractToken(rule.providers, req);
    if (this.token === null) {
      if (rule.requires == Requirement.Required) return this.reject(Status.JwtMissed);
      return CONTINUE;
    }
    return this.authenticate();
  }

  onRequestBody(size: u32, endOfStream: bool): i32 { return this.paused ? STOP : CONTINUE; }

  private authenticate(): i32 {
    const c = this.config;
    const t = this.token!;
    if (t.len > c.maxTokenBytes) return this.fail(Status.JwtTooLarge);
    const now = nowSeconds();
    const tokens = this.cellauth.tokens;
    const hit = tokens.lookup(t.buf, t.start, t.len, now);
    if (hit !== null) {
      const jr = hit.rule!;
      if (hit.keysVersion == this.cellauth.providerFor(jr).version && (t.ruleMask & ((<u64>1) << <u64>jr.index)) != 0) {
        this.cellauth.stats!.event(Event.CacheHit);
        if (jr.boundToPeer) {
          const ps = checkPeer(jr, hit.bound, this.peerPrincipal());
          if (ps != Status.Ok) return this.fail(ps);
        }
        return this.accept(jr, hit.identity!, hit.exp);
      }
      tokens.evict(hit);
    }
    if (tokens.enabled) this.cellauth.stats!.event(Event.CacheMiss);

    const jwt = new Jwt();
    const ps = parseJwt(t.buf, t.start, t.len, c.maxJsonDepth, jwt);
    if (ps != Status.Ok) return this.fail(ps);
    this.jwt = jwt;
    const jr = this.ruleForIssuer(jwt, t.ruleMask);
    if (jr === null) return this.fail(Status.JwtUnknownIssuer);
    this.jwtRule = jr;
    return this.verifyAndAccept();
  }

  private ruleForIssuer(jwt: Jwt, mask: u64): JwtRule | null {
    const rules = this.config.jwtRules;
    const iss = jwt.iss;
    let only: JwtRule | null = null;
    let count = 0;
    for (let i = 0; i < rules.length; i++) {
      if ((mask & ((<u64>1) << <u64>i)) == 0) continue;
      const r = unchecked(rules[i]);
      if (iss !== null && r.issuer == iss) return r;
      only = r;
      count++;
    }
    // Cellery's enableIssuerValidation=false: a lone candidate rule takes any issuer.
    if (!this.config.enableIssuerValidation && count == 1) return only;
    return null;
  }

  private verifyAndAccept(): i32 {
    const c = this.config;
    const jwt = this.jwt!;
    const jr = this.jwtRule!;
    const p = this.cellauth.providerFor(jr);
    const now = nowSeconds();
    if (c.enableSignatureValidation) {
      const keys = p.keys;
      let s = Status.JwksNoValidKeys;
      if (keys !== null) s = verifySignature(jwt, keys, jr.algorithms, c.crypto, VERIFY);
      if ((s == Status.JwksKidAlgMismatch || s == Status.JwksNoValidKeys) && !this.refetched) {
        this.refetched = true;
        if (this.cellauth.refetchForUnknownKey(p, this.id)) return this.pause();
        if (p.keys !== keys) return this.verifyAndAccept();   // another worker already had newer keys
      }
      if (s != Status.Ok) return this.fail(s);
    }
    const cs = checkClaims(jwt, jr, now, c.enableAudienceValidation);
    if (cs != Status.Ok) return this.fail(cs);
    const cell = checkCellClaim(jwt, jr);
    if (cell != Status.Ok) return this.fail(cell);
    const bound = jr.boundToPeer ? boundPrincipal(jwt) : null;
    const ps = checkPeer(jr, bound, jr.boundToPeer ? this.peerPrincipal() : null);
    if (ps != Status.Ok) return this.fail(ps);
    const identity = identityOf(c, jr, jwt);
    if (c.enableSignatureValidation) this.cellauth.tokens.insert(jwt, jr, p.version, identity, bound);
    return this.accept(jr, identity, jwt.hasExp ? jwt.exp : 0);
  }

  // Called by the root when a refetch this request waited on has finished (either way).
  onKeysChanged(): void {
    this.paused = false;
    const r = this.verifyAndAccept();
    if (r == CONTINUE) this.resume();
  }

  private accept(jr: JwtRule, identity: Identity, exp: i64): i32 {
    const c = this.config;
    this.jwtRule = jr;
    this.tokenExp = exp;
    writeIdentityHeaders(identity, jr, this.token!);
    if (c.mode == Mode.Gateway) return new Exchanger(this).gateway();
    const authz = c.authorization;
    if (authz !== null && authz.enabled) return new Authorizer(this).authorize();
    if (c.userContextEnabled) {
      this.rememberUser(getHeaderString(MapType.Request, REQUEST_ID), this.token!.text());
    }
    return this.allow();
  }

  onAuthorizeResponse(status: u32, body: ArrayBuffer | null): void {
    this.paused = false;
    if (new Authorizer(this).onResponse(status, body) == CONTINUE) this.resume();
  }

  onExchangeResponse(status: u32, body: ArrayBuffer | null): void {
    this.paused = false;
    if (new Exchanger(this).onResponse(status, body) == CONTINUE) this.resume();
  }

  // Inbound: hand the validated token to this sidecar's outbound filter by request id.
  rememberUser(requestId: string | null, token: string): void {
    const c = this.config;
    if (!c.userContextEnabled || c.mode != Mode.Inbound || requestId === null) return;
    this.cellauth.users!.put(requestId, token, this.tokenExp, nowSeconds());
  }

  allow(): i32 {
    this.cellauth.stats!.event(Event.Allowed);
    return CONTINUE;
  }

  // A token was present but did not pass: allowMissingOrFailed lets the request through
  // anonymously (identity headers were never written); every other requirement rejects.
  private fail(s: Status): i32 {
    const rule = this.rule;
    if (rule !== null && rule.requires == Requirement.AllowMissingOrFailed) {
      this.cellauth.stats!.status(s);
      return CONTINUE;
    }
    return this.reject(s);
  }

  reject(s: Status): i32 {
    const root = this.cellauth;
    const stats = root.stats;
    if (stats !== null) stats.status(s);
    const replies = root.replies;
    if (replies !== null) replies.send(s);
    else sendLocalResponse(503, "cellauth_unconfigured", "", []);
    if (log.enabled(log.Level.Debug)) log.debug("cellauth: " + this.req.method() + " " + this.req.path() + " rejected: " + statusName(s));
    this.paused = false;
    return STOP;
  }

  pause(): i32 {
    this.paused = true;
    return STOP_ALL;
  }

  // Resumes a paused request (from an http-call or key-refresh callback).
  resume(): void {
    this.paused = false;
    this.continueRequest();
  }
}
