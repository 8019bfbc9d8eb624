/**
 * AttributeSetTable: finds the cell of an instrument's series for an
 * attribute set, on the recording thread, without allocating when the set
 * is known.
 *
 *   same object as last time, values unchanged ─► its cell         (a few ns)
 *   an object remembered by identity (WeakMap), unchanged ─► its cell
 *   else hash of the valid key/value pairs (no sort, no string built)
 *        ─► compare with the series of that hash ─► its cell        (tens of ns)
 *   else a new series, while fewer than `limit − 1` exist ─► cells + descriptor
 *   else the overflow series (`otel.metric.overflow=true`), counted
 *
 * "Unchanged" compares the object's values, key by key, with those seen when
 * it was remembered, so an attributes object reused with a changed value
 * (`attrs.status = 500`) finds its new series. A key *added* to an object
 * after it was used is not seen by the identity paths: pass a new object for
 * a new key set. Inserting into a WeakMap costs more than hashing a small
 * object, so only every IDENTITY_SAMPLE-th miss is remembered: an object
 * used again and again soon is, a fresh literal per call mostly is not.
 * Measurements into the overflow series always take the hashing path, so
 * each one is counted.
 */
import type { MetricAttributes } from '@opentelemetry/api';
import type { AttributeJson, MetricKind } from '../metric-region/layout.js';
import { OVERFLOW_ATTRIBUTE } from '../metric-region/metrics-snapshot.js';
import type { MetricRegionWriter } from '../metric-region/region-writer.js';

/** One miss in this many is remembered by object identity. */
export const IDENTITY_SAMPLE = 16;

/** An attributes object as last seen: its keys and raw values, and where they go. */
interface Remembered {
  keys: string[];
  values: unknown[];
  series: Series;
}

/** One series: its valid attributes (keys sorted), their hash, its cell. */
interface Series {
  keys: string[];
  values: unknown[];
  cell: number;
  overflow: boolean;
  /** The series as its own Remembered, for an object whose every key is valid (no allocation per miss). */
  remembered: Remembered;
}

function makeSeries(keys: string[], values: unknown[], cell: number, overflow: boolean): Series {
  const series = { keys, values, cell, overflow } as Series;
  series.remembered = { keys, values, series };
  return series;
}

function unchanged(entry: Remembered, attributes: MetricAttributes): boolean {
  const keys = entry.keys;
  for (let i = 0; i < keys.length; i++) if (attributes[keys[i]!] !== entry.values[i]) return false;
  return true;
}

function primitive(v: unknown): v is string | number | boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** A valid attribute value: a primitive, or an array of primitives of one type (null and undefined allowed inside). */
function valid(v: unknown): boolean {
  if (primitive(v)) return true;
  if (!Array.isArray(v)) return false;
  let type: string | undefined;
  for (const item of v as unknown[]) {
    if (item === null || item === undefined) continue;
    if (!primitive(item) || (type !== undefined && typeof item !== type)) return false;
    type = typeof item;
  }
  return true;
}

/** A value JSON can carry: non-finite numbers as their string ("NaN", "Infinity"). */
function jsonPrimitive(v: string | number | boolean): string | number | boolean {
  return typeof v === 'number' && !Number.isFinite(v) ? String(v) : v;
}

function toJson(v: unknown): AttributeJson {
  if (primitive(v)) return jsonPrimitive(v);
  return (v as unknown[]).map((item) => (item === null || item === undefined ? null : jsonPrimitive(item as string | number | boolean)));
}

/**
 * The valid attributes, keys sorted, as the descriptor log carries them:
 * primitives and homogeneous arrays of primitives, as the SDK keeps them.
 */
export function canonicalAttributes(keys: readonly string[], values: readonly unknown[]): [string, AttributeJson][] {
  const out: [string, AttributeJson][] = [];
  for (let i = 0; i < keys.length; i++) if (keys[i] !== '' && valid(values[i])) out.push([keys[i]!, toJson(values[i])]);
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number') return a !== a && b !== b; // NaN is one value here
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameValue(a[i] ?? null, b[i] ?? null)) return false;
  return true;
}

// ── hashing: order-independent over pairs, so no key sort on the lookup path ──

const hashBits = new Float64Array(1);
const hashWords = new Int32Array(hashBits.buffer);
/**
 * Key hashes, cached: attribute keys repeat, and a Map finds a string by the
 * hash V8 keeps on it. Values are hashed each time: a cache of values of high
 * cardinality would only churn the old generation. Cleared at this size.
 */
const KEY_HASH_CACHE_LIMIT = 4096;
const keyHashes = new Map<string, number>();

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h;
}

function hashKey(s: string): number {
  let h = keyHashes.get(s);
  if (h !== undefined) return h;
  h = fnv(s);
  if (keyHashes.size >= KEY_HASH_CACHE_LIMIT) keyHashes.clear();
  keyHashes.set(s, h);
  return h;
}

function hashValue(v: unknown): number {
  switch (typeof v) {
    case 'string':
      return fnv(v) ^ 0x1b873593;
    case 'number':
      if (v !== v) return 0x7ff80000;
      hashBits[0] = v === 0 ? 0 : v; // -0 and 0 are one value in the export
      return Math.imul(hashWords[0]! ^ 0x27d4eb2d, 0x165667b1) ^ hashWords[1]!;
    case 'boolean':
      return v ? 0x51ed270b : 0x2f1a3b9d;
    default: {
      let h = 0x3c6ef372;
      for (const item of v as unknown[]) h = Math.imul(h ^ (item === null || item === undefined ? 0x9e37 : hashValue(item)), 0x01000193);
      return h;
    }
  }
}

