/**
 * RingMeterProvider: the OpenTelemetry `MeterProvider` a dispatcher exposes
 * as `dispatcher.meterProvider` and installs globally with `install()`.
 *
 *   meter.createCounter(…).add(1, attrs)
 *     └─► AttributeSetTable: attrs ─► cell     (identity memo; canonical key on a miss)
 *     └─► cells[cell] += 1                     (shared memory, this thread only writes it)
 *                                   ┆ region (SharedArrayBuffer) + descriptor log
 *   worker, at each flush or scrape ┴─► MetricRegionReader ─► MetricsSnapshot ─► sinks
 *
 * One meter per (name, version, schemaUrl), cached. The region is made once
 * by the dispatcher and outlives every worker, so a respawned worker reads
 * the same counts.
 */
import type { Meter, MeterOptions, MeterProvider } from '@opentelemetry/api';
import { MetricRegionWriter } from '../metric-region/region-writer.js';
import type { ResolvedMetricsOptions } from './metrics-config.js';
import { ObservableCollector } from './observable-collector.js';
import { RingMeter, type MeterShared } from './ring-meter.js';

/** Meters cached per scope; past this they are made per call (and share nothing). */
export const MAX_CACHED_METERS = 1024;

/** The recording side's counts (`dispatcher.meterProvider.stats()`). */
export interface MeterProviderStats {
  /** Measurements routed to an overflow series past an instrument's cardinality limit. */
  overflowed: number;
  /** Measurements and instruments ignored as bad input. */
  invalid: number;
  /** New series (or instruments) refused because the region was full. */
  seriesDropped: number;
  /** Float64 cells in use and in all. */
  cellsUsed: number;
  cellsCapacity: number;
  /** Bytes of the descriptor log in use. */
  descriptorBytes: number;
}

export class RingMeterProvider implements MeterProvider {
  readonly #shared: MeterShared;
  readonly #meters = new Map<string, RingMeter>();
  readonly #capacity: number;
  #nextScope = 0;

  /** @internal made by TraceDispatcher around its metrics region. */
  constructor(region: SharedArrayBuffer, options: Pick<ResolvedMetricsOptions, 'cardinalityLimit' | 'exportIntervalMs'>) {
    const writer = new MetricRegionWriter(region);
    this.#capacity = writer.cells.length;
    this.#shared = { writer, collector: new ObservableCollector(options.exportIntervalMs), cardinalityLimit: options.cardinalityLimit, nextInstrumentId: 0, warnedFull: false };
  }

  /** The region this provider records into. */
  get region(): SharedArrayBuffer {
    return this.#shared.writer.sab;
  }

  getMeter(name: string, version?: string, options?: MeterOptions): Meter {
    const n = typeof name === 'string' ? name : '';
    const v = typeof version === 'string' ? version : undefined;
    const schemaUrl = typeof options?.schemaUrl === 'string' ? options.schemaUrl : undefined;
    const key = JSON.stringify([n, v ?? null, schemaUrl ?? null]);
    let meter = this.#meters.get(key);
    if (meter !== undefined) return meter;
    const id = this.#nextScope++;
    this.#shared.writer.describe({ t: 'scope', id, name: n, version: v, schemaUrl });
    meter = new RingMeter(this.#shared, id);
    if (this.#meters.size < MAX_CACHED_METERS) this.#meters.set(key, meter);
    return meter;
  }

  /** @internal run every observable callback now (the dispatcher does before a flush and at shutdown). */
  collect(): Promise<void> {
    return this.#shared.collector.collect();
  }

  /** @internal stop the observable timer. */
  close(): void {
    this.#shared.collector.close();
  }

  stats(): MeterProviderStats {
    const w = this.#shared.writer;
    return { ...w.counts(), cellsUsed: this.#capacity - w.freeCells, cellsCapacity: this.#capacity, descriptorBytes: w.logBytes };
  }
}
