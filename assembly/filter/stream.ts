// One HTTP request through cellauth. The story, in order:
//   strip spoofable headers -> normalise the path (refuse encoded slashes) -> pick the rule
//   -> extract every token -> for each: (token cache) -> parse -> pick the issuer's jwtRule
//   -> verify the signature against cached keys -> check claims
//   -> write the first token's identity headers, strip every token -> authorize (inbound) or
//   exchange (gateway/outbound) -> claim the request id for the user context -> continue.
// Only the authorize/exchange steps and an unknown-kid refetch ever leave the hot path.
import { StreamContext } from "../host/abi";
import { CONTINUE, STOP, STOP_ALL } from "../host/actions";
import { MapType, HeaderName, setHeaderBytes, getHeader, getHeaderString, removeHeader, setHeader, sendLocalResponse, snapshotRequestHeaders, dropRequestSnapshot } from "../host/headers";
import { nowSeconds } from "../host/runtime";
import * as log from "../host/log";
import { Config, Rule, Requirement, JwtRule, Mode, LocationKind } from "../config/types";
import { Status, statusName } from "../jwt/status";
import { Jwt, parseJwt } from "../jwt/parse";
import { checkClaims } from "../jwt/claims";
import { verifySignature, VerifyResult } from "../jwt/verify";
import { boundPrincipal, checkCellClaim, checkPeer } from "../jwt/binding";
import { peerUriSan } from "../host/connection";
import { extractTokens, Extracted, RequestView, removeParams, removeCookies } from "../jwt/extract";
import { selectRule } from "../rules/select";
import { Identity, identityOf } from "../jwt/identity";
import { writeIdentityHeaders, writes } from "./outputs";
import { Event } from "../jwt/events";
import { Plugin, CallKind } from "./plugin";
import { Authorizer } from "../authz/authorize";
import { Exchanger } from "../authz/exchange";
import { AuthzRequest, ExchangeRequest } from "../authz/request";
import { AuthzCache } from "../authz/cache";
import { ExchangeCache } from "../authz/exchange_cache";
import { UserContextStore } from "../authz/user_context";

const ORIGIN = new HeaderName("origin");
const AC_REQUEST_METHOD = new HeaderName("access-control-request-method");
const REQUEST_ID = new HeaderName("x-request-id");
const PATH = new HeaderName(":path");
const COOKIE = new HeaderName("cookie");

const NO_PARAMS: string[] = [];
// Internal: this token passed; go on with the next one.
const VERIFIED: i32 = -1;

// One per worker VM: a VM runs one callback at a time.
const VERIFY = new VerifyResult();

// The authorizer and the exchanger see the stream only through their interfaces (authz/request.ts).
export class Stream extends StreamContext implements AuthzRequest, ExchangeRequest {
  cellauth: Plugin;
  paused: bool = false;
  rule: Rule | null = null;
  // Every token found, in location order; `token` is the first (whose identity is written and
  // which the STS sees). All must verify.
  tokens: Extracted[] = [];
  token: Extracted | null = null;
  private current: i32 = 0;
  jwt: Jwt | null = null;          // set on the verification path only (not on a cache hit)
  jwtRule: JwtRule | null = null;
  tokenExp: i64 = 0;               // exp of the first token, 0 when it has none
  req: RequestView = new RequestView();
  pendingKey: string = "";
  private refetched: bool = false;
  private peer: string | null = null;
  private peerRead: bool = false;
  // The spoofable output headers have been dealt with (overwritten or removed).
  private outputsDone: bool = false;

  constructor(id: u32, root: Plugin) {
    super(id, root);
    this.cellauth = root;
  }

  get config(): Config { return this.cellauth.config!; }
  get decisions(): AuthzCache { return this.cellauth.decisions; }
  get exchanged(): ExchangeCache { return this.cellauth.exchanged; }
  get users(): UserContextStore | null { return this.cellauth.users; }

  // The first token, as sent (the STS sees it, and it becomes the exchange's subject).
  tokenText(): string { return this.token!.text(); }

