/**
 * Builds `DispatcherHealth` (what `SinkContext.stats()` returns) on the
 * worker thread, from the ring header and the worker's own counts. The
 * producer's `written` is rebuilt as decoded + records still in the ring:
 * the records between the read and write positions are whole, and the
 * producer never touches them, so walking their headers is safe here.
 */
import { KIND_PAD, KIND_STRING_DEF } from '../src/record/format.js';
import type { RecordDecoder } from '../src/record/record-decoder.js';
import { DROPPED, HEADER_BYTES, OVERSIZE } from '../src/ring/layout.js';
import type { RingReader } from '../src/ring/ring-reader.js';
import type { DispatcherHealth } from '../src/sinks/dispatcher-health.js';
import type { DrainLoop } from './drain-loop.js';
import type { FanOut } from './fan-out.js';

export class DispatcherHealthReader {
  readonly #header: Int32Array;

  constructor(
    ring: SharedArrayBuffer,
    readonly reader: RingReader,
    readonly decoder: RecordDecoder,
    readonly loop: DrainLoop,
    readonly fanOut: FanOut,
    /** Worker replacements so far, from the seed of a respawned worker. */
    readonly workerRestarts: () => number,
  ) {
    this.#header = new Int32Array(ring, 0, HEADER_BYTES / 4);
  }

  read(): DispatcherHealth {
    const drain = this.loop.stats();
    const start = this.reader.position;
    const end = this.reader.available();
    const queueRecords = this.#countRecords(start, end);
    const written = drain.decoded + queueRecords;
    // The header counters are the producer's totals mod 2^32.
    const dropped = Atomics.load(this.#header, DROPPED) >>> 0;
    const oversize = Atomics.load(this.#header, OVERSIZE) >>> 0;
    return {
      offered: written + dropped + oversize,
      written,
      dropped,
      oversize,
      decoded: drain.decoded,
      queueRecords,
      queueBytes: end - start,
      queueHighWaterBytes: Math.max(drain.queueHighWaterBytes, end - start),
      queueCapacityBytes: this.reader.capacity,
      workerRestarts: this.workerRestarts(),
      sinks: this.fanOut.slots.map((slot) => {
        const s = slot.stats;
        return {
          name: s.name,
          delivered: s.delivered,
          filtered: s.filtered,
          failed: s.failed,
          flushes: s.flushes,
          flushFailures: s.flushFailures,
          totalFlushMs: s.totalFlushMs,
          lastFlushMs: s.lastFlushMs,
        };
      }),
    };
  }

  /** Records in [start, end) that count as written (not padding, not string definitions). */
  #countRecords(start: number, end: number): number {
    const mask = this.reader.mask;
    let n = 0;
    for (let pos = start; pos < end; ) {
      const offset = pos & mask;
      const kind = this.decoder.kindAt(offset);
      pos += this.decoder.sizeAt(offset);
      if (kind !== KIND_PAD && kind !== KIND_STRING_DEF) n++;
    }
    return n;
  }
}
