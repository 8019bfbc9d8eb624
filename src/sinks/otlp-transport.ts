/**
 * Bytes on the wire for the `otlp` sink: one POST with its timeout, over
 * keep-alive connections (TCP, TLS, or a Unix domain socket), the retry
 * waits, and gzip off the event loop. It knows nothing of spans, batches or
 * accounting (otlp-signal-exporter.ts does).
 *
 * The client is a small HTTP/1.1 one of its own over `net`/`tls` sockets:
 * node:http cost the dispatcher worker some 100 µs of CPU a request
 * whatever its size (ClientRequest and IncomingMessage setup, header
 * validation, the agent's bookkeeping, a readable stream per answer), this
 * one a few. It sends one request at a time per connection, the head and the
 * body in one write, and reads the answer's status, `Retry-After`,
 * `Connection`, `Keep-Alive` and a body (`Content-Length`, chunked, or up to
 * the close), skipping 1xx answers. One timer serves every request in flight.
 */
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { performance } from 'node:perf_hooks';
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

/** gzip on libuv's thread pool, so that a large body does not stall the worker's event loop. */
export function gzip(body: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => gzipCallback(body, (error, out) => (error === null ? resolve(out) : reject(error))));
}

/** The way a target is named in errors: its URL, and the socket when there is one. */
export function describeTarget(target: Pick<OtlpTarget, 'url' | 'socketPath'>): string {
  return target.socketPath === undefined ? target.url.href : `${target.url.pathname} on unix socket ${target.socketPath}`;
}

