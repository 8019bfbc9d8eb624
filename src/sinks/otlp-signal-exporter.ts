/**
 * One signal's export path in the `otlp` sink (spans, log records, or
 * metrics): batching, encoding, a queue bounded in bytes, several requests
 * in flight, retries, and the accounting.
 *
 *   push ─> batch ──(maxExportBatchSize, or flush)──> encode ─> [gzip, off the loop] ─┐
 *           maxQueueSize: items not yet sent        bodies bounded by maxQueueBytes    │
 *                                                                                      v
 *           settle: exported / rejected / failed <── POST, retried <── up to maxConcurrentRequests
 *
 * A batch is encoded the moment it is formed, so what waits is bytes, not
 * objects. The encoding is behind `SignalCodec`, two functions the sink
 * supplies. Every item taken in is, at any moment, exactly one of exported,
 * rejected, failed, dropped or pending, and moves once: a batch's items are
 * counted together when its request settles.
 */
import type { OtlpCompression, OtlpProtocol } from './otlp-config.js';
import { describeTarget, gzip, type OtlpTarget, type OtlpTransport } from './otlp-transport.js';

/** The serialisation seam: a batch to its request body, and a 2xx answer's partial success. */
export interface SignalCodec<Item> {
  encode(batch: Item[]): Uint8Array;
  /** A body `encode` returned is no longer read (its request settled, or it was compressed): its memory may be reused. */
  release?(body: Uint8Array): void;
  /** How many of the batch the collector rejected, and its message ('' for none). */
  rejected(body: Uint8Array): { rejected: number; errorMessage: string };
}

/** Counts for one signal (spans, log records, or metrics exports). */
export interface OtlpSignalStats {
  /** Items taken in: each is exactly one of exported, rejected, failed, dropped or pending. */
  queued: number;
  /** Items the collector accepted. */
  exported: number;
  /** Items the collector answered as rejected (OTLP partial success). */
  rejected: number;
  /** Items given up: a non-retryable answer, attempts used up, or a body that would not encode or compress. */
  failed: number;
  /** Items dropped: past `maxQueueSize`, or in a batch whose body did not fit in `maxQueueBytes`. */
  dropped: number;
  /** Items not settled yet: batching, encoded and waiting, or in flight. */
  pending: number;
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Requests repeated after a retryable failure. */
  retried: number;
  /** Request slots held now: a request on the wire, or one waiting out its retry's backoff. */
  inFlight: number;
  /** Bytes of encoded bodies held now: waiting, in flight, or held for a retry. */
  queueBytes: number;
  /** The most `queueBytes` has been. */
  peakQueueBytes: number;
  /** The last failure, for diagnosis. */
  lastError: string | undefined;
}

export interface ExportLimits {
  maxExportBatchSize: number;
  maxQueueSize: number;
  maxQueueBytes: number;
  maxConcurrentRequests: number;
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
}

/** Where and how one signal's requests go. */
export interface SignalTarget extends OtlpTarget {
  headers: Record<string, string>;
  compression: OtlpCompression;
  protocol: OtlpProtocol;
}

/** Statuses the OTLP/HTTP specification calls retryable. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

interface Body {
  bytes: Uint8Array | undefined;
  /** Bytes counted in queueBytes for it. */
  size: number;
  items: number;
  /** The sequence number of its first item. */
  first: number;
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function newSignalStats(): OtlpSignalStats {
  return {
    queued: 0, exported: 0, rejected: 0, failed: 0, dropped: 0, pending: 0, requests: 0, retried: 0,
    inFlight: 0, queueBytes: 0, peakQueueBytes: 0, lastError: undefined,
  };
}

export class SignalExporter<Item> {
  readonly stats = newSignalStats();
  readonly #target: SignalTarget;
  readonly #headers: Record<string, string>;
  #batch: Item[] = [];
  /** Items cut into batches so far: the next batch's first sequence number. */
  #cut = 0;
  /** Encoded bodies waiting for a request slot, oldest first. */
  readonly #waiting: Body[] = [];
  #waitingItems = 0;
  /** Bodies not yet settled, in the order they were cut. */
  readonly #unsettled: Body[] = [];
  readonly #flushes: { upTo: number; resolve: () => void }[] = [];
  /** A Retry-After holds back every request of the signal until then. */
  #pausedUntil = 0;
  #resumeScheduled = false;
  /** Pending `ready()`: resolved once the queue is back under its high-water marks. */
  #readyWait: { promise: Promise<void>; resolve: () => void } | null = null;

