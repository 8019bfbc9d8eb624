/**
 * The drain loop: the worker's side of the data path.
 *
 *        ┌────────────── loop ─────────────────────────────────────────────┐
 *        │ 1. priority drop channel ─► drop notice (≤ 1 per flush interval) │
 *        │ 2. up to `batchRecords` records: decode once ─► FanOut           │
 *        │    (a record that will not decode: skipped, counted `corrupt`;   │
 *        │    unsound framing: resync at the next sound record)            │
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
import { KIND_STRING_DEF } from '../src/record/format.js';
import { RecordDecoder } from '../src/decoder/record-decoder.js';
import type { ExitHandshake } from '../src/ring/exit-handshake.js';
import { RecordWalker } from '../src/ring/framing.js';
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

/**
 * Worker-side counts. At quiescence `decoded + corrupt` equals the producer's
 * `written` (while `corruptBytes` is 0: bytes skipped where the framing was
 * unsound held records that cannot be counted one by one).
 */
export interface DrainStats {
  /** Records decoded and handed to the fan-out. */
  decoded: number;
  /** Records that could not be decoded: skipped, counted and reported, never delivered. */
  corrupt: number;
  /** Bytes skipped where the ring's framing was unsound, so records could not be told apart. */
  corruptBytes: number;
  /** Reports of corrupt records delivered to the sinks (at most one per flush interval). */
  corruptNotices: number;
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
  readonly #walker: RecordWalker;
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
  #corrupt: number;
  #corruptBytes: number;
  #corruptNotices = 0;
  /** Corrupt records and bytes not yet reported, and the first reason among them. */
  #pendingCorrupt = 0;
  #pendingCorruptBytes = 0;
  #corruptReason = '';
  #lastCorruptNotice = -Infinity;
  /** Which PREFAULT_STEP_BYTES chunks of the ring are prefaulted (1), and their bytes. */
  readonly #prefaultDone: Uint8Array;
  #prefaulted = 0;
  #waiters: PositionWaiter[] = [];
  #wake: (() => void) | null = null;
  #stopping = false;
  readonly #exit: ExitHandshake | undefined;

