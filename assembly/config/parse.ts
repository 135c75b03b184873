// Turns the pluginConfig JSON (schema: config/cellauth.schema.json) into a Config, or refuses it
// with one clear "<field>: <reason>". A refused config never yields a half-working filter.
import { JsonValue, JsonKind, parseJson, lastJsonError } from "../util/json";
import { HeaderName } from "../host/headers";
import { PathMatcher, lastPathError } from "../rules/path";
import { Reader, isHeaderName } from "./reader";
import { splitUrl, discoveryPath } from "../jwks/discovery";
import {
  Config, JwtRule, RemoteJwks, Rule, FromHeader, ClaimToHeader, Authorization, TokenExchange, Destination,
  Mode, CryptoPath, Requirement, Location, LocationKind,
} from "./types";

export class ParseResult {
  config: Config | null = null;
  error: string = "";
  warnings: string[] = [];
}

const TOP = ["version", "cell", "namespace", "trustDomain", "mode", "workload", "realm", "crypto", "enableSignatureValidation",
  "enableIssuerValidation", "enableAudienceValidation", "insecureAcknowledgeSignatureValidationDisabled",
  "bypassCorsPreflight", "limits", "tokenCache", "jwtRules", "rules", "defaultRequirement", "subjectHeader",
  "authorization", "tokenExchange", "userContext"];
const RULE_FIELDS = ["name", "issuer", "audiences", "subjects", "algorithms", "jwks", "remoteJwks", "fromHeaders",
  "fromParams", "fromCookies", "forwardOriginalToken", "outputPayloadToHeader", "outputClaimToHeaders",
  "clockSkewSeconds", "requireExpiration", "maxLifetimeSeconds", "boundToPeer", "rejectIatInFuture"];
const ALGS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"];
const REQUIREMENTS = ["required", "allowMissing", "allowMissingOrFailed", "none"];
const I64_MAX: i64 = 9007199254740991;
const STS_ISSUER = "--sts-service.";

