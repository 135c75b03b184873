// Public shapes of the host emulator: requests, results, http calls, logs.
import type { Pair } from './pairs.ts';

export type HeaderInput = Record<string, string> | readonly Pair[];

export interface RequestSpec {
  method?: string;
  path?: string;
  authority?: string;
  scheme?: string;
  headers?: HeaderInput;
  body?: string | Uint8Array;
  /** Stream properties by dotted path, e.g. {'connection.uri_san_peer_certificate': 'spiffe://...'} (the mTLS peer). */
  properties?: Record<string, string>;
}

export interface UpstreamAnswer { status?: number; headers?: HeaderInput; body?: string }

export interface HttpCallAnswer { status: number; headers?: HeaderInput; body?: string | Uint8Array; trailers?: HeaderInput }

// What a call handler may return: an answer, 'fail' (a reset: delivered as 0 headers, 0 body
// like Envoy's onHttpCallFailure), 'timeout' (Envoy's 504 "upstream request timeout"), or
// undefined to leave the call pending for the test to settle with respond/failCall.
export type CallOutcome = HttpCallAnswer | 'fail' | 'timeout' | undefined;
export type CallHandler = (call: HttpCall) => CallOutcome | Promise<CallOutcome>;

export interface HttpCall {
  token: number;
  cluster: string;
  headers: Pair[];
  /** Header lookup by lower-case name (first value). */
  header(name: string): string | undefined;
  body: Buffer;
  trailers: Pair[];
  timeoutMs: number;
  /** Emulated clock (ms) when the call was made. */
  sentAtMs: number;
  /** The context whose host call made it (a stream id when made while a stream was effective). */
  contextId: number;
}

export interface LogEntry { level: number; levelName: string; message: string; contextId: number }

export interface RequestOptions {
  /** Answers calls made while this stream is the current or effective context. */
  onHttpCall?: CallHandler;
  /** What the upstream answers when the request continues. Default 200, empty body. */
  upstream?: UpstreamAnswer | ((upstreamHeaders: Pair[]) => UpstreamAnswer);
  /** Real-time bound on a paused stream, so that a test can never hang. Default 10 s. */
  guardMs?: number;
}

export interface RequestResult {
  kind: 'continue' | 'local' | 'trap';
  status: number;
  body: string;
  /** Response-code details of a local reply, spaces replaced by underscores as Envoy does. */
  details?: string;
  /** Response headers after the filter's on_response_headers (lower-case names; repeats joined by ","). */
  responseHeaders: Record<string, string>;
  responseHeaderPairs: Pair[];
  /** Request headers after the filter: what the upstream would see (kind 'continue'). */
  upstreamHeaders: Record<string, string>;
  upstreamHeaderPairs: Pair[];
  logs: LogEntry[];
  httpCalls: HttpCall[];
  /** Return value of proxy_on_request_headers. */
  headersAction?: number;
  trap?: string;
  contextId: number;
}
