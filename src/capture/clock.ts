/**
 * Time on the producing thread: Unix epoch milliseconds as float64 (the
 * record format's unit), from `performance.timeOrigin + performance.now()`.
 */
import type { TimeInput } from '@opentelemetry/api';
// The module's object, not the global: the global `performance` is a lazy
// getter in Node, and its call showed in the per-span cost.
import { performance } from 'node:perf_hooks';

const timeOrigin = performance.timeOrigin;

/** Now, in epoch milliseconds with sub-microsecond resolution. */
export function nowMs(): number {
  return timeOrigin + performance.now();
}

/**
 * An OpenTelemetry `TimeInput` in epoch milliseconds: `HrTime` ([seconds,
 * nanoseconds]), `Date`, or a number — `performance.now()` milliseconds when
 * not past `performance.now()`, else epoch milliseconds, as the SDK's span
 * reads it (an epoch time from before the process started stays epoch).
 * Anything else, or a value that cannot be read, is the time of the call:
 * this never throws into the application.
 */
export function timeInputMs(time: TimeInput | undefined): number {
  if (time === undefined) return timeOrigin + performance.now();
  if (typeof time === 'number') return time <= performance.now() ? timeOrigin + time : time;
  try {
    if (Array.isArray(time)) {
      // Only two numbers: `*` and `/` on anything else convert it, and an
      // element array holding a proxy that claims 2^40 elements threw from
      // that conversion into the application (a huge sparse one spun).
      const seconds: unknown = time[0];
      const nanos: unknown = time[1];
      if (typeof seconds === 'number' && typeof nanos === 'number') return seconds * 1000 + nanos / 1e6;
    } else if (time instanceof Date) {
      return time.getTime();
    }
  } catch {
    // A revoked proxy (Array.isArray throws), a hostile getPrototypeOf, a proxied Date.
  }
  return timeOrigin + performance.now();
}
