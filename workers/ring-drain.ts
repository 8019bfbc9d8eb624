/**
 * RingDrain: the drain loop's state for one ring, that is one recording
 * thread. Each ring has its own reader, framing walker and decoder (so its
 * own string table and open spans), its own priority drop words and corrupt
 * counts, and its own notices; the DrainLoop takes turns between rings.
 */
import { KIND_STRING_DEF } from '../src/record/format.js';
import { RecordDecoder } from '../src/decoder/record-decoder.js';
import { RecordWalker } from '../src/ring/framing.js';
import type { RingReader } from '../src/ring/ring-reader.js';
import type { ThreadInfo } from '../src/record/trace-record.js';
import type { ThreadStats } from '../src/control/control-protocol.js';
import type { Diagnostics } from './diagnostics.js';
import type { FanOut } from './fan-out.js';

/**
 * Ring bytes prefaulted per turn of the loop: 64 pages, 0.2–0.5 ms, so
 * records and control messages wait no longer than that for it.
 */
export const PREFAULT_STEP_BYTES = 256 * 1024;

interface PositionWaiter {
  position: number;
  resolve: () => void;
}

export class RingDrain {
  readonly reader: RingReader;
  readonly decoder: RecordDecoder;
  readonly thread: ThreadInfo;
  readonly #walker: RecordWalker;
  readonly #fanOut: FanOut;
  readonly #diagnostics: Diagnostics;
  readonly #intervalMs: number;
  readonly #now: () => number;
  /** Continues the count of an earlier (dead) worker on the same ring, so `decoded == written` survives a respawn. */
  decoded: number;
  corrupt: number;
  corruptBytes: number;
  corruptNotices = 0;
  dropNotices = 0;
  droppedReported = 0;
  oversizeReported = 0;
  queueHighWater = 0;
  #pendingDropped = 0;
  #pendingOversize = 0;
  #lastNotice = -Infinity;
  /** Corrupt records and bytes not yet reported, and the first reason among them. */
  #pendingCorrupt = 0;
  #pendingCorruptBytes = 0;
  #corruptReason = '';
  #lastCorruptNotice = -Infinity;
  /** Which PREFAULT_STEP_BYTES chunks of the ring are prefaulted (1), and their bytes. */
  readonly #prefaultDone: Uint8Array;
  prefaulted = 0;
  #waiters: PositionWaiter[] = [];
  /** Set once the thread has ended: drain to the end, then the ring is dropped. */
  ending: ((stats: ThreadStats) => void)[] | null = null;

  constructor(reader: RingReader, decoder: RecordDecoder, fanOut: FanOut, diagnostics: Diagnostics, thread: ThreadInfo, intervalMs: number, now: () => number) {
    this.reader = reader;
    this.decoder = decoder;
    this.thread = thread;
    this.#walker = new RecordWalker(reader.bytes);
    this.#fanOut = fanOut;
    this.#diagnostics = diagnostics;
    this.#intervalMs = intervalMs;
    this.#now = now;
    this.decoded = reader.decodedSoFar();
    const corrupt = reader.corruptSoFar();
    this.corrupt = corrupt.records;
    this.corruptBytes = corrupt.bytes;
    this.#prefaultDone = new Uint8Array(Math.ceil(reader.capacity / PREFAULT_STEP_BYTES));
  }

  /** Whether the producer has published nothing this ring has not taken. */
  get empty(): boolean {
    return this.reader.available() === this.reader.position;
  }

  /** Whether a drop or corrupt notice is waiting for its interval. */
  get noticePending(): boolean {
    return this.#pendingDropped + this.#pendingOversize + this.#pendingCorrupt + this.#pendingCorruptBytes > 0;
  }

