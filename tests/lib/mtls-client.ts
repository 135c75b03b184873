// An HTTPS client for mutual-TLS listeners (Envoy sidecars, the STS): presents a workload's
// SVID (or no certificate, or a foreign one) and verifies the server against the CA. One fresh
// connection per request, so a test sees each handshake's outcome.
import { request } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { isIP } from 'node:net';

export interface ClientCert { certPem: string; keyPem: string }

export interface MtlsRequest {
  /** The trust domain's CA bundle (PEM) that the server certificate must chain to. */
  ca: string;
  /** The client's SVID; omit to connect without a client certificate. */
  client?: ClientCert;
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs?: number;
}

export interface MtlsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json(): any;
}

export function mtlsFetch(url: string, r: MtlsRequest): Promise<MtlsResponse> {
  const target = new URL(url).hostname;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      // The server is checked against the address dialled, never a Host header a test sets.
      servername: isIP(target) ? undefined : target,
      checkServerIdentity: (_host: string, cert: PeerCertificate) => checkServerIdentity(target, cert),
      method: r.method ?? 'GET',
      headers: { ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body)) } : {}), ...r.headers },
      ca: r.ca,
      cert: r.client?.certPem,
      key: r.client?.keyPem,
      agent: false,
      timeout: r.timeoutMs ?? 10_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json: () => JSON.parse(text) });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(r.body);
  });
}