/** Retry-After as seconds or an HTTP date, in ms from now. */
export function parseRetryAfter(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (raw.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

/** A partial-success answer is a few bytes; past this the body is read and thrown away (and reads as empty). */
const MAX_ANSWER_BODY = 64 * 1024;
/** The longest answer head (status line and headers) accepted. */
const MAX_ANSWER_HEAD = 64 * 1024;
/** An idle connection is let go before the server's `Keep-Alive: timeout` by this much, so no request races its close. */
const KEEP_ALIVE_MARGIN_MS = 1000;
/** How long an idle connection is kept when the server gives no `Keep-Alive: timeout` (node:http servers close at 5 s). */
const DEFAULT_IDLE_MS = 4000;
const MAX_TIMER_MS = 2 ** 31 - 1;
const HEAD_END = Buffer.from('\r\n\r\n', 'latin1');
const CRLF = Buffer.from('\r\n', 'latin1');
const EMPTY = new Uint8Array(0);

/** RFC 9110 field-name token, and a field value as node:http takes it: tab, visible ASCII, space and obs-text (0x80-0xFF). */
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

interface Answer {
  status: number;
  retryAfter: string | undefined;
  keepAlive: boolean;
  keepAliveMs: number | undefined;
  /** 'length': `remaining` bytes; 'chunked': chunk by chunk; 'close': up to the end of the stream; 'none': no body. */
  framing: 'length' | 'chunked' | 'close' | 'none';
  remaining: number;
  chunks: Buffer[];
  bodyBytes: number;
}

interface Request {
  /** On performance.now()'s clock, which a wall-clock step does not move. */
  deadline: number;
  resolve(result: PostResult): void;
  reject(error: Error): void;
  target: OtlpTarget;
}

/**
 * One keep-alive connection: at most one request on it at a time. It parses
 * the answer as bytes arrive and settles its request once the answer is whole.
 */
class Connection {
  readonly socket: Socket;
  request: Request | null = null;
  #buffer: Buffer | null = null;
  #answer: Answer | null = null;
  /** Inside a chunked body: bytes of the current chunk still to come (-1: at a size line; -2: in the trailer). */
  #chunkLeft = -1;
  idleUntil = 0;
  dead = false;

  constructor(
    readonly pool: Pool,
    readonly client: HttpClient,
  ) {
    const { url, socketPath } = pool;
    const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
    if (url.protocol === 'https:') {
      // TLS over a Unix socket too (tls.connect takes `path`): the certificate is still checked against the URL's host.
      this.socket = tlsConnect({
        ...client.tls,
        ...(socketPath !== undefined ? { path: socketPath } : { host, port: Number(url.port || 443) }),
        ...(isIP(host) === 0 ? { servername: host } : {}),
        ALPNProtocols: ['http/1.1'],
      });
    } else if (socketPath !== undefined) this.socket = netConnect({ path: socketPath });
    else this.socket = netConnect({ host, port: Number(url.port || 80) });
    this.socket.setNoDelay(true);
    this.socket.on('data', (data: Buffer) => this.#data(data));
    this.socket.on('end', () => this.#end());
    this.socket.on('error', (error: Error) => this.fail(error));
    this.socket.on('close', () => this.fail(new Error(`connection to ${this.#where()} closed before the answer`)));
  }

  /** The request's own target (its path, not that of the pool's first URL) for errors. */
  #where(): string {
    return describeTarget(this.request?.target ?? this.pool);
  }

  send(request: Request, head: Buffer, body: Uint8Array): void {
    this.request = request;
    this.#answer = null;
    this.#buffer = null;
    const socket = this.socket;
    // One writev of head and body.
    socket.cork();
    socket.write(head);
    if (body.byteLength > 0) socket.write(body);
    socket.uncork();
  }

  /** The connection is unusable: its request (if any) fails, and it leaves the pool. */
  fail(error: Error): void {
    if (!this.dead) {
      this.dead = true;
      this.pool.forget(this);
      this.socket.destroy();
    }
    const request = this.request;
    if (request === null) return;
    this.request = null;
    this.client.settled(this);
    request.reject(error);
  }

  #end(): void {
    const answer = this.#answer;
    // An answer framed by the end of the stream is whole now.
    if (answer !== null && answer.framing === 'close' && this.request !== null) {
      this.#finish(answer, false);
      return;
    }
    this.fail(new Error(`connection to ${this.#where()} closed before the answer`));
  }

  #data(data: Buffer): void {
    if (this.request === null) {
      // Bytes nobody asked for: the connection cannot be trusted for the next request.
      this.fail(new Error(`unexpected bytes from ${this.#where()}`));
      return;
    }
    let buf = this.#buffer === null ? data : Buffer.concat([this.#buffer, data]);
    this.#buffer = null;
    while (this.request !== null && !this.dead) {
      if (this.#answer === null) {
        const end = buf.indexOf(HEAD_END);
        if (end < 0) {
          if (buf.length > MAX_ANSWER_HEAD) this.fail(new Error(`an answer head over ${MAX_ANSWER_HEAD} bytes from ${this.#where()}`));
          else this.#buffer = buf;
          return;
        }
        const answer = this.#head(buf.toString('latin1', 0, end));
        buf = buf.subarray(end + 4);
        if (answer === undefined) return;
        // 1xx: an interim answer; the real one follows.
        if (answer.status < 200) continue;
        this.#answer = answer;
        this.#chunkLeft = -1;
        if (answer.framing === 'none' || (answer.framing === 'length' && answer.remaining === 0)) {
          this.#finish(answer, buf.length > 0);
          return;
        }
      }
      const answer = this.#answer!;
      buf = this.#body(answer, buf);
      if (this.request === null || this.dead) return;
      if (answer.framing !== 'close' && answer.remaining === 0) {
        this.#finish(answer, buf.length > 0);
        return;
      }
      if (buf.length === 0) return;
      // A chunked body needs more than `buf` to go on: keep it for the next bytes.
      this.#buffer = buf;
      return;
    }
  }

  /** Status line and headers; undefined (and the connection failed) when they do not parse. */
  #head(text: string): Answer | undefined {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.([01]) (\d{3})(?: |$)/.exec(lines[0]!);
    if (m === null) {
      this.fail(new Error(`not an HTTP/1.x answer from ${this.#where()}: ${JSON.stringify(lines[0]!.slice(0, 80))}`));
      return undefined;
    }
    const status = Number(m[2]);
    let keepAlive = m[1] === '1';
    let length: number | undefined;
    let chunked = false;
    let retryAfter: string | undefined;
    let keepAliveMs: number | undefined;
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        const n = Number(value);
        if (!/^\d+$/.test(value) || (length !== undefined && length !== n)) {
          this.fail(new Error(`a bad Content-Length ${JSON.stringify(value)} from ${this.#where()}`));
          return undefined;
        }
        length = n;
      } else if (name === 'transfer-encoding') chunked = /(?:^|,)\s*chunked\s*$/i.test(value);
      else if (name === 'connection') {
        const v = value.toLowerCase();
        if (/(?:^|,)\s*close\s*(?:,|$)/.test(v)) keepAlive = false;
        else if (/(?:^|,)\s*keep-alive\s*(?:,|$)/.test(v)) keepAlive = true;
      } else if (name === 'retry-after') retryAfter = value;
      else if (name === 'keep-alive') {
        const t = /(?:^|,)\s*timeout\s*=\s*(\d+)/i.exec(value);
        if (t !== null) keepAliveMs = Number(t[1]) * 1000;
      }
    }
    const noBody = status < 200 || status === 204 || status === 304;
    const framing = noBody ? 'none' : chunked ? 'chunked' : length !== undefined ? 'length' : 'close';
    // A chunked body is not whole (remaining 1) until its trailer's end sets 0.
    const remaining = framing === 'chunked' ? 1 : (length ?? 0);
    return { status, retryAfter, keepAlive: keepAlive && framing !== 'close', keepAliveMs, framing, remaining, chunks: [], bodyBytes: 0 };
  }

  /** Takes what `buf` holds of the body; returns what is left past it (or what a chunked body cannot use yet). */
  #body(answer: Answer, buf: Buffer): Buffer {
    if (answer.framing === 'close') {
      this.#keep(answer, buf);
      return EMPTY_BUFFER;
    }
    if (answer.framing === 'length') {
      const n = Math.min(answer.remaining, buf.length);
      this.#keep(answer, buf.subarray(0, n));
      answer.remaining -= n;
      return buf.subarray(n);
    }
    // chunked
    while (buf.length > 0) {
      if (this.#chunkLeft > 0) {
        const n = Math.min(this.#chunkLeft, buf.length);
        this.#keep(answer, buf.subarray(0, n));
        this.#chunkLeft -= n;
        buf = buf.subarray(n);
        if (this.#chunkLeft === 0) this.#chunkLeft = -3; // the CRLF after the chunk's data
        continue;
      }
      const eol = buf.indexOf(CRLF);
      if (eol < 0) return buf;
      const line = buf.toString('latin1', 0, eol);
      buf = buf.subarray(eol + 2);
      if (this.#chunkLeft === -3) {
        if (line !== '') {
          this.fail(new Error(`a bad chunk end from ${this.#where()}`));
          return EMPTY_BUFFER;
        }
        this.#chunkLeft = -1;
      } else if (this.#chunkLeft === -2) {
        // The trailer ends at an empty line: the body is whole.
        if (line === '') {
          this.#chunkLeft = -1;
          answer.remaining = 0;
          return buf;
        }
      } else {
        const size = Number.parseInt(line, 16);
        if (!/^[0-9a-fA-F]+[ \t]*(?:;.*)?$/.test(line) || !Number.isSafeInteger(size)) {
          this.fail(new Error(`a bad chunk size ${JSON.stringify(line.slice(0, 40))} from ${this.#where()}`));
          return EMPTY_BUFFER;
        }
        this.#chunkLeft = size === 0 ? -2 : size;
      }
    }
    return buf;
  }

  #keep(answer: Answer, part: Buffer): void {
    if (part.length === 0) return;
    answer.bodyBytes += part.length;
    if (answer.bodyBytes <= MAX_ANSWER_BODY) answer.chunks.push(part);
  }

  #finish(answer: Answer, extraBytes: boolean): void {
    const request = this.request!;
    this.request = null;
    this.#answer = null;
    this.#buffer = null;
    this.client.settled(this);
    const body = answer.bodyBytes > MAX_ANSWER_BODY ? EMPTY : answer.chunks.length === 1 ? answer.chunks[0]! : answer.chunks.length === 0 ? EMPTY : Buffer.concat(answer.chunks);
    // An answer can come before our body is all written (an early 413, say): the rest would run into the next request.
    const reusable = answer.keepAlive && !extraBytes && !this.client.destroyed && this.socket.writableLength === 0;
    if (reusable) this.pool.release(this, answer.keepAliveMs);
    else {
      this.dead = true;
      this.pool.forget(this);
      this.socket.destroy();
    }
    request.resolve({ status: answer.status, body, retryAfterMs: parseRetryAfter(answer.retryAfter) });
  }
}