export function parseConfig(text: string): ParseResult {
  const res = new ParseResult();
  const root = parseJson(text, 32);
  if (root === null) { res.error = "config is not valid JSON (" + lastJsonError() + ")"; return res; }
  const r = new Reader();
  const c = new Config();
  if (!r.object(root, "config", TOP)) { res.error = r.error; return res; }

  const version = r.str(root, "version", "config", "", true);
  if (r.ok && version != "v1") r.fail("config.version", "must be \"v1\" (got \"" + version + "\")");
  c.cell = r.str(root, "cell", "config", "", true, 1);
  if (r.ok && !isDnsLabel(c.cell)) r.fail("config.cell", "must be a DNS label (lowercase letters, digits, '-')");
  c.namespace = r.str(root, "namespace", "config", "default", false, 1);
  c.trustDomain = r.str(root, "trustDomain", "config", "cluster.local", false, 1);
  if (r.ok && !isTrustDomain(c.trustDomain)) r.fail("config.trustDomain", "must be a SPIFFE trust domain (lowercase letters, digits, '.', '-', '_')");
  c.mode = <Mode>r.oneOf(root, "mode", "config", ["inbound", "outbound", "gateway"], 0);
  c.workload = r.str(root, "workload", "config", "");
  c.realm = r.str(root, "realm", "config", c.cell);
  if (c.realm.includes("\"") || c.realm.includes("\\")) r.fail("config.realm", "must not contain quotes or backslashes");
  c.crypto = <CryptoPath>r.oneOf(root, "crypto", "config", ["auto", "host", "wasm"], 0);
  c.enableSignatureValidation = r.bool(root, "enableSignatureValidation", "config", true);
  c.enableIssuerValidation = r.bool(root, "enableIssuerValidation", "config", true);
  c.enableAudienceValidation = r.bool(root, "enableAudienceValidation", "config", true);
  const ack = r.bool(root, "insecureAcknowledgeSignatureValidationDisabled", "config", false);
  if (r.ok && !c.enableSignatureValidation) {
    if (!ack) {
      r.fail("config.enableSignatureValidation", "false requires insecureAcknowledgeSignatureValidationDisabled: true");
    } else {
      res.warnings.push("INSECURE: signature validation is disabled for cell " + c.cell + "; any well-formed token is accepted");
    }
  }
  c.bypassCorsPreflight = r.bool(root, "bypassCorsPreflight", "config", false);

  const limits = root.get("limits");
  if (limits !== null && r.object(limits, "config.limits", ["maxTokenBytes", "maxJsonDepth"])) {
    // Default: what Envoy's default max_request_headers_kb (60) lets through; up to its 8 MiB cap.
    c.maxTokenBytes = <i32>r.int(limits, "maxTokenBytes", "config.limits", 61440, 64, 8388608);
    c.maxJsonDepth = <i32>r.int(limits, "maxJsonDepth", "config.limits", 16, 2, 64);
  }
  const cache = root.get("tokenCache");
  if (cache !== null && r.object(cache, "config.tokenCache", ["maxEntries", "maxTokenBytes"])) {
    c.cacheMaxEntries = <i32>r.int(cache, "maxEntries", "config.tokenCache", 1024, 0, 65536);
    c.cacheMaxTokenBytes = <i32>r.int(cache, "maxTokenBytes", "config.tokenCache", 4096, 64, 65536);
  }

  const rulesJson = root.get("jwtRules");
  if (rulesJson === null || rulesJson.kind != JsonKind.Array || rulesJson.items.length == 0) {
    r.fail("config.jwtRules", "must be a non-empty list");
  } else if (rulesJson.items.length > 64) {
    r.fail("config.jwtRules", "may hold at most 64 rules");
  } else {
    for (let i = 0; i < rulesJson.items.length && r.ok; i++) {
      const jr = parseJwtRule(r, rulesJson.items[i], "config.jwtRules[" + i.toString() + "]", i, c.trustDomain);
      if (r.ok && c.mode == Mode.Gateway && jr.audiences.length == 0) {
        r.fail("config.jwtRules[" + i.toString() + "].audiences", "is required in gateway mode: an edge token minted for another application must not become a cell token");
      }
      for (let j = 0; j < c.jwtRules.length && r.ok; j++) {
        if (c.jwtRules[j].name == jr.name) r.fail("config.jwtRules[" + i.toString() + "].name", "duplicate name \"" + jr.name + "\"");
      }
      c.jwtRules.push(jr);
    }
  }

  c.defaultRule.requires = <Requirement>r.oneOf(root, "defaultRequirement", "config", REQUIREMENTS, 0);
  c.defaultRule.providers = c.jwtRules;
  const rules = r.list(root, "rules", "config");
  for (let i = 0; i < rules.length && r.ok; i++) c.rules.push(parseRule(r, rules[i], "config.rules[" + i.toString() + "]", c.jwtRules));

  const subj = r.str(root, "subjectHeader", "config", "x-cellery-auth-subject");
  if (r.ok && !isHeaderName(subj)) r.fail("config.subjectHeader", "is not a valid header name");
  c.subjectHeader = new HeaderName(subj);

  const authz = root.get("authorization");
  if (authz !== null) c.authorization = parseAuthorization(r, authz, "config.authorization");
  const tx = root.get("tokenExchange");
  if (tx !== null) c.tokenExchange = parseTokenExchange(r, tx, "config.tokenExchange");
  if (r.ok && c.mode != Mode.Inbound && c.tokenExchange === null) {
    r.fail("config.tokenExchange", "is required in outbound and gateway modes");
  }
  if (r.ok && c.mode == Mode.Outbound && c.tokenExchange!.destinations.length == 0) {
    r.fail("config.tokenExchange.destinations", "is required in outbound mode: only these cells' services get a cell token");
  }
  const uc = root.get("userContext");
  if (uc !== null && r.object(uc, "config.userContext", ["slots", "ttlSeconds"])) {
    c.userContextEnabled = true;
    c.userContextSlots = <i32>r.int(uc, "slots", "config.userContext", 1024, 16, 65536);
    c.userContextTtlSeconds = r.int(uc, "ttlSeconds", "config.userContext", 60, 1, 3600);
  }

  if (!r.ok) { res.error = r.error; return res; }
  if (c.crypto == CryptoPath.Host && allowsNonHostAlg(c)) {
    res.warnings.push("crypto: host: Envoy's verify_signature has no PS256/PS384/PS512 or EdDSA; tokens with those algorithms are verified by the AssemblyScript verifier");
  }
  collectOutputHeaders(c);
  setLocations(c.defaultRule);
  for (let i = 0; i < c.rules.length; i++) setLocations(c.rules[i]);
  res.config = c;
  return res;
}

