/**
 * The dispatcher's own health as a sink in the worker can read it through
 * `SinkContext.stats()`: what the `prometheus` sink exports, and what any
 * custom sink may report. Every count is since the dispatcher started.
 */

/** One sink's counts (the same meaning as `SinkStats` in `dispatcher.stats()`). */
export interface SinkHealth {
  readonly name: string;
  /** Ring records passed to `consume` without a throw. */
  readonly delivered: number;
  /** Ring records this sink's filter kept from it. */
  readonly filtered: number;
  /** Ring records whose `consume` threw. */
  readonly failed: number;
  readonly flushes: number;
  /** Flushes that threw, rejected or timed out. */
  readonly flushFailures: number;
  /** Time spent in all flushes, and in the last one, in milliseconds. */
  readonly totalFlushMs: number;
  readonly lastFlushMs: number;
}

/**
 * The dispatcher's health, read in the worker.
 *
 * The producer keeps `offered` and `written` on its own thread; the worker
 * rebuilds them exactly from what it can see: `written` is the records it
 * decoded plus the records still waiting in the ring, and
 * `offered == written + dropped + oversize`, with `dropped` and `oversize`
 * read from the ring header (the priority drop channel; 32-bit counters).
 */
export interface DispatcherHealth {
  /** Records the producer tried to record. */
  readonly offered: number;
  /** Records that made it into the ring. */
  readonly written: number;
  /** Records dropped because the ring was full. */
  readonly dropped: number;
  /** Records dropped because they could never fit in the ring. */
  readonly oversize: number;
  /** Records the worker has decoded and fanned out. */
  readonly decoded: number;
  /** Records the worker could not decode: skipped and reported (`decoded + corrupt + queueRecords == written`). */
  readonly corrupt: number;
  /** Bytes skipped where the ring's framing was unsound, so records could not be told apart (0 unless memory was damaged). */
  readonly corruptBytes: number;
  /** Records waiting in the ring now. */
  readonly queueRecords: number;
  /** Bytes waiting in the ring now (WRITE_INDEX − READ_INDEX). */
  readonly queueBytes: number;
  /** The most bytes seen waiting in the ring, sampled before each drained batch. */
  readonly queueHighWaterBytes: number;
  /** Ring data capacity in bytes. */
  readonly queueCapacityBytes: number;
  /**
   * Times the dispatcher worker was replaced after dying, as the current
   * worker was told when it started (0 for the first worker).
   */
  readonly workerRestarts: number;
  readonly sinks: readonly SinkHealth[];
}
