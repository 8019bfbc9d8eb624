/**
 * The worker's side of the metrics regions: parse the descriptor log from
 * where the last read stopped, then read every series' cells. It never
 * writes a region and never waits for the recording thread.
 *
 * **A histogram's count and sum agree within one in-flight record.** The
 * recording thread updates a bucket, the sum, min and max with plain stores
 * and then publishes the series' generation with `Atomics.store`. The reader
 * loads the generation, reads the cells, and loads the generation again;
 * when both loads match, at most one record was between its first store and
 * its generation store while the cells were read, so sum and buckets differ
 * by at most that one record. When they do not match (the series was being
 * recorded into in a tight loop), it reads again, up to `HISTOGRAM_READ_ATTEMPTS`
 * times. A read whose loads never matched is torn by any number of records
 * (the reader may be descheduled between the sum and the buckets), so it is
 * not reported: the series' last matched read is, and a series with none yet
 * (a reader just started, as after a worker respawn) is left out of that
 * snapshot rather than shown empty, which would read as a reset. Every point
 * reported is therefore a matched read, and a series' count never goes down. The count is always the sum of the
 * buckets read, so `count` equals the `+Inf` bucket exactly.
 *
 * Several regions (one per recording thread) are summed: series with the same
 * scope, instrument name, kind and attributes are one series. A gauge takes
 * the value of the region listed last that has one.
 */
import {
  HISTOGRAM_BUCKETS,
  HISTOGRAM_GEN,
  HISTOGRAM_MAX,
  HISTOGRAM_MIN,
  HISTOGRAM_SUM,
  INVALID,
  LOG_CAPACITY,
  LOG_END,
  LOG_ENTRY_HEADER_BYTES,
  METRIC_HEADER_BYTES,
  OVERFLOWED,
  SERIES_DROPPED,
  SLOT_CAPACITY,
  START_TIME_MS,
  holdsLastValue,
  slotAreaOffset,
  type DescriptorEntry,
  type MetricKind,
} from './layout.js';
import type { HistogramPoint, MetricAttributeValue, MetricScope, MetricSnapshotEntry, MetricsSnapshot, NumberPoint } from './metrics-snapshot.js';

/**
 * Reads of one histogram series before its last matched read is reported
 * instead. A thread recording in a tight loop changes the generation every
 * few nanoseconds, about as often as one read takes, so a few attempts often
 * all fail; re-reads cost the worker only while a series is being recorded
 * into, a few cells each.
 */
export const HISTOGRAM_READ_ATTEMPTS = 64;

const decoder = new TextDecoder();

interface InstrumentInfo {
  key: string;
  scope: MetricScope;
  name: string;
  kind: MetricKind;
  unit: string;
  description: string;
  valueType: 'int' | 'double';
  boundaries: number[];
  series: SeriesInfo[];
}

interface SeriesInfo {
  cell: number;
  key: string;
  attributes: Record<string, MetricAttributeValue>;
  /** The overflow series: left out while nothing went there. */
  overflow: boolean;
  /** A histogram's last read whose generation loads matched. */
  matched: HistogramRead | undefined;
}

type HistogramRead = Omit<HistogramPoint, 'attributes'>;

/** One region's parsed descriptors and views. */
class RegionView {
  readonly header32: Int32Array;
  readonly header64: Float64Array;
  readonly log: Uint8Array;
  readonly logView: DataView;
  readonly cells: Float64Array;
  readonly gens: Int32Array;
  readonly scopes = new Map<number, MetricScope>();
  readonly instruments = new Map<number, InstrumentInfo>();
  /** Instruments in the order they were described. */
  readonly order: InstrumentInfo[] = [];
  logRead = 0;
  /** Entries that did not parse (a bug or foreign memory): skipped, counted. */
  corrupt = 0;
  /** Histogram reads whose generation loads never matched: the last matched read was reported, or none. */
  tornReads = 0;

  constructor(readonly sab: SharedArrayBuffer) {
    this.header32 = new Int32Array(sab, 0, METRIC_HEADER_BYTES / 4);
    this.header64 = new Float64Array(sab, 0, METRIC_HEADER_BYTES / 8);
    const logCapacity = this.header32[LOG_CAPACITY];
    const slots = this.header32[SLOT_CAPACITY];
    this.log = new Uint8Array(sab, METRIC_HEADER_BYTES, logCapacity);
    this.logView = new DataView(sab, METRIC_HEADER_BYTES, logCapacity);
    const offset = slotAreaOffset(sab);
    this.cells = new Float64Array(sab, offset, slots);
    this.gens = new Int32Array(sab, offset, slots * 2);
  }

