/**
 * One registered sink in the worker: the sink, its filter, its bit in the
 * open spans' masks, and its counts. Every call into the sink goes through
 * here, so a throw, a rejection or a hang is caught, counted and reported in
 * one place.
 */
import type { TargetFilter } from '../src/filter/target-filter.js';
import type { TraceRecord } from '../src/record/trace-record.js';
import type { TraceSink } from '../src/sinks/trace-sink.js';
import type { Diagnostics } from './diagnostics.js';
import { DEFAULT_SINK_READY_WAIT_MS, DEFAULT_SINK_TIMEOUT_MS } from '../src/defaults.js';

/** Per-sink counts. For records from the ring, `delivered + filtered + failed == decoded`. */
export interface SinkStats {
  name: string;
  filter: string;
  /** Ring records passed to `consume` without a throw. */
  delivered: number;
  /** Ring records this sink's filter (or a span it did not accept) kept from it. */
  filtered: number;
  /** Ring records whose `consume` threw. */
  failed: number;
  /** The dispatcher's own events (drop notices, diagnostics) passed to this sink. */
  diagnostics: number;
  flushes: number;
  /** Flushes that threw, rejected or timed out. */
  flushFailures: number;
  /** Time spent in the last flush, and in all flushes, in milliseconds. */
  lastFlushMs: number;
  totalFlushMs: number;
  /**
   * Flushes not started because an earlier flush or close that timed out
   * had still not settled (calls to one sink never overlap).
   */
  skippedFlushes: number;
  /** Times the drain waited for this sink to be ready (see `TraceSink.ready`). */
  readyWaits: number;
  /** Of those, waits that ran out (`DEFAULT_SINK_READY_WAIT_MS`): the drain went on without it. */
  readyTimeouts: number;
  /** Time the drain spent waiting for this sink, in milliseconds. */
  readyWaitMs: number;
  closed: boolean;
}


export class SinkSlot {
  readonly stats: SinkStats;
  #flushing: Promise<void> | null = null;
  /**
   * The sink's own promise from a flush or close that outlived `timeoutMs`:
   * the slot stopped waiting for it, but the sink is still busy, so no
   * other flush or close is started until it settles.
   */
  #abandoned: Promise<unknown> | null = null;
  /**
   * A wait for this sink ran out and it has not said it is ready since:
   * the drain does not wait for it again until it does (so a sink that never
   * becomes ready costs one bounded wait, not one per batch).
   */
  #stalled = false;

  constructor(
    readonly name: string,
    readonly filter: TargetFilter,
    readonly sink: TraceSink,
    /** This slot's bit in `SpanEntry.sinkMask`. */
    readonly bit: number,
    readonly diagnostics: Diagnostics,
    readonly timeoutMs: number = DEFAULT_SINK_TIMEOUT_MS,
  ) {
    this.stats = {
      name,
      filter: filter.toString(),
      delivered: 0,
      filtered: 0,
      failed: 0,
      diagnostics: 0,
      flushes: 0,
      flushFailures: 0,
      lastFlushMs: 0,
      totalFlushMs: 0,
      skippedFlushes: 0,
      readyWaits: 0,
      readyTimeouts: 0,
      readyWaitMs: 0,
      closed: false,
    };
  }

  consume(record: TraceRecord): void {
    try {
      this.sink.consume(record);
      this.stats.delivered++;
    } catch (error) {
      this.stats.failed++;
      this.diagnostics.report(`consume:${this.name}`, 'sink consume failed', { sink: this.name, record_kind: record.kind }, error);
    }
  }

  /** Offer one of the dispatcher's own events; failures are not reported again. */
  consumeDiagnostic(record: TraceRecord): void {
    this.stats.diagnostics++;
    try {
      this.sink.consume(record);
    } catch {
      // A sink that fails on a diagnostic would only produce another diagnostic.
    }
  }

