/**
 * The drain loop: the worker's side of the data path.
 *
 *        ┌────────────── loop ─────────────────────────────────────────────┐
 *        │ 1. priority drop channel ─► drop notice (≤ 1 per flush interval) │
 *        │ 2. each ring in turn, up to `batchRecords` records from each:    │
 *        │    decode once ─► FanOut                                         │
 *        │    (a record that will not decode: skipped, counted `corrupt`;   │
 *        │    unsound framing: resync at the next sound record)            │
 *        │ 3. until the whole ring is: prefault pages ahead of the producer │
 *        │ 4. flush every `flushIntervalMs` / `flushEveryRecords`           │
 *        │ 5. rings empty: flush (what came, or the periodic one when due) │
 *        │    and sleep on WRITE_INDEX (waitAsync) without blocking this    │
 *        │    thread's event loop, until a producer wakes us (an eighth of  │
 *        │    its ring waits) or flushIntervalMs passes                     │
 *        └─────────────────────────────────────────────────────────────────┘
 *
 * Several rings, one per recording thread (the main thread's, then each
 * attached worker thread's), are drained round-robin, each pass starting one
 * ring further on. **Fairness bound:** between two turns of a ring, every
 * other ring is read for at most `batchRecords` records (default 4096), so
 * a record already in a ring waits for at most one budget of each other
 * ring, however fast another thread floods its own ring.
 *
 * Between batches the loop yields to the event loop, so async sinks make
 * progress and control messages (add or remove a sink, flush, shutdown) are
 * applied between batches, never in the middle of one.
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { RecordDecoder } from '../src/decoder/record-decoder.js';
import type { ExitHandshake } from '../src/ring/exit-handshake.js';
import type { RingReader } from '../src/ring/ring-reader.js';
import type { ThreadInfo } from '../src/record/trace-record.js';
import { MAIN_THREAD, type ProducerTotals, type ThreadStats } from '../src/control/control-protocol.js';
import type { Diagnostics } from './diagnostics.js';
import type { FanOut } from './fan-out.js';
import { RingDrain } from './ring-drain.js';

export { PREFAULT_STEP_BYTES } from './ring-drain.js';

export interface DrainLoopOptions {
  flushIntervalMs: number;
  flushEveryRecords: number;
  /** Records decoded from one ring per turn, between yields to the event loop: the fairness budget. */
  batchRecords?: number;
  /** The producer's exit handshake: when it asks, drain everything and flush, then acknowledge. */
  exit?: ExitHandshake;
  /** Monotonic clock in milliseconds (tests pass a fake one to step through flush and notice intervals). */
  now?: () => number;
  /** The thread whose ring `reader` reads. Default: the main thread. */
  thread?: ThreadInfo;
}

/**
 * Worker-side counts, summed over every ring (those of threads that ended
 * included). At quiescence `decoded + corrupt` equals the producers'
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
  /** Reports of corrupt records delivered to the sinks (at most one per flush interval and ring). */
  corruptNotices: number;
  /** Span records whose span start was dropped or evicted (filtered for every sink). */
  orphaned: number;
  evictedSpans: number;
  openSpans: number;
  /** Drop notices delivered, and the drops they reported. */
  dropNotices: number;
  droppedReported: number;
  oversizeReported: number;
  /** The most bytes seen waiting in one ring, sampled before each batch. */
  queueHighWaterBytes: number;
  /**
   * Bytes of the rings made resident so far (see `RingReader.prefault`);
   * the whole capacity some tens of milliseconds after the worker starts.
   */
  prefaultedBytes: number;
  /** Each ring drained now: the main thread's first, then attached threads' in the order they attached. */
  threads: ThreadStats[];
  /** The attached threads' producer counts (live and ended), for the dispatcher's totals. */
  attached: ProducerTotals;
  /** Rings of attached threads drained to the end and dropped (a thread that detached and attached again counts once per ring). */
  endedRings: number;
}

const DEFAULT_BATCH_RECORDS = 4096;

/** The worker-side counts a ring adds to the totals, live or retired. */
type RingCounts = Pick<DrainStats, 'decoded' | 'corrupt' | 'corruptBytes' | 'corruptNotices' | 'orphaned' | 'evictedSpans' | 'dropNotices' | 'droppedReported' | 'oversizeReported' | 'prefaultedBytes'>;

