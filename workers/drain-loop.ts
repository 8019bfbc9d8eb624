/**
 * The drain loop: the worker's side of the data path.
 *
 *        ┌────────────── loop ─────────────────────────────────────────────┐
 *        │ 1. priority drop channel ─► drop notice (≤ 1 per flush interval) │
 *        │ 2. up to `batchRecords` records: decode once ─► FanOut           │
 *        │ 3. until the whole ring is: prefault pages ahead of the producer │
 *        │ 4. flush every `flushIntervalMs` / `flushEveryRecords`           │
 *        │ 5. ring empty: poll IDLE_POLLS_BEFORE_SLEEP turns, then flush    │
 *        │    and sleep on WRITE_INDEX (waitAsync) without blocking this    │
 *        │    thread's event loop                                          │
 *        └─────────────────────────────────────────────────────────────────┘
 *
 * Between batches the loop yields to the event loop, so async sinks make
 * progress and control messages (add or remove a sink, flush, shutdown) are
 * applied between batches, never in the middle of one.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { KIND_PAD } from '../src/record/format.js';
import type { RecordDecoder } from '../src/record/record-decoder.js';
import type { ExitHandshake } from '../src/ring/exit-handshake.js';
import { RECORD_ALIGN } from '../src/ring/layout.js';
import type { RingReader } from '../src/ring/ring-reader.js';
import type { Diagnostics } from './diagnostics.js';
import type { FanOut } from './fan-out.js';

export interface DrainLoopOptions {
  flushIntervalMs: number;
  flushEveryRecords: number;
  /** Records decoded between yields to the event loop. */
  batchRecords?: number;
  /** The producer's exit handshake: when it asks, drain everything and flush, then acknowledge. */
  exit?: ExitHandshake;
  /** Monotonic clock in milliseconds (tests pass a fake one to step through flush and notice intervals). */
  now?: () => number;
}

/** Worker-side counts. At quiescence `decoded` equals the producer's `written`. */
export interface DrainStats {
  decoded: number;
  /** Span records whose span start was dropped or evicted (filtered for every sink). */
  orphaned: number;
  evictedSpans: number;
  openSpans: number;
  /** Drop notices delivered, and the drops they reported. */
  dropNotices: number;
  droppedReported: number;
  oversizeReported: number;
  /** The most bytes seen waiting in the ring, sampled before each batch. */
  queueHighWaterBytes: number;
  /**
   * Bytes of the ring made resident so far (see `RingReader.prefault`);
   * the whole capacity some tens of milliseconds after the worker starts.
   */
  prefaultedBytes: number;
}

/**
 * Turns of the event loop the worker keeps polling an empty ring before it
 * flushes its sinks and sleeps. Waking a sleeping worker costs the producer
 * an Atomics.notify to a waitAsync waiter (22–28 µs of its wall time each,
 * see BENCHMARKS.md), so a producer that writes steadily should find the
 * worker awake.
 */
export const IDLE_POLLS_BEFORE_SLEEP = 64;

const DEFAULT_BATCH_RECORDS = 4096;

/**
 * Ring bytes prefaulted per turn of the loop: 64 pages, 0.2–0.5 ms, so
 * records and control messages wait no longer than that for it.
 */
export const PREFAULT_STEP_BYTES = 256 * 1024;

interface PositionWaiter {
  position: number;
  resolve: () => void;
}

export class DrainLoop {
  readonly #reader: RingReader;
  readonly #decoder: RecordDecoder;
  readonly #fanOut: FanOut;
  readonly #diagnostics: Diagnostics;
  readonly #flushIntervalMs: number;
  readonly #flushEveryRecords: number;
  readonly #batchRecords: number;
  /** Continues the count of an earlier (dead) worker on the same ring, so `decoded == written` survives a respawn. */
  #decoded: number;
  readonly #now: () => number;
  #sinceFlush = 0;
  #lastFlush: number;
  #pendingDropped = 0;
  #pendingOversize = 0;
  #lastNotice = -Infinity;
  #dropNotices = 0;
  #droppedReported = 0;
  #oversizeReported = 0;
  #queueHighWater = 0;
  /** Which PREFAULT_STEP_BYTES chunks of the ring are prefaulted (1), and their bytes. */
  readonly #prefaultDone: Uint8Array;
  #prefaulted = 0;
  #waiters: PositionWaiter[] = [];
  #wake: (() => void) | null = null;
  #stopping = false;
  readonly #exit: ExitHandshake | undefined;

