// `npm run demo` (via scripts/demo.sh): start the two-cell topology, run the scenario, print a
// table per step, stop everything. Exits non-zero if an outcome is not the expected one.
import { start, type Topology } from "./topology.ts";
import { runScenario, waitUntilServing, type StepResult } from "./scenario.ts";
import { renderStep } from "./report.ts";
import { CATEGORIES_UNAVAILABLE } from "./services.ts";

const t0 = Date.now();
const say = (s: string) => process.stdout.write(s + "\n");
let top: Topology | undefined;
let stopping: Promise<void> | undefined;
const shutdown = () => (stopping ??= (top?.stop() ?? Promise.resolve()));

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.once(sig, () => {
    say(`\n[demo] ${sig}: stopping every process`);
    shutdown().finally(() => process.exit(130));
  });
}

/** The four outcomes the demo promises; a mismatch fails the run (the README depends on it). */
function check(results: StepResult[]): string[] {
  const [one, two, three, four] = results;
  const bad: string[] = [];
  if (!(one?.status === 200 && Array.isArray(one.page?.categories))) bad.push("step 1: expected a full page with categories");
  if (!(two?.status === 200 && two.page?.categories === CATEGORIES_UNAVAILABLE && two.page.categoriesCall.status === 403)) bad.push("step 2: expected the categories part degraded by a 403");
  if (three?.status !== 401 || !three.hops[0]?.status.startsWith("refused")) bad.push("step 3: expected the handshake refused without a certificate, and 401 without a token");
  if (!(four?.status === 401 && four.refusal?.status === "JwtNotBoundToPeer")) bad.push("step 4: expected 401 JwtNotBoundToPeer for the replayed token");
  return bad;
}

let code = 0;
try {
  say("[demo] starting: global issuer, OPA + STS for cells reviews and customer-products, 4 Envoys, 2 services");
  top = await start();
  await waitUntilServing(top);
  say(`[demo] topology up in ${((Date.now() - t0) / 1000).toFixed(1)} s; global gateway at ${top.urls.globalGateway}\n`);
  const results = await runScenario(top, (s) => say(renderStep(s)));
  const bad = check(results);
  for (const b of bad) say(`[demo] UNEXPECTED: ${b}`);
  code = bad.length ? 1 : 0;
  if (!bad.length) say("[demo] all four outcomes as expected");
} catch (e) {
  say(`[demo] failed: ${(e as Error).message}`);
  code = 1;
} finally {
  await shutdown();
  say(`[demo] stopped every process (${((Date.now() - t0) / 1000).toFixed(1)} s in all)`);
}
process.exit(code);
