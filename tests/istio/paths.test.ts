// One path syntax in cell.yaml, two consumers: the filter's rules and the STS's unsecured-path
// regexes. Found by the attack review: "/public*" was a whole-segment prefix in the filter but a
// string prefix at the STS, so a token holder skipped OPA on /public-admin. They must agree.
import { test } from "node:test";
import assert from "node:assert/strict";
import { stsRegex, filterMatch } from "../../cli/paths.ts";

/** The filter's prefix rule (assembly/rules/path.ts): the prefix, then the end or a '/'. */
function filterPrefixMatches(prefix: string, path: string): boolean {
  const p = path.split(/[?#]/)[0];
  if (prefix.endsWith("/")) return p.startsWith(prefix);
  return p === prefix || p.startsWith(prefix + "/");
}

test("an unsecured prefix means the same whole segments to the STS as to the filter", () => {
  for (const pattern of ["/public*", "/reviews/health*", "/static/*"]) {
    const prefix = filterMatch(pattern).prefix!;
    const re = new RegExp(stsRegex(pattern));
    for (const path of ["/public", "/public/x", "/public?x=1", "/publicity", "/public-admin/delete-all", "/reviews/health", "/reviews/healthz",
      "/reviews/health/deep", "/static/", "/static/a.css", "/staticx", "/static"]) {
      assert.equal(re.test(path), filterPrefixMatches(prefix, path), `${pattern} vs ${path}`);
    }
  }
  assert.equal(new RegExp(stsRegex("/public*")).test("/public-admin"), false);
});
