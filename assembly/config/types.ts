// The filter's validated configuration. Built once per on_configure; read-only afterwards.
import { HeaderName } from "../host/headers";
import { PathMatcher } from "../rules/path";

export enum Mode { Inbound = 0, Outbound = 1, Gateway = 2 }
export enum CryptoPath { Auto = 0, Host = 1, Wasm = 2 }
export enum Requirement { Required = 0, AllowMissing = 1, AllowMissingOrFailed = 2, None = 3 }

export class FromHeader {
  constructor(public name: HeaderName, public prefix: string) {}
}
export class ClaimToHeader {
  constructor(public header: HeaderName, public claim: string[]) {}
}

export class RemoteJwks {
  cluster: string = "";
  path: string = "/.well-known/jwks.json";
  authority: string = "";
  cacheDurationSeconds: i64 = 300;
  timeoutMs: u32 = 1000;
  refetchIntervalMs: i64 = 1000;
  // OIDC discovery: fetch `discoveryPath` (default <issuer path>/.well-known/openid-configuration)
  // from `cluster`, check its issuer, then the keys at its jwks_uri through `jwksCluster`.
  discovery: bool = false;
  discoveryPath: string = "";
  jwksCluster: string = "";
}

export class JwtRule {
  index: i32 = 0;
  name: string = "";
  issuer: string = "";
  audiences: string[] = [];
  subjects: string[] = [];
  algorithms: string[] = [];           // empty = every algorithm the key type allows
  inlineJwks: string | null = null;
  remote: RemoteJwks | null = null;
  fromHeaders: FromHeader[] = [];
  fromParams: string[] = [];
  fromCookies: string[] = [];
  forwardOriginalToken: bool = false;
  outputPayloadToHeader: HeaderName | null = null;
  outputClaimToHeaders: ClaimToHeader[] = [];
  clockSkewSeconds: i64 = 60;
  requireExpiration: bool = true;
  maxLifetimeSeconds: i64 = 0;
  // RFC 7519 defines no check on a future iat (nor does jwt_authn); opt in to refuse one.
  rejectIatInFuture: bool = false;
  // A cell STS issuer (<cell>--sts-service.<ns>): its cell and namespace, else null and "".
  stsCell: string | null = null;
  stsNamespace: string = "";
  // The token must be bound (cnf.spiffe_id) to the mTLS peer presenting it, and that peer must
  // be a workload of the issuing cell's namespace. Default: true for cell STS issuers.
  boundToPeer: bool = false;
  // "spiffe://<trustDomain>/ns/<stsNamespace>/sa/": the only peers that may present this rule's tokens.
  peerPrefix: string = "";
}

export const enum LocationKind { Header = 0, Param = 1, Cookie = 2 }

// One place a token may be, shared by every jwtRule that names it (`mask`, bit i = jwtRules[i]).
export class Location {
  constructor(public kind: LocationKind, public header: HeaderName | null, public prefix: string, public name: string, public mask: u64) {}
}

export class Rule {
  path: PathMatcher | null = null;     // null = every path
  methods: string[] = [];              // empty = every method
  requires: Requirement = Requirement.Required;
  providers: JwtRule[] = [];
  // Every distinct token location of the providers, in order: headers, then params, then cookies.
  locations: Location[] = [];
  // The query parameters among them: never part of the query the STS sees.
  tokenParams: string[] = [];
}

export class Authorization {
  enabled: bool = true;
  cluster: string = "";
  authority: string = "";
  path: string = "/authorize";
  timeoutMs: u32 = 500;
  failOpen: bool = false;
  cacheTtlSeconds: i64 = 30;
  cacheMaxEntries: i32 = 1024;
  forwardHeaders: HeaderName[] = [];
}

export class Destination {
  constructor(public cell: string, public namespace: string, public services: string[]) {}
}

export class TokenExchange {
  cluster: string = "";
  authority: string = "";
  path: string = "/token";
  timeoutMs: u32 = 1000;
  // Outbound: the only hosts that get a cell token (exact names, lower case, no port).
  destinations: Destination[] = [];
  audience: string = "";
  refreshBeforeExpirySeconds: i64 = 30;
  cacheMaxEntries: i32 = 256;
  header: HeaderName = new HeaderName("cellery-authorization");
}

export class Config {
  cell: string = "";
  namespace: string = "default";
  trustDomain: string = "cluster.local";
  mode: Mode = Mode.Inbound;
  workload: string = "";
  realm: string = "";
  crypto: CryptoPath = CryptoPath.Auto;
  enableSignatureValidation: bool = true;
  enableIssuerValidation: bool = true;
  enableAudienceValidation: bool = true;
  bypassCorsPreflight: bool = false;
  maxTokenBytes: i32 = 61440;          // Envoy's default request header limit (60 KiB)
  maxJsonDepth: i32 = 16;
  cacheMaxEntries: i32 = 1024;
  cacheMaxTokenBytes: i32 = 4096;
  jwtRules: JwtRule[] = [];
  rules: Rule[] = [];
  defaultRule: Rule = new Rule();
  subjectHeader: HeaderName = new HeaderName("x-cellery-auth-subject");
  authorization: Authorization | null = null;
  tokenExchange: TokenExchange | null = null;
  userContextEnabled: bool = false;   // inbound stores, outbound reads (same vm_id)
  userContextSlots: i32 = 1024;
  userContextTtlSeconds: i64 = 60;
  // Every header the filter may write; stripped from incoming requests so none can be spoofed.
  outputHeaders: HeaderName[] = [];
}