function parseJwtRule(r: Reader, v: JsonValue, path: string, index: i32, trustDomain: string): JwtRule {
  const jr = new JwtRule();
  jr.index = index;
  if (!r.object(v, path, RULE_FIELDS)) return jr;
  jr.issuer = r.str(v, "issuer", path, "", true, 1);
  jr.name = r.str(v, "name", path, jr.issuer, false, 1);
  jr.audiences = r.strings(v, "audiences", path);
  jr.subjects = r.strings(v, "subjects", path);
  jr.algorithms = r.strings(v, "algorithms", path);
  for (let i = 0; i < jr.algorithms.length && r.ok; i++) {
    if (!ALGS.includes(jr.algorithms[i])) r.fail(path + ".algorithms[" + i.toString() + "]", "unsupported algorithm \"" + jr.algorithms[i] + "\" (\"none\" is never allowed)");
  }
  const jwks = v.get("jwks");
  const remote = v.get("remoteJwks");
  if ((jwks === null) == (remote === null)) {
    r.fail(path, "needs exactly one of jwks (inline) or remoteJwks");
  } else if (jwks !== null) {
    if (jwks.kind == JsonKind.String) jr.inlineJwks = jwks.str;
    else if (jwks.kind == JsonKind.Object) jr.inlineJwks = jwks.toJSON();
    else r.fail(path + ".jwks", "must be a JWKS object or a JSON string");
  } else if (remote !== null) {
    const p = path + ".remoteJwks";
    const rj = new RemoteJwks();
    if (r.object(remote, p, ["cluster", "path", "authority", "cacheDurationSeconds", "timeoutMs", "refetchIntervalMs",
      "discovery", "openidConfigurationPath", "jwksCluster"])) {
      rj.cluster = r.str(remote, "cluster", p, "", true, 1);
      rj.path = r.str(remote, "path", p, "/.well-known/jwks.json", false, 1);
      if (r.ok && !rj.path.startsWith("/")) r.fail(p + ".path", "must start with '/'");
      rj.discovery = r.bool(remote, "discovery", p, remote.has("openidConfigurationPath"));
      let defaultAuthority = rj.cluster;
      if (r.ok && rj.discovery) {
        const iss = splitUrl(jr.issuer);
        if (iss === null) r.fail(p + ".discovery", "needs an http(s) URL issuer (OIDC discovery fetches <issuer>/.well-known/openid-configuration)");
        else if (remote.has("path")) r.fail(p + ".path", "comes from the discovery document's jwks_uri; set openidConfigurationPath instead");
        else {
          defaultAuthority = iss.authority;
          rj.discoveryPath = r.str(remote, "openidConfigurationPath", p, discoveryPath(iss), false, 1);
          if (r.ok && !rj.discoveryPath.startsWith("/")) r.fail(p + ".openidConfigurationPath", "must start with '/'");
        }
      }
      rj.jwksCluster = r.str(remote, "jwksCluster", p, rj.cluster, false, 1);
      if (r.ok && remote.has("jwksCluster") && !rj.discovery) r.fail(p + ".jwksCluster", "needs discovery (without it, cluster serves the keys)");
      rj.authority = r.str(remote, "authority", p, defaultAuthority);
      rj.cacheDurationSeconds = r.int(remote, "cacheDurationSeconds", p, 300, 1, 86400);
      rj.timeoutMs = <u32>r.int(remote, "timeoutMs", p, 1000, 10, 60000);
      rj.refetchIntervalMs = r.int(remote, "refetchIntervalMs", p, 1000, 100, 3600000);
    }
    jr.remote = rj;
  }
  const fh = r.list(v, "fromHeaders", path);
  for (let i = 0; i < fh.length && r.ok; i++) {
    const p = path + ".fromHeaders[" + i.toString() + "]";
    if (!r.object(fh[i], p, ["name", "prefix"])) break;
    const name = r.str(fh[i], "name", p, "", true, 1);
    if (r.ok && !isHeaderName(name)) r.fail(p + ".name", "is not a valid header name");
    jr.fromHeaders.push(new FromHeader(new HeaderName(name), r.str(fh[i], "prefix", p, "")));
  }
  jr.fromParams = r.strings(v, "fromParams", path);
  jr.fromCookies = r.strings(v, "fromCookies", path);
  // Istio's default locations when none is given.
  if (fh.length == 0 && jr.fromParams.length == 0 && jr.fromCookies.length == 0) {
    jr.fromHeaders.push(new FromHeader(new HeaderName("authorization"), "Bearer "));
    jr.fromParams.push("access_token");
  }
  jr.forwardOriginalToken = r.bool(v, "forwardOriginalToken", path, false);
  const payloadHeader = r.str(v, "outputPayloadToHeader", path, "");
  if (payloadHeader.length > 0) {
    if (!isHeaderName(payloadHeader)) r.fail(path + ".outputPayloadToHeader", "is not a valid header name");
    jr.outputPayloadToHeader = new HeaderName(payloadHeader);
  }
  const ch = r.list(v, "outputClaimToHeaders", path);
  for (let i = 0; i < ch.length && r.ok; i++) {
    const p = path + ".outputClaimToHeaders[" + i.toString() + "]";
    if (!r.object(ch[i], p, ["header", "claim"])) break;
    const header = r.str(ch[i], "header", p, "", true, 1);
    const claim = r.str(ch[i], "claim", p, "", true, 1);
    if (r.ok && !isHeaderName(header)) r.fail(p + ".header", "is not a valid header name");
    const parts = claim.split(".");
    for (let k = 0; k < parts.length && r.ok; k++) if (parts[k].length == 0) r.fail(p + ".claim", "has an empty path segment");
    jr.outputClaimToHeaders.push(new ClaimToHeader(new HeaderName(header), parts));
  }
  jr.clockSkewSeconds = r.int(v, "clockSkewSeconds", path, 60, 0, 3600);
  jr.requireExpiration = r.bool(v, "requireExpiration", path, true);
  jr.maxLifetimeSeconds = r.int(v, "maxLifetimeSeconds", path, 0, 0, I64_MAX);
  jr.rejectIatInFuture = r.bool(v, "rejectIatInFuture", path, false);
  const sts = jr.issuer.lastIndexOf(STS_ISSUER);   // the cell name may itself contain the marker; a namespace cannot
  if (sts > 0) {
    const cell = jr.issuer.substring(0, sts);
    const ns = jr.issuer.substring(sts + STS_ISSUER.length);
    if (isDnsLabel(cell) && isDnsLabel(ns)) {
      jr.stsCell = cell;
      jr.stsNamespace = ns;
    }
  }
  jr.boundToPeer = r.bool(v, "boundToPeer", path, jr.stsCell !== null);
  if (r.ok && jr.boundToPeer) {
    if (jr.stsCell === null) r.fail(path + ".boundToPeer", "needs a cell STS issuer (<cell>--sts-service.<namespace>)");
    jr.peerPrefix = "spiffe://" + trustDomain + "/ns/" + jr.stsNamespace + "/sa/";
  }
  return jr;
}