  /**
   * null when the sink can take records now (or does not say, or stalled);
   * else a promise that resolves once it is ready or `maxWaitMs` has passed,
   * whichever is first. Never rejects. A wait that runs out is counted and
   * reported, and the sink is not waited for again until it reports ready.
   */
  ready(maxWaitMs: number = DEFAULT_SINK_READY_WAIT_MS): Promise<void> | null {
    const sink = this.sink;
    if (typeof sink.ready !== 'function' || this.stats.closed) return null;
    let pending: Promise<void> | null | undefined;
    try {
      pending = sink.ready();
    } catch (error) {
      this.diagnostics.report(`ready:${this.name}`, 'sink ready failed', { sink: this.name }, error);
      return null;
    }
    if (pending === null || pending === undefined) {
      this.#stalled = false;
      return null;
    }
    if (this.#stalled) return null;
    this.stats.readyWaits++;
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(resolve, maxWaitMs, false);
    });
    const readied = Promise.resolve(pending).then(
      () => true,
      (error: unknown) => {
        this.diagnostics.report(`ready:${this.name}`, 'sink ready failed', { sink: this.name }, error);
        return true;
      },
    );
    return Promise.race([readied, timeout]).then((ready) => {
      clearTimeout(timer);
      this.stats.readyWaitMs += performance.now() - started;
      if (ready) return;
      this.#stalled = true;
      this.stats.readyTimeouts++;
      this.diagnostics.report(`ready:${this.name}`, 'sink not ready in time: records go on to it (and it may drop them) until it is', { sink: this.name, wait_ms: maxWaitMs });
    });
  }

  get flushing(): boolean {
    return this.#flushing !== null;
  }

  /** Start a flush unless one is pending (periodic flushes do not queue up). */
  flushIfIdle(): void {
    if (this.#flushing === null && !this.stats.closed) void this.flush();
  }

  /**
   * Flush now, after any pending flush settles. Never rejects. Resolves to
   * false when no flush was made: the sink is closed, or still busy with a
   * call that timed out.
   */
  async flush(): Promise<boolean> {
    while (this.#flushing !== null) await this.#flushing;
    if (this.stats.closed) return false;
    if (this.#abandoned !== null) {
      this.stats.skippedFlushes++;
      return false;
    }
    const run = this.#call('flush');
    this.#flushing = run;
    try {
      await run;
    } finally {
      this.#flushing = null;
    }
    return true;
  }

  /**
   * Final flush, then close. Never rejects. A sink still busy with a call
   * that timed out gets one more `timeoutMs` to settle it; if it does not,
   * it is retired without its `close` (counted and reported), so that
   * shutdown stays bounded and the calls still never overlap.
   */
  async close(): Promise<void> {
    if (this.stats.closed) return;
    await this.flush();
    this.stats.closed = true;
    if (this.#abandoned !== null && !(await this.#settlesWithin(this.#abandoned))) {
      this.diagnostics.report(`close:${this.name}`, 'sink retired without close: an earlier call that timed out never settled', { sink: this.name });
      return;
    }
    if (typeof this.sink.close === 'function') await this.#call('close');
  }

  async #settlesWithin(promise: Promise<unknown>): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(resolve, this.timeoutMs, false);
    });
    try {
      return await Promise.race([promise.then(() => true), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  async #call(method: 'flush' | 'close'): Promise<void> {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const result = method === 'flush' ? this.sink.flush() : this.sink.close!();
      if (result !== undefined && typeof (result as Promise<void>).then === 'function') {
        const timeout = new Promise<'timeout'>((resolve) => {
          timer = setTimeout(resolve, this.timeoutMs, 'timeout');
        });
        if ((await Promise.race([result, timeout])) === 'timeout') {
          const busy: Promise<unknown> = Promise.resolve(result).then(
            () => undefined,
            () => undefined,
          );
          this.#abandoned = busy;
          void busy.then(() => {
            if (this.#abandoned === busy) this.#abandoned = null;
          });
          throw new Error(`${method} did not settle within ${this.timeoutMs} ms`);
        }
      }
    } catch (error) {
      if (method === 'flush') this.stats.flushFailures++;
      this.diagnostics.report(`${method}:${this.name}`, `sink ${method} failed`, { sink: this.name }, error);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (method === 'flush') {
        const ms = performance.now() - started;
        this.stats.flushes++;
        this.stats.lastFlushMs = ms;
        this.stats.totalFlushMs += ms;
      }
    }
  }
}