  /** How long, at most, a sleep may last so a pending notice goes out on time. */
  sleepBound(timeout: number): number {
    const now = this.#now();
    if (this.#pendingDropped + this.#pendingOversize > 0) timeout = Math.min(timeout, Math.max(1, this.#intervalMs - (now - this.#lastNotice)));
    if (this.#pendingCorrupt + this.#pendingCorruptBytes > 0) timeout = Math.min(timeout, Math.max(1, this.#intervalMs - (now - this.#lastCorruptNotice)));
    return timeout;
  }

  /** See DrainLoop.prefaultStep. */
  prefaultStep(): boolean {
    const reader = this.reader;
    const done = this.#prefaultDone;
    if (this.prefaulted === reader.capacity) return false;
    // Some chunk is not done, so this ends within one round of the ring.
    let chunk = Math.floor((reader.available() & reader.mask) / PREFAULT_STEP_BYTES) + 1;
    while (done[chunk % done.length] === 1) chunk++;
    chunk %= done.length;
    const from = chunk * PREFAULT_STEP_BYTES;
    const to = Math.min(from + PREFAULT_STEP_BYTES, reader.capacity);
    reader.prefault(from, to);
    done[chunk] = 1;
    this.prefaulted += to - from;
    return true;
  }

  /** Decode and deliver up to `limit` records already in the ring; returns how many it took (string definitions included). */
  drainBatch(limit: number): number {
    const reader = this.reader;
    const walker = this.#walker;
    const decoder = this.decoder;
    const fanOut = this.#fanOut;
    const mask = reader.mask;
    const end = reader.available();
    const from = reader.position;
    let pos = from;
    if (end - pos > this.queueHighWater) this.queueHighWater = end - pos;
    let n = 0;
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
        this.decoded++;
        // Before the sinks see it: a successor of this worker must not hand it out again.
        reader.take(pos, this.decoded);
        fanOut.deliver(record, decoder);
      }
    }
    if (pos !== from) reader.release(pos, this.decoded);
    if (this.#pendingCorrupt + this.#pendingCorruptBytes !== 0) this.checkCorrupt();
    return n;
  }

  #resync(pos: number, end: number): number {
    const walker = this.#walker;
    const next = walker.resync(pos, end, (p) => RecordDecoder.knowsKind(walker.kindAt(p)));
    this.corruptBytes += next - pos;
    this.#pendingCorruptBytes += next - pos;
    if (this.#corruptReason === '') this.#corruptReason = `unsound record framing at offset ${pos & this.reader.mask}`;
    this.reader.storeCorrupt(this.corrupt, this.corruptBytes);
    return next;
  }

  /**
   * A record whose framing is sound but that will not decode. A string
   * definition is not a record of its own (it rides with the record that
   * uses it, which then fails too), so it counts in bytes.
   */
  #countCorrupt(error: unknown, kind: number, size: number): void {
    if (kind === KIND_STRING_DEF) {
      this.corruptBytes += size;
      this.#pendingCorruptBytes += size;
    } else {
      this.corrupt++;
      this.#pendingCorrupt++;
    }
    if (this.#corruptReason === '') this.#corruptReason = error instanceof Error ? error.message : String(error);
    this.reader.storeCorrupt(this.corrupt, this.corruptBytes);
  }

  /** The main thread's notices say nothing of threads (as before there were several); an attached thread's say which. */
  #threadFields(fields: Record<string, number | string>): Record<string, number | string> {
    if (this.thread.id !== 0) {
      fields['thread_id'] = this.thread.id;
      fields['thread_name'] = this.thread.name;
    }
    return fields;
  }

  /** Deliver a report of corrupt records if one is due (at most one per flush interval). */
  checkCorrupt(force = false): void {
    if (this.#pendingCorrupt + this.#pendingCorruptBytes === 0) return;
    const now = this.#now();
    if (!force && now - this.#lastCorruptNotice < this.#intervalMs) return;
    this.#lastCorruptNotice = now;
    const fields = this.#threadFields(Object.assign(Object.create(null) as Record<string, number | string>, {
      corrupt_count: this.#pendingCorrupt,
      corrupt_bytes: this.#pendingCorruptBytes,
      reason: this.#corruptReason,
    }));
    this.#pendingCorrupt = 0;
    this.#pendingCorruptBytes = 0;
    this.#corruptReason = '';
    this.corruptNotices++;
    this.#diagnostics.notice('records skipped: the worker could not decode them', fields);
    this.#fanOut.deliverDiagnostics();
  }

  /** Read the priority drop channel and deliver a notice if one is due. */
  checkDrops(force = false): void {
    const notice = this.reader.takeDrops();
    if (notice !== null) {
      this.#pendingDropped += notice.dropped;
      this.#pendingOversize += notice.oversize;
    }
    if (this.#pendingDropped === 0 && this.#pendingOversize === 0) return;
    const now = this.#now();
    if (!force && now - this.#lastNotice < this.#intervalMs) return;
    this.#lastNotice = now;
    const dropped = this.#pendingDropped;
    const oversize = this.#pendingOversize;
    this.#pendingDropped = 0;
    this.#pendingOversize = 0;
    this.dropNotices++;
    this.droppedReported += dropped;
    this.oversizeReported += oversize;
    const fields = this.#threadFields(Object.assign(Object.create(null) as Record<string, number>, { dropped_count: dropped, oversize_count: oversize }));
    this.#diagnostics.emit('error', dropped > 0 ? 'records dropped: queue full' : 'records dropped: too large for the queue', fields);
    this.#fanOut.deliverDiagnostics();
  }

  /** Resolves once every record before `position` has been delivered. */
  reach(position: number): Promise<void> {
    if (this.reader.position >= position) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push({ position, resolve });
    });
  }

  settleWaiters(all = false): void {
    if (this.#waiters.length === 0) return;
    const pos = this.reader.position;
    const ready = all ? this.#waiters : this.#waiters.filter((w) => w.position <= pos);
    if (ready.length === 0) return;
    this.#waiters = all ? [] : this.#waiters.filter((w) => w.position > pos);
    for (const w of ready) w.resolve();
  }

  /** This thread's counts, its producer's as published in the ring header. */
  stats(): ThreadStats {
    const reader = this.reader;
    const end = reader.available();
    // Loaded after WRITE_INDEX: it covers every record up to `end`.
    const written = reader.writtenSoFar();
    const { dropped, oversize } = reader.dropTotals();
    return {
      threadId: this.thread.id,
      threadName: this.thread.name,
      offered: written + dropped + oversize,
      written,
      dropped,
      oversize,
      queueBytes: end - reader.position,
      queueCapacity: reader.capacity,
      decoded: this.decoded,
      corrupt: this.corrupt,
      corruptBytes: this.corruptBytes,
      openSpans: this.decoder.openSpans,
    };
  }
}
