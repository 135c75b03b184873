// Graceful shutdown: on SIGTERM the STS stops listening at once (new connections are refused),
// lets an in-flight request finish (here a /token request whose body is still arriving), and
// exits 0; a request that never finishes cannot hold the process past limits.requestTimeoutMs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { startSts, waitFor, type StsProcess } from "../lib/sts-process.ts";

const CALLER = "spiffe://cluster.local/ns/default/sa/reviews-service";

function exitOf(sts: StsProcess): Promise<{ code: number | null; at: number }> {
  const child = sts.child;
  if (child.exitCode !== null) return Promise.resolve({ code: child.exitCode, at: Date.now() });
  return new Promise((r) => child.once("exit", (code) => r({ code, at: Date.now() })));
}

/** A raw HTTP/1.1 request whose headers and first body half are sent now; returns the rest's sender. */
function slowRequest(port: number, body: string): { socket: Socket; finish(): void; response: Promise<string> } {
  const socket = connect(port, "127.0.0.1");
  const half = Math.floor(body.length / 2);
  socket.write(
    "POST /token HTTP/1.1\r\nhost: sts\r\ncontent-type: application/x-www-form-urlencoded\r\n" +
      `content-length: ${Buffer.byteLength(body)}\r\nx-forwarded-client-cert: URI=${CALLER}\r\n\r\n` +
      body.slice(0, half),
  );
  let text = "";
  socket.on("data", (d) => (text += d));
  const response = new Promise<string>((resolve) => {
    socket.on("close", () => resolve(text));
    socket.on("error", () => resolve(text));
  });
  return { socket, finish: () => socket.write(body.slice(half)), response };
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(false);
    });
    s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code === "ECONNREFUSED"));
  });
}

const FORM = new URLSearchParams({
  grant_type: "urn:ietf:params:oauth:grant-type:token-exchange",
  subject_token: "not-a-jwt",
  subject_token_type: "urn:ietf:params:oauth:token-type:jwt",
  audience: "reviews",
}).toString();

test("SIGTERM: an in-flight request completes, new connections are refused, exit 0", async () => {
  const sts = await startSts({ cell: "reviews", identity: "xfcc", config: { enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"] } });
  try {
    const req = slowRequest(sts.port, FORM);
    let answered = false;
    void req.response.then(() => (answered = true));
    await sleep(200); // the request is in flight: headers parsed, body half sent
    const exited = exitOf(sts);
    const termAt = Date.now();
    sts.child.kill("SIGTERM");
    await waitFor("the STS to log stopping", () => sts.logEntries().some((e) => String(e.msg).startsWith("stopping")), 5000);
    await waitFor("new connections to be refused", async () => ((await refused(sts.port)) ? true : undefined), 3000);
    assert.equal(answered, false, "the in-flight request must not be cut");
    assert.equal(sts.child.exitCode, null, "the STS must wait for the in-flight request");
    await sleep(300);
    req.finish();
    const response = await req.response;
    const [statusLine] = response.split("\r\n");
    assert.match(statusLine, /^HTTP\/1\.1 400 /, `the in-flight request got its real answer, not a reset or a 503: ${response.slice(0, 300)}`);
    assert.match(response, /"error":"invalid_(request|grant)"/);
    const { code, at } = await exited;
    assert.equal(code, 0, sts.logs().slice(-1500));
    assert.ok(at - termAt < 5000, `exited ${at - termAt} ms after SIGTERM`);
    const stopped = sts.logEntries().find((e) => e.msg === "stopped");
    assert.equal(stopped?.forced, false, "drained, not forced");
  } finally {
    await sts.stop();
  }
});

test("SIGTERM: a request that never finishes is cut after limits.requestTimeoutMs, and the STS still exits 0", async () => {
  const sts = await startSts({
    cell: "reviews",
    identity: "xfcc",
    config: { enableAuthorization: false, insecureAcknowledgements: ["enableAuthorization"], limits: { requestTimeoutMs: 1500, headersTimeoutMs: 1000 } },
  });
  try {
    const req = slowRequest(sts.port, FORM); // the second half never comes
    await sleep(200);
    const exited = exitOf(sts);
    const termAt = Date.now();
    sts.child.kill("SIGTERM");
    const { code, at } = await exited;
    assert.equal(code, 0, sts.logs().slice(-1500));
    assert.ok(at - termAt <= 1500 + 1500, `exited ${at - termAt} ms after SIGTERM; the bound is requestTimeoutMs (1500) plus slack`);
    await req.response; // the connection is closed, one way or the other
    req.socket.destroy();
  } finally {
    await sts.stop();
  }
});
