/**
 * Time on the producing thread: Unix epoch milliseconds as float64 (the
 * record format's unit). Read from `process.hrtime()`, the monotonic clock
 * `performance.now()` also reads, put on the epoch once at load: through a
 * local reference it costs 34 ns a call here against performance.now()'s 41
 * (whose method checks its receiver first), and a span reads the clock
 * twice (4% of a span in bench/span-path.js).
 */
import type { TimeInput } from '@opentelemetry/api';
// The module's object, not the global: the global `performance` is a lazy
// getter in Node, and its call showed in the per-span cost.
import { performance } from 'node:perf_hooks';

const timeOrigin = performance.timeOrigin;
const hrtime = process.hrtime;

/** The monotonic clock in milliseconds (from an arbitrary origin). */
function monotonicMs(): number {
  const t = hrtime();
  return t[0] * 1e3 + t[1] * 1e-6;
}

/**
 * What to add to `monotonicMs()` for epoch milliseconds: performance.now()'s
 * epoch, so both give the same time. Taken from the tightest of a few
 * performance.now() reads between two of ours (the first calls, still
 * cold, can take microseconds), to well under a microsecond.
 */
const monotonicToEpoch = ((): number => {
  let offset = 0;
  let tightest = Infinity;
  for (let i = 0; i < 16; i++) {
    const before = monotonicMs();
    const perf = performance.now();
    const after = monotonicMs();
    if (after - before < tightest) {
      tightest = after - before;
      offset = timeOrigin + perf - (before + after) / 2;
    }
  }
  return offset;
})();

/** Now, in epoch milliseconds with sub-microsecond resolution. */
export function nowMs(): number {
  return monotonicToEpoch + monotonicMs();
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
  // Small, so it inlines into startSpan and end without spending the
  // budget that lets the span's constructor inline too (given times are rare).
  return time === undefined ? nowMs() : givenTimeMs(time);
}

function givenTimeMs(time: TimeInput): number {
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
  return nowMs();
}
