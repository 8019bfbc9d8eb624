/**
 * Builds `DispatcherHealth` (what `SinkContext.stats()` returns) on the
 * worker thread, from the ring header and the worker's own counts. The
 * producer's `written` is rebuilt as decoded + records still in the ring:
 * the records between the read and write positions are whole, and the
 * producer never touches them, so walking their headers is safe here.
 */
import { KIND_STRING_DEF } from '../src/record/format.js';
import { RecordWalker } from '../src/ring/framing.js';
import type { RingReader } from '../src/ring/ring-reader.js';
import type { DispatcherHealth } from '../src/sinks/dispatcher-health.js';
import type { DrainLoop } from './drain-loop.js';
import type { FanOut } from './fan-out.js';

export class DispatcherHealthReader {
  readonly #walker: RecordWalker;

  constructor(
    readonly reader: RingReader,
    readonly loop: DrainLoop,
    readonly fanOut: FanOut,
    /** Worker replacements so far, from the seed of a respawned worker. */
    readonly workerRestarts: () => number,
  ) {
    this.#walker = new RecordWalker(reader.bytes);
  }

  /** The main thread's ring (attached threads' rings are in `dispatcher.stats().threads`). */
  read(): DispatcherHealth {
    const drain = this.loop.main;
    const start = this.reader.position;
    const end = this.reader.available();
    const queueRecords = this.#countRecords(start, end);
    const written = drain.decoded + drain.corrupt + queueRecords;
    // The header counters are the producer's totals mod 2^32.
    const { dropped, oversize } = this.reader.dropTotals();
    return {
      offered: written + dropped + oversize,
      written,
      dropped,
      oversize,
      decoded: drain.decoded,
      corrupt: drain.corrupt,
      corruptBytes: drain.corruptBytes,
      queueRecords,
      queueBytes: end - start,
      queueHighWaterBytes: Math.max(drain.queueHighWater, end - start),
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

  /**
   * Records in [start, end) that count as written (not padding, not string
   * definitions), through the same guarded walker as the drain loop: past
   * unsound framing it stops counting (the drain loop will skip and count
   * those bytes) rather than trust a size.
   */
  #countRecords(start: number, end: number): number {
    const walker = this.#walker;
    let n = 0;
    for (let pos = start; pos < end; ) {
      const size = walker.sizeAt(pos, end);
      if (size === 0) break;
      if (!walker.isPad(pos) && walker.kindAt(pos) !== KIND_STRING_DEF) n++;
      pos += size;
    }
    return n;
  }
}
