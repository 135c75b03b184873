// The first rule whose path and method match decides the requirement; otherwise the default.
// Paths are matched normalised (rules/path.ts normalizePath); the caller has refused a path that
// cannot be normalised.
import { Config, Rule } from "../config/types";
import { RequestView } from "../jwt/extract";

export function selectRule(c: Config, req: RequestView): Rule {
  for (let i = 0; i < c.rules.length; i++) {
    const r = unchecked(c.rules[i]);
    if (r.methods.length > 0 && !r.methods.includes(req.method())) continue;
    const m = r.path;
    if (m !== null && !m.matches(req.normalized()!)) continue;
    return r;
  }
  return c.defaultRule;
}
