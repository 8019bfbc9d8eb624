/**
 * Metrics defaults as named constants, the environment variables that
 * override them, and the rules the API specification sets for instrument
 * names, units and histogram boundaries.
 */
import { ERROR_CODES, invalidOptionRange, invalidOptionType } from '../errors.js';
import { DEFAULT_LOG_CAPACITY, DEFAULT_SLOT_CAPACITY } from '../metric-region/layout.js';
import { DEFAULT_METRIC_EXPORT_INTERVAL_MS } from '../metric-region/metrics-snapshot.js';

/** Attribute sets kept per instrument, the overflow series included: the SDK's default cardinality limit. */
export const DEFAULT_CARDINALITY_LIMIT = 2000;
/** How often observable callbacks run, in ms. Env `OTEL_METRIC_EXPORT_INTERVAL`. The SDK's default: 60000. */
export { DEFAULT_METRIC_EXPORT_INTERVAL_MS };
/** A callback's promise is waited for at most this long per collection. */
export const OBSERVABLE_CALLBACK_TIMEOUT_MS = 5_000;
/** The SDK's default explicit bucket boundaries. */
export const DEFAULT_HISTOGRAM_BOUNDARIES: readonly number[] = [0, 5, 10, 25, 50, 75, 100, 250, 500, 750, 1000, 2500, 5000, 7500, 10000];
/** The warning code for bad metric input (`process.on('warning')`). */
export const METRICS_WARNING_CODE = ERROR_CODES.METRICS;
/** The API specification's instrument name rule: a letter, then up to 254 of letters, digits, `_ . - /`. */
export const INSTRUMENT_NAME_PATTERN = /^[A-Za-z][A-Za-z0-9_.\-/]{0,254}$/;

/** `metrics` in `TraceDispatcher.start()` options. */
export interface MetricsOptions {
  /** Attribute sets per instrument, the overflow series included. Default 2000. */
  cardinalityLimit?: number;
  /** How often observable callbacks run, in ms; else `OTEL_METRIC_EXPORT_INTERVAL`; default 60000. */
  exportIntervalMs?: number;
  /** Float64 cells of the region (a counter series is 1, a histogram series 5 + its bounds). Default 1 Mi (8 MiB, touched only as used). */
  maxCells?: number;
  /** Bytes of the descriptor log (names, units, attribute sets; about 100 bytes a series). Default 4 MiB (touched only as used). */
  maxDescriptorBytes?: number;
}

export interface ResolvedMetricsOptions {
  cardinalityLimit: number;
  exportIntervalMs: number;
  maxCells: number;
  maxDescriptorBytes: number;
}

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidOptionType(name, 'an integer', value);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw invalidOptionRange(name, `an integer from ${min} to ${max}`, value);
  return value;
}

export function resolveMetricsOptions(options: unknown, env: Readonly<Record<string, string | undefined>> = process.env): ResolvedMetricsOptions {
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidOptionType('metrics', 'an object', options);
  const o = options as MetricsOptions;
  let interval = DEFAULT_METRIC_EXPORT_INTERVAL_MS;
  // The option wins: the variable is then not read, so a bad one cannot fail a start that does not use it.
  const raw = o.exportIntervalMs === undefined ? env.OTEL_METRIC_EXPORT_INTERVAL?.trim() : undefined;
  if (raw !== undefined && raw !== '') {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < 1) throw invalidOptionRange('environment variable OTEL_METRIC_EXPORT_INTERVAL', 'a positive integer of milliseconds', raw);
    interval = n;
  }
  return {
    cardinalityLimit: integer('metrics.cardinalityLimit', o.cardinalityLimit, DEFAULT_CARDINALITY_LIMIT, 2, 1_000_000),
    exportIntervalMs: integer('metrics.exportIntervalMs', o.exportIntervalMs, interval, 1, 2 ** 31 - 1),
    maxCells: integer('metrics.maxCells', o.maxCells, DEFAULT_SLOT_CAPACITY, 64, 2 ** 27),
    maxDescriptorBytes: integer('metrics.maxDescriptorBytes', o.maxDescriptorBytes, DEFAULT_LOG_CAPACITY, 1024, 2 ** 30),
  };
}

/** Strictly increasing finite numbers, or a reason why not. */
export function checkBoundaries(value: unknown): string | undefined {
  if (!Array.isArray(value)) return 'not an array';
  for (let i = 0; i < value.length; i++) {
    const b: unknown = value[i];
    if (typeof b !== 'number' || !Number.isFinite(b)) return `boundary ${i} is not a finite number`;
    if (i > 0 && b <= (value[i - 1] as number)) return `boundary ${i} is not greater than the one before`;
  }
  return undefined;
}

/** The API's unit rule: at most 63 ASCII characters. */
export function isValidUnit(unit: string): boolean {
  return unit.length <= 63 && /^[\x20-\x7e]*$/.test(unit);
}

/** Say what is wrong, once per instrument and problem (the caller keeps the "once"). */
export function warnMetrics(message: string): void {
  process.emitWarning(`ringtrace: ${message}`, { code: METRICS_WARNING_CODE });
}
