// The first rule whose path and method match decides the requirement; otherwise the default.
import { Config, Rule } from "../config/types";

export function selectRule(c: Config, method: string, path: string): Rule {
  for (let i = 0; i < c.rules.length; i++) {
    const r = unchecked(c.rules[i]);
    if (r.methods.length > 0 && !r.methods.includes(method)) continue;
    const m = r.path;
    if (m !== null && !m.matches(path)) continue;
    return r;
  }
  return c.defaultRule;
}
