/**
 * RingUpDownCounter: the API's `UpDownCounter`, a sum that may go down.
 * Recording is a plain `+=` into the series' cell (single writer).
 */
import type { MetricAttributes, UpDownCounter } from '@opentelemetry/api';
import type { AttributeSetTable } from './attribute-set-table.js';
import { BadInput, InstrumentState } from './instrument-state.js';

export class RingUpDownCounter implements UpDownCounter {
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
    if (typeof value === 'number' && value > -Infinity && value < Infinity) {
      const table = this.#table;
      const cell = attributes === undefined ? (table.emptyCell >= 0 ? table.emptyCell : table.empty()) : table.find(attributes);
      this.#cells[cell] += value;
      return;
    }
    this.#state.ignore(InstrumentState.check(value) as BadInput, value);
  }
}
