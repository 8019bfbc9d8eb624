/**
 * RingMeter: the API's `Meter` for one instrumentation scope. It validates
 * each instrument's name, unit and advice (bad ones: a warning with code
 * RINGTRACE_METRICS, never a throw), describes the instrument in the region,
 * and returns the same instrument for the same name and kind again.
 */
import {
  createNoopMeter,
  ValueType,
  type BatchObservableCallback,
  type Counter,
  type Gauge,
  type Histogram,
  type Meter,
  type MetricOptions,
  type Observable,
  type ObservableCounter,
  type ObservableGauge,
  type ObservableUpDownCounter,
  type UpDownCounter,
} from '@opentelemetry/api';
import { seriesCells, type MetricKind } from '../metric-region/layout.js';
import type { MetricRegionWriter } from '../metric-region/region-writer.js';
import { AttributeSetTable } from './attribute-set-table.js';
import { BucketPicker } from './bucket-picker.js';
import { InstrumentState } from './instrument-state.js';
import { checkBoundaries, DEFAULT_HISTOGRAM_BOUNDARIES, INSTRUMENT_NAME_PATTERN, isValidUnit, warnMetrics } from './metrics-config.js';
import type { ObservableCollector } from './observable-collector.js';
import { RingCounter } from './ring-counter.js';
import { RingGauge } from './ring-gauge.js';
import { RingHistogram } from './ring-histogram.js';
import { RingObservable } from './ring-observable.js';
import { RingUpDownCounter } from './ring-up-down-counter.js';

/** What every meter of a provider shares. */
export interface MeterShared {
  writer: MetricRegionWriter;
  collector: ObservableCollector;
  cardinalityLimit: number;
  nextInstrumentId: number;
  /** The region-full warning is given once per provider: past that point every new instrument would repeat it. */
  warnedFull: boolean;
}

type Instrument = RingCounter | RingUpDownCounter | RingGauge | RingHistogram | RingObservable;

const noop = createNoopMeter();

export class RingMeter implements Meter {
  readonly #shared: MeterShared;
  readonly #scope: number;
  readonly #instruments = new Map<string, { kind: MetricKind; instrument: Instrument }>();

  /** @internal made by RingMeterProvider; `scope` is the id it described the scope under. */
  constructor(shared: MeterShared, scope: number) {
    this.#shared = shared;
    this.#scope = scope;
  }

  createCounter(name: string, options?: MetricOptions): Counter {
    return (this.#create(name, 'counter', options) as RingCounter | undefined) ?? noop.createCounter(name);
  }

  createUpDownCounter(name: string, options?: MetricOptions): UpDownCounter {
    return (this.#create(name, 'upDownCounter', options) as RingUpDownCounter | undefined) ?? noop.createUpDownCounter(name);
  }

  createGauge(name: string, options?: MetricOptions): Gauge {
    return (this.#create(name, 'gauge', options) as RingGauge | undefined) ?? noop.createGauge(name);
  }

  createHistogram(name: string, options?: MetricOptions): Histogram {
    return (this.#create(name, 'histogram', options) as RingHistogram | undefined) ?? noop.createHistogram(name);
  }

  createObservableCounter(name: string, options?: MetricOptions): ObservableCounter {
    return (this.#create(name, 'observableCounter', options) as RingObservable | undefined) ?? noop.createObservableCounter(name);
  }

  createObservableUpDownCounter(name: string, options?: MetricOptions): ObservableUpDownCounter {
    return (this.#create(name, 'observableUpDownCounter', options) as RingObservable | undefined) ?? noop.createObservableUpDownCounter(name);
  }

  createObservableGauge(name: string, options?: MetricOptions): ObservableGauge {
    return (this.#create(name, 'observableGauge', options) as RingObservable | undefined) ?? noop.createObservableGauge(name);
  }

  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    this.#shared.collector.addBatch(callback, observables);
  }

  removeBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    this.#shared.collector.removeBatch(callback, observables);
  }

  /** The instrument, or undefined (after a warning) when it cannot record: the caller returns a no-op one. */
  #create(name: string, kind: MetricKind, options: MetricOptions | undefined): Instrument | undefined {
    const { writer } = this.#shared;
    if (typeof name !== 'string' || !INSTRUMENT_NAME_PATTERN.test(name)) {
      writer.countInvalid();
      warnMetrics(`invalid instrument name ${JSON.stringify(String(name))}: a letter, then up to 254 letters, digits, '_', '.', '-' or '/'; this ${kind} records nothing`);
      return undefined;
    }
    // Instrument names are case-insensitive (API specification): one instrument per name in a meter.
    const key = name.toLowerCase();
    const known = this.#instruments.get(key);
    if (known !== undefined) {
      if (known.kind === kind) return known.instrument;
      writer.countInvalid();
      warnMetrics(`instrument ${JSON.stringify(name)} is already a ${known.kind} in this meter; this ${kind} records nothing`);
      return undefined;
    }
    const o = typeof options === 'object' && options !== null ? options : {};
    let unit = typeof o.unit === 'string' ? o.unit : '';
    if (!isValidUnit(unit)) {
      warnMetrics(`invalid unit ${JSON.stringify(unit)} of ${kind} ${JSON.stringify(name)} (at most 63 ASCII characters); using none`);
      unit = '';
    }
    const description = typeof o.description === 'string' ? o.description : '';
    let boundaries: number[] = [];
    if (kind === 'histogram') {
      const advised = o.advice?.explicitBucketBoundaries;
      const problem = advised === undefined ? undefined : checkBoundaries(advised);
      if (problem !== undefined) {
        writer.countInvalid();
        warnMetrics(`histogram ${JSON.stringify(name)}: advice.explicitBucketBoundaries ${JSON.stringify(advised)} ignored (${problem}); using the default boundaries`);
      }
      boundaries = advised !== undefined && problem === undefined ? [...advised] : [...DEFAULT_HISTOGRAM_BOUNDARIES];
    }
    const id = this.#shared.nextInstrumentId++;
    const valueType = o.valueType === ValueType.INT ? ValueType.INT : ValueType.DOUBLE;
    const described = writer.describe({ t: 'instrument', id, scope: this.#scope, name, kind, unit, description, valueType, boundaries });
    const table = described ? new AttributeSetTable({ writer, instrument: id, kind, cellsPerSeries: seriesCells(kind, boundaries.length), limit: this.#shared.cardinalityLimit }) : undefined;
    if (table === undefined || !table.usable) {
      writer.countSeriesDropped();
      if (!this.#shared.warnedFull) {
        this.#shared.warnedFull = true;
        warnMetrics(`the metrics region is full; ${kind} ${JSON.stringify(name)} and instruments made after it record nothing (raise metrics.maxCells or metrics.maxDescriptorBytes)`);
      }
      return undefined;
    }
    const state = new InstrumentState(name, kind, writer);
    let instrument: Instrument;
    switch (kind) {
      case 'counter':
        instrument = new RingCounter(table, state);
        break;
      case 'upDownCounter':
        instrument = new RingUpDownCounter(table, state);
        break;
      case 'gauge':
        instrument = new RingGauge(table, state);
        break;
      case 'histogram':
        instrument = new RingHistogram(table, new BucketPicker(boundaries), state);
        break;
      default:
        instrument = new RingObservable(table, state, this.#shared.collector);
    }
    this.#instruments.set(key, { kind, instrument });
    return instrument;
  }
}