const EMPTY_BUFFER = Buffer.alloc(0);

/** The request head up to the Content-Length value; throws on a header that would not be one. */
function headPrefix(host: string, path: string, headers: Record<string, string>): string {
  let prefix = `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: keep-alive\r\n`;
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'content-length' || lower === 'host' || lower === 'connection' || lower === 'transfer-encoding') continue;
    if (!TOKEN.test(name)) throw new TypeError(`header name ${JSON.stringify(name)} is not a valid HTTP token`);
    if (!FIELD_VALUE.test(value)) throw new TypeError(`header ${name} has a value with a control character or one past \\xFF: ${JSON.stringify(value)}`);
    prefix += `${name}: ${value}\r\n`;
  }
  return `${prefix}Content-Length: `;
}

interface Route {
  pool: Pool;
  url: URL;
  socketPath: string | undefined;
  path: string;
  headers: Record<string, string> | undefined;
  prefix: string;
}

/** The connections to one origin (or one Unix socket). */
class Pool {
  readonly idle: Connection[] = [];
  readonly all = new Set<Connection>();

  constructor(
    readonly url: URL,
    readonly socketPath: string | undefined,
  ) {}

  /** A usable idle connection, else a new one. */
  take(client: HttpClient): Connection {
    const now = performance.now();
    while (this.idle.length > 0) {
      const c = this.idle.pop()!;
      if (!c.dead && c.idleUntil > now) return c;
      // Close to the server's idle timeout: a request now could cross its close.
      this.forget(c);
      c.dead = true;
      c.socket.destroy();
    }
    const c = new Connection(this, client);
    this.all.add(c);
    return c;
  }

