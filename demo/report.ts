// Plain-text rendering of a scenario step: the page the user got and a table of hops.
import type { Hop, StepResult } from "./scenario.ts";

const COLUMNS: [keyof Hop, string][] = [
  ["hop", "hop"],
  ["peer", "peer (mTLS SPIFFE ID)"],
  ["issuer", "issuer"],
  ["audience", "audience"],
  ["subject", "subject"],
  ["decision", "decision"],
  ["status", "status"],
];

export function table(rows: Hop[]): string {
  const width = COLUMNS.map(([k, title]) => Math.max(title.length, ...rows.map((r) => r[k].length)));
  const line = (cells: string[]) => "| " + cells.map((c, i) => c.padEnd(width[i])).join(" | ") + " |";
  const rule = "|" + width.map((w) => "-".repeat(w + 2)).join("|") + "|";
  return [line(COLUMNS.map(([, t]) => t)), rule, ...rows.map((r) => line(COLUMNS.map(([k]) => r[k])))].join("\n");
}

export function renderStep(s: StepResult): string {
  const out = [`== ${s.title}`, `client got HTTP ${s.status}`];
  if (s.page) out.push("", ...s.page.page.split("\n").map((l) => `  ${l}`));
  if (s.refusal) {
    out.push(`  body status: ${s.refusal.status ?? "-"}`);
    if (s.refusal.wwwAuthenticate) out.push(`  www-authenticate: ${s.refusal.wwwAuthenticate}`);
  }
  out.push("", table(s.hops), "");
  return out.join("\n");
}