/** Set by `hashAttributes`: how many own keys, and how many valid pairs, the object had. */
let hashedOwn = 0;
let hashedValid = 0;

/**
 * The hash of an object's valid key/value pairs, the same whatever their
 * order (pair hashes are added), in one pass; also sets `hashedOwn` and
 * `hashedValid`. Exported for the test that makes two sets collide.
 */
export function hashAttributes(attributes: MetricAttributes): number {
  let hash = 0;
  let valids = 0;
  let own = 0;
  for (const key in attributes) {
    if (!Object.hasOwn(attributes, key)) continue;
    own++;
    const value = attributes[key];
    if (key === '' || !valid(value)) continue;
    const pair = Math.imul(hashKey(key) ^ 0x5bd1e995, 31) + hashValue(value);
    hash = (hash + Math.imul(pair ^ (pair >>> 15), 0x2c1b3c6d)) | 0;
    valids++;
  }
  hashedOwn = own;
  hashedValid = valids;
  return hash;
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
  #last: Remembered | undefined = undefined;
  readonly #byIdentity = new WeakMap<object, Remembered>();
  /** Series by hash; a hash shared by several sets holds an array. */
  readonly #byHash = new Map<number, Series | Series[]>();
  #size = 0;
  #misses = 0;
  /** Cell of the series without attributes, once made; -1 before. */
  emptyCell = -1;
  readonly #overflow: Series;
  readonly #usable: boolean;

  /**
   * Reserves and describes the overflow series up front, so a full region
   * still has somewhere to count (the reader leaves it out while it is
   * empty). Check `usable`.
   */
  constructor(options: AttributeSetTableOptions) {
    this.#o = options;
    const { writer, kind, cellsPerSeries, instrument } = options;
    const cell = writer.addSeries(kind, cellsPerSeries, instrument, [[OVERFLOW_ATTRIBUTE, true]], true);
    this.#overflow = makeSeries([OVERFLOW_ATTRIBUTE], [true], cell, true);
    this.#usable = cell >= 0;
  }

  /** False when the region had no room even for the overflow series: the instrument must record nothing. */
  get usable(): boolean {
    return this.#usable;
  }

  /** Attribute sets with their own series (not counting overflow). */
  get size(): number {
    return this.#size;
  }

  /** The cell of `attributes`' series. */
  find(attributes: MetricAttributes): number {
    const last = this.#last;
    if (attributes === this.#lastAttributes && last !== undefined && unchanged(last, attributes)) return last.series.cell;
    return this.#miss(attributes);
  }

  /** The cell of the series without attributes. */
  empty(): number {
    if (this.emptyCell >= 0) return this.emptyCell;
    const series = this.#seriesOf(0, 0, {});
    if (series.overflow) this.#o.writer.countOverflowed();
    else this.emptyCell = series.cell;
    return series.cell;
  }

  #miss(attributes: MetricAttributes): number {
    if (typeof attributes !== 'object' || attributes === null) return this.empty();
    let remembered = this.#byIdentity.get(attributes);
    if (remembered === undefined || !unchanged(remembered, attributes)) {
      const hash = hashAttributes(attributes);
      const count = hashedValid;
      const own = hashedOwn;
      const series = this.#seriesOf(hash, count, attributes);
      if (own === count && !series.overflow) {
        // Every key is valid: the series' own keys and values are what the object holds now.
        remembered = series.remembered;
      } else {
        const keys = Object.keys(attributes);
        remembered = { keys, values: keys.map((k) => attributes[k]), series };
      }
      // Not for overflow: past the limit most objects are new ones, and each measurement is counted on this path anyway.
      if (!series.overflow && ++this.#misses % IDENTITY_SAMPLE === 0) this.#byIdentity.set(attributes, remembered);
    }
    if (remembered.series.overflow) {
      this.#o.writer.countOverflowed();
      return remembered.series.cell;
    }
    this.#lastAttributes = attributes;
    this.#last = remembered;
    return remembered.series.cell;
  }

  /** The series of the valid pairs of `attributes` (`count` of them, hashing to `hash`), made if new. */
  #seriesOf(hash: number, count: number, attributes: MetricAttributes): Series {
    const found = this.#byHash.get(hash);
    if (found !== undefined) {
      if (!Array.isArray(found)) {
        if (matches(found, count, attributes)) return found;
      } else {
        for (const s of found) if (matches(s, count, attributes)) return s;
      }
    }
    const { writer, kind, cellsPerSeries, limit, instrument } = this.#o;
    if (this.#size >= limit - 1) return this.#overflow;
    const keys = Object.keys(attributes);
    const canonical = canonicalAttributes(
      keys,
      keys.map((k) => attributes[k]),
    );
    const cell = writer.addSeries(kind, cellsPerSeries, instrument, canonical);
    if (cell < 0) {
      writer.countSeriesDropped();
      return this.#overflow;
    }
    // The raw valid values, arrays copied: the caller may reuse and change them.
    const series = makeSeries(
      canonical.map((e) => e[0]),
      canonical.map((e) => (Array.isArray(attributes[e[0]]) ? [...(attributes[e[0]] as unknown[])] : attributes[e[0]])),
      cell,
      false,
    );
    if (found === undefined) this.#byHash.set(hash, series);
    else if (Array.isArray(found)) found.push(series);
    else this.#byHash.set(hash, [found, series]);
    this.#size++;
    return series;
  }
}

function matches(series: Series, count: number, attributes: MetricAttributes): boolean {
  if (series.keys.length !== count) return false;
  for (let i = 0; i < series.keys.length; i++) {
    const key = series.keys[i]!;
    if (!Object.hasOwn(attributes, key) || !sameValue(attributes[key], series.values[i])) return false;
  }
  return true;
}
