/**
 * Field values as JSON can carry them, for every sink that writes JSON
 * (ndjson, pino, chrome-trace): a bigint becomes its decimal string, and NaN
 * and ±Infinity the strings `"NaN"`, `"Infinity"` and `"-Infinity"` (JSON has
 * none of them); everything else keeps its JSON type.
 */
import type { FieldValue, Fields } from '../record/trace-record.js';

/** One value, JSON-safe. */
export function jsonValue(v: FieldValue): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') return Number.isFinite(v) ? v : String(v);
  if (Array.isArray(v)) return v.map((x) => jsonValue(x));
  return v;
}

/** Copy `fields` into `into`, JSON-safe; a `__proto__` key stays an ordinary property. */
export function copyJsonFields(into: Record<string, unknown>, fields: Fields): Record<string, unknown> {
  for (const key of Object.keys(fields)) {
    Object.defineProperty(into, key, { value: jsonValue(fields[key]!), enumerable: true, writable: true, configurable: true });
  }
  return into;
}
