/**
 * Bytes on the wire for the `otlp` sink: one POST with its timeout, over
 * keep-alive agents (TCP, TLS, or a Unix domain socket), the retry waits, and
 * gzip off the event loop. It knows nothing of spans, batches or accounting
 * (otlp-signal-exporter.ts does).
 */
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { gzip as gzipCallback } from 'node:zlib';

/** Where a request goes and how long it may take. */
export interface OtlpTarget {
  url: URL;
  socketPath: string | undefined;
  timeoutMs: number;
}

export interface PostResult {
  status: number;
  body: Uint8Array;
  retryAfterMs: number | undefined;
}

/** Retry-After as seconds or an HTTP date, in ms from now. */
function retryAfter(res: IncomingMessage): number | undefined {
  const raw = res.headers['retry-after'];
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** gzip on libuv's thread pool, so that a large body does not stall the worker's event loop. */
export function gzip(body: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => gzipCallback(body, (error, out) => (error === null ? resolve(out) : reject(error))));
}

/** The way a target is named in errors: its URL, and the socket when there is one. */
export function describeTarget(target: Pick<OtlpTarget, 'url' | 'socketPath'>): string {
  return target.socketPath === undefined ? target.url.href : `${target.url.pathname} on unix socket ${target.socketPath}`;
}

export class OtlpTransport {
  // The agents pool sockets per host and per socketPath alike.
  readonly #httpAgent = new HttpAgent({ keepAlive: true });
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true });
  readonly #sleeping = new Map<NodeJS.Timeout, () => void>();
  #closing = false;

  /** True once close() started: waits end at once and no retry is made. */
  get closing(): boolean {
    return this.#closing;
  }

  /** Stop every wait now (each resolves); the sockets stay until destroy(). */
  close(): void {
    this.#closing = true;
    for (const [timer, resolve] of this.#sleeping) {
      clearTimeout(timer);
      resolve();
    }
    this.#sleeping.clear();
  }

  /** Free the sockets. */
  destroy(): void {
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  /** A retry's wait; cut short by close(). */
  sleep(ms: number): Promise<void> {
    if (this.#closing || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#sleeping.delete(timer);
        resolve();
      }, ms);
      this.#sleeping.set(timer, resolve);
    });
  }

  /** One POST. Rejects on network errors and timeouts. */
  post(target: OtlpTarget, headers: Record<string, string>, body: Uint8Array): Promise<PostResult> {
    const https = target.url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(target.url, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(body.byteLength) },
        agent: https ? this.#httpsAgent : this.#httpAgent,
        ...(target.socketPath === undefined ? {} : { socketPath: target.socketPath }),
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer from ${describeTarget(target)} within ${target.timeoutMs} ms`)), target.timeoutMs);
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), retryAfterMs: retryAfter(res) });
        });
      });
      req.end(body);
    });
  }
}
