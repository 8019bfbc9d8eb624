/**
 * RingGauge: the API's synchronous `Gauge`: the last value recorded per
 * series, a plain store into its cell (single writer).
 */
import type { Gauge, MetricAttributes } from '@opentelemetry/api';
import type { AttributeSetTable } from './attribute-set-table.js';
import { BadInput, InstrumentState } from './instrument-state.js';

export class RingGauge implements Gauge {
  readonly #cells: Float64Array;
  readonly #table: AttributeSetTable;
  readonly #state: InstrumentState;

  /** @internal made by RingMeter. */
  constructor(table: AttributeSetTable, state: InstrumentState) {
    this.#cells = state.writer.cells;
    this.#table = table;
    this.#state = state;
  }

  record(value: number, attributes?: MetricAttributes): void {
    if (typeof value === 'number' && value > -Infinity && value < Infinity) {
      const table = this.#table;
      const cell = attributes === undefined ? (table.emptyCell >= 0 ? table.emptyCell : table.empty()) : table.find(attributes);
      this.#cells[cell] = value;
      return;
    }
    this.#state.ignore(InstrumentState.check(value) as BadInput, value);
  }
}
