import { PathMatcher, PathKind, lastPathError, stripQuery, normalizePath } from "../../assembly/rules/path";

function tpl(t: string): PathMatcher {
  const m = PathMatcher.template(t);
  if (m === null) {
    expect<string>("invalid: " + lastPathError()).toBe("valid", t);
    return PathMatcher.exact("\u0000never");
  }
  return m;
}

function yes(m: PathMatcher, path: string): void { expect<bool>(m.matches(path)).toBe(true, m.pattern + " should match " + path); }
function no(m: PathMatcher, path: string): void { expect<bool>(m.matches(path)).toBe(false, m.pattern + " should not match " + path); }

function invalid(t: string): void {
  expect<PathMatcher | null>(PathMatcher.template(t)).toBeNull(t);
  expect<bool>(lastPathError().length > 0).toBe(true, "error set for " + t);
}

describe("stripQuery", () => {
  it("keeps a path without query", () => { expect<string>(stripQuery("/a/b")).toBe("/a/b"); });
  it("cuts at '?'", () => { expect<string>(stripQuery("/a/b?x=1#f")).toBe("/a/b"); });
  it("cuts at '#'", () => { expect<string>(stripQuery("/a#frag?x")).toBe("/a"); });
  it("handles empty and bare query", () => { expect<string>(stripQuery("")).toBe(""); expect<string>(stripQuery("?a")).toBe(""); });
});

describe("exact and prefix", () => {
  it("exact matches only the same path", () => {
    const m = PathMatcher.exact("/healthz");
    expect<i32>(m.kind).toBe(PathKind.Exact);
    yes(m, "/healthz"); no(m, "/healthz/"); no(m, "/health"); no(m, "/healthzz"); no(m, "/Healthz");
  });
  it("exact ignores query and fragment", () => {
    const m = PathMatcher.exact("/healthz");
    yes(m, "/healthz?verbose=1"); yes(m, "/healthz#top"); no(m, "/healthz/?x");
  });
  it("prefix", () => {
    const m = PathMatcher.prefix("/api/");
    expect<i32>(m.kind).toBe(PathKind.Prefix);
    yes(m, "/api/"); yes(m, "/api/v1/x"); no(m, "/api"); no(m, "/apix/"); no(m, "/API/");
  });
  it("prefix does not match inside the query", () => {
    const m = PathMatcher.prefix("/a?b");
    no(m, "/a?b=1"); // the path part is just "/a"
    yes(PathMatcher.prefix("/a"), "/a?b");
  });
  it("empty prefix matches everything", () => { const m = PathMatcher.prefix(""); yes(m, "/"); yes(m, ""); yes(m, "/x?y"); });
  it("suffix", () => {
    const m = PathMatcher.suffix(".css");
    yes(m, "/static/a.css"); yes(m, "/a.css?v=2"); no(m, "/a.css/x"); no(m, "css");
  });
});

describe("templates: {*}", () => {
  it("matches exactly one segment", () => {
    const m = tpl("/api/{*}/reviews");
    expect<i32>(m.kind).toBe(PathKind.Template);
    yes(m, "/api/v1/reviews");
    yes(m, "/api/v1/reviews?page=2");
    no(m, "/api/v1/x/reviews");
    no(m, "/api//reviews");
    no(m, "/api/reviews");
    no(m, "/api/v1/reviews/");
    no(m, "/api/v1/Reviews");
  });
  it("trailing {*}", () => {
    const m = tpl("/foo/{*}");
    yes(m, "/foo/bar"); no(m, "/foo/bar/baz"); no(m, "/foo/"); no(m, "/foo"); yes(m, "/foo/bar?x/y");
  });
  it("several {*}", () => {
    const m = tpl("/{*}/x/{*}");
    yes(m, "/a/x/b"); no(m, "/a/y/b"); no(m, "/a/x/"); no(m, "//x/b"); no(m, "/a/b/x/c");
  });
  it("adjacent {*} segments", () => {
    const m = tpl("/{*}/{*}");
    yes(m, "/a/b"); no(m, "/a"); no(m, "/a/b/c"); no(m, "/a/");
  });
  it("a segment may contain characters like %, . and :", () => {
    const m = tpl("/u/{*}/p");
    yes(m, "/u/a%2Fb/p"); yes(m, "/u/.../p"); yes(m, "/u/x:y/p");
  });
});

