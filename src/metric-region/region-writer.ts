/**
 * The recording thread's side of a metrics region: it hands out cells and
 * appends descriptors (both off the hot path, when a scope, instrument or
 * series is new) and keeps the header's counts. The hot path itself writes
 * cells directly through `cells` and `gens` (see the instruments).
 */
import {
  HISTOGRAM_MAX,
  HISTOGRAM_MIN,
  INVALID,
  LOG_CAPACITY,
  LOG_END,
  LOG_ENTRY_HEADER_BYTES,
  METRIC_HEADER_BYTES,
  OVERFLOWED,
  SERIES_DROPPED,
  SLOT_CAPACITY,
  SLOTS_USED,
  holdsLastValue,
  slotAreaOffset,
  type AttributeJson,
  type DescriptorEntry,
  type MetricKind,
} from './layout.js';

const encoder = new TextEncoder();

export class MetricRegionWriter {
  readonly sab: SharedArrayBuffer;
  /** Every cell of the slot area, as Float64. */
  readonly cells: Float64Array;
  /** The same memory as Int32: a histogram's generation is `gens[cell * 2]`. */
  readonly gens: Int32Array;
  readonly #header32: Int32Array;
  readonly #header64: Float64Array;
  readonly #log: Uint8Array;
  readonly #logView: DataView;
  readonly #slotCapacity: number;
  #logEnd: number;
  #slotsUsed: number;

  constructor(sab: SharedArrayBuffer) {
    this.sab = sab;
    this.#header32 = new Int32Array(sab, 0, METRIC_HEADER_BYTES / 4);
    this.#header64 = new Float64Array(sab, 0, METRIC_HEADER_BYTES / 8);
    const logCapacity = this.#header32[LOG_CAPACITY];
    this.#slotCapacity = this.#header32[SLOT_CAPACITY];
    this.#log = new Uint8Array(sab, METRIC_HEADER_BYTES, logCapacity);
    this.#logView = new DataView(sab, METRIC_HEADER_BYTES, logCapacity);
    const offset = slotAreaOffset(sab);
    this.cells = new Float64Array(sab, offset, this.#slotCapacity);
    this.gens = new Int32Array(sab, offset, this.#slotCapacity * 2);
    this.#logEnd = Atomics.load(this.#header32, LOG_END);
    this.#slotsUsed = Atomics.load(this.#header32, SLOTS_USED);
  }

  /** Cells still free. */
  get freeCells(): number {
    return this.#slotCapacity - this.#slotsUsed;
  }

  /**
   * Reserve the cells of a new series and describe it: both, or neither when
   * the region (cells or log) is full; returns its first cell, or -1. The
   * cells are initialised (a last-value cell to NaN, "nothing yet"; a
   * histogram's min/max to ±Infinity) before the descriptor that gives them a
   * meaning is published.
   */
  addSeries(kind: MetricKind, count: number, instrument: number, attributes: [string, AttributeJson][], overflow = false): number {
    if (count > this.freeCells) return -1;
    const cell = this.#slotsUsed;
    const entry: DescriptorEntry = overflow ? { t: 'series', cell, instrument, attributes, overflow: true } : { t: 'series', cell, instrument, attributes };
    const bytes = encoder.encode(JSON.stringify(entry));
    if (!this.#fits(bytes)) return -1;
    this.#slotsUsed += count;
    if (holdsLastValue(kind)) this.cells[cell] = Number.NaN;
    if (kind === 'histogram') {
      this.cells[cell + HISTOGRAM_MIN] = Number.POSITIVE_INFINITY;
      this.cells[cell + HISTOGRAM_MAX] = Number.NEGATIVE_INFINITY;
    }
    Atomics.store(this.#header32, SLOTS_USED, this.#slotsUsed);
    this.#append(bytes);
    return cell;
  }

  /** Append a descriptor and publish it; false when the log is full (nothing written). */
  describe(entry: DescriptorEntry): boolean {
    const bytes = encoder.encode(JSON.stringify(entry));
    if (!this.#fits(bytes)) return false;
    this.#append(bytes);
    return true;
  }

  #fits(bytes: Uint8Array): boolean {
    return this.#logEnd + LOG_ENTRY_HEADER_BYTES + Math.ceil(bytes.length / 4) * 4 <= this.#log.length;
  }

  #append(bytes: Uint8Array): void {
    this.#logView.setUint32(this.#logEnd, bytes.length, true);
    this.#log.set(bytes, this.#logEnd + LOG_ENTRY_HEADER_BYTES);
    this.#logEnd += LOG_ENTRY_HEADER_BYTES + Math.ceil(bytes.length / 4) * 4;
    // The release: a reader that sees the new end sees the whole entry.
    Atomics.store(this.#header32, LOG_END, this.#logEnd);
  }

  /** Bytes of the descriptor log used. */
  get logBytes(): number {
    return this.#logEnd;
  }

  countOverflowed(): void {
    this.#header64[OVERFLOWED] += 1;
  }

  countInvalid(): void {
    this.#header64[INVALID] += 1;
  }

  countSeriesDropped(): void {
    this.#header64[SERIES_DROPPED] += 1;
  }

  /** The header's counts, as the recording thread sees them. */
  counts(): { overflowed: number; invalid: number; seriesDropped: number } {
    return { overflowed: this.#header64[OVERFLOWED], invalid: this.#header64[INVALID], seriesDropped: this.#header64[SERIES_DROPPED] };
  }
}
