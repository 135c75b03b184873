// JSON Schemas of the request bodies (ajv): /authorize's JSON document and /token's form, as an
// object of its (single-valued) parameters. Checked before any handler logic looks at a field.
import { Ajv } from "ajv";

const ajv = new Ajv({ allErrors: false, strict: true });
const str = (maxLength: number) => ({ type: "string", maxLength });

export const validateAuthorizeBody = ajv.compile({
  type: "object",
  additionalProperties: false,
  required: ["destination", "requestContext"],
  properties: {
    requestId: str(256),
    source: { type: "object", additionalProperties: false, properties: { principal: str(2048) } },
    destination: {
      type: "object",
      additionalProperties: false,
      required: ["cellName", "workload"],
      properties: { cellName: str(253), workload: str(253) },
    },
    requestContext: {
      type: "object",
      additionalProperties: false,
      required: ["path"],
      // path: normalised by the filter (no dot segments, merged slashes, no query); rawPath and
      // query as received (the token parameter removed), for policies that need them.
      properties: { host: str(1024), path: str(8192), rawPath: str(8192), query: str(8192), method: str(32), protocol: str(32) },
    },
    requestHeaders: { type: "object", maxProperties: 100, additionalProperties: str(8192) },
    jwt: str(65536),
  },
});

export const validateTokenForm = ajv.compile({
  type: "object",
  required: ["grant_type"],
  properties: {
    grant_type: str(256),
    subject_token: str(65536),
    subject_token_type: str(256),
    audience: str(253),
    resource: str(2048),
    source_workload: str(253),
  },
  // RFC 8693 allows more parameters (resource, scope, ...); they are ignored but bounded.
  additionalProperties: str(4096),
});

export function firstError(v: { errors?: { instancePath: string; message?: string }[] | null }): string {
  const e = v.errors?.[0];
  return e ? `${e.instancePath || "body"} ${e.message ?? "is invalid"}`.replace(/^\//, "").replace(/\//g, ".") : "invalid body";
}
