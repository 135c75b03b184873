// Every way a request can fail, in one table. Names follow google/jwt_verify_lib's Status enum
// where the concept matches. Each status has exactly one HTTP code, one RFC 6750 `error`
// ("" = none: the missing-token case), one response-details string and one counter.
export enum Status {
  Ok = 0,
  JwtMissed,
  JwtTooLarge,
  JwtBadFormat,
  JwtHeaderParseErrorBadBase64,
  JwtHeaderBadJson,
  JwtHeaderBadAlg,
  JwtHeaderNotImplementedAlg,
  JwtHeaderBadKid,
  JwtHeaderBadCrit,
  JwtPayloadParseErrorBadBase64,
  JwtPayloadBadJson,
  JwtSignatureParseErrorBadBase64,
  JwtPayloadParseErrorIssNotString,
  JwtPayloadParseErrorSubNotString,
  JwtPayloadParseErrorAudNotString,
  JwtPayloadParseErrorExpNotInteger,
  JwtPayloadParseErrorNbfNotInteger,
  JwtPayloadParseErrorIatNotInteger,
  JwtMissingExp,
  JwtExpired,
  JwtNotYetValid,
  JwtIatInFuture,
  JwtLifetimeTooLong,
  JwtUnknownIssuer,
  JwtAudienceNotAllowed,
  JwtSubjectNotAllowed,
  JwtAlgNotAllowed,
  JwtVerificationFail,
  JwksKidAlgMismatch,
  JwksNoValidKeys,
  JwtNotBoundToPeer,
  JwtCellMismatch,
  AuthzDenied,
  AuthzUnavailable,
  AuthzBadRequest,
  TokenExchangeUnavailable,
  TokenExchangeRefused,
  PathEscapedSlash,
  RequestIdInUse,
  Count,
}

class Row {
  constructor(
    public name: string,
    public code: u32,
    public error: string,
    public message: string,
  ) {}
  get details(): string { return "cellauth_" + this.counter; }
  get counter(): string { return snake(this.name); }
}

const I = "invalid_token";
// Order must follow the enum.
const TABLE: Row[] = [
  new Row("Ok", 200, "", "OK"),
  new Row("JwtMissed", 401, "", "Jwt is missing"),
  new Row("JwtTooLarge", 401, I, "Jwt exceeds the configured size limit"),
  new Row("JwtBadFormat", 401, I, "Jwt is not in the form of Header.Payload.Signature"),
  new Row("JwtHeaderParseErrorBadBase64", 401, I, "Jwt header is an invalid Base64url encoded"),
  new Row("JwtHeaderBadJson", 401, I, "Jwt header is an invalid JSON"),
  new Row("JwtHeaderBadAlg", 401, I, "Jwt header [alg] field is required and must be a string"),
  new Row("JwtHeaderNotImplementedAlg", 401, I, "Jwt header [alg] is not supported"),
  new Row("JwtHeaderBadKid", 401, I, "Jwt header [kid] field is not a string"),
  new Row("JwtHeaderBadCrit", 401, I, "Jwt header [crit] names an extension that is not understood"),
  new Row("JwtPayloadParseErrorBadBase64", 401, I, "Jwt payload is an invalid Base64url encoded"),
  new Row("JwtPayloadBadJson", 401, I, "Jwt payload is an invalid JSON"),
  new Row("JwtSignatureParseErrorBadBase64", 401, I, "Jwt signature is an invalid Base64url encoded"),
  new Row("JwtPayloadParseErrorIssNotString", 401, I, "Jwt payload [iss] field is not a string"),
  new Row("JwtPayloadParseErrorSubNotString", 401, I, "Jwt payload [sub] field is not a string"),
  new Row("JwtPayloadParseErrorAudNotString", 401, I, "Jwt payload [aud] field is not a string or string list"),
  new Row("JwtPayloadParseErrorExpNotInteger", 401, I, "Jwt payload [exp] field is not an integer in range"),
  new Row("JwtPayloadParseErrorNbfNotInteger", 401, I, "Jwt payload [nbf] field is not an integer in range"),
  new Row("JwtPayloadParseErrorIatNotInteger", 401, I, "Jwt payload [iat] field is not an integer in range"),
  new Row("JwtMissingExp", 401, I, "Jwt has no [exp] and the provider requires one"),
  new Row("JwtExpired", 401, I, "Jwt is expired"),
  new Row("JwtNotYetValid", 401, I, "Jwt not yet valid"),
  new Row("JwtIatInFuture", 401, I, "Jwt [iat] is in the future"),
  new Row("JwtLifetimeTooLong", 401, I, "Jwt lifetime exceeds the configured maximum"),
  new Row("JwtUnknownIssuer", 401, I, "Jwt issuer is not configured"),
  new Row("JwtAudienceNotAllowed", 403, I, "Audiences in Jwt are not allowed"),
  new Row("JwtSubjectNotAllowed", 403, I, "Jwt subject is not allowed"),
  new Row("JwtAlgNotAllowed", 401, I, "Jwt [alg] is not allowed for this issuer or key"),
  new Row("JwtVerificationFail", 401, I, "Jwt verification fails"),
  new Row("JwksKidAlgMismatch", 401, I, "Jwks doesn't have key to match kid or alg from Jwt"),
  new Row("JwksNoValidKeys", 401, I, "Jwks has no valid key for this issuer (unavailable or empty)"),
  new Row("JwtNotBoundToPeer", 401, I, "Jwt is not bound (cnf) to the mTLS peer that presents it"),
  new Row("JwtCellMismatch", 401, I, "Jwt [cell] claim names another cell than its issuer"),
  new Row("AuthzDenied", 403, "", "Request denied by the cell's authorization policy"),
  new Row("AuthzUnavailable", 503, "", "Authorization service unavailable"),
  new Row("AuthzBadRequest", 400, "", "Request exceeds what the authorization service accepts"),
  new Row("TokenExchangeUnavailable", 503, "", "Token exchange service unavailable"),
  new Row("TokenExchangeRefused", 403, "", "Token exchange refused by the cell's STS"),
  new Row("PathEscapedSlash", 400, "", "Request path has an encoded slash or backslash"),
  new Row("RequestIdInUse", 409, "", "Request id is in use by another user's request"),
];

function snake(name: string): string {
  let out = "";
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 65 && c <= 90) {
      if (i > 0) out += "_";
      out += String.fromCharCode(c + 32);
    } else {
      out += String.fromCharCode(c);
    }
  }
  return out;
}

export function statusName(s: Status): string { return TABLE[<i32>s].name; }
export function statusCode(s: Status): u32 { return TABLE[<i32>s].code; }
export function statusError(s: Status): string { return TABLE[<i32>s].error; }
export function statusMessage(s: Status): string { return TABLE[<i32>s].message; }
export function statusDetails(s: Status): string { return TABLE[<i32>s].details; }
export function statusCounter(s: Status): string { return TABLE[<i32>s].counter; }
export function statusCount(): i32 { return <i32>Status.Count; }
export function tableLength(): i32 { return TABLE.length; }

// RFC 6750 §3: realm always; `error` only when the request carried a token.
export function wwwAuthenticate(s: Status, realm: string): string {
  let v = "Bearer realm=\"" + realm + "\"";
  const e = TABLE[<i32>s].error;
  if (e.length > 0) v += ", error=\"" + e + "\", error_description=\"" + TABLE[<i32>s].message + "\"";
  return v;
}

// The response body names the status and never echoes the token.
export function responseBody(s: Status): string {
  return "{\"status\":\"" + TABLE[<i32>s].name + "\",\"message\":\"" + TABLE[<i32>s].message + "\"}";
}
