// Replicas share pre-provisioned signing keys: a keys dir shaped like a Kubernetes Secret
// volume (owned by root, the file root:<fsGroup> mode 0440, not writable by the STS, which runs
// as uid/gid 1000). Two STS processes load the same keys without writing anything, a token one
// mints verifies against the other's JWKS, an updated Secret (atomic swap, as kubelet does) is
// picked up by both, /admin/rotate is refused with 409, and a file readable by others or by a
// foreign group is refused at start.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { createLocalJWKSet, jwtVerify } from "jose";
import { createGlobalIssuer, type GlobalIssuer } from "../lib/global-issuer.ts";
import { repoRoot, waitFor } from "../lib/sts-process.ts";

const UID = 1000;
const NS = "reviews";
const CALLER = `spiffe://cluster.local/ns/${NS}/sa/reviews-service`;
const ADMIN = `spiffe://cluster.local/ns/${NS}/sa/sts-admin`;
const APP = "https://shop.cellauth.local";
// The replica runs the checkout's own sources as uid 1000: every directory above it must let that
// uid through (a clone under `mktemp -d`, mode 0700, does not).
function blockedFor(uid: number, dir: string): string | undefined {
  for (let d = dir; ; d = dirname(d)) {
    const st = statSync(d);
    const x = st.uid === uid ? st.mode & 0o100 : st.gid === uid ? st.mode & 0o010 : st.mode & 0o001;
    if (!x) return d;
    if (d === dirname(d)) return undefined;
  }
}
const blocked = process.getuid?.() === 0 ? blockedFor(UID, repoRoot) : undefined;
const skip = process.getuid?.() !== 0 ? "needs root: the STS runs as uid 1000 on a keys dir it cannot write, as in a pod"
  : blocked ? `uid ${UID} cannot enter ${blocked} (mode ${(statSync(blocked).mode & 0o777).toString(8)}), above this checkout: clone it where other users can read it` : false;
if (skip) console.error(`# SKIP provisioned-keys: ${skip}`);

let root: string;
let keysDir: string;
let idp: GlobalIssuer;
const children: ChildProcess[] = [];

function keysJson(rotate?: string): string {
  const args = ["--import", "tsx", "cli/cellauth.ts", "sts-keys", ...(rotate ? ["--rotate", rotate] : [])];
  return execFileSync(process.execPath, args, { cwd: repoRoot, encoding: "utf8" });
}

/** Writes the keys file as kubelet does for a Secret: a new file renamed over the old, root:1000 0440. */
function provision(text: string, mode = 0o440, gid = UID): void {
  const tmp = join(keysDir, ".signing-keys.json.tmp");
  writeFileSync(tmp, text);
  chownSync(tmp, 0, gid);
  chmodSync(tmp, mode);
  renameSync(tmp, join(keysDir, "signing-keys.json"));
}

interface Replica { port: number; child: ChildProcess; logs(): string; url: string }

async function startReplica(name: string, extra: Record<string, unknown> = {}): Promise<Replica> {
  const dir = join(root, name);
  mkdirSync(dir, { mode: 0o755 });
  const config = {
    version: "v1", cell: "reviews", namespace: NS, port: 0, keysDir, configPollMs: 100, peerIdentity: "xfcc",
    globalJWKS: { issuer: idp.issuer, jwks: idp.jwks, audiences: [APP] },
    enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"],
    ...extra,
  };
  writeFileSync(join(dir, "sts.json"), JSON.stringify(config), { mode: 0o644 });
  const child = spawn(process.execPath, ["--import", "tsx", "sts/main.ts", "--config", join(dir, "sts.json")], {
    cwd: repoRoot, uid: UID, gid: UID, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, HOME: dir },
  });
  children.push(child);
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const port = await waitFor("replica to listen", () => {
    if (child.exitCode !== null) throw new Error(`replica exited (${child.exitCode}): ${out.slice(-1500)}`);
    const m = /"port":(\d+)[^\n]*"msg":"listening"/.exec(out);
    return m ? Number(m[1]) : undefined;
  }, 30_000);
  return { port, child, logs: () => out, url: `http://127.0.0.1:${port}` };
}

const jwks = async (r: Replica) => (await (await fetch(`${r.url}/.well-known/jwks.json`)).json()) as { keys: { kid: string }[] };
const kids = async (r: Replica) => (await jwks(r)).keys.map((k) => k.kid).sort();

before(async () => {
  if (skip) return;
  root = mkdtempSync(join(tmpdir(), "cellauth-provisioned-"));
  chmodSync(root, 0o755);
  keysDir = join(root, "keys");
  mkdirSync(keysDir, { mode: 0o755 }); // root-owned: uid 1000 cannot write here
  provision(keysJson());
  idp = await createGlobalIssuer();
});

after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill("SIGKILL");
  if (root) rmSync(root, { recursive: true, force: true });
});

test("two replicas on one read-only keys Secret: same JWKS, a token from one verifies at the other, nothing written", { skip }, async () => {
  const before = readdirSync(keysDir).sort();
  const a = await startReplica("a");
  const b = await startReplica("b");
  for (const r of [a, b]) {
    assert.match(r.logs(), /signing keys loaded \(read-only, provisioned\)/);
    assert.equal((await fetch(`${r.url}/readyz`)).status, 200);
  }
  assert.deepEqual(await kids(a), await kids(b));
  assert.equal((await kids(a)).length, 2);

  const subject = await idp.mint({ sub: "alice", aud: APP });
  const res = await fetch(`${a.url}/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-client-cert": `URI=${CALLER}` },
    body: new URLSearchParams({
      grant_type: "urn:ietf:params:oauth:grant-type:token-exchange", subject_token: subject,
      subject_token_type: "urn:ietf:params:oauth:token-type:jwt", audience: "reviews",
    }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  const { access_token } = (await res.json()) as { access_token: string };
  const { payload } = await jwtVerify(access_token, createLocalJWKSet(await jwks(b)), { issuer: `reviews--sts-service.${NS}` });
  assert.equal(payload.sub, "alice");
  assert.deepEqual(readdirSync(keysDir).sort(), before, "the STS wrote nothing into the keys dir");

  // The Secret is updated with a rotated set: both replicas pick it up.
  const old = await kids(a);
  const current = join(root, "current.json");
  execFileSync("cp", [join(keysDir, "signing-keys.json"), current]);
  provision(keysJson(current));
  for (const r of [a, b]) {
    await waitFor("replica to reload the rotated keys", async () => ((await kids(r)).length === 3 ? true : undefined), 10_000);
    assert.match(r.logs(), /signing keys reloaded/);
  }
  const rotated = await kids(a);
  assert.deepEqual(await kids(b), rotated);
  for (const k of old) assert.ok(rotated.includes(k), "the old current and next stay published (previous, current)");
});

test("/admin/rotate on provisioned keys: 409 keys_read_only", { skip }, async () => {
  const r = await startReplica("admin", { enableAdminEndpoints: true, adminPrincipals: [ADMIN] });
  const res = await fetch(`${r.url}/admin/rotate`, { method: "POST", headers: { "x-forwarded-client-cert": `URI=${ADMIN}` } });
  assert.equal(res.status, 409);
  assert.equal(((await res.json()) as { error: string }).error, "keys_read_only");
});

test("a provisioned keys file readable by others, or by a foreign group, is refused at start", { skip }, async () => {
  for (const [mode, gid, why] of [[0o444, UID, /readable or writable by others/], [0o440, 4242, /readable by group 4242/]] as const) {
    provision(keysJson(), mode, gid);
    await assert.rejects(startReplica(`bad-${mode.toString(8)}-${gid}`), why);
  }
});
