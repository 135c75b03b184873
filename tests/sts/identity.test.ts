// Caller identity parsing: x-forwarded-client-cert (quoted values, several elements, the last one
// wins) and Node's subjectAltName string, and the Istio SPIFFE ID form.
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSpiffeId, parseXfcc, uriSans, xfccPeerUri } from "../../sts/identity.ts";

test("XFCC: elements, pairs, quoted values with separators and escaped quotes", () => {
  const h = 'By=spiffe://cluster.local/ns/a/sa/b;Hash=abc;Subject="CN=x, O=\\"y\\";z";URI=spiffe://cluster.local/ns/a/sa/c,By=d;URI=spiffe://cluster.local/ns/a/sa/e';
  const els = parseXfcc(h);
  assert.equal(els.length, 2);
  assert.deepEqual(els[0], [
    ["by", "spiffe://cluster.local/ns/a/sa/b"],
    ["hash", "abc"],
    ["subject", 'CN=x, O="y";z'],
    ["uri", "spiffe://cluster.local/ns/a/sa/c"],
  ]);
  assert.equal(xfccPeerUri(h), "spiffe://cluster.local/ns/a/sa/e");
  assert.equal(xfccPeerUri([`URI=spiffe://x/ns/a/sa/forged`, `By=s;URI=spiffe://x/ns/a/sa/real`]), "spiffe://x/ns/a/sa/real", "several header lines are one list");
});

test("XFCC: a quoted value cannot smuggle an element; malformed headers give no identity", () => {
  assert.equal(xfccPeerUri('By="x,URI=spiffe://evil/ns/a/sa/b";URI=spiffe://td/ns/a/sa/real'), "spiffe://td/ns/a/sa/real");
  assert.equal(xfccPeerUri('URI="spiffe://td/ns/a/sa/b'), undefined, "unterminated quote");
  assert.equal(xfccPeerUri("garbage"), undefined);
  assert.equal(xfccPeerUri("URI=spiffe://td/ns/a/sa/b;URI=spiffe://td/ns/a/sa/c"), undefined, "two URIs in one element");
  assert.equal(xfccPeerUri("By=x;Hash=y"), undefined, "no URI");
  assert.equal(xfccPeerUri(undefined), undefined);
});

test("subjectAltName: URI entries, JSON-quoted values are not split", () => {
  assert.deepEqual(uriSans("URI:spiffe://td/ns/a/sa/b, DNS:localhost, IP Address:127.0.0.1"), ["spiffe://td/ns/a/sa/b"]);
  assert.deepEqual(uriSans('DNS:x, URI:"spiffe://td/ns/a/sa/b, URI:spiffe://td/ns/a/sa/admin"'), ["spiffe://td/ns/a/sa/b, URI:spiffe://td/ns/a/sa/admin"]);
  assert.deepEqual(uriSans(undefined), []);
});

test("SPIFFE IDs: only the Istio form, no path tricks", () => {
  assert.deepEqual(parseSpiffeId("spiffe://cluster.local/ns/reviews/sa/reviews-service"), {
    id: "spiffe://cluster.local/ns/reviews/sa/reviews-service",
    trustDomain: "cluster.local",
    namespace: "reviews",
    serviceAccount: "reviews-service",
  });
  for (const bad of ["spiffe://cluster.local/ns/reviews/sa/../x", "spiffe://cluster.local/ns/a/sa/b/c", "spiffe://cluster.local/ns//sa/b", "http://cluster.local/ns/a/sa/b", "spiffe://cluster.local/ns/A/sa/b", ""]) {
    assert.equal(parseSpiffeId(bad), undefined, bad);
  }
});