  constructor(
    target: SignalTarget,
    readonly codec: SignalCodec<Item>,
    readonly limits: ExportLimits,
    readonly transport: OtlpTransport,
  ) {
    this.#target = target;
    this.#headers = {
      ...target.headers,
      'Content-Type': target.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
      ...(target.compression === 'gzip' ? { 'Content-Encoding': 'gzip' } : {}),
    };
  }

  get batchLength(): number {
    return this.#batch.length;
  }

  push(item: Item): void {
    this.stats.queued++;
    if (this.#batch.length + this.#waitingItems >= this.limits.maxQueueSize) {
      this.stats.dropped++;
      return;
    }
    this.#batch.push(item);
    this.stats.pending++;
    if (this.#batch.length >= this.limits.maxExportBatchSize) this.#cutBatch();
  }

  /**
   * Past half of `maxQueueSize` (items not yet sent) or of `maxQueueBytes`
   * (bodies held): the half left takes what arrives before the worker
   * stops draining into the sink (a batch of up to 4096 records).
   */
  get full(): boolean {
    const { maxQueueSize, maxQueueBytes } = this.limits;
    return this.#batch.length + this.#waitingItems >= maxQueueSize / 2 || this.stats.queueBytes >= maxQueueBytes / 2;
  }

  /** null while not `full`; else a promise that resolves once it is not. */
  ready(): Promise<void> | null {
    if (!this.full) return null;
    // A batch not yet cut leaves only at a flush, and the drain loop does not flush while it waits: send it now.
    if (this.#batch.length > 0) {
      this.#cutBatch();
      if (!this.full) return null;
    }
    if (this.#readyWait === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => {
        resolve = r;
      });
      this.#readyWait = { promise, resolve };
    }
    return this.#readyWait.promise;
  }

  #wakeReady(): void {
    if (this.#readyWait !== null && !this.full) {
      this.#readyWait.resolve();
      this.#readyWait = null;
    }
  }

  /** Resolves once everything taken in before the call is settled. Never rejects. */
  flush(): Promise<void> {
    if (this.#batch.length > 0) this.#cutBatch();
    const upTo = this.#cut;
    if (this.#settledUpTo() >= upTo) return Promise.resolve();
    return new Promise((resolve) => this.#flushes.push({ upTo, resolve }));
  }

  #cutBatch(): void {
    const batch = this.#batch;
    this.#batch = [];
    const n = batch.length;
    const first = this.#cut;
    this.#cut += n;
    let bytes: Uint8Array;
    try {
      bytes = this.codec.encode(batch);
    } catch (error) {
      this.#count(n, 'failed', `encode: ${message(error)}`);
      return;
    }
    const { maxQueueBytes } = this.limits;
    if (this.stats.queueBytes + bytes.byteLength > maxQueueBytes) {
      this.#count(n, 'dropped', `queue full: a body of ${bytes.byteLength} bytes with ${this.stats.queueBytes} of maxQueueBytes ${maxQueueBytes} held`);
      this.codec.release?.(bytes);
      return;
    }
    const body: Body = { bytes, size: bytes.byteLength, items: n, first };
    this.#hold(body.size);
    this.#unsettled.push(body);
    if (this.#target.compression !== 'gzip') return this.#ready(body);
    gzip(bytes).then(
      (zipped) => {
        this.#hold(zipped.byteLength - body.size);
        body.size = zipped.byteLength;
        body.bytes = zipped;
        this.codec.release?.(bytes);
        this.#ready(body);
      },
      (error: unknown) => this.#settle(body, 'failed', `gzip: ${message(error)}`),
    );
  }

  #hold(delta: number): void {
    this.stats.queueBytes += delta;
    if (this.stats.queueBytes > this.stats.peakQueueBytes) this.stats.peakQueueBytes = this.stats.queueBytes;
  }

  #ready(body: Body): void {
    this.#waiting.push(body);
    this.#waitingItems += body.items;
    this.#pump();
  }

  /** Start waiting bodies while there are free slots and no Retry-After holds them back. */
  #pump(): void {
    while (this.stats.inFlight < this.limits.maxConcurrentRequests && this.#waiting.length > 0) {
      const wait = this.#pausedUntil - Date.now();
      if (wait > 0 && !this.transport.closing) {
        if (!this.#resumeScheduled) {
          this.#resumeScheduled = true;
          void this.transport.sleep(wait).then(() => {
            this.#resumeScheduled = false;
            this.#pump();
          });
        }
        return;
      }
      const body = this.#waiting.shift()!;
      this.#waitingItems -= body.items;
      this.#wakeReady();
      this.stats.inFlight++;
      void this.#send(body).finally(() => {
        this.stats.inFlight--;
        this.#pump();
      });
    }
  }

  async #send(body: Body): Promise<void> {
    const { maxAttempts, initialBackoffMs, maxBackoffMs } = this.limits;
    for (let attempt = 1; ; attempt++) {
      let retryable: boolean;
      let waitMs: number | undefined;
      this.stats.requests++;
      try {
        const res = await this.transport.post(this.#target, this.#headers, body.bytes!);
        if (res.status >= 200 && res.status < 300) return this.#accepted(body, res.body);
        this.stats.lastError = `HTTP ${res.status} from ${describeTarget(this.#target)}`;
        retryable = RETRYABLE_STATUS.has(res.status);
        if (res.retryAfterMs !== undefined) {
          waitMs = Math.min(maxBackoffMs, res.retryAfterMs);
          // The collector asked the client, not this request, to wait: no other request starts before then.
          this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + waitMs);
        }
      } catch (error) {
        this.stats.lastError = message(error);
        retryable = true;
      }
      if (!retryable || attempt >= maxAttempts || this.transport.closing) return this.#settle(body, 'failed');
      this.stats.retried++;
      // Exponential backoff with jitter (50–100 % of the step), or what Retry-After asks; never past maxBackoffMs.
      const step = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (attempt - 1));
      await this.transport.sleep(waitMs ?? step * (0.5 + Math.random() / 2));
      const paused = this.#pausedUntil - Date.now();
      if (paused > 0) await this.transport.sleep(paused);
    }
  }

  #accepted(body: Body, answer: Uint8Array): void {
    let rejected = 0;
    if (answer.length > 0) {
      try {
        const partial = this.codec.rejected(answer);
        if (partial.errorMessage !== '') this.stats.lastError = `partial success: ${partial.errorMessage}`;
        if (Number.isFinite(partial.rejected)) rejected = Math.min(body.items, Math.max(0, Math.trunc(partial.rejected)));
      } catch {
        // An answer that does not parse is still a 2xx: all accepted.
      }
    }
    this.stats.rejected += rejected;
    this.#settle(body, 'exported', undefined, body.items - rejected);
  }

  /** A body's items leave `pending` together; its bytes are let go. */
  #settle(body: Body, outcome: 'exported' | 'failed', error?: string, exported = body.items): void {
    const i = this.#unsettled.indexOf(body);
    if (i >= 0) this.#unsettled.splice(i, 1);
    this.stats.queueBytes -= body.size;
    if (body.bytes !== undefined) this.codec.release?.(body.bytes);
    body.bytes = undefined;
    this.#wakeReady();
    if (outcome === 'exported') {
      this.stats.pending -= body.items;
      this.stats.exported += exported;
      this.#wakeFlushes();
    } else this.#count(body.items, 'failed', error);
  }

  /** Items that never became a request (or whose request failed). */
  #count(n: number, outcome: 'failed' | 'dropped', error: string | undefined): void {
    this.stats.pending -= n;
    this.stats[outcome] += n;
    if (error !== undefined) this.stats.lastError = error;
    this.#wakeReady();
    this.#wakeFlushes();
  }

  /** Every item with a sequence number below this is settled. */
  #settledUpTo(): number {
    return this.#unsettled[0]?.first ?? this.#cut;
  }

  #wakeFlushes(): void {
    if (this.#flushes.length === 0) return;
    const upTo = this.#settledUpTo();
    for (let i = this.#flushes.length - 1; i >= 0; i--) {
      const f = this.#flushes[i]!;
      if (f.upTo <= upTo) {
        this.#flushes.splice(i, 1);
        f.resolve();
      }
    }
  }
}
