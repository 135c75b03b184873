// Issue 10 item 6: the STS on fastify keeps its limits on real sockets: 413 for an oversize
// body (an answer, not a reset), header / body / idle timeouts that hold against slow sockets,
// a connection cap, JSON-Schema-validated bodies, and pino JSON logs without tokens.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { connect, type TLSSocket } from "node:tls";
import { connect as netConnect, type Socket } from "node:net";
import { startSts, type StsProcess } from "../lib/sts-process.ts";
import type { Svid } from "../lib/spiffe-ca.ts";

let sts: StsProcess;
let svid: Svid;
const LIMITS = { maxBodyBytes: 4096, headersTimeoutMs: 800, requestTimeoutMs: 1500, idleTimeoutMs: 1000, maxConnections: 6 };

before(async () => {
  sts = await startSts({ cell: "reviews", config: { limits: LIMITS, allowTokenWithoutSubject: true, enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"] } });
  svid = await sts.workload("reviews-service");
});
after(async () => {
  await sts?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A TLS connection with the workload's client certificate; resolves once the handshake is done. */
function open(): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port: sts.port, ca: sts.ca.caPem, cert: svid.certPem, key: svid.keyPem, servername: "localhost" }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Milliseconds until the server closes `s` (bounded by `maxMs`), writing `trickle` chunks every `everyMs` meanwhile. */
async function timeToClose(s: TLSSocket, trickle: string[], everyMs: number, maxMs = 8000): Promise<{ ms: number; data: string }> {
  const t0 = Date.now();
  let data = "";
  let closed = false;
  s.on("data", (d) => (data += d));
  s.on("error", () => {});
  const done = new Promise<void>((r) => s.once("close", () => ((closed = true), r())));
  for (let i = 0; i < trickle.length && !closed && Date.now() - t0 < maxMs; i++) {
    s.write(trickle[i]);
    await Promise.race([sleep(everyMs), done]);
  }
  await Promise.race([done, sleep(Math.max(0, maxMs - (Date.now() - t0)))]);
  s.destroy();
  return { ms: closed ? Date.now() - t0 : Infinity, data };
}

test("an oversize body gets 413 with a JSON answer, not a reset", async () => {
  const res = await sts.fetchAs("reviews-service", "/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=x&pad=" + "a".repeat(LIMITS.maxBodyBytes + 10),
  });
  assert.equal(res.status, 413);
  assert.deepEqual(await res.json(), { error: "invalid_request", error_description: "body too large" });
});

test("slow headers: the socket is closed after headersTimeoutMs", async () => {
  const head = "POST /token HTTP/1.1\r\nHost: localhost\r\nX-Slow: " ;
  const { ms } = await timeToClose(await open(), [head, ...Array(60).fill("a")], 100);
  assert.ok(ms < LIMITS.headersTimeoutMs + 1200, `closed after ${ms} ms`);
});

test("slow body: the request times out after requestTimeoutMs", async () => {
  const head = "POST /token HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n";
  const { ms, data } = await timeToClose(await open(), [head, ...Array(100).fill("a")], 100);
  assert.ok(ms < LIMITS.requestTimeoutMs + 1200, `closed after ${ms} ms`);
  assert.ok(data === "" || /^HTTP\/1\.1 408/.test(data), data.slice(0, 40));
});

test("an idle connection is closed after idleTimeoutMs", async () => {
  const { ms } = await timeToClose(await open(), [], 0, 6000);
  assert.ok(ms < LIMITS.idleTimeoutMs + 1200, `closed after ${ms} ms`);
});

test("connections beyond maxConnections are closed at once; the server recovers", async () => {
  const held: TLSSocket[] = [];
  try {
    for (let i = 0; i < LIMITS.maxConnections; i++) held.push(await open());
    await assert.rejects(
      (async () => {
        const extra = await open();
        held.push(extra);
        // The server may close it right after the handshake: a request gets no answer.
        await new Promise<void>((resolve, reject) => {
          extra.once("close", () => reject(new Error("closed")));
          extra.once("data", () => resolve());
          extra.write("GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n");
        });
      })(),
    );
  } finally {
    for (const s of held) s.destroy();
  }
  await sleep(200);
  const res = await sts.fetchAs("kubelet", "/healthz");
  assert.equal(res.status, 200);
  await res.arrayBuffer();
});

test("raw TCP sockets that never start TLS cannot use up the connection cap: a workload still gets in", async () => {
  // Anyone who can reach the port can open sockets without a certificate. Were they counted
  // against maxConnections until their handshake timeout, a loop reopening them would keep every
  // workload's new connection out: each token exchange and authorization then fails closed (503).
  const raw: Socket[] = [];
  try {
    for (let i = 0; i < LIMITS.maxConnections * 3; i++) {
      raw.push(await new Promise<Socket>((resolve, reject) => {
        const s = netConnect({ host: "127.0.0.1", port: sts.port }, () => resolve(s));
        s.once("error", reject);
      }));
      raw[raw.length - 1].on("error", () => {});
    }
    const res = await sts.fetchAs("reviews-service", "/healthz");
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    // The sockets that waited longest made room: the pool of unauthenticated sockets stays bounded.
    await sleep(100);
    const open = raw.filter((s) => !s.destroyed && !s.readableEnded).length;
    assert.ok(open <= LIMITS.maxConnections, `${open} raw sockets still open`);
  } finally {
    for (const s of raw) s.destroy();
  }
});

test("request bodies are validated against JSON Schema", async () => {
  const authorize = (body: unknown) =>
    sts.fetchAs("reviews-service", "/authorize", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const base = { destination: { cellName: "reviews", workload: "reviews-service" }, requestContext: { path: "/x" } };
  for (const bad of [
    { ...base, extra: 1 },
    { ...base, requestContext: { path: 5 } },
    { ...base, requestHeaders: { a: 1 } },
    { ...base, source: { principal: "x".repeat(3000) } },
    { destination: base.destination },
  ]) {
    const res = await authorize(bad);
    assert.equal(res.status, 400, JSON.stringify(bad).slice(0, 80));
    assert.equal(((await res.json()) as { status: string }).status, "BAD_REQUEST");
  }
  const tok = await sts.fetchAs("reviews-service", "/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: `grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&audience=${"a".repeat(300)}`,
  });
  assert.equal(tok.status, 400);
  assert.equal(((await tok.json()) as { error: string }).error, "invalid_request");
});

test("logs are pino JSON lines with level labels and never a token", async () => {
  const res = await sts.fetchAs("reviews-service", "/token?access_token=eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&audience=reviews",
  });
  const token = ((await res.json()) as { access_token: string }).access_token;
  const lines = sts.logs().split("\n").filter(Boolean);
  for (const l of lines) {
    const e = JSON.parse(l);
    assert.ok(["debug", "info", "warn", "error"].includes(e.level), l.slice(0, 80));
    assert.equal(typeof e.time, "string");
  }
  const all = lines.join("\n");
  assert.ok(!all.includes(token.split(".")[1]));
  assert.ok(!all.includes("eyJzdWIiOiJ4In0"));
});
