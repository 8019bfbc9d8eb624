/**
 * The sink contract. A sink is an object living in the dispatcher worker that
 * receives decoded records; the dispatcher owns when each method is called.
 */
import type { TraceRecord } from '../record/trace-record.js';
import type { BuiltinSinkName } from './builtin-sinks.js';
import type { DispatcherHealth } from './dispatcher-health.js';
import type { MetricsSnapshot } from '../metric-region/metrics-snapshot.js';

/**
 * A destination for records.
 *
 * - **Thread.** Every method is called on the dispatcher worker thread, never
 *   on the application's thread, one call at a time (never concurrently with
 *   another method of the same sink).
 * - **`consume(record)`** is called once per record that passes this sink's
 *   filter, in ring order. It must be synchronous and fast: buffer the record
 *   and do I/O in `flush`. Span records after the start arrive only if the
 *   span's start passed the filter (a sink never sees half a span); the
 *   filter is applied to a span's target and level at its start. The record
 *   object may be shared with other sinks: do not mutate it.
 * - **`flush()`** is called every `flushIntervalMs`, every `flushEveryRecords`
 *   records, when the ring runs empty, on `dispatcher.flush()`, and before
 *   `close`. It may return a promise; the worker keeps draining the ring while
 *   it is pending but does not call `flush` again until it settles.
 * - **`close()`** (optional) is called once, after a final `flush`, when the
 *   sink is removed or the dispatcher shuts down. Release files and sockets here.
 * - **`ready()`** (optional) is backpressure: it returns null while the sink
 *   can take more records, and a promise that resolves once it can when its
 *   queue is full. The worker asks before each batch it drains; while a
 *   promise is pending the records wait in the ring (which drops, counted,
 *   only when full) instead of being dropped in the sink. The wait is
 *   bounded (100 ms, `DEFAULT_SINK_READY_WAIT_MS`), since every other sink
 *   waits too: past it the worker goes on, `consume` is called as before
 *   (the sink drops what it cannot hold, and counts it), and the sink is not
 *   waited for again until `ready()` returns null once. Counted per sink in
 *   `readyWaits`, `readyTimeouts`, `readyWaitMs`. Leave room for a batch
 *   (up to 4096 records) when reporting full.
 * - **`inspect()`** (optional) answers `dispatcher.inspectSink(name)` with a
 *   structured-cloneable value (the memory sink returns its records).
 * - **Timeouts.** A `flush` or `close` whose promise has not settled within
 *   `sinkTimeoutMs` is counted as failed and reported, and the worker stops
 *   waiting for it, but the sink is still busy: until that promise settles
 *   no other `flush` is called (each one skipped is counted in
 *   `skippedFlushes`), and `close` waits one more `sinkTimeoutMs` for it;
 *   a sink that still has not settled then is retired without `close`.
 *   `consume` keeps being called meanwhile, as during any pending flush.
 * - **Errors.** A throw (or rejected promise) from any method is counted in
 *   the sink's `failed` stats and reported; the record is not retried and the
 *   other sinks are not disturbed.
 * - **Worker death.** If the worker dies (a sink calling `process.exit()`,
 *   say), its successor resumes after the last record handed to `consume`:
 *   no record reaches a sink twice. Records consumed since the last flush
 *   every sink completed may be lost; they are counted in `lostInFlight`.
 */
export interface TraceSink {
  consume(record: TraceRecord): void;
  flush(): void | Promise<void>;
  close?(): void | Promise<void>;
  /** Backpressure: null (or undefined) while the sink can take records; else a promise that resolves when it can. */
  ready?(): Promise<void> | null | undefined;
  inspect?(): unknown;
}

/** What a sink factory receives besides its options. */
export interface SinkContext {
  /** The sink's name from its spec. */
  readonly name: string;
  /**
   * The dispatcher's health right now (records offered, written, dropped,
   * queue depth, every sink's counts), read on the worker thread. Cheap
   * enough to call at each flush or scrape, not per record: it walks the
   * records still waiting in the ring. The dispatcher worker always provides
   * it; it is absent only when a sink is constructed by hand (in a test).
   */
  readonly stats?: () => DispatcherHealth;
  /**
   * The OpenTelemetry resource of the application (`service.name`, process and
   * runtime attributes), given once here rather than in every record.
   */
  readonly resource?: Readonly<Record<string, string | number | boolean>>;
  /**
   * The application's metrics (its OpenTelemetry counters, gauges and
   * histograms) as of now, read from shared memory on the worker thread
   * without disturbing the recording threads. Cumulative since recording
   * began. Cheap enough per flush or scrape (it copies every series), not
   * per record. Absent when a sink is constructed by hand.
   */
  readonly metrics?: () => MetricsSnapshot;
}

/** A sink module's default export: builds the sink from the spec's options. */
export type SinkFactory<Options = unknown> = (options: Options, context: SinkContext) => TraceSink | Promise<TraceSink>;

export type { BuiltinSinkName };

interface SinkSpecBase {
  /** Unique among the dispatcher's sinks; used by `removeSink` and in stats. */
  name: string;
  /** Filter directives, e.g. `info,http=debug`. Default `info`. */
  filter?: string;
  /** Passed to the sink's factory; must be structured-cloneable. */
  options?: unknown;
}

/** A built-in sink. */
export interface BuiltinSinkSpec extends SinkSpecBase {
  sink: BuiltinSinkName;
  module?: never;
}

/**
 * A sink from a module whose default export is a `SinkFactory`. A relative
 * path is resolved against `process.cwd()` on the application's thread.
 */
export interface ModuleSinkSpec extends SinkSpecBase {
  module: string | URL;
  sink?: never;
}

export type SinkSpec = BuiltinSinkSpec | ModuleSinkSpec;