  release(c: Connection, keepAliveMs: number | undefined): void {
    c.idleUntil = performance.now() + (keepAliveMs === undefined ? DEFAULT_IDLE_MS : Math.max(0, keepAliveMs - KEEP_ALIVE_MARGIN_MS));
    // Idle sockets do not keep the worker alive.
    c.socket.unref();
    this.idle.push(c);
  }

  forget(c: Connection): void {
    this.all.delete(c);
    const i = this.idle.indexOf(c);
    if (i >= 0) this.idle.splice(i, 1);
  }
}

/** The pools, the requests in flight and their one timer. */
class HttpClient {
  readonly #pools = new Map<string, Pool>();
  #routes = new WeakMap<OtlpTarget, Route>();
  readonly #inFlight = new Set<Connection>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  destroyed = false;

  constructor(readonly tls: TlsOptions) {}

  /**
   * A target's pool, path and request head, worked out once per target
   * object and header set (URL getters and header checks are not free).
   */
  #route(target: OtlpTarget, headers: Record<string, string>): Route {
    let route = this.#routes.get(target);
    if (route === undefined || route.url !== target.url || route.socketPath !== target.socketPath) {
      const { url, socketPath } = target;
      const key = socketPath === undefined ? url.origin : `unix:${socketPath}`;
      let pool = this.#pools.get(key);
      if (pool === undefined) {
        pool = new Pool(url, socketPath);
        this.#pools.set(key, pool);
      }
      route = { pool, url, socketPath, path: url.pathname + url.search, headers: undefined, prefix: '' };
      this.#routes.set(target, route);
    }
    if (route.headers !== headers) {
      route.prefix = headPrefix(route.url.host, route.path, headers);
      route.headers = headers;
    }
    return route;
  }

  post(target: OtlpTarget, headers: Record<string, string>, body: Uint8Array): Promise<PostResult> {
    return new Promise<PostResult>((resolve, reject) => {
      const { pool, prefix } = this.#route(target, headers);
      const head = Buffer.from(`${prefix}${body.byteLength}\r\n\r\n`, 'latin1');
      const c = pool.take(this);
      c.socket.ref();
      const deadline = performance.now() + target.timeoutMs;
      this.#inFlight.add(c);
      if (deadline < this.#timerAt) this.#arm(deadline);
      c.send({ deadline, resolve, reject, target }, head, body);
    });
  }

  settled(c: Connection): void {
    this.#inFlight.delete(c);
  }

  /**
   * The timer is left to fire even when nothing is in flight any more (it
   * then finds nothing to do): clearing and setting one per request is what
   * this is here to avoid. Unref'd: a request in flight holds the worker by
   * its socket.
   */
  #arm(at: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timerAt = at;
    // setTimeout takes at most 2^31-1 ms (a longer delay fires at once); #expire re-arms for what is left.
    this.#timer = setTimeout(() => this.#expire(), Math.min(MAX_TIMER_MS, Math.max(0, at - performance.now())));
    this.#timer.unref();
  }

  /** Fail the requests past their deadline; wake again at the next one. */
  #expire(): void {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    const now = performance.now();
    let next = Infinity;
    for (const c of [...this.#inFlight]) {
      const r = c.request;
      if (r === null) continue;
      if (r.deadline <= now) c.fail(new Error(`no answer from ${describeTarget(r.target)} within ${r.target.timeoutMs} ms`));
      else if (r.deadline < next) next = r.deadline;
    }
    if (next !== Infinity) this.#arm(next);
  }

  /** Close every connection, busy or idle (their requests fail). */
  destroy(): void {
    this.destroyed = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
    for (const pool of this.#pools.values()) {
      for (const c of [...pool.all]) c.fail(new Error('transport destroyed'));
    }
    this.#pools.clear();
    this.#routes = new WeakMap();
  }
}

/** TLS settings beyond the defaults (the system's CAs, `NODE_EXTRA_CA_CERTS`): a test's own CA. */
export type TlsOptions = Pick<ConnectionOptions, 'ca'>;

export class OtlpTransport {
  readonly #client: HttpClient;
  readonly #sleeping = new Map<NodeJS.Timeout, () => void>();
  #closing = false;

  constructor(tls: TlsOptions = {}) {
    this.#client = new HttpClient(tls);
  }

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
    this.#client.destroy();
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

  /** One POST. Rejects on network errors, timeouts and answers that are not HTTP. */
  post(target: OtlpTarget, headers: Record<string, string>, body: Uint8Array): Promise<PostResult> {
    return this.#client.post(target, headers, body);
  }
}
