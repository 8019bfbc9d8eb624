/**
 * RingObservable: the API's observable (asynchronous) counter, up-down
 * counter and gauge. Its callbacks run on the recording thread when the
 * ObservableCollector collects (every export interval, and at the
 * dispatcher's flush and shutdown), never on the hot path; each observation
 * stores the observed value into its series' cell (a last-value cell: an
 * observable counter reports its running total).
 */
import type { MetricAttributes, Observable, ObservableCallback, ObservableResult } from '@opentelemetry/api';
import type { AttributeSetTable } from './attribute-set-table.js';
import { BadInput, InstrumentState } from './instrument-state.js';
import type { ObservableCollector } from './observable-collector.js';

export class RingObservable implements Observable {
  readonly #cells: Float64Array;
  readonly #table: AttributeSetTable;
  readonly #collector: ObservableCollector;
  /** @internal */ readonly state: InstrumentState;
  /** @internal the result handed to this instrument's own callbacks. */
  readonly result: ObservableResult;

  /** @internal made by RingMeter. */
  constructor(table: AttributeSetTable, state: InstrumentState, collector: ObservableCollector) {
    this.#cells = state.writer.cells;
    this.#table = table;
    this.#collector = collector;
    this.state = state;
    this.result = { observe: (value: number, attributes?: MetricAttributes) => this.observe(value, attributes) };
  }

  addCallback(callback: ObservableCallback): void {
    if (typeof callback !== 'function') return;
    this.#collector.add(this, callback);
  }

  removeCallback(callback: ObservableCallback): void {
    this.#collector.remove(this, callback);
  }

  /** @internal store one observation. */
  observe(value: number, attributes?: MetricAttributes): void {
    const bad = InstrumentState.check(value);
    if (bad !== 0 || (this.state.kind === 'observableCounter' && value < 0)) {
      this.state.ignore(bad === 0 ? BadInput.Negative : bad, value);
      return;
    }
    const cell = attributes === undefined ? this.#table.empty() : this.#table.find(attributes);
    this.#cells[cell] = value;
  }
}
