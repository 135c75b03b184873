// `cellauth render` on the two example cells: deterministic, identical to the committed
// output, every object valid for its kubernetes-models class, every pluginConfig valid for
// config/cellauth.schema.json and the STS config for config/sts.schema.json.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { checkPluginConfig, checkStsConfig } from "../../cli/schemas.ts";
import { modelOf } from "./models.ts";

const root = resolve(import.meta.dirname, "../..");
const examples = ["reviews", "customer-products"];
const cli = (args: string[]) =>
  execFileSync(process.execPath, ["--import", "tsx", join(root, "cli/cellauth.ts"), ...args], { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });

function readDir(dir: string): Map<string, string> {
  return new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(join(dir, f), "utf8")]));
}

function objectsIn(dir: string): { file: string; obj: Record<string, any> }[] {
  return readdirSync(dir).sort().filter((f) => f !== "kustomization.yaml").flatMap((file) =>
    parseAllDocuments(readFileSync(join(dir, file), "utf8")).map((d) => {
      assert.equal(d.errors.length, 0, `${file}: ${d.errors[0]?.message}`);
      return { file, obj: d.toJS() as Record<string, any> };
    }));
}

describe("cellauth render: example cells", () => {
  let tmp: string;
  before(() => { tmp = mkdtempSync(join(tmpdir(), "cellauth-render-")); });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  for (const cell of examples) {
    describe(cell, () => {
      const committed = join(root, "istio/examples", cell, "rendered");
      const a = () => join(tmp, cell, "a");
      const b = () => join(tmp, cell, "b");
      before(() => {
        for (const out of [a(), b()]) cli(["render", join(root, "istio/examples", cell, "cell.yaml"), "--out", out]);
      });

      it("renders byte-identical output twice", () => {
        const x = readDir(a());
        const y = readDir(b());
        assert.ok(x.size >= 10, `expected a full set of files, got ${x.size}`);
        assert.deepEqual([...y.keys()], [...x.keys()]);
        for (const [f, text] of x) assert.equal(y.get(f), text, `${f} differs between two renders`);
      });

      it("matches the committed istio/examples/<cell>/rendered", () => {
        assert.ok(existsSync(committed), `${committed} is missing: run npm run cellauth -- render istio/examples/${cell}/cell.yaml`);
        const fresh = readDir(a());
        const old = readDir(committed);
        assert.deepEqual([...old.keys()], [...fresh.keys()], "file list differs from the committed output");
        for (const [f, text] of fresh) assert.equal(old.get(f), text, `${f} differs from the committed output: re-render`);
      });

      it("lists every file in kustomization.yaml", () => {
        const k = parseAllDocuments(readFileSync(join(a(), "kustomization.yaml"), "utf8"))[0].toJS();
        assert.deepEqual([...k.resources].sort(), readdirSync(a()).filter((f) => f !== "kustomization.yaml").sort());
      });

      it("builds every object through its kubernetes-models class, and validate() passes", () => {
        const objs = objectsIn(a());
        for (const { file, obj } of objs) {
          const model = modelOf(obj);
          assert.doesNotThrow(() => model.validate(), `${file} fails its model schema`);
          assert.deepEqual(JSON.parse(JSON.stringify(model.toJSON())), obj, `${file}: the model dropped or changed fields`);
          assert.equal(obj.metadata.labels?.["cellauth.dev/cell"], cell, `${file} lacks the cell label`);
        }
      });

      it("has the WasmPlugins: inbound (SERVER, AUTHN) and outbound (CLIENT) per service, one for the gateway", () => {
        const plugins = objectsIn(a()).filter((o) => o.obj.kind === "WasmPlugin").map((o) => o.obj);
        const cellYaml = parseAllDocuments(readFileSync(join(root, "istio/examples", cell, "cell.yaml"), "utf8"))[0].toJS();
        const services: string[] = cellYaml.services.map((s: { name: string }) => s.name);
        assert.equal(plugins.length, services.length * 2 + 1);
        for (const p of plugins) {
          assert.equal(p.spec.pluginName, "cellauth");
          assert.equal(p.spec.failStrategy, "FAIL_CLOSE");
          assert.match(p.spec.url, /^oci:\/\//);
          assert.match(p.spec.sha256, /^[a-f0-9]{64}$/);
          assert.ok(Object.keys(p.spec.selector.matchLabels).length > 0, `${p.metadata.name} must select workloads`);
          assert.notEqual(p.spec.selector.matchLabels.app, `${cell}--sts-service`, "the STS must never carry the filter");
        }
        for (const s of services) {
          const inbound = plugins.find((p) => p.spec.pluginConfig.mode === "inbound" && p.spec.pluginConfig.workload === s);
          const outbound = plugins.find((p) => p.spec.pluginConfig.mode === "outbound" && p.spec.pluginConfig.workload === s);
          assert.ok(inbound && outbound, `plugins for ${s}`);
          assert.deepEqual(inbound.spec.match, [{ mode: "SERVER" }]);
          assert.equal(inbound.spec.phase, "AUTHN");
          assert.deepEqual(outbound.spec.match, [{ mode: "CLIENT" }]);
          const stsCluster = `outbound|8080||${cell}--sts-service.${cell}.svc.cluster.local`;
          assert.equal(inbound.spec.pluginConfig.authorization.cluster, stsCluster);
          assert.equal(outbound.spec.pluginConfig.tokenExchange.cluster, stsCluster);
          assert.deepEqual(outbound.spec.pluginConfig.tokenExchange.destinations,
            cellYaml.trustedPeers.map((p: { cell: string; namespace: string }) => ({ cell: p.cell, namespace: p.namespace })));
          assert.equal(outbound.spec.pluginConfig.tokenExchange.cellHostPattern, undefined, "cellHostPattern is gone");
          const own = inbound.spec.pluginConfig.jwtRules[0];
          assert.equal(own.issuer, `${cell}--sts-service.${cell}`);
          assert.equal(own.remoteJwks.cluster, stsCluster);
          assert.deepEqual(own.fromHeaders, [{ name: "cellery-authorization", prefix: "Bearer " }]);
          for (const peer of cellYaml.trustedPeers) {
            assert.ok(inbound.spec.pluginConfig.jwtRules.some((r: any) => r.issuer === `${peer.cell}--sts-service.${peer.namespace}`), `trusts ${peer.cell}`);
          }
          for (const u of cellYaml.unsecuredPaths) {
            assert.ok(inbound.spec.pluginConfig.rules.some((r: any) => r.requires === "none" && (r.match.path === u || r.match.prefix === u.replace(/\*$/, ""))), `unsecured ${u}`);
          }
        }
        const gateway = plugins.find((p) => p.spec.pluginConfig.mode === "gateway");
        assert.ok(gateway, "a gateway plugin");
        assert.equal(gateway.spec.pluginConfig.jwtRules[0].issuer, cellYaml.globalIssuer.issuer);
        assert.equal(gateway.spec.pluginConfig.tokenExchange.audience, cell);
      });

      it("every pluginConfig passes config/cellauth.schema.json", () => {
        const plugins = objectsIn(a()).filter((o) => o.obj.kind === "WasmPlugin");
        assert.ok(plugins.length > 0);
        for (const { file, obj } of plugins) assert.deepEqual(checkPluginConfig(obj.spec.pluginConfig), [], file);
      });

      it("the STS ConfigMap holds a config that passes config/sts.schema.json", (t) => {
        const cm = objectsIn(a()).find((o) => o.obj.kind === "ConfigMap" && o.obj.data?.["sts.json"]);
        assert.ok(cm, "STS config ConfigMap");
        const config = JSON.parse(cm.obj.data["sts.json"]);
        const errors = checkStsConfig(config);
        if (errors === null) return t.skip("config/sts.schema.json is absent");
        assert.deepEqual(errors, []);
        assert.equal(config.cell, cell);
        // Identity (issue 9): the STS's sidecar terminates mTLS and passes the peer in XFCC.
        assert.equal(config.trustDomain, "cluster.local");
        assert.equal(config.peerIdentity, "xfcc");
        const cellYaml = parseAllDocuments(readFileSync(join(root, "istio/examples", cell, "cell.yaml"), "utf8"))[0].toJS();
        assert.deepEqual(config.globalJWKS.audiences, cellYaml.globalIssuer.audiences);
        for (const re of config.unsecuredPaths) assert.doesNotThrow(() => new RegExp(re));
      });

      it("carries the baseline: mTLS STRICT, allow-nothing plus ALLOW per service, default-deny NetworkPolicy", () => {
        const objs = objectsIn(a()).map((o) => o.obj);
        const pa = objs.find((o) => o.kind === "PeerAuthentication");
        assert.equal(pa?.spec.mtls.mode, "STRICT");
        const aps = objs.filter((o) => o.kind === "AuthorizationPolicy");
        assert.ok(aps.some((p) => JSON.stringify(p.spec) === "{}"), "an empty-spec (allow-nothing) policy");
        for (const p of aps.filter((x) => JSON.stringify(x.spec) !== "{}")) assert.equal(p.spec.action, "ALLOW");
        const deny = objs.find((o) => o.kind === "NetworkPolicy" && JSON.stringify(o.spec) === JSON.stringify({ podSelector: {}, policyTypes: ["Ingress"] }));
        assert.ok(deny, "a default-deny ingress NetworkPolicy");
      });

      it("gives every workload its own ServiceAccount (services, cell gateway, STS), and the STS runs as its own", () => {
        const objs = objectsIn(a()).map((o) => o.obj);
        const cellYaml = parseAllDocuments(readFileSync(join(root, "istio/examples", cell, "cell.yaml"), "utf8"))[0].toJS();
        const accounts = objs.filter((o) => o.kind === "ServiceAccount").map((o) => o.metadata.name).sort();
        const expected = [...cellYaml.services.map((s: { name: string }) => s.name), `${cell}--gateway`, `${cell}--sts-service`].sort();
        assert.deepEqual(accounts, expected);
        for (const o of objs.filter((x) => x.kind === "ServiceAccount")) assert.equal(o.metadata.namespace, cellYaml.namespace);
        const dep = objs.find((o) => o.kind === "Deployment");
        assert.equal(dep.spec.template.spec.serviceAccountName, `${cell}--sts-service`);
        // The WasmPlugin and AuthorizationPolicy selectors stay on the app label.
        for (const s of cellYaml.services) {
          assert.ok(objs.some((o) => o.kind === "AuthorizationPolicy" && o.spec.selector?.matchLabels?.app === s.name), `AuthorizationPolicy for ${s.name}`);
        }
      });

      it("the gateway accepts only edge tokens for the cell's declared audiences", () => {
        const cellYaml = parseAllDocuments(readFileSync(join(root, "istio/examples", cell, "cell.yaml"), "utf8"))[0].toJS();
        assert.ok(cellYaml.globalIssuer.audiences?.length > 0, "the example declares globalIssuer.audiences");
        const gw = objectsIn(a()).map((o) => o.obj).find((o) => o.kind === "WasmPlugin" && o.spec.pluginConfig.mode === "gateway");
        assert.deepEqual(gw.spec.pluginConfig.jwtRules[0].audiences, cellYaml.globalIssuer.audiences);
      });

      it("runs the STS image with an OPA sidecar whose policies come from a ConfigMap", () => {
        const objs = objectsIn(a()).map((o) => o.obj);
        const dep = objs.find((o) => o.kind === "Deployment");
        assert.ok(dep, "the STS Deployment");
        const [sts, opa] = dep.spec.template.spec.containers;
        assert.deepEqual(sts.args, ["--config", "/etc/cellauth/sts.json"]);
        assert.match(opa.image, /^openpolicyagent\/opa:\d+\.\d+\.\d+/);
        assert.deepEqual(opa.args.filter((x: string) => !x.startsWith("--ignore") && x !== "--skip-version-check"),
          ["run", "--server", "--addr", "127.0.0.1:8181", "--authentication=token", "--authorization=basic", "--watch", "/policies", "/opa-authz"]);
        const vol = dep.spec.template.spec.volumes.find((v: any) => v.name === opa.volumeMounts[0].name);
        const policies = objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === vol.configMap.name);
        assert.ok(policies, "the policies ConfigMap");
        assert.match(policies.data["cellery.rego"], /package cellery\.io/);
      });

      it("runs STS replicas that share a read-only keys Secret, with a PDB, a /readyz probe, a drain on stop and a pinned image", () => {
        const objs = objectsIn(a()).map((o) => o.obj);
        const cellYaml = parseAllDocuments(readFileSync(join(root, "istio/examples", cell, "cell.yaml"), "utf8"))[0].toJS();
        const name = `${cell}--sts-service`;
        const dep = objs.find((o) => o.kind === "Deployment" && o.metadata.name === name);
        assert.equal(dep.spec.replicas, cellYaml.sts.replicas ?? 2);
        assert.ok(dep.spec.replicas >= 2, "more than one replica by default");
        assert.deepEqual(dep.spec.strategy.rollingUpdate, { maxUnavailable: 0, maxSurge: 1 });
        const pod = dep.spec.template.spec;
        const sts = pod.containers.find((c: any) => c.name === "sts");
        // Pinned by digest: the one cell.yaml gives (the image scripts/build-sts-image.sh built and was pushed).
        assert.equal(sts.image, `${cellYaml.sts.image}@sha256:${cellYaml.sts.sha256}`);
        // Keys: a Secret (never rendered: no private key in git), mounted read-only, 0440 with fsGroup 1000.
        const keysMount = sts.volumeMounts.find((m: any) => m.mountPath === "/var/run/cellauth/keys");
        assert.equal(keysMount.readOnly, true);
        const keysVol = pod.volumes.find((v: any) => v.name === keysMount.name);
        assert.deepEqual(keysVol.secret, { secretName: `${name}-keys`, defaultMode: 0o440 });
        assert.equal(pod.securityContext.fsGroup, 1000);
        assert.equal(pod.securityContext.runAsUser, 1000);
        assert.ok(!objs.some((o) => o.kind === "Secret"), "the keys Secret is created by the operator, not rendered");
        for (const c of pod.containers.filter((x: any) => x.name !== "sts")) {
          assert.ok(!(c.volumeMounts ?? []).some((m: any) => m.name === keysMount.name), `${c.name} must not mount the keys`);
        }
        // OPA's API token: one operator-created Secret (not rendered); the STS mounts only the
        // token (its opa.tokenFile), OPA only the system.authz policy (which holds a hash of it).
        const opa = pod.containers.find((c: any) => c.name === "opa");
        const projection = (c: any, mountPath: string) => {
          const m = c.volumeMounts.find((x: any) => x.mountPath === mountPath);
          assert.ok(m?.readOnly, `${c.name} mounts ${mountPath} read-only`);
          return pod.volumes.find((v: any) => v.name === m.name).secret;
        };
        assert.deepEqual(projection(sts, "/var/run/cellauth/opa"), { secretName: `${name}-opa`, defaultMode: 0o440, items: [{ key: "token", path: "token" }] });
        assert.deepEqual(projection(opa, "/opa-authz"), { secretName: `${name}-opa`, defaultMode: 0o440, items: [{ key: "authz.rego", path: "authz.rego" }] });
        const stsJson = JSON.parse(objs.find((o) => o.kind === "ConfigMap" && o.metadata.name === `${name}-config`).data["sts.json"]);
        assert.deepEqual(stsJson.opa, { url: "http://127.0.0.1:8181", tokenFile: "/var/run/cellauth/opa/token" });
        // Readiness on /readyz through an exec probe: the STS binds 127.0.0.1 behind its sidecar,
        // where kubelet's HTTP probes (to the pod IP) cannot reach it.
        assert.equal(sts.readinessProbe.exec.command[0], "node");
        assert.match(sts.readinessProbe.exec.command.at(-1), new RegExp(`http://127\\.0\\.0\\.1:${cellYaml.sts.port ?? 8080}/readyz`));
        assert.equal(sts.securityContext.readOnlyRootFilesystem, true);
        assert.deepEqual(sts.lifecycle.preStop, { sleep: { seconds: 5 } });
        assert.ok(pod.terminationGracePeriodSeconds >= 5 + 10 + 5, "room for the preStop sleep and a 10 s drain");
        const pdb = objs.find((o) => o.kind === "PodDisruptionBudget");
        assert.ok(pdb, "a PodDisruptionBudget");
        assert.deepEqual(pdb.spec, { maxUnavailable: 1, selector: { matchLabels: { app: name } } });
      });

      it("pins the STS image from build/sts-oci/DIGEST when cell.yaml gives no sts.sha256", () => {
        const src = readFileSync(join(root, "istio/examples", cell, "cell.yaml"), "utf8");
        const noPin = join(tmp, `${cell}-nopin`);
        const ociDir = join(noPin, "sts-oci");
        mkdirSync(ociDir, { recursive: true });
        // Same directory as the original, so the relative policy paths still resolve.
        const yamlPath = join(root, "istio/examples", cell, `.cell-nopin-${process.pid}.yaml`);
        const digest = "ab".repeat(32);
        try {
          const lines = src.split("\n");
          const stsAt = lines.findIndex((l) => l === "sts:");
          const pruned = [...lines.slice(0, stsAt), ...lines.slice(stsAt).filter((l) => !/^  sha256: /.test(l))].join("\n");
          writeFileSync(yamlPath, pruned);
          writeFileSync(join(ociDir, "DIGEST"), `sha256:${digest}\n`);
          cli(["render", yamlPath, "--out", join(noPin, "out"), "--sts-oci-dir", ociDir]);
          const dep = objectsIn(join(noPin, "out")).map((o) => o.obj).find((o) => o.kind === "Deployment");
          assert.match(dep.spec.template.spec.containers[0].image, new RegExp(`^registry\\.example/cellauth-sts:0\\.1\\.0@sha256:${digest}$`));
        } finally {
          rmSync(yamlPath, { force: true });
        }
      });
    });
  }
});