function parseRule(r: Reader, v: JsonValue, path: string, all: JwtRule[]): Rule {
  const rule = new Rule();
  if (!r.object(v, path, ["match", "requires", "providers"])) return rule;
  const m = v.get("match");
  if (m === null) { r.fail(path + ".match", "is required"); return rule; }
  if (!r.object(m, path + ".match", ["path", "prefix", "pathTemplate", "methods"])) return rule;
  const kinds = (m.has("path") ? 1 : 0) + (m.has("prefix") ? 1 : 0) + (m.has("pathTemplate") ? 1 : 0);
  if (kinds > 1) { r.fail(path + ".match", "use only one of path, prefix, pathTemplate"); return rule; }
  if (m.has("path")) rule.path = PathMatcher.exact(r.str(m, "path", path + ".match", "/"));
  else if (m.has("prefix")) rule.path = PathMatcher.segmentPrefix(r.str(m, "prefix", path + ".match", "/"));
  else if (m.has("pathTemplate")) {
    const t = PathMatcher.template(r.str(m, "pathTemplate", path + ".match", "/"));
    if (t === null) r.fail(path + ".match.pathTemplate", lastPathError());
    rule.path = t;
  }
  rule.methods = r.strings(m, "methods", path + ".match");
  if (!v.has("requires")) r.fail(path + ".requires", "is required");
  rule.requires = <Requirement>r.oneOf(v, "requires", path, REQUIREMENTS, 0);
  const names = r.strings(v, "providers", path);
  if (names.length == 0) {
    rule.providers = all;
  } else {
    for (let i = 0; i < names.length && r.ok; i++) {
      let found: JwtRule | null = null;
      for (let j = 0; j < all.length; j++) if (all[j].name == names[i]) found = all[j];
      if (found === null) r.fail(path + ".providers[" + i.toString() + "]", "names no jwtRule (\"" + names[i] + "\")");
      else rule.providers.push(found);
    }
  }
  return rule;
}

