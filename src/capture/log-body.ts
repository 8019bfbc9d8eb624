/**
 * A Logs API body that is not a string, as bounded JSON text: what the
 * record carries for a structured body (the worker parses it back).
 *
 * The application's value is read once, guarded: a throwing getter becomes
 * `[Throws]`, a cycle `[Circular]`, a bigint its decimal digits, a function or
 * symbol its safe string; nesting past MAX_BODY_DEPTH, strings past the
 * encoder's limit and more than MAX_BODY_ENTRIES entries per object or array
 * are cut. Never throws.
 */
import { safeString } from '../encoder/safe-string.js';
import { TRUNCATION_MARKER } from '../encoder/record-encoder.js';

/** Levels of nesting kept; deeper values become `[Depth]`. */
export const MAX_BODY_DEPTH = 8;
/** Entries kept per object or array; the rest are cut. */
export const MAX_BODY_ENTRIES = 1024;

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

function cut(s: string, max: number): string {
  return s.length > max ? s.slice(0, max) + TRUNCATION_MARKER + (s.length - max) + ']' : s;
}

function plain(value: unknown, depth: number, seen: Set<object>, maxString: number): Json {
  switch (typeof value) {
    case 'string':
      return cut(value, maxString);
    case 'number':
      // JSON has no NaN or Infinity: keep them readable rather than as null.
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return value.toString();
    case 'undefined':
      return null;
    case 'object':
      break;
    default:
      return safeString(value, maxString);
  }
  if (value === null) return null;
  if (seen.has(value)) return '[Circular]';
  if (depth >= MAX_BODY_DEPTH) return '[Depth]';
  seen.add(value);
  try {
    if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
    if (value instanceof Date) return Number.isNaN(value.getTime()) ? 'Invalid Date' : value.toISOString();
    if (Array.isArray(value)) {
      const length = Number(value.length);
      const n = length >= 1 ? Math.min(Math.floor(length), MAX_BODY_ENTRIES) : 0;
      const out: Json[] = [];
      for (let i = 0; i < n; i++) out.push(guarded(() => (value as unknown[])[i], depth, seen, maxString));
      return out;
    }
    const out: { [key: string]: Json } = {};
    let n = 0;
    for (const key of Object.keys(value)) {
      if (n++ >= MAX_BODY_ENTRIES) break;
      // defineProperty: a key `__proto__` stays an ordinary key.
      Object.defineProperty(out, key, {
        value: guarded(() => (value as Record<string, unknown>)[key], depth, seen, maxString),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  } catch {
    // A proxy whose key enumeration or length throws.
    return '[Throws]';
  } finally {
    seen.delete(value);
  }
}

function guarded(read: () => unknown, depth: number, seen: Set<object>, maxString: number): Json {
  let v: unknown;
  try {
    v = read();
  } catch {
    return '[Throws]';
  }
  return plain(v, depth + 1, seen, maxString);
}

/** JSON text of a body value, bounded and guarded (see the module comment). */
export function logBodyJson(value: unknown, maxString: number): string {
  try {
    return JSON.stringify(plain(value, 0, new Set(), maxString));
  } catch {
    return JSON.stringify(safeString(value, maxString));
  }
}
