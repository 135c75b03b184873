// A small certificate authority for one SPIFFE trust domain, made at start-up (demo and tests),
// as Istio's CA would: every workload gets an X.509 SVID whose URI SAN is its SPIFFE ID,
// spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>. Keys are P-256; files are 0600.
//
//   const ca = await SpiffeCa.create(dir);                 // trust domain cluster.local
//   const svid = await ca.issue("reviews", "reviews-service");
//   svid.spiffeId, svid.certFile, svid.keyFile, ca.caFile
import { webcrypto, X509Certificate, createHash } from "node:crypto";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import "reflect-metadata"; // @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs it
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 24 * 3600 * 1000;

export const DEFAULT_TRUST_DOMAIN = "cluster.local";

export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

/** An X.509 SVID: the certificate (PEM), its private key (PKCS#8 PEM) and where both were written. */
export interface Svid {
  spiffeId: string;
  certPem: string;
  keyPem: string;
  certFile: string;
  keyFile: string;
  /** RFC 8705 x5t#S256: base64url SHA-256 of the certificate's DER. */
  thumbprint: string;
}

export interface IssueOptions {
  /** A SPIFFE ID of another trust domain (tests: a peer this CA signed but the mesh must refuse). */
  trustDomain?: string;
  /** Leave out the URI SAN (tests: a certificate from the right CA that names no workload). */
  noSpiffeId?: boolean;
}

function pem(tag: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64").replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${tag}-----\n${b64}\n-----END ${tag}-----\n`;
}

function serial(): string {
  // Positive, 16 bytes.
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] &= 0x7f;
  b[0] |= 0x01;
  return Buffer.from(b).toString("hex");
}

export class SpiffeCa {
  private constructor(
    readonly trustDomain: string,
    readonly dir: string,
    readonly caPem: string,
    readonly caFile: string,
    private readonly caCert: x509.X509Certificate,
    private readonly caKey: CryptoKey,
  ) {}

  /** A new self-signed root for `trustDomain`, written to `<dir>/ca.pem`. */
  static async create(dir: string, trustDomain = DEFAULT_TRUST_DOMAIN): Promise<SpiffeCa> {
    mkdirSync(dir, { recursive: true });
    const keys = await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
    const now = Date.now();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `O=cellauth, CN=${trustDomain} root`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 2 * DAY),
      signingAlgorithm: ALG,
      keys: keys as CryptoKeyPair,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        new x509.SubjectAlternativeNameExtension([{ type: "url", value: `spiffe://${trustDomain}` }]),
        await x509.SubjectKeyIdentifierExtension.create((keys as CryptoKeyPair).publicKey),
      ],
    });
    const caPem = cert.toString("pem") + "\n";
    const caFile = join(dir, "ca.pem");
    writeFileSync(caFile, caPem, { mode: 0o644 });
    return new SpiffeCa(trustDomain, dir, caPem, caFile, cert, (keys as CryptoKeyPair).privateKey);
  }

  spiffeId(namespace: string, serviceAccount: string): string {
    return spiffeId(this.trustDomain, namespace, serviceAccount);
  }

  /** Issues the SVID of `spiffe://<td>/ns/<namespace>/sa/<serviceAccount>`, valid for client and server use on 127.0.0.1. */
  async issue(namespace: string, serviceAccount: string, opts: IssueOptions = {}): Promise<Svid> {
    const id = spiffeId(opts.trustDomain ?? this.trustDomain, namespace, serviceAccount);
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
    const now = Date.now();
    const san: x509.JsonGeneralName[] = [
      { type: "dns", value: "localhost" },
      { type: "ip", value: "127.0.0.1" },
    ];
    if (!opts.noSpiffeId) san.unshift({ type: "url", value: id });
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `O=cellauth`,
      issuer: this.caCert.subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + DAY),
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: this.caKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
        new x509.SubjectAlternativeNameExtension(san, true),
        await x509.AuthorityKeyIdentifierExtension.create(this.caCert),
      ],
    });
    const certPem = cert.toString("pem") + "\n";
    const keyPem = pem("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
    const base = `${namespace}.${serviceAccount}${opts.trustDomain ? "." + opts.trustDomain : ""}${opts.noSpiffeId ? ".nosan" : ""}`;
    const certFile = join(this.dir, `${base}.crt`);
    const keyFile = join(this.dir, `${base}.key`);
    writeFileSync(certFile, certPem, { mode: 0o644 });
    writeFileSync(keyFile, keyPem, { mode: 0o600 });
    return { spiffeId: id, certPem, keyPem, certFile, keyFile, thumbprint: thumbprintOf(certPem) };
  }
}

/** RFC 8705 x5t#S256 of a PEM certificate. */
export function thumbprintOf(certPem: string): string {
  return createHash("sha256").update(new X509Certificate(certPem).raw).digest("base64url");
}
