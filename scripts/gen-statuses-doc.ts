// Writes the status table of docs/statuses.md from the filter's one status table
// (assembly/jwt/status.ts): name, HTTP code, RFC 6750 error, counter, message. The prose around
// the table is kept. `--check` exits 1 when the checked-in file differs (tests/docs runs it).
//   node --import tsx scripts/gen-statuses-doc.ts [--check]
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../", import.meta.url));
const SOURCE = `${root}assembly/jwt/status.ts`;
export const DOC = `${root}docs/statuses.md`;
const HEAD = "| status | HTTP | `error` | counter | meaning |\n|---|---|---|---|---|\n";

export interface StatusRow { name: string; code: number; error: string; counter: string; message: string }

/** The rows of the TABLE in status.ts, in enum order (Ok left out). */
export function statusRows(source = readFileSync(SOURCE, "utf8")): StatusRow[] {
  return [...source.matchAll(/new Row\("(\w+)", (\d+), (I|""), "([^"]*)"\)/g)]
    .filter((m) => m[1] !== "Ok")
    .map((m) => ({
      name: m[1],
      code: Number(m[2]),
      error: m[3] === "I" ? "invalid_token" : "",
      // status.ts's snake(): an underscore before every capital but the first.
      counter: m[1].replace(/(?<!^)([A-Z])/g, "_$1").toLowerCase(),
      message: m[4],
    }));
}

/** docs/statuses.md with its table regenerated. */
export function renderStatusesDoc(doc = readFileSync(DOC, "utf8")): string {
  const start = doc.indexOf(HEAD);
  if (start < 0) throw new Error("docs/statuses.md has no status table header");
  const end = doc.indexOf("\n\n", start);
  const rows = statusRows().map((r) => `| \`${r.name}\` | ${r.code} | ${r.error || "—"} | \`${r.counter}\` | ${r.message} |`);
  return doc.slice(0, start) + HEAD + rows.join("\n") + doc.slice(end < 0 ? doc.length : end);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const current = readFileSync(DOC, "utf8");
  const next = renderStatusesDoc(current);
  if (process.argv.includes("--check")) {
    if (next !== current) {
      console.error("docs/statuses.md is out of date: run node --import tsx scripts/gen-statuses-doc.ts");
      process.exit(1);
    }
  } else if (next !== current) {
    writeFileSync(DOC, next);
    console.log("docs/statuses.md regenerated");
  }
}
