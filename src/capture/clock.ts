/**
 * Time on the producing thread: Unix epoch milliseconds as float64 (the
 * record format's unit), from `performance.timeOrigin + performance.now()`.
 */
import type { TimeInput } from '@opentelemetry/api';

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
 */
export function timeInputMs(time: TimeInput | undefined): number {
  if (time === undefined) return timeOrigin + performance.now();
  if (typeof time === 'number') return time <= performance.now() ? timeOrigin + time : time;
  if (Array.isArray(time)) return time[0] * 1000 + time[1] / 1e6;
  if (time instanceof Date) return time.getTime();
  return timeOrigin + performance.now();
}