describe("templates: {**}", () => {
  it("trailing {**} matches zero or more characters", () => {
    const m = tpl("/static/{**}");
    yes(m, "/static/"); yes(m, "/static/a"); yes(m, "/static/a/b.css"); yes(m, "/static/a/b/?q");
    no(m, "/static"); no(m, "/staticx/a"); no(m, "/other/static/a");
  });
  it("{**} followed by a literal (Istio example /foo/{**}/)", () => {
    const m = tpl("/foo/{**}/");
    yes(m, "/foo/bar/"); yes(m, "/foo/bar/baz.txt/"); yes(m, "/foo//");
    no(m, "/foo/bar"); no(m, "/foo/"); no(m, "/foo");
  });
  it("{*} before {**} (Istio example /foo/{*}/bar/{**})", () => {
    const m = tpl("/foo/{*}/bar/{**}");
    yes(m, "/foo/buzz/bar/"); yes(m, "/foo/buzz/bar/bat"); yes(m, "/foo/buzz/bar/a/b");
    no(m, "/foo//bar/x"); no(m, "/foo/a/b/bar/x"); no(m, "/foo/buzz/bar");
  });
  it("{**} with a suffix literal", () => {
    const m = tpl("/v1/{**}/status");
    yes(m, "/v1/a/status"); yes(m, "/v1/a/b/c/status"); yes(m, "/v1//status");
    no(m, "/v1/status"); no(m, "/v1/a/status/x"); no(m, "/v1/a/statuses");
  });
  it("/{**} matches every absolute path", () => {
    const m = tpl("/{**}");
    yes(m, "/"); yes(m, "/a/b/c"); no(m, ""); no(m, "a");
  });
});

describe("templates: literals only", () => {
  it("a template without operators is an exact match", () => {
    const m = tpl("/a/b");
    yes(m, "/a/b"); yes(m, "/a/b?x"); no(m, "/a/b/"); no(m, "/a");
  });
  it("root template", () => { const m = tpl("/"); yes(m, "/"); yes(m, "/?x"); no(m, "/a"); no(m, ""); });
});

describe("templates: invalid", () => {
  it("must start with '/'", () => { invalid("api/{*}"); invalid(""); invalid("{**}"); });
  it("{**} must be the last operator", () => { invalid("/{**}/foo/{*}"); invalid("/{**}/{**}"); invalid("/a/{**}/b/{**}"); });
  it("operators must be whole segments", () => {
    invalid("/a/{*}.txt"); invalid("/a/x{*}"); invalid("/a/{**}.css"); invalid("/a/{*}{*}");
  });
  it("stray braces", () => { invalid("/a/{"); invalid("/a/}"); invalid("/a/{x}"); invalid("/a/{}"); invalid("/a/{***}"); invalid("/a/{ * }"); });
  it("'*' outside an operator", () => { invalid("/*/baz/{*}"); invalid("/**/baz/{*}"); invalid("/a/*"); });
  it("query or fragment characters", () => { invalid("/a/{*}?x"); invalid("/a#b"); });
  it("error message names the position", () => {
    expect<PathMatcher | null>(PathMatcher.template("/a/{*}.txt")).toBeNull();
    expect<string>(lastPathError()).toBe("'{' at 3 is not part of a whole-segment {*} or {**} operator");
    expect<PathMatcher | null>(PathMatcher.template("/{**}/a/{*}")).toBeNull();
    expect<bool>(lastPathError().startsWith("{**} must be the last operator")).toBe(true);
  });
  it("a valid template clears the previous error", () => {
    PathMatcher.template("x");
    tpl("/ok/{*}");
    expect<string>(lastPathError()).toBe("");
  });
});

