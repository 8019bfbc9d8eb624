/**
 * AttributeSetTable: finds the cell of an instrument's series for an
 * attribute set, on the recording thread.
 *
 *   same object as last time, values unchanged ─► its cell (no hashing)
 *   else an object seen before (WeakMap), unchanged ─► its cell
 *   else canonical key (valid attributes, keys sorted) ─► Map ─► cell
 *   else a new series, while fewer than `limit − 1` exist ─► reserve + describe
 *   else the overflow series (`otel.metric.overflow=true`), counted
 *
 * "Unchanged" compares the object's values, key by key, with those seen when
 * it was cached, so an attributes object reused with a changed value (say
 * `attrs.status = 500`) finds its new series. A key *added* to an object
 * after it was used is not seen: pass a new object for a new key set.
 * Measurements into the overflow series always take the slow path, so each
 * one is counted.
 */
import type { MetricAttributes } from '@opentelemetry/api';
import type { AttributeJson, MetricKind } from '../metric-region/layout.js';
import { OVERFLOW_ATTRIBUTE } from '../metric-region/metrics-snapshot.js';
import type { MetricRegionWriter } from '../metric-region/region-writer.js';

interface CachedSet {
  keys: string[];
  values: unknown[];
  cell: number;
  overflow: boolean;
}

function unchanged(entry: CachedSet, attributes: MetricAttributes): boolean {
  const keys = entry.keys;
  for (let i = 0; i < keys.length; i++) if (attributes[keys[i]!] !== entry.values[i]) return false;
  return true;
}

function primitive(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** A value JSON can carry: non-finite numbers as their string ("NaN", "Infinity"). */
function jsonPrimitive(v: string | number | boolean): string | number | boolean {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

/**
 * The valid attributes, keys sorted: primitives and homogeneous arrays of
 * primitives (null and undefined allowed inside), as the SDK keeps them.
 */
export function canonicalAttributes(keys: readonly string[], values: readonly unknown[]): [string, AttributeJson][] {
  const out: [string, AttributeJson][] = [];
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const v = values[i];
    if (key === '') continue;
    if (primitive(v)) out.push([key, jsonPrimitive(v)]);
    else if (Array.isArray(v)) {
      let type: string | undefined;
      let ok = true;
      const items: (string | number | boolean | null)[] = [];
      for (const item of v as unknown[]) {
        if (item === null || item === undefined) {
          items.push(null);
          continue;
        }
        if (!primitive(item) || (type !== undefined && typeof item !== type)) {
          ok = false;
          break;
        }
        type = typeof item;
        items.push(jsonPrimitive(item));
      }
      if (ok) out.push([key, items]);
    }
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

export interface AttributeSetTableOptions {
  writer: MetricRegionWriter;
  instrument: number;
  kind: MetricKind;
  cellsPerSeries: number;
  /** Series kept, the overflow series included. */
  limit: number;
}

export class AttributeSetTable {
  readonly #o: AttributeSetTableOptions;
  #lastAttributes: MetricAttributes | undefined = undefined;
  #last: CachedSet | undefined = undefined;
  readonly #byIdentity = new WeakMap<object, CachedSet>();
  readonly #byKey = new Map<string, number>();
  /** Cell of the series without attributes, once made; -1 before. */
  emptyCell = -1;
  readonly #overflowCell: number;
  readonly #usable: boolean;

  /**
   * Reserves and describes the overflow series up front, so a full region
   * still has somewhere to count (the reader leaves it out while it is
   * empty). Check `usable`.
   */
  constructor(options: AttributeSetTableOptions) {
    this.#o = options;
    const { writer, kind, cellsPerSeries, instrument } = options;
    this.#overflowCell = writer.reserve(kind, cellsPerSeries);
    this.#usable = this.#overflowCell >= 0 && writer.describe({ t: 'series', cell: this.#overflowCell, instrument, attributes: [[OVERFLOW_ATTRIBUTE, true]], overflow: true });
  }

  /** False when the region had no room even for the overflow series: the instrument must record nothing. */
  get usable(): boolean {
    return this.#usable;
  }

  /** Attribute sets with their own series (not counting overflow). */
  get size(): number {
    return this.#byKey.size;
  }

  /** The cell of `attributes`' series. */
  find(attributes: MetricAttributes): number {
    const last = this.#last;
    if (attributes === this.#lastAttributes && last !== undefined && unchanged(last, attributes)) return last.cell;
    return this.#miss(attributes);
  }

  /** The cell of the series without attributes. */
  empty(): number {
    if (this.emptyCell >= 0) return this.emptyCell;
    const cell = this.#cellFor('[]', []);
    if (cell === this.#overflowCell) this.#o.writer.countOverflowed();
    else this.emptyCell = cell;
    return cell;
  }

  #miss(attributes: MetricAttributes): number {
    if (typeof attributes !== 'object' || attributes === null) return this.empty();
    let entry = this.#byIdentity.get(attributes);
    if (entry === undefined || !unchanged(entry, attributes)) {
      const keys = Object.keys(attributes);
      const values = keys.map((k) => attributes[k]);
      const canonical = canonicalAttributes(keys, values);
      const cell = this.#cellFor(JSON.stringify(canonical), canonical);
      entry = { keys, values, cell, overflow: cell === this.#overflowCell };
      this.#byIdentity.set(attributes, entry);
    }
    if (entry.overflow) {
      this.#o.writer.countOverflowed();
      return entry.cell;
    }
    this.#lastAttributes = attributes;
    this.#last = entry;
    return entry.cell;
  }

  #cellFor(key: string, canonical: [string, AttributeJson][]): number {
    const known = this.#byKey.get(key);
    if (known !== undefined) return known;
    const { writer, kind, cellsPerSeries, limit, instrument } = this.#o;
    if (this.#byKey.size >= limit - 1) return this.#overflow();
    const cell = writer.reserve(kind, cellsPerSeries);
    if (cell < 0 || !writer.describe({ t: 'series', cell, instrument, attributes: canonical })) {
      writer.countSeriesDropped();
      return this.#overflow();
    }
    this.#byKey.set(key, cell);
    return cell;
  }

  #overflow(): number {
    return this.#overflowCell;
  }
}