  constructor(reader: RingReader, decoder: RecordDecoder, fanOut: FanOut, diagnostics: Diagnostics, options: DrainLoopOptions) {
    this.#reader = reader;
    this.#decoder = decoder;
    this.#fanOut = fanOut;
    this.#diagnostics = diagnostics;
    this.#flushIntervalMs = options.flushIntervalMs;
    this.#flushEveryRecords = options.flushEveryRecords;
    this.#batchRecords = options.batchRecords ?? DEFAULT_BATCH_RECORDS;
    this.#exit = options.exit;
    this.#now = options.now ?? (() => performance.now());
    this.#lastFlush = this.#now();
    this.#decoded = reader.decodedSoFar();
    this.#prefaultDone = new Uint8Array(Math.ceil(reader.capacity / PREFAULT_STEP_BYTES));
  }

  /**
   * Prefault one chunk of PREFAULT_STEP_BYTES: the first not yet done at or
   * after the chunk past the one the producer is writing in, so that the
   * pages are ready before it gets there even when it writes fast from the
   * start. Returns false once the whole ring is done.
   */
  prefaultStep(): boolean {
    const reader = this.#reader;
    const done = this.#prefaultDone;
    if (this.#prefaulted === reader.capacity) return false;
    // Some chunk is not done, so this ends within one round of the ring.
    let chunk = Math.floor((reader.available() & reader.mask) / PREFAULT_STEP_BYTES) + 1;
    while (done[chunk % done.length] === 1) chunk++;
    chunk %= done.length;
    const from = chunk * PREFAULT_STEP_BYTES;
    const to = Math.min(from + PREFAULT_STEP_BYTES, reader.capacity);
    reader.prefault(from, to);
    done[chunk] = 1;
    this.#prefaulted += to - from;
    return true;
  }

  /**
   * Decode and deliver up to `limit` records that are already in the ring.
   * Synchronous; returns how many records it took (string definitions
   * included, padding not).
   */
  drainBatch(limit: number): number {
    const reader = this.#reader;
    const decoder = this.#decoder;
    const fanOut = this.#fanOut;
    const mask = reader.mask;
    const end = reader.available();
    let pos = reader.position;
    if (end - pos > this.#queueHighWater) this.#queueHighWater = end - pos;
    let n = 0;
    let decoded = 0;
    while (pos < end && n < limit) {
      const offset = pos & mask;
      const size = decoder.sizeAt(offset);
      if (size < RECORD_ALIGN || (size & (RECORD_ALIGN - 1)) !== 0 || size > end - pos) {
        // The encoder never writes this (records are whole, 8-byte aligned, at
        // least a header); trusting it, a size of 0 spun this loop forever.
        pos = this.#skipCorrupt(pos, end, size);
        break;
      }
      if (decoder.kindAt(offset) === KIND_PAD) {
        pos += size;
        continue;
      }
      const record = decoder.decode(offset);
      pos += size;
      n++;
      // String definitions ride in the same reservation as the record that
      // first uses them: only that record counts, so decoded == written.
      if (record !== undefined) {
        decoded++;
        fanOut.deliver(record);
      }
    }
    this.#decoded += decoded;
    if (pos !== reader.position) reader.release(pos, this.#decoded);
    this.#sinceFlush += decoded;
    return n;
  }

  /**
   * A record size that cannot be right: nothing after it can be framed, so
   * skip what is published and say so. Returns the position to release.
   */
  #skipCorrupt(pos: number, end: number, size: number): number {
    const fields = Object.assign(Object.create(null) as Record<string, number>, { size, offset: pos & this.#reader.mask, skipped_bytes: end - pos });
    this.#diagnostics.emit('error', 'queue corrupt: a record with an impossible size; the records after it were skipped', fields);
    this.#fanOut.deliverDiagnostics();
    return end;
  }

  /** Read the priority drop channel and deliver a notice if one is due. */
  checkDrops(force = false): void {
    const notice = this.#reader.takeDrops();
    if (notice !== null) {
      this.#pendingDropped += notice.dropped;
      this.#pendingOversize += notice.oversize;
    }
    if (this.#pendingDropped === 0 && this.#pendingOversize === 0) return;
    const now = this.#now();
    if (!force && now - this.#lastNotice < this.#flushIntervalMs) return;
    this.#lastNotice = now;
    const dropped = this.#pendingDropped;
    const oversize = this.#pendingOversize;
    this.#pendingDropped = 0;
    this.#pendingOversize = 0;
    this.#dropNotices++;
    this.#droppedReported += dropped;
    this.#oversizeReported += oversize;
    const fields = Object.assign(Object.create(null) as Record<string, number>, { dropped_count: dropped, oversize_count: oversize });
    this.#diagnostics.emit('error', dropped > 0 ? 'records dropped: queue full' : 'records dropped: too large for the queue', fields);
    this.#fanOut.deliverDiagnostics();
  }

  /** Run until `stop()`; resolves once the ring is drained after the stop request. */
  async run(): Promise<void> {
    let idlePolls = 0;
    while (true) {
      if (this.#exit?.requested) await this.#exitDrain();
      this.checkDrops();
      const n = this.drainBatch(this.#batchRecords);
      this.#settleWaiters();
      // A prefault step every turn, busy or not, until the ring is done.
      const prefaulting = !this.#stopping && this.prefaultStep();
      if (n !== 0 || prefaulting) {
        idlePolls = 0;
        this.#maybeFlush();
        // Yield every batch so timers, I/O callbacks and control messages run.
        await yieldToEventLoop();
        continue;
      }
      if (this.#stopping) return;
      if (idlePolls < IDLE_POLLS_BEFORE_SLEEP) {
        // Stay awake a little: a producer that keeps writing then never pays for a wake-up.
        idlePolls++;
        this.#maybeFlush();
        await yieldToEventLoop();
        continue;
      }
      idlePolls = 0;
      if (this.#sinceFlush !== 0) {
        this.#sinceFlush = 0;
        this.#lastFlush = this.#now();
        this.#flushIdle();
      }
      await this.#sleep();
    }
  }

  #maybeFlush(): void {
    const now = this.#now();
    if (this.#sinceFlush >= this.#flushEveryRecords || now - this.#lastFlush >= this.#flushIntervalMs) {
      this.#sinceFlush = 0;
      this.#lastFlush = now;
      this.#flushIdle();
    }
  }

  /**
   * Periodic flush. When every sink is idle this is one flush round, and its
   * completion marks the records before it as flushed (so a worker death can
   * count what it may have lost); a sink still flushing is left alone.
   */
  #flushIdle(): void {
    const slots = this.#fanOut.slots;
    if (slots.some((s) => s.flushing)) {
      this.#fanOut.flushIdle();
      return;
    }
    const mark = this.#decoded;
    void Promise.all(slots.map((s) => s.flush())).then(() => this.#reader.markFlushed(mark));
  }

  /**
   * The producer's thread is exiting and blocks until we acknowledge (or its
   * deadline passes): it writes nothing more, so drain to the end without
   * yielding, deliver pending drop notices, flush every sink (each bounded by
   * its sink timeout; a synchronous sink writes before the first await), and
   * acknowledge.
   */
  async #exitDrain(): Promise<void> {
    while (this.drainBatch(this.#batchRecords) !== 0);
    this.checkDrops(true);
    this.#settleWaiters();
    const mark = this.#decoded;
    await this.#fanOut.flushAll();
    this.#reader.markFlushed(mark);
    this.#exit!.acknowledge();
  }

  async #sleep(): Promise<void> {
    const seen = this.#reader.prepareSleep();
    if (seen === null) return;
    const wake = new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    // A pending drop notice must go out when its interval is up, so sleep no longer than that.
    const pendingNotice = this.#pendingDropped + this.#pendingOversize > 0;
    const timeout = pendingNotice
      ? Math.max(1, this.#flushIntervalMs - (this.#now() - this.#lastNotice))
      : this.#flushIntervalMs;
    await Promise.race([this.#reader.sleep(seen, timeout), wake]);
    this.#wake = null;
  }

  /** Cut a sleep short (a control message arrived). */
  wake(): void {
    this.#wake?.();
  }

  /** Resolves once every record before `position` has been delivered. */
  reach(position: number): Promise<void> {
    if (this.#reader.position >= position) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push({ position, resolve });
      this.wake();
    });
  }

  #settleWaiters(): void {
    if (this.#waiters.length === 0) return;
    const pos = this.#reader.position;
    const ready = this.#waiters.filter((w) => w.position <= pos);
    if (ready.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.position > pos);
    for (const w of ready) w.resolve();
  }

  /** Ask `run()` to return once the ring is empty. */
  stop(): void {
    this.#stopping = true;
    this.wake();
  }

  /** Deliver any drop notice still pending, regardless of the interval (at shutdown). */
  finalNotice(): void {
    this.checkDrops(true);
  }

  stats(): DrainStats {
    return {
      decoded: this.#decoded,
      orphaned: this.#decoder.orphaned,
      evictedSpans: this.#decoder.evictedSpans,
      openSpans: this.#decoder.openSpans,
      dropNotices: this.#dropNotices,
      droppedReported: this.#droppedReported,
      oversizeReported: this.#oversizeReported,
      queueHighWaterBytes: this.#queueHighWater,
      prefaultedBytes: this.#prefaulted,
    };
  }
}