function addRingCounts(into: RingCounts, ring: RingDrain): void {
  into.decoded += ring.decoded;
  into.corrupt += ring.corrupt;
  into.corruptBytes += ring.corruptBytes;
  into.corruptNotices += ring.corruptNotices;
  into.orphaned += ring.decoder.orphaned;
  into.evictedSpans += ring.decoder.evictedSpans;
  into.dropNotices += ring.dropNotices;
  into.droppedReported += ring.droppedReported;
  into.oversizeReported += ring.oversizeReported;
  into.prefaultedBytes += ring.prefaulted;
}

/** Counts of rings already dropped, kept so the totals stay whole. */
interface Retired extends ProducerTotals, RingCounts {
  ended: number;
}

export class DrainLoop {
  readonly #main: RingDrain;
  /** Every ring drained, the main thread's first. */
  #rings: RingDrain[];
  /** Where the next pass starts. */
  #next = 0;
  readonly #fanOut: FanOut;
  readonly #diagnostics: Diagnostics;
  readonly #flushIntervalMs: number;
  readonly #flushEveryRecords: number;
  readonly #batchRecords: number;
  readonly #now: () => number;
  #sinceFlush = 0;
  #lastFlush: number;
  #wake: (() => void) | null = null;
  /** A wait for full sinks begun in the middle of a pass, for the next turn to await. */
  #fullSinks: Promise<void> | null = null;
  #stopping = false;
  readonly #exit: ExitHandshake | undefined;
  readonly #retired: Retired = {
    offered: 0, written: 0, dropped: 0, oversize: 0, decoded: 0, corrupt: 0, corruptBytes: 0, corruptNotices: 0,
    orphaned: 0, evictedSpans: 0, dropNotices: 0, droppedReported: 0, oversizeReported: 0, prefaultedBytes: 0, ended: 0,
  };

  constructor(reader: RingReader, decoder: RecordDecoder, fanOut: FanOut, diagnostics: Diagnostics, options: DrainLoopOptions) {
    this.#fanOut = fanOut;
    this.#diagnostics = diagnostics;
    this.#flushIntervalMs = options.flushIntervalMs;
    this.#flushEveryRecords = options.flushEveryRecords;
    this.#batchRecords = options.batchRecords ?? DEFAULT_BATCH_RECORDS;
    this.#exit = options.exit;
    this.#now = options.now ?? (() => performance.now());
    this.#lastFlush = this.#now();
    this.#main = new RingDrain(reader, decoder, fanOut, diagnostics, options.thread ?? MAIN_THREAD, this.#flushIntervalMs, this.#now);
    this.#rings = [this.#main];
  }

  /** The main thread's ring. */
  get main(): RingDrain {
    return this.#main;
  }

  /** Rings drained now, the main thread's included. */
  get ringCount(): number {
    return this.#rings.length;
  }

  /** Start draining an attached thread's ring (its decoder has the thread's info). */
  addRing(reader: RingReader, decoder: RecordDecoder, thread: ThreadInfo): void {
    if (this.#find(thread.id) !== undefined) throw new RangeError(`thread ${thread.id} is already attached`);
    this.#fanOut.addDecoder(decoder);
    this.#rings = [...this.#rings, new RingDrain(reader, decoder, this.#fanOut, this.#diagnostics, thread, this.#flushIntervalMs, this.#now)];
    this.wake();
  }

  /**
   * The thread of ring `threadId` has ended (or detached): nothing more will
   * be written, so drain it to the end, deliver its notices and drop it.
   * Resolves with its final counts (undefined when no such ring is attached).
   */
  endRing(threadId: number): Promise<ThreadStats | undefined> {
    const ring = this.#find(threadId);
    if (ring === undefined || ring === this.#main) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      (ring.ending ??= []).push(resolve);
      this.wake();
    });
  }

  #find(threadId: number): RingDrain | undefined {
    return this.#rings.find((r) => r.thread.id === threadId);
  }

  /** Drop the ended rings that are empty now. */
  #retireEnded(): void {
    if (!this.#rings.some((r) => r.ending !== null && r.empty)) return;
    const keep: RingDrain[] = [];
    for (const ring of this.#rings) {
      if (ring.ending === null || !ring.empty) {
        keep.push(ring);
        continue;
      }
      ring.checkDrops(true);
      ring.checkCorrupt(true);
      ring.settleWaiters(true);
      const stats = ring.stats();
      const r = this.#retired;
      r.offered += stats.offered;
      r.written += stats.written;
      r.dropped += stats.dropped;
      r.oversize += stats.oversize;
      addRingCounts(r, ring);
      r.ended++;
      this.#fanOut.removeDecoder(ring.decoder);
      for (const resolve of ring.ending) resolve(stats);
    }
    this.#rings = keep;
    if (this.#next >= keep.length) this.#next = 0;
  }

  /** Prefault one chunk of the first ring not yet wholly resident (see RingDrain); false once every ring is. */
  prefaultStep(): boolean {
    for (const ring of this.#rings) if (ring.prefaultStep()) return true;
    return false;
  }

  /**
   * One pass: decode and deliver up to `limit` records from each ring, in
   * turn, starting one ring further on each pass (with `stopWhenFull`, it
   * ends early when a sink says it is full). Synchronous; returns how many
   * records it took (string definitions included, padding not).
   */
  drainBatch(limit: number, stopWhenFull = false): number {
    const rings = this.#rings;
    const count = rings.length;
    const start = this.#next < count ? this.#next : 0;
    this.#next = start + 1 < count ? start + 1 : 0;
    let n = 0;
    let decoded = 0;
    for (let i = 0; i < count; i++) {
      // A sink leaves room for one ring's batch, not one per ring: between rings, stop for a full sink.
      if (stopWhenFull && i > 0 && (this.#fullSinks = this.#fanOut.ready()) !== null) break;
      const ring = rings[(start + i) % count]!;
      const before = ring.decoded;
      n += ring.drainBatch(limit);
      decoded += ring.decoded - before;
    }
    this.#sinceFlush += decoded;
    this.#retireEnded();
    return n;
  }

  /** Deliver a report of corrupt records if one is due, on every ring. */
  checkCorrupt(force = false): void {
    for (const ring of this.#rings) ring.checkCorrupt(force);
  }

  /** Read every ring's priority drop channel and deliver a notice if one is due. */
  checkDrops(force = false): void {
    for (const ring of this.#rings) ring.checkDrops(force);
  }

  /** Run until `stop()`; resolves once the rings are drained after the stop request. */
  async run(): Promise<void> {
    while (true) {
      if (this.#exit?.requested) await this.#exitDrain();
      this.checkDrops();
      this.checkCorrupt();
      // Backpressure: a sink that says it is full holds the drain (bounded, see FanOut.ready); records wait in the ring.
      const ready = this.#fullSinks ?? this.#fanOut.ready();
      this.#fullSinks = null;
      if (ready !== null) await ready;
      const n = this.drainBatch(this.#batchRecords, true);
      this.#settleWaiters();
      // A prefault step every turn, busy or not, until the rings are done.
      const prefaulting = !this.#stopping && this.prefaultStep();
      if (n !== 0 || prefaulting || this.#fullSinks !== null) {
        this.#maybeFlush();
        // Yield every pass so timers, I/O callbacks and control messages run.
        await yieldToEventLoop();
        continue;
      }
      if (this.#stopping) return;
      // Every ring is empty: flush what arrived since the last flush, or run
      // the periodic flush when it is due (a metrics export rides on it), then
      // sleep. The producer wakes us only once an eighth of its ring waits, so
      // sleeping at once costs it nothing more, and an idle worker stays idle.
      if (this.#sinceFlush !== 0) {
        this.#sinceFlush = 0;
        this.#lastFlush = this.#now();
        this.#flushIdle();
      } else this.#maybeFlush();
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

  /** Each ring's decoded count now, to mark flushed once a flush round begun now completes. */
  #marks(): [RingDrain, number][] {
    return this.#rings.map((r) => [r, r.decoded]);
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
    const marks = this.#marks();
    void this.#fanOut.flushAll().then((all) => {
      if (all) for (const [ring, mark] of marks) ring.reader.markFlushed(mark);
    });
  }

  /**
   * The main thread is exiting and blocks until we acknowledge (or its
   * deadline passes): drain every ring to the end without yielding, deliver
   * pending notices, flush every sink (each bounded by its sink timeout; a
   * synchronous sink writes before the first await), and acknowledge.
   */
  async #exitDrain(): Promise<void> {
    while (this.drainBatch(this.#batchRecords) !== 0);
    this.checkDrops(true);
    this.checkCorrupt(true);
    this.#settleWaiters();
    await this.flushAll();
    this.#exit!.acknowledge();
  }

  /**
   * Sleep on every ring at once: each announces sleep (so its producer wakes
   * us), and the first to be written to, or the timeout, ends the sleep; the
   * other rings' waits are then ended too.
   */
  async #sleep(): Promise<void> {
    const rings = this.#rings;
    const seen: number[] = [];
    for (const ring of rings) {
      const s = ring.reader.prepareSleep();
      if (s === null) {
        for (let i = 0; i < seen.length; i++) rings[i]!.reader.cancelSleep();
        return;
      }
      seen.push(s);
    }
    const wake = new Promise<void>((resolve) => {
      this.#wake = resolve;
    });
    // A pending drop or corrupt notice must go out when its interval is up, so sleep no longer than that.
    let timeout = this.#flushIntervalMs;
    for (const ring of rings) if (ring.noticePending) timeout = ring.sleepBound(timeout);
    const sleeps = rings.map((ring, i) => ring.reader.sleep(seen[i]!, timeout));
    await Promise.race([...sleeps, wake]);
    this.#wake = null;
    if (rings.length > 1) {
      for (const ring of rings) ring.reader.interruptSleep();
      await Promise.all(sleeps);
    }
  }

  /**
   * Flush every sink now (a `flush` request) and, when every one flushed,
   * mark the records decoded before it as flushed (see `#flushIdle`).
   */
  async flushAll(): Promise<void> {
    const marks = this.#marks();
    if (await this.#fanOut.flushAll()) for (const [ring, mark] of marks) ring.reader.markFlushed(mark);
  }

  /** Cut a sleep short (a control message arrived). */
  wake(): void {
    this.#wake?.();
  }

  /**
   * Resolves once every record before `position` of the ring of `threadId`
   * (default: the main thread's) has been delivered; at once when that
   * thread has no ring here (it ended and was drained).
   */
  reach(position: number, threadId = this.#main.thread.id): Promise<void> {
    const ring = this.#find(threadId);
    if (ring === undefined) return Promise.resolve();
    const reached = ring.reach(position);
    this.wake();
    return reached;
  }

  #settleWaiters(): void {
    for (const ring of this.#rings) ring.settleWaiters();
  }

  /** Ask `run()` to return once the rings are empty. */
  stop(): void {
    this.#stopping = true;
    this.wake();
  }

  /** Deliver any notice still pending, regardless of the interval (at shutdown). */
  finalNotice(): void {
    this.checkDrops(true);
    this.checkCorrupt(true);
  }

  stats(): DrainStats {
    const r = this.#retired;
    const out: DrainStats = {
      decoded: r.decoded,
      corrupt: r.corrupt,
      corruptBytes: r.corruptBytes,
      corruptNotices: r.corruptNotices,
      orphaned: r.orphaned,
      evictedSpans: r.evictedSpans,
      openSpans: 0,
      dropNotices: r.dropNotices,
      droppedReported: r.droppedReported,
      oversizeReported: r.oversizeReported,
      queueHighWaterBytes: 0,
      prefaultedBytes: r.prefaultedBytes,
      threads: [],
      attached: { offered: r.offered, written: r.written, dropped: r.dropped, oversize: r.oversize },
      endedRings: r.ended,
    };
    for (const ring of this.#rings) {
      addRingCounts(out, ring);
      out.openSpans += ring.decoder.openSpans;
      if (ring.queueHighWater > out.queueHighWaterBytes) out.queueHighWaterBytes = ring.queueHighWater;
      const t = ring.stats();
      out.threads.push(t);
      if (ring !== this.#main) {
        out.attached.offered += t.offered;
        out.attached.written += t.written;
        out.attached.dropped += t.dropped;
        out.attached.oversize += t.oversize;
      }
    }
    return out;
  }
}