  constructor(reader: RingReader, decoder: RecordDecoder, fanOut: FanOut, diagnostics: Diagnostics, options: DrainLoopOptions) {
    this.#reader = reader;
    this.#walker = new RecordWalker(reader.bytes);
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
    const corrupt = reader.corruptSoFar();
    this.#corrupt = corrupt.records;
    this.#corruptBytes = corrupt.bytes;
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
    const walker = this.#walker;
    const decoder = this.#decoder;
    const fanOut = this.#fanOut;
    const mask = reader.mask;
    const end = reader.available();
    const from = reader.position;
    let pos = from;
    if (end - pos > this.#queueHighWater) this.#queueHighWater = end - pos;
    let n = 0;
    const decodedBefore = this.#decoded;
    while (pos < end && n < limit) {
      const size = walker.sizeAt(pos, end);
      if (size === 0) {
        // The encoder never frames a record like this: skip to sound framing, never trust the size.
        pos = this.#resync(pos, end);
        continue;
      }
      if (walker.isPad(pos)) {
        pos += size;
        continue;
      }
      let record;
      try {
        record = decoder.decode(pos & mask);
      } catch (error) {
        pos += size;
        n++;
        this.#countCorrupt(error, walker.kindAt(pos - size), size);
        continue;
      }
      pos += size;
      n++;
      // String definitions ride in the same reservation as the record that
      // first uses them: only that record counts, so decoded + corrupt == written.
      if (record !== undefined) {
        this.#decoded++;
        // Before the sinks see it: a successor of this worker must not hand it out again.
        reader.take(pos, this.#decoded);
        fanOut.deliver(record);
      }
    }
    if (pos !== from) reader.release(pos, this.#decoded);
    this.#sinceFlush += this.#decoded - decodedBefore;
    if (this.#pendingCorrupt + this.#pendingCorruptBytes !== 0) this.checkCorrupt();
    return n;
  }

  /**
   * The framing at `pos` is unsound: skip to where sound framing resumes
   * (the next record the decoder would recognise), counting the bytes.
   */
  #resync(pos: number, end: number): number {
    const walker = this.#walker;
    const next = walker.resync(pos, end, (p) => RecordDecoder.knowsKind(walker.kindAt(p)));
    this.#corruptBytes += next - pos;
    this.#pendingCorruptBytes += next - pos;
    if (this.#corruptReason === '') this.#corruptReason = `unsound record framing at offset ${pos & this.#reader.mask}`;
    this.#reader.storeCorrupt(this.#corrupt, this.#corruptBytes);
    return next;
  }

  /**
   * A record whose framing is sound but that will not decode. A string
   * definition is not a record of its own (it rides with the record that
   * uses it, which then fails too), so it counts in bytes.
   */
  #countCorrupt(error: unknown, kind: number, size: number): void {
    if (kind === KIND_STRING_DEF) {
      this.#corruptBytes += size;
      this.#pendingCorruptBytes += size;
    } else {
      this.#corrupt++;
      this.#pendingCorrupt++;
    }
    if (this.#corruptReason === '') this.#corruptReason = error instanceof Error ? error.message : String(error);
    this.#reader.storeCorrupt(this.#corrupt, this.#corruptBytes);
  }

  /** Deliver a report of corrupt records if one is due (at most one per flush interval). */
  checkCorrupt(force = false): void {
    if (this.#pendingCorrupt + this.#pendingCorruptBytes === 0) return;
    const now = this.#now();
    if (!force && now - this.#lastCorruptNotice < this.#flushIntervalMs) return;
    this.#lastCorruptNotice = now;
    const fields = Object.assign(Object.create(null) as Record<string, number | string>, {
      corrupt_count: this.#pendingCorrupt,
      corrupt_bytes: this.#pendingCorruptBytes,
      reason: this.#corruptReason,
    });
    this.#pendingCorrupt = 0;
    this.#pendingCorruptBytes = 0;
    this.#corruptReason = '';
    this.#corruptNotices++;
    this.#diagnostics.notice('records skipped: the worker could not decode them', fields);
    this.#fanOut.deliverDiagnostics();
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
      this.checkCorrupt();
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
    void this.#fanOut.flushAll().then((all) => {
      if (all) this.#reader.markFlushed(mark);
    });
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
    this.checkCorrupt(true);
    this.#settleWaiters();
    await this.flushAll();
    this.#exit!.acknowledge();
  }

  async #sleep(): Promise<void> {
    const seen = this.#reader.prepareSleep();
    if (seen === null) return;
    const wake = new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    // A pending drop or corrupt notice must go out when its interval is up, so sleep no longer than that.
    const now = this.#now();
    let timeout = this.#flushIntervalMs;
    if (this.#pendingDropped + this.#pendingOversize > 0) timeout = Math.min(timeout, Math.max(1, this.#flushIntervalMs - (now - this.#lastNotice)));
    if (this.#pendingCorrupt + this.#pendingCorruptBytes > 0) timeout = Math.min(timeout, Math.max(1, this.#flushIntervalMs - (now - this.#lastCorruptNotice)));
    await Promise.race([this.#reader.sleep(seen, timeout), wake]);
    this.#wake = null;
  }

  /**
   * Flush every sink now (a `flush` request) and, when every one flushed,
   * mark the records decoded before it as flushed (see `#flushIdle`).
   */
  async flushAll(): Promise<void> {
    const mark = this.#decoded;
    if (await this.#fanOut.flushAll()) this.#reader.markFlushed(mark);
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
    this.checkCorrupt(true);
  }

  stats(): DrainStats {
    return {
      decoded: this.#decoded,
      corrupt: this.#corrupt,
      corruptBytes: this.#corruptBytes,
      corruptNotices: this.#corruptNotices,
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