describe("PathMatcher.parse (Istio paths syntax)", () => {
  it("'*' matches any path", () => { const m = PathMatcher.parse("*") as PathMatcher; yes(m, "/"); yes(m, "/a/b"); });
  it("trailing '*' is a prefix", () => {
    const m = PathMatcher.parse("/info*") as PathMatcher;
    expect<i32>(m.kind).toBe(PathKind.Prefix);
    yes(m, "/info"); yes(m, "/info/x"); yes(m, "/infos"); no(m, "/inf");
  });
  it("leading '*' is a suffix", () => {
    const m = PathMatcher.parse("*.png") as PathMatcher;
    expect<i32>(m.kind).toBe(PathKind.Suffix);
    yes(m, "/a/b.png"); no(m, "/a/b.png.txt");
  });
  it("plain path is exact", () => { const m = PathMatcher.parse("/data") as PathMatcher; expect<i32>(m.kind).toBe(PathKind.Exact); yes(m, "/data"); no(m, "/data/"); });
  it("braces make it a template", () => {
    const m = PathMatcher.parse("/api/{*}/x") as PathMatcher;
    expect<i32>(m.kind).toBe(PathKind.Template);
    yes(m, "/api/v/x");
    expect<PathMatcher | null>(PathMatcher.parse("/api/{id}")).toBeNull();
  });
  it("'*' in the middle is refused", () => {
    expect<PathMatcher | null>(PathMatcher.parse("/a/*/b")).toBeNull();
    expect<PathMatcher | null>(PathMatcher.parse("*a*")).toBeNull();
  });
});

describe("normalizePath (RFC 3986 5.2.4, merged slashes, no query)", () => {
  it("removes dot segments, merges slashes, drops the query and ;params", () => {
    expect<string>(normalizePath("/a/b")!).toBe("/a/b");
    expect<string>(normalizePath("/a/b?x=1")!).toBe("/a/b");
    expect<string>(normalizePath("/a//b")!).toBe("/a/b");
    expect<string>(normalizePath("//a///b//")!).toBe("/a/b/");
    expect<string>(normalizePath("/a/./b")!).toBe("/a/b");
    expect<string>(normalizePath("/a/x/../b")!).toBe("/a/b");
    expect<string>(normalizePath("/a/b/..")!).toBe("/a/");
    expect<string>(normalizePath("/../../a")!).toBe("/a");
    expect<string>(normalizePath("/..")!).toBe("/");
    expect<string>(normalizePath("/")!).toBe("/");
    expect<string>(normalizePath("/a;x/b;y=1")!).toBe("/a/b");
    expect<string>(normalizePath("/public/..;/admin")!).toBe("/admin");
    expect<string>(normalizePath("/a/%2e%2E/b")!).toBe("/b");
    expect<string>(normalizePath("/%61dmin%7e")!).toBe("/admin~");
    expect<string>(normalizePath("/a%20b")!).toBe("/a%20b");
    expect<string>(normalizePath("/a%zz")!).toBe("/a%zz");
    expect<string>(normalizePath("/a%2")!).toBe("/a%2");
  });
  it("refuses an encoded slash or backslash, and a raw backslash", () => {
    expect<bool>(normalizePath("/a%2Fb") === null).toBe(true);
    expect<bool>(normalizePath("/a%2fb") === null).toBe(true);
    expect<bool>(normalizePath("/a%5Cb") === null).toBe(true);
    expect<bool>(normalizePath("/a%5cb") === null).toBe(true);
    expect<bool>(normalizePath("/a\\b") === null).toBe(true);
    expect<string>(normalizePath("/a?next=%2F")!).toBe("/a");
  });
});

describe("segment prefix (a configured `prefix`)", () => {
  it("matches whole segments only", () => {
    const m = PathMatcher.segmentPrefix("/healthz");
    expect<bool>(m.matches("/healthz")).toBe(true);
    expect<bool>(m.matches("/healthz/")).toBe(true);
    expect<bool>(m.matches("/healthz/x")).toBe(true);
    expect<bool>(m.matches("/healthz?x")).toBe(true);
    expect<bool>(m.matches("/healthzadmin")).toBe(false);
    expect<bool>(m.matches("/healthz-admin")).toBe(false);
    expect<bool>(PathMatcher.segmentPrefix("/api/").matches("/api/x")).toBe(true);
    expect<bool>(PathMatcher.segmentPrefix("/api/").matches("/api")).toBe(false);
    expect<bool>(PathMatcher.segmentPrefix("/").matches("/anything")).toBe(true);
    expect<bool>(PathMatcher.prefix("/healthz").matches("/healthzadmin")).toBe(true);
  });
});