function parseAuthorization(r: Reader, v: JsonValue, path: string): Authorization {
  const a = new Authorization();
  if (!r.object(v, path, ["enabled", "cluster", "authority", "path", "timeoutMs", "failOpen", "cacheTtlSeconds", "cacheMaxEntries", "forwardHeaders"])) return a;
  a.enabled = r.bool(v, "enabled", path, true);
  a.cluster = r.str(v, "cluster", path, "", true, 1);
  a.authority = r.str(v, "authority", path, a.cluster);
  a.path = r.str(v, "path", path, "/authorize", false, 1);
  a.timeoutMs = <u32>r.int(v, "timeoutMs", path, 500, 10, 60000);
  a.failOpen = r.bool(v, "failOpen", path, false);
  a.cacheTtlSeconds = r.int(v, "cacheTtlSeconds", path, 30, 0, 3600);
  a.cacheMaxEntries = <i32>r.int(v, "cacheMaxEntries", path, 1024, 0, 65536);
  const fh = r.strings(v, "forwardHeaders", path);
  for (let i = 0; i < fh.length; i++) {
    if (!isHeaderName(fh[i])) r.fail(path + ".forwardHeaders[" + i.toString() + "]", "is not a valid header name");
    a.forwardHeaders.push(new HeaderName(fh[i]));
  }
  return a;
}

function parseTokenExchange(r: Reader, v: JsonValue, path: string): TokenExchange {
  const t = new TokenExchange();
  if (v.has("cellHostPattern")) {
    r.fail(path + ".cellHostPattern", "was removed: any host containing the pattern got a cell token; list the cells in destinations");
    return t;
  }
  if (!r.object(v, path, ["cluster", "authority", "path", "timeoutMs", "destinations", "audience", "refreshBeforeExpirySeconds", "cacheMaxEntries", "header"])) return t;
  t.cluster = r.str(v, "cluster", path, "", true, 1);
  t.authority = r.str(v, "authority", path, t.cluster);
  t.path = r.str(v, "path", path, "/token", false, 1);
  t.timeoutMs = <u32>r.int(v, "timeoutMs", path, 1000, 10, 60000);
  const ds = r.list(v, "destinations", path);
  for (let i = 0; i < ds.length && r.ok; i++) {
    const p = path + ".destinations[" + i.toString() + "]";
    if (!r.object(ds[i], p, ["cell", "namespace", "services"])) break;
    const cell = r.str(ds[i], "cell", p, "", true, 1);
    if (r.ok && !isDnsLabel(cell)) r.fail(p + ".cell", "must be a DNS label");
    const ns = r.str(ds[i], "namespace", p, "default", false, 1);
    if (r.ok && !isDnsLabel(ns)) r.fail(p + ".namespace", "must be a DNS label");
    const services = r.strings(ds[i], "services", p);
    for (let k = 0; k < services.length && r.ok; k++) {
      if (!isDnsLabel(services[k])) r.fail(p + ".services[" + k.toString() + "]", "must be a DNS label");
    }
    t.destinations.push(new Destination(cell, ns, services));
  }
  t.audience = r.str(v, "audience", path, "");
  t.refreshBeforeExpirySeconds = r.int(v, "refreshBeforeExpirySeconds", path, 30, 0, 3600);
  t.cacheMaxEntries = <i32>r.int(v, "cacheMaxEntries", path, 256, 0, 65536);
  const header = r.str(v, "header", path, "cellery-authorization", false, 1);
  if (r.ok && !isHeaderName(header)) r.fail(path + ".header", "is not a valid header name");
  t.header = new HeaderName(header);
  return t;
}

