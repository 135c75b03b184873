// The rendered OPA sidecar, run for real on a directory laid out the way kubelet mounts a
// ConfigMap (..<timestamp>/ with the files, ..data -> it, and top-level symlinks), holding the
// rendered policies ConfigMap: it must load each policy once and answer the STS's query. Its
// system.authz policy comes from a Secret-shaped mount of what `cellauth opa-auth` writes: it
// answers the STS's query only with the token, and refuses policy writes.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { loadCell } from "../../cli/cell.ts";
import { renderCell } from "../../cli/render.ts";
import { freePort } from "../lib/ports.ts";
import { opaBin, waitFor } from "../lib/sts-process.ts";
import { newOpaToken, opaAuthzPolicy } from "../../sts/opa-auth.ts";

const root = resolve(import.meta.dirname, "../..");

function mountLike(dir: string, data: Record<string, string>): void {
  const stamp = "..2026_01_01_00_00_00.000000000";
  mkdirSync(join(dir, stamp), { recursive: true });
  for (const [name, text] of Object.entries(data)) writeFileSync(join(dir, stamp, name), text);
  symlinkSync(stamp, join(dir, "..data"));
  for (const name of Object.keys(data)) symlinkSync(join("..data", name), join(dir, name));
}

async function runOpa(args: string[]): Promise<{ child: ChildProcess; output: () => string }> {
  const child = spawn(opaBin, args, { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  return { child, output: () => out };
}

async function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once("exit", r));
  child.kill("SIGKILL");
  await gone;
}

describe("the rendered OPA sidecar on a ConfigMap-shaped volume", () => {
  let tmp: string;
  let opaArgs: string[];
  const token = newOpaToken();
  const children: ChildProcess[] = [];
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), "cellauth-opa-cm-"));
    const cell = loadCell(join(root, "istio/examples/reviews/cell.yaml"));
    const objs = renderCell(cell, { url: cell.wasm.url, sha256: cell.wasm.sha256! }).map((r) => r.object as any);
    const dep = objs.find((o) => o.kind === "Deployment");
    const opa = dep.spec.template.spec.containers.find((c: any) => c.name === "opa");
    opaArgs = opa.args;
    const volume = dep.spec.template.spec.volumes.find((v: any) => v.name === opa.volumeMounts[0].name);
    const cm = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === volume.configMap.name);
    mountLike(join(tmp, "policies"), cm.data);
    // The OPA container's projection of the -opa Secret: authz.rego only.
    const authz = dep.spec.template.spec.volumes.find((v: any) => v.name === opa.volumeMounts[1].name);
    assert.deepEqual(authz.secret.items.map((i: any) => i.key), ["authz.rego"]);
    mountLike(join(tmp, "opa-authz"), { "authz.rego": opaAuthzPolicy({ queryPrefix: "cellery/io", token }) });
  });
  after(async () => {
    for (const c of children) await stop(c);
    rmSync(tmp, { recursive: true, force: true });
  });

  const localArgs = async (args: string[]) => {
    const port = await freePort();
    const local = (a: string) => (a === "/policies" ? join(tmp, "policies") : a === "/opa-authz" ? join(tmp, "opa-authz") : a.startsWith("127.0.0.1:") ? `127.0.0.1:${port}` : a);
    return { port, args: args.map(local) };
  };

  it("loads the policies once, allows a declared workload to the STS's token, and refuses anything else", async () => {
    const { port, args } = await localArgs(opaArgs);
    const opa = await runOpa(args);
    children.push(opa.child);
    const url = `http://127.0.0.1:${port}`;
    const query = (headers: Record<string, string>) =>
      fetch(`${url}/v1/data/cellery/io/reviews_service_allow`, { method: "POST", headers, body: JSON.stringify({ input: {} }), signal: AbortSignal.timeout(2000) });
    const body = await waitFor("OPA to answer", async () => {
      if (opa.child.exitCode !== null) throw new Error(`opa exited: ${opa.output().slice(0, 500)}`);
      try {
        const r = await query({ authorization: `Bearer ${token}` });
        return r.ok ? ((await r.json()) as { result?: unknown }) : undefined;
      } catch {
        return undefined;
      }
    }, 15_000, 100);
    assert.equal(body.result, true);
    assert.equal((await query({})).status, 401, "no token");
    assert.equal((await query({ authorization: `Bearer ${newOpaToken()}` })).status, 401, "another token");
    const put = await fetch(`${url}/v1/policies/x`, { method: "PUT", body: "package cellery.io\n\ndefault reviews_allow := true\n" });
    assert.equal(put.status, 401, "a policy write");
    assert.equal((await fetch(`${url}/health`)).status, 200, "/health needs no token");
  });

  it("control: without --ignore=.* OPA loads ..data and ..<timestamp> too and refuses to start", async () => {
    const { args } = await localArgs(opaArgs.filter((a) => !a.startsWith("--ignore")));
    const opa = await runOpa(args);
    children.push(opa.child);
    const code = await waitFor("OPA to exit", () => (opa.child.exitCode !== null ? opa.child.exitCode : undefined), 15_000, 50);
    assert.notEqual(code, 0);
    assert.match(opa.output(), /multiple default rules|rego_type_error|conflict/);
  });
});
