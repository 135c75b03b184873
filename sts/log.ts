// Structured JSON logs (pino), one object a line on stdout: {"level":"info","time":"...","msg":...}.
// Never a token or a key: callers pass only names and reasons, and every line (ours and
// fastify's) goes through `redact`, which masks anything that still looks like a JWT, private
// JWK members and token-carrying fields, and drops query strings from URLs.
import { pino, stdTimeFunctions, type Logger } from "pino";

type Level = "debug" | "info" | "warn" | "error";
type Fields = Record<string, unknown>;

// A compact JWS (three base64url parts, the first starting with '{"' = "eyJ") anywhere in a string.
const JWT_LIKE = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*/g;
// Private JWK members and token fields; their values must never reach a log.
const SECRET_KEYS = new Set(["d", "p", "q", "dp", "dq", "qi", "k", "access_token", "subject_token", "jwt", "token", "authorization", "body"]);

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[depth]";
  if (typeof value === "string") return value.replace(JWT_LIKE, "[redacted-jwt]");
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return redact(value.message, depth + 1);
  if (value && typeof value === "object") {
    const out: Fields = {};
    for (const [k, v] of Object.entries(value)) {
      if (SECRET_KEYS.has(k)) out[k] = "[redacted]";
      else if ((k === "url" || k === "path") && typeof v === "string") out[k] = redact(v.split("?")[0], depth + 1);
      else out[k] = redact(v, depth + 1);
    }
    return out;
  }
  return value;
}

let sink: (line: string) => void = (line) => process.stdout.write(line + "\n");

/** Tests can capture logs of an in-process STS. */
export function setLogSink(fn: (line: string) => void): void {
  sink = fn;
}

/** The pino logger (also fastify's), writing through the current sink. */
export const pinoLogger: Logger = pino(
  {
    level: process.env.STS_LOG_LEVEL ?? "info",
    base: undefined,
    timestamp: stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (obj) => redact(obj) as Record<string, unknown>,
    },
    serializers: {
      // fastify's request/response objects: method, path without query, status; nothing else.
      req: (req: { method?: string; url?: string }) => ({ method: req.method, url: String(req.url ?? "").split("?")[0] }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      err: (e: Error & { code?: string; statusCode?: number }) => ({ type: e.name, code: e.code, statusCode: e.statusCode, message: e.message }),
    },
  },
  { write: (line: string) => sink(line.replace(/\n$/, "")) },
);

export function log(level: Level, msg: string, fields: Fields = {}): void {
  pinoLogger[level](fields, msg);
}

export const logger = {
  debug: (msg: string, f?: Fields) => log("debug", msg, f),
  info: (msg: string, f?: Fields) => log("info", msg, f),
  warn: (msg: string, f?: Fields) => log("warn", msg, f),
  error: (msg: string, f?: Fields) => log("error", msg, f),
};
