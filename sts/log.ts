// Structured JSON logs, one object a line on stdout. Never a token or a key: callers pass
// only names and reasons, and `redact` masks anything that still looks like a JWT or a JWK secret.

type Level = "debug" | "info" | "warn" | "error";
type Fields = Record<string, unknown>;

// A compact JWS (three base64url parts, the first starting with '{"' = "eyJ") anywhere in a string.
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
// Private JWK members; their values must never reach a log.
const SECRET_KEYS = new Set(["d", "p", "q", "dp", "dq", "qi", "k", "access_token", "subject_token", "jwt", "token"]);

function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[depth]";
  if (typeof value === "string") return value.replace(JWT_LIKE, "[redacted-jwt]");
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return redact(value.message, depth + 1);
  if (value && typeof value === "object") {
    const out: Fields = {};
    for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEYS.has(k) ? "[redacted]" : redact(v, depth + 1);
    return out;
  }
  return value;
}

let sink: (line: string) => void = (line) => process.stdout.write(line + "\n");

/** Tests can capture logs of an in-process STS. */
export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}

export function log(level: Level, msg: string, fields: Fields = {}): void {
  const entry = { time: new Date().toISOString(), level, msg, ...(redact(fields) as Fields) };
  sink(JSON.stringify(entry));
}

export const logger = {
  debug: (msg: string, f?: Fields) => log("debug", msg, f),
  info: (msg: string, f?: Fields) => log("info", msg, f),
  warn: (msg: string, f?: Fields) => log("warn", msg, f),
  error: (msg: string, f?: Fields) => log("error", msg, f),
};