  count(e: Event): void { this.cellauth.stats!.event(e); }

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
    // Every request header in one host call: the path, the token locations and the rest are read
    // from it (a header changed since is read from the host again), and a header it shows absent
    // is neither removed nor replaced. It never outlives this callback.
    snapshotRequestHeaders();
    let r: i32;
    if (c.mode == Mode.Outbound) {
      this.stripOutputs(null);
      r = new Exchanger(this).outbound();
    } else {
      r = this.inbound(c);
    }
    dropRequestSnapshot();
    return r;
  }

  private inbound(c: Config): i32 {
    const req = this.req;
    // Rules and the STS see the normalised path; one that cannot be normalised safely is refused.
    if (req.normalized() === null) return this.reject(Status.PathEscapedSlash);
    if (c.bypassCorsPreflight && req.method() == "OPTIONS" &&
        getHeader(MapType.Request, ORIGIN) !== null && getHeader(MapType.Request, AC_REQUEST_METHOD) !== null) {
      this.cellauth.stats!.event(Event.CorsPreflight);
      return this.proceed();
    }
    const rule = selectRule(c, req);
    this.rule = rule;
    if (rule.requires == Requirement.None) return this.proceed();
    extractTokens(rule.locations, req, this.tokens);
    if (this.tokens.length == 0) {
      if (rule.requires == Requirement.Required) return this.reject(Status.JwtMissed);
      return this.proceed();
    }
    this.token = unchecked(this.tokens[0]);
    return this.verifyAll();
  }

  onRequestBody(size: u32, endOfStream: bool): i32 { return this.paused ? STOP : CONTINUE; }

  // Verifies tokens[current..]; any failure fails the request. Pauses (and is re-entered from
  // onKeysChanged) when a token waits for keys.
  private verifyAll(): i32 {
    while (this.current < this.tokens.length) {
      const r = this.authenticate(unchecked(this.tokens[this.current]));
      if (r != VERIFIED) return r;
      this.current++;
    }
    return this.acceptAll();
  }

  private authenticate(t: Extracted): i32 {
    const c = this.config;
    if (t.len > c.maxTokenBytes) return this.fail(Status.JwtTooLarge);
    const tokens = this.cellauth.tokens;
    // No clock read unless the entry is near its exp (cache/tokens.ts).
    const hit = tokens.lookup(t.buf, t.start, t.len);
    if (hit !== null) {
      const jr = hit.rule!;
      if (hit.keysVersion == this.cellauth.providerFor(jr).version && (t.ruleMask & ((<u64>1) << <u64>jr.index)) != 0) {
        this.cellauth.stats!.event(Event.CacheHit);
        if (jr.boundToPeer) {
          const ps = checkPeer(jr, hit.bound, this.peerPrincipal());
          if (ps != Status.Ok) return this.fail(ps);
        }
        return this.verified(t, jr, hit.identity!, hit.exp);
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
    return this.verifyCurrent();
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

  private verifyCurrent(): i32 {
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
        if (p.keys !== keys) return this.verifyCurrent();   // another worker already had newer keys
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
    return this.verified(this.tokens[this.current], jr, identity, jwt.hasExp ? jwt.exp : 0);
  }

  // Called by the root when a refetch this request waited on has finished (either way).
  onKeysChanged(): void {
    this.paused = false;
    let r = this.verifyCurrent();
    if (r == VERIFIED) {
      this.current++;
      r = this.verifyAll();
    }
    if (r == CONTINUE) this.resume();
  }

  private verified(t: Extracted, jr: JwtRule, identity: Identity, exp: i64): i32 {
    t.rule = jr;
    t.identity = identity;
    t.exp = exp;
    return VERIFIED;
  }

  // Every token passed: the first one's identity headers, every token stripped unless its
  // jwtRule forwards it, then authorize or exchange.
  private acceptAll(): i32 {
    const c = this.config;
    const first = this.token!;
    const jr = first.rule!;
    this.jwtRule = jr;
    this.tokenExp = first.exp;
    // One replace per identity header (it overwrites a client-sent copy); only the output headers
    // this token does not write are removed.
    writeIdentityHeaders(first.identity!);
    this.stripOutputs(first.identity);
    this.stripTokens();
    if (c.mode == Mode.Gateway) return new Exchanger(this).gateway();
    const authz = c.authorization;
    if (authz !== null && authz.enabled) return new Authorizer(this).authorize();
    return this.allow();
  }

  // Removes every configured output header that `written` does not set (all of them when null): a
  // client must never be able to send an identity header cellauth did not write.
  private stripOutputs(written: Identity | null): void {
    if (this.outputsDone) return;
    this.outputsDone = true;
    const hs = this.config.outputHeaders;
    for (let i = 0; i < hs.length; i++) {
      const h = unchecked(hs[i]);
      if (written === null || !writes(written, h)) removeHeader(MapType.Request, h);
    }
  }

  private stripTokens(): void {
    const tokens = this.tokens;
    let params: string[] | null = null;
    let cookies: string[] | null = null;
    for (let i = 0; i < tokens.length; i++) {
      const t = unchecked(tokens[i]);
      const l = t.loc!;
      if (t.rule!.forwardOriginalToken) {
        // The host reads only the first of repeated header lines: forward exactly the value that
        // was verified, never a second, unverified line beside it.
        if (l.kind == LocationKind.Header) setHeaderBytes(MapType.Request, l.header!, t.headerValue());
        continue;
      }
      if (l.kind == LocationKind.Header) removeHeader(MapType.Request, l.header!);
      else if (l.kind == LocationKind.Param) { if (params === null) params = []; if (!params.includes(l.name)) params.push(l.name); }
      else { if (cookies === null) cookies = []; if (!cookies.includes(l.name)) cookies.push(l.name); }
    }
    if (params !== null) {
      const q = this.req.query(params);
      setHeader(MapType.Request, PATH, this.req.rawPath() + (q.length > 0 ? "?" + q : ""));
    }
    if (cookies !== null) {
      const jar = getHeaderString(MapType.Request, COOKIE);
      if (jar !== null) {
        const left = removeCookies(jar, cookies);
        if (left.length > 0) setHeader(MapType.Request, COOKIE, left);
        else removeHeader(MapType.Request, COOKIE);
      }
    }
  }

  // The token parameter names of this request's rule: never part of the query the STS sees.
  tokenParams(): string[] {
    const rule = this.rule;
    return rule !== null ? rule.tokenParams : NO_PARAMS;
  }

  // An STS call is in flight: the root hands its answer to onAuthorizeResponse/onExchangeResponse.
  awaitDecision(call: u32, key: string): i32 { return this.waitFor(call, CallKind.Authorize, key); }
  awaitToken(call: u32, key: string): i32 { return this.waitFor(call, CallKind.Exchange, key); }

  private waitFor(call: u32, kind: CallKind, key: string): i32 {
    this.cellauth.track(call, kind, this.id);
    this.pendingKey = key;
    return this.pause();
  }

  onAuthorizeResponse(status: u32, body: ArrayBuffer | null): void {
    this.paused = false;
    if (new Authorizer(this).onResponse(status, body) == CONTINUE) this.resume();
  }

  onExchangeResponse(status: u32, body: ArrayBuffer | null): void {
    this.paused = false;
    if (new Exchanger(this).onResponse(status, body) == CONTINUE) this.resume();
  }

  allow(): i32 {
    this.cellauth.stats!.event(Event.Allowed);
    return this.proceed();
  }

  // Every inbound request that goes on claims its x-request-id in the user-context store, with
  // its verified token or anonymously: a live id of another user's request is refused (409), so
  // that no request can replace, or have its service's outbound calls borrow, another's user.
  proceed(): i32 {
    const c = this.config;
    this.stripOutputs(null);   // no-op when acceptAll already wrote them
    if (!c.userContextEnabled || c.mode != Mode.Inbound) return CONTINUE;
    const rid = getHeaderString(MapType.Request, REQUEST_ID);
    if (rid === null) return CONTINUE;
    const t = this.token;
    const verified = t !== null && t.rule !== null && this.current >= this.tokens.length;
    if (!this.cellauth.users!.claim(rid, verified ? t!.text() : "", verified ? this.tokenExp : 0, nowSeconds())) {
      return this.reject(Status.RequestIdInUse);
    }
    return CONTINUE;
  }

  // A token was present but did not pass: allowMissingOrFailed lets the request through
  // anonymously (identity headers were never written); every other requirement rejects.
  private fail(s: Status): i32 {
    const rule = this.rule;
    if (rule !== null && rule.requires == Requirement.AllowMissingOrFailed) {
      this.cellauth.stats!.status(s);
      this.token = null;
      return this.proceed();
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
    // Never the query string: it may hold a token or personal data.
    if (log.enabled(log.Level.Debug)) log.debug("cellauth: " + this.req.method() + " " + this.req.rawPath() + " rejected: " + statusName(s));
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
