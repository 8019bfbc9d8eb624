/**
 * RingHistogram: the API's `Histogram` with explicit buckets (the advice's,
 * else the SDK's defaults). A record picks its bucket (BucketPicker: a table
 * lookup, no loop over the bounds for the usual bounds), then, in this order,
 * adds to the bucket, the sum, updates min and max with plain stores (single
 * writer), and last publishes the series' generation with `Atomics.store`,
 * which the worker reads around its copy to see a record that was in flight
 * (see metric-region/region-reader.ts). The count is the sum of the buckets.
 */
import type { Histogram, MetricAttributes } from '@opentelemetry/api';
import { HISTOGRAM_BUCKETS, HISTOGRAM_GEN, HISTOGRAM_MAX, HISTOGRAM_MIN, HISTOGRAM_SUM } from '../metric-region/layout.js';
import type { AttributeSetTable } from './attribute-set-table.js';
import type { BucketPicker } from './bucket-picker.js';
import { BadInput, InstrumentState } from './instrument-state.js';

export class RingHistogram implements Histogram {
  readonly #cells: Float64Array;
  readonly #gens: Int32Array;
  readonly #table: AttributeSetTable;
  readonly #picker: BucketPicker;
  readonly #state: InstrumentState;

  /** @internal made by RingMeter. */
  constructor(table: AttributeSetTable, picker: BucketPicker, state: InstrumentState) {
    this.#cells = state.writer.cells;
    this.#gens = state.writer.gens;
    this.#table = table;
    this.#picker = picker;
    this.#state = state;
  }

  /** The bucket bounds this histogram counts with. */
  get boundaries(): number[] {
    return [...this.#picker.bounds];
  }

  record(value: number, attributes?: MetricAttributes): void {
    // The API allows only non-negative values here (as the SDK, which drops the others).
    if (typeof value === 'number' && value >= 0 && value < Infinity) {
      const table = this.#table;
      const cell = attributes === undefined ? (table.emptyCell >= 0 ? table.emptyCell : table.empty()) : table.find(attributes);
      const cells = this.#cells;
      cells[cell + HISTOGRAM_BUCKETS + this.#picker.pick(value)] += 1;
      cells[cell + HISTOGRAM_SUM] += value;
      if (value < cells[cell + HISTOGRAM_MIN]!) cells[cell + HISTOGRAM_MIN] = value;
      if (value > cells[cell + HISTOGRAM_MAX]!) cells[cell + HISTOGRAM_MAX] = value;
      const gen = (cell + HISTOGRAM_GEN) * 2;
      Atomics.store(this.#gens, gen, (this.#gens[gen]! + 1) | 0);
      return;
    }
    this.#state.ignore(typeof value === 'number' && value < 0 ? BadInput.Negative : (InstrumentState.check(value) as BadInput), value);
  }
}
