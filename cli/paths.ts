// One path syntax in cell.yaml (Istio AuthorizationPolicy's): "/exact", "/prefix*", or a
// template whose whole segments are {*} (one segment) or {**} (the rest, last operator only).
// Translated three ways: the filter's rule match, Istio's `paths`, and the STS's regex.

export type IstioPath =
  | { kind: "exact"; path: string; error?: undefined }
  | { kind: "prefix"; prefix: string; error?: undefined }
  | { kind: "template"; template: string; error?: undefined }
  | { kind?: undefined; error: string };

export function parseIstioPath(p: string): IstioPath {
  if (!p.startsWith("/")) return { error: "must start with '/' (Istio path syntax)" };
  if (/[\s?#]/.test(p)) return { error: "must not contain spaces, '?' or '#'" };
  if (p.endsWith("*") && !p.endsWith("}*") && !p.includes("{")) {
    const prefix = p.slice(0, -1);
    if (prefix.includes("*")) return { error: "'*' is allowed only once, at the end of a prefix" };
    return { kind: "prefix", prefix };
  }
  if (!/[{}*]/.test(p)) return { kind: "exact", path: p };
  const segs = p.split("/").slice(1);
  let sawAny = false;
  for (const s of segs) {
    if (s === "{*}" || s === "{**}") {
      if (sawAny) return { error: "{**} must be the last operator in a template" };
      if (s === "{**}") sawAny = true;
    } else if (/[{}*]/.test(s)) {
      return { error: "a template operator must be a whole segment: {*} or {**}" };
    }
  }
  return { kind: "template", template: p };
}

/** The filter's `rule.match` for a path (config/cellauth.schema.json $defs/rule). */
export function filterMatch(p: string): { path?: string; prefix?: string; pathTemplate?: string } {
  const x = parseIstioPath(p);
  if (x.kind === "exact") return { path: x.path };
  if (x.kind === "prefix") return { prefix: x.prefix };
  if (x.kind === "template") return { pathTemplate: x.template };
  throw new Error(x.error);
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** An anchored regex for the STS's unsecuredPaths (it tests the request path, query included). */
export function stsRegex(p: string): string {
  const x = parseIstioPath(p);
  const query = "(?:[?#].*)?$";
  if (x.kind === "exact") return `^${escape(x.path)}${query}`;
  // Whole segments, as the filter's prefix rules match: /public* is /public and /public/..., never /publicity.
  if (x.kind === "prefix") return x.prefix.endsWith("/") ? `^${escape(x.prefix)}` : `^${escape(x.prefix)}(?:[/?#]|$)`;
  if (x.kind === "template") {
    const body = x.template.split("/").slice(1).map((s) => (s === "{*}" ? "[^/?#]+" : s === "{**}" ? "[^?#]*" : escape(s))).join("/");
    return `^/${body}${query}`;
  }
  throw new Error(x.error);
}