const NON_HOST_ALGS = ["PS256", "PS384", "PS512", "EdDSA"];
function allowsNonHostAlg(c: Config): bool {
  for (let i = 0; i < c.jwtRules.length; i++) {
    const algs = c.jwtRules[i].algorithms;
    if (algs.length == 0) return true;
    for (let k = 0; k < algs.length; k++) if (NON_HOST_ALGS.includes(algs[k])) return true;
  }
  return false;
}

function isDnsLabel(s: string): bool {
  if (s.length == 0 || s.length > 63) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ok = (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || (c == 45 && i > 0 && i < s.length - 1);
    if (!ok) return false;
  }
  return true;
}

function isTrustDomain(s: string): bool {
  if (s.length == 0 || s.length > 255) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!((c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c == 45 || c == 46 || c == 95)) return false;
  }
  return true;
}

function collectOutputHeaders(c: Config): void {
  c.outputHeaders.push(c.subjectHeader);
  for (let i = 0; i < c.jwtRules.length; i++) {
    const jr = c.jwtRules[i];
    const p = jr.outputPayloadToHeader;
    if (p !== null) c.outputHeaders.push(p);
    for (let k = 0; k < jr.outputClaimToHeaders.length; k++) c.outputHeaders.push(jr.outputClaimToHeaders[k].header);
  }
}

// A rule's token locations and, once, its token parameter names (read on every authorization).
function setLocations(rule: Rule): void {
  rule.locations = locationsOf(rule.providers);
  for (let i = 0; i < rule.locations.length; i++) {
    const l = rule.locations[i];
    if (l.kind == LocationKind.Param) rule.tokenParams.push(l.name);
  }
}

// The distinct token locations of a rule's providers: a header by name (the first prefix given
// for it wins), a query parameter or a cookie by name. Each carries the jwtRules that declare it.
function locationsOf(rules: JwtRule[]): Location[] {
  const out = new Array<Location>();
  for (let kind = 0; kind < 3; kind++) {
    for (let i = 0; i < rules.length; i++) {
      const jr = rules[i];
      const bit = (<u64>1) << <u64>jr.index;
      const n = kind == 0 ? jr.fromHeaders.length : kind == 1 ? jr.fromParams.length : jr.fromCookies.length;
      for (let k = 0; k < n; k++) {
        const name = kind == 0 ? jr.fromHeaders[k].name.name.toLowerCase() : kind == 1 ? jr.fromParams[k] : jr.fromCookies[k];
        let found = false;
        for (let j = 0; j < out.length; j++) {
          const l = out[j];
          if (<i32>l.kind == kind && l.name == name) { l.mask |= bit; found = true; break; }
        }
        if (found) continue;
        if (kind == 0) out.push(new Location(LocationKind.Header, jr.fromHeaders[k].name, jr.fromHeaders[k].prefix, name, bit));
        else out.push(new Location(kind == 1 ? LocationKind.Param : LocationKind.Cookie, null, "", name, bit));
      }
    }
  }
  return out;
}
