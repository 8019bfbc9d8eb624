/**
 * RingCounter: the API's monotonic `Counter`. `add` finds the series' cell
 * and adds to it in place: a plain `+=`, since only this thread writes its
 * region (see metric-region/layout.ts). A negative or non-finite value is
 * ignored, counted, and warned about once.
 */
import type { Counter, MetricAttributes } from '@opentelemetry/api';
import type { AttributeSetTable } from './attribute-set-table.js';
import { BadInput, InstrumentState } from './instrument-state.js';

export class RingCounter implements Counter {
  readonly #cells: Float64Array;
  readonly #table: AttributeSetTable;
  readonly #state: InstrumentState;

  /** @internal made by RingMeter. */
  constructor(table: AttributeSetTable, state: InstrumentState) {
    this.#cells = state.writer.cells;
    this.#table = table;
    this.#state = state;
  }

  add(value: number, attributes?: MetricAttributes): void {
    // One test accepts every valid value: a number, >= 0, not +Infinity (NaN fails both comparisons).
    if (typeof value === 'number' && value >= 0 && value < Infinity) {
      const table = this.#table;
      const cell = attributes === undefined ? (table.emptyCell >= 0 ? table.emptyCell : table.empty()) : table.find(attributes);
      this.#cells[cell] += value;
      return;
    }
    this.#state.ignore(typeof value === 'number' && value < 0 ? BadInput.Negative : (InstrumentState.check(value) as BadInput), value);
  }
}