  /** Parse descriptors published since the last call. */
  catchUp(): void {
    const end = Atomics.load(this.header32, LOG_END);
    while (this.logRead + LOG_ENTRY_HEADER_BYTES <= end) {
      const length = this.logView.getUint32(this.logRead, true);
      const start = this.logRead + LOG_ENTRY_HEADER_BYTES;
      this.logRead = start + Math.ceil(length / 4) * 4;
      let entry: DescriptorEntry;
      try {
        // Copied out: TextDecoder does not decode views of shared memory.
        entry = JSON.parse(decoder.decode(this.log.slice(start, start + length))) as DescriptorEntry;
      } catch {
        this.corrupt++;
        continue;
      }
      this.#apply(entry);
    }
  }

  #apply(entry: DescriptorEntry): void {
    switch (entry.t) {
      case 'scope':
        this.scopes.set(entry.id, { name: entry.name, version: entry.version ?? undefined, schemaUrl: entry.schemaUrl ?? undefined });
        return;
      case 'instrument': {
        const scope = this.scopes.get(entry.scope) ?? { name: '', version: undefined, schemaUrl: undefined };
        const info: InstrumentInfo = {
          key: JSON.stringify([scope.name, scope.version ?? '', scope.schemaUrl ?? '', entry.name, entry.kind]),
          scope,
          name: entry.name,
          kind: entry.kind,
          unit: entry.unit,
          description: entry.description,
          valueType: entry.valueType === 0 ? 'int' : 'double',
          boundaries: entry.boundaries,
          series: [],
        };
        this.instruments.set(entry.id, info);
        this.order.push(info);
        return;
      }
      case 'series': {
        const instrument = this.instruments.get(entry.instrument);
        if (instrument === undefined) {
          this.corrupt++;
          return;
        }
        const attributes: Record<string, MetricAttributeValue> = {};
        for (const [k, v] of entry.attributes) attributes[k] = v;
        instrument.series.push({ cell: entry.cell, key: JSON.stringify(entry.attributes), attributes, overflow: entry.overflow === true, matched: undefined });
        return;
      }
      default:
        this.corrupt++;
    }
  }

  /** A histogram series' cells, from a read whose generation loads matched (see the top of this file); undefined when none has yet. */
  readHistogram(series: SeriesInfo, buckets: number): HistogramRead | undefined {
    const cell = series.cell;
    const genIndex = (cell + HISTOGRAM_GEN) * 2;
    const counts = new Array<number>(buckets);
    for (let attempt = 0; attempt < HISTOGRAM_READ_ATTEMPTS; attempt++) {
      const before = Atomics.load(this.gens, genIndex);
      const sum = this.cells[cell + HISTOGRAM_SUM];
      const min = this.cells[cell + HISTOGRAM_MIN];
      const max = this.cells[cell + HISTOGRAM_MAX];
      for (let b = 0; b < buckets; b++) counts[b] = this.cells[cell + HISTOGRAM_BUCKETS + b];
      if (Atomics.load(this.gens, genIndex) !== before) continue;
      let count = 0;
      for (let b = 0; b < buckets; b++) count += counts[b]!;
      series.matched = { count, sum, min: count === 0 ? undefined : min, max: count === 0 ? undefined : max, buckets: counts };
      return { ...series.matched, buckets: counts.slice() };
    }
    this.tornReads++;
    const last = series.matched;
    return last === undefined ? undefined : { ...last, buckets: last.buckets.slice() };
  }
}

/** A point to sum into without changing the one it came from. */
function copyPoint(p: NumberPoint | HistogramPoint): NumberPoint | HistogramPoint {
  return 'buckets' in p ? { ...p, buckets: [...p.buckets] } : { ...p };
}

export class MetricRegionReader {
  #regions: RegionView[];

  constructor(regions: readonly SharedArrayBuffer[]) {
    this.#regions = regions.map((sab) => new RegionView(sab));
  }

  /** An attached thread's region: summed with the others from the next read. */
  addRegion(sab: SharedArrayBuffer): void {
    this.#regions = [...this.#regions, new RegionView(sab)];
  }

  /**
   * The region's thread has ended: its last values stay in the sums, so a
   * cumulative counter or histogram summed over threads never goes down (a
   * backend would read that as a reset) when a pool recycles a thread. A
   * gauge's last value is the thread's own state and leaves with it.
   */
  removeRegion(sab: SharedArrayBuffer): void {
    const region = this.#regions.find((r) => r.sab === sab);
    if (region === undefined) return;
    this.#regions = this.#regions.filter((r) => r !== region);
    region.catchUp();
    const kept = this.#retired;
    kept.startTimeUnixMs = Math.min(kept.startTimeUnixMs, region.header64[START_TIME_MS]!);
    kept.overflowed += region.header64[OVERFLOWED]!;
    kept.invalid += region.header64[INVALID]!;
    kept.seriesDropped += region.header64[SERIES_DROPPED]!;
    for (const info of region.order) {
      if (info.kind === 'gauge' || info.kind === 'observableGauge') continue;
      let target = kept.metrics.get(info.key);
      if (target === undefined) {
        target = { info, points: new Map() };
        kept.metrics.set(info.key, target);
      }
      for (const series of info.series) this.#readSeries(region, info, series, target.points);
    }
  }

