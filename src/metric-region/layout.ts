/**
 * The metrics region's shared memory layout: every slot is named here and
 * only here, for both the recording thread (MetricRegionWriter) and the
 * worker (MetricRegionReader).
 *
 *   SharedArrayBuffer (one per recording thread, made once, outlives workers)
 *   ┌──────── header: 64 bytes, written by the recording thread only ────────┐
 *   │ Int32   LOG_END, SLOTS_USED, LOG_CAPACITY, SLOT_CAPACITY               │
 *   │ Float64 OVERFLOWED, INVALID, SERIES_DROPPED, START_TIME_MS             │
 *   ├──────── descriptor log: LOG_CAPACITY bytes, append-only ───────────────┤
 *   │ [u32 length][UTF-8 JSON, padded to 4] … scopes, instruments, series    │
 *   ├──────── slots: SLOT_CAPACITY Float64 cells ────────────────────────────┤
 *   │ series cells: a sum or gauge is 1 cell; a histogram is                 │
 *   │ [GEN | SUM | MIN | MAX | bucket 0 … bucket n] (see HISTOGRAM_*)        │
 *   └────────────────────────────────────────────────────────────────────────┘
 *
 * **One writer.** Only the thread that owns a region writes it (its sync
 * instruments and its observable callbacks alike), so a cell is updated with a
 * plain `cells[i] += v`: there is no other writer to lose an update to, and a
 * Float64 cell is exact for integer counts up to 2^53. The worker only reads.
 * An aligned 8-byte cell is read and written by one machine instruction on
 * the platforms Node runs on (x64, arm64), so the reader sees an old or a new
 * value, never half of each. (The JavaScript memory model promises tear-free
 * access only for integer element types; where order matters — a histogram's
 * generation, the log's end — the writer publishes with `Atomics.store`.)
 *
 * **Descriptors.** The worker learns what a cell means from the descriptor
 * log: the writer appends an entry when it creates a scope, an instrument or
 * a series (off the hot path, at most the cardinality limit per instrument)
 * and publishes the new LOG_END with `Atomics.store`; the reader parses from
 * where it stopped. A respawned worker reads the log from the start, and the
 * cells still hold every count: nothing resets.
 */

/** Bytes of the header. */
export const METRIC_HEADER_BYTES = 64;

/** Int32 slot: bytes of the descriptor log published so far. */
export const LOG_END = 0;
/** Int32 slot: Float64 cells allocated so far (published after their descriptor). */
export const SLOTS_USED = 1;
/** Int32 slot: capacity of the descriptor log in bytes (set once). */
export const LOG_CAPACITY = 2;
/** Int32 slot: capacity of the slot area in Float64 cells (set once). */
export const SLOT_CAPACITY = 3;

/** Float64 header slot: measurements routed to an instrument's overflow series (past its cardinality limit). */
export const OVERFLOWED = 2;
/** Float64 header slot: measurements ignored as bad input (negative counter add, non-finite value, bad instrument). */
export const INVALID = 3;
/** Float64 header slot: new series routed to overflow because the region (cells or log) was full. */
export const SERIES_DROPPED = 4;
/** Float64 header slot: when recording began, ms since the epoch: the start time of every cumulative series. */
export const START_TIME_MS = 5;

/** Bytes of a descriptor entry's length prefix; entries start on 4-byte boundaries. */
export const LOG_ENTRY_HEADER_BYTES = 4;

/** Histogram series, cell offsets from the series' first cell. */
/** Generation: Int32 at the cell's first half, stored with `Atomics.store` after every record. */
export const HISTOGRAM_GEN = 0;
export const HISTOGRAM_SUM = 1;
export const HISTOGRAM_MIN = 2;
export const HISTOGRAM_MAX = 3;
/** First bucket count; there are `boundaries.length + 1` of them. */
export const HISTOGRAM_BUCKETS = 4;

/** Cells of one series of a kind: 1, or for a histogram with `boundaries` bounds, 4 + buckets. */
export function seriesCells(kind: MetricKind, boundaryCount: number): number {
  return kind === 'histogram' ? HISTOGRAM_BUCKETS + boundaryCount + 1 : 1;
}

/** Instrument kinds, as the descriptor log and the snapshot name them. */
export type MetricKind =
  | 'counter'
  | 'upDownCounter'
  | 'gauge'
  | 'histogram'
  | 'observableCounter'
  | 'observableUpDownCounter'
  | 'observableGauge';

/** Kinds whose cell holds the last value (NaN until the first one). */
export function holdsLastValue(kind: MetricKind): boolean {
  return kind === 'gauge' || kind === 'observableCounter' || kind === 'observableUpDownCounter' || kind === 'observableGauge';
}

/** Descriptor log entries (JSON). `t` says which. */
export type DescriptorEntry =
  | { t: 'scope'; id: number; name: string; version: string | undefined; schemaUrl: string | undefined }
  | {
      t: 'instrument';
      id: number;
      scope: number;
      name: string;
      kind: MetricKind;
      unit: string;
      description: string;
      /** 0 int, 1 double, as the API's ValueType. */
      valueType: number;
      /** Histogram bucket bounds; empty for other kinds. */
      boundaries: number[];
    }
  /**
   * A series: its first cell, its instrument and attributes (key/value pairs,
   * keys sorted). The overflow series is described with its instrument, so it
   * always has room, and marked: the reader leaves it out while it is empty.
   */
  | { t: 'series'; cell: number; instrument: number; attributes: [string, AttributeJson][]; overflow?: true };

/** An attribute value as JSON carries it: a primitive or a homogeneous array (non-finite numbers as strings). */
export type AttributeJson = string | number | boolean | (string | number | boolean | null)[];

/**
 * Default region size: 4 MiB of descriptor log (a series' entry is about
 * 100 bytes, so some 40,000 series), 1 Mi cells (8 MiB). Pages never touched
 * cost no memory.
 */
export const DEFAULT_LOG_CAPACITY = 4 * 1024 * 1024;
export const DEFAULT_SLOT_CAPACITY = 1024 * 1024;

/** Allocate a region and write its fixed header. */
export function allocateMetricRegion(logCapacity = DEFAULT_LOG_CAPACITY, slotCapacity = DEFAULT_SLOT_CAPACITY, now = Date.now()): SharedArrayBuffer {
  const log = Math.ceil(logCapacity / 8) * 8;
  const sab = new SharedArrayBuffer(METRIC_HEADER_BYTES + log + slotCapacity * 8);
  const i32 = new Int32Array(sab, 0, METRIC_HEADER_BYTES / 4);
  const f64 = new Float64Array(sab, 0, METRIC_HEADER_BYTES / 8);
  i32[LOG_CAPACITY] = log;
  i32[SLOT_CAPACITY] = slotCapacity;
  f64[START_TIME_MS] = now;
  return sab;
}

/** Byte offset of the slot area in a region. */
export function slotAreaOffset(sab: SharedArrayBuffer): number {
  return METRIC_HEADER_BYTES + new Int32Array(sab, 0, METRIC_HEADER_BYTES / 4)[LOG_CAPACITY]!;
}