  /** What ended threads' regions last held (see {@link removeRegion}). */
  readonly #retired = {
    startTimeUnixMs: Number.POSITIVE_INFINITY,
    overflowed: 0,
    invalid: 0,
    seriesDropped: 0,
    metrics: new Map<string, { info: InstrumentInfo; points: Map<string, NumberPoint | HistogramPoint> }>(),
  };

  /** Descriptor entries that did not parse, over all regions. */
  get corrupt(): number {
    return this.#regions.reduce((n, r) => n + r.corrupt, 0);
  }

  /** Histogram reads that found the series being recorded into on every attempt: its last matched read was reported, or none. */
  get tornReads(): number {
    return this.#regions.reduce((n, r) => n + r.tornReads, 0);
  }

  /** Read every region now. */
  snapshot(now = Date.now()): MetricsSnapshot {
    const merged = new Map<string, { info: InstrumentInfo; points: Map<string, NumberPoint | HistogramPoint> }>();
    const kept = this.#retired;
    for (const [key, { info, points }] of kept.metrics) merged.set(key, { info, points: new Map([...points].map(([k, p]) => [k, copyPoint(p)])) });
    let startTimeUnixMs = kept.startTimeUnixMs;
    let overflowed = kept.overflowed;
    let invalid = kept.invalid;
    let seriesDropped = kept.seriesDropped;
    for (const region of this.#regions) {
      region.catchUp();
      startTimeUnixMs = Math.min(startTimeUnixMs, region.header64[START_TIME_MS]);
      overflowed += region.header64[OVERFLOWED];
      invalid += region.header64[INVALID];
      seriesDropped += region.header64[SERIES_DROPPED];
      for (const info of region.order) {
        let target = merged.get(info.key);
        if (target === undefined) {
          target = { info, points: new Map() };
          merged.set(info.key, target);
        }
        for (const series of info.series) this.#readSeries(region, info, series, target.points);
      }
    }
    const metrics: MetricSnapshotEntry[] = [];
    for (const { info, points } of merged.values()) {
      const base = { scope: info.scope, name: info.name, description: info.description, unit: info.unit, valueType: info.valueType };
      if (info.kind === 'histogram') metrics.push({ ...base, kind: 'histogram', boundaries: [...info.boundaries], points: [...points.values()] as HistogramPoint[] });
      else metrics.push({ ...base, kind: info.kind, points: [...points.values()] as NumberPoint[] });
    }
    return {
      startTimeUnixMs: Number.isFinite(startTimeUnixMs) ? startTimeUnixMs : now,
      timeUnixMs: now,
      metrics,
      overflowed,
      invalid,
      seriesDropped,
    };
  }

  #readSeries(region: RegionView, info: InstrumentInfo, series: SeriesInfo, points: Map<string, NumberPoint | HistogramPoint>): void {
    const existing = points.get(series.key);
    if (info.kind === 'histogram') {
      const read = region.readHistogram(series, info.boundaries.length + 1);
      if (read === undefined || (series.overflow && read.count === 0)) return;
      if (existing === undefined) {
        points.set(series.key, { attributes: series.attributes, ...read });
        return;
      }
      const into = existing as HistogramPoint;
      into.count += read.count;
      into.sum += read.sum;
      for (let b = 0; b < into.buckets.length; b++) into.buckets[b] += read.buckets[b] ?? 0;
      if (read.min !== undefined) into.min = into.min === undefined ? read.min : Math.min(into.min, read.min);
      if (read.max !== undefined) into.max = into.max === undefined ? read.max : Math.max(into.max, read.max);
      return;
    }
    const value = region.cells[series.cell];
    // A last-value cell is NaN until its first observation: not a point yet.
    if (holdsLastValue(info.kind)) {
      if (Number.isNaN(value)) return;
      if (existing === undefined) points.set(series.key, { attributes: series.attributes, value });
      else if (info.kind === 'gauge' || info.kind === 'observableGauge') (existing as NumberPoint).value = value;
      else (existing as NumberPoint).value += value;
      return;
    }
    if (series.overflow && value === 0) return;
    if (existing === undefined) points.set(series.key, { attributes: series.attributes, value });
    else (existing as NumberPoint).value += value;
  }
}
