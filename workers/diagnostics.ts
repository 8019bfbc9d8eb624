/**
 * The dispatcher's own diagnostics, from the worker: a sink that failed, a
 * flush that timed out. Each goes to stderr through pino, and becomes an
 * `error` event on target `ringtrace` that the fan-out offers to the sinks.
 * Rate limited per key (one report per `intervalMs`, with a count of what was
 * suppressed), so a sink failing on every record cannot flood anything.
 */
import { createRequire } from 'node:module';
import type { Logger } from 'pino';
import type { EventRecord, Fields } from '../src/record/trace-record.js';
import { emptyFields } from '../src/record/fields.js';

/** Target of every record the dispatcher makes itself. */
export const DIAGNOSTIC_TARGET = 'ringtrace';

/**
 * pino is loaded when the first diagnostic is logged: most workers never log
 * one, and pino's modules are ~5 MiB of the worker's memory. `require` keeps
 * the first report synchronous (pino is CommonJS).
 */
function stderrLogger(): Logger {
  const { pino } = createRequire(import.meta.url)('pino') as typeof import('pino');
  return pino({ name: DIAGNOSTIC_TARGET }, pino.destination({ fd: 2, sync: true }));
}

export class Diagnostics {
  #logger: Logger | undefined;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #last = new Map<string, { at: number; suppressed: number }>();
  /** Events waiting to be offered to the sinks. */
  readonly pending: EventRecord[] = [];
  reported = 0;
  suppressed = 0;

  /** `now` is a monotonic clock in milliseconds (tests pass a fake one to step through the interval). */
  constructor(options: { logger?: Logger; intervalMs?: number; now?: () => number } = {}) {
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#now = options.now ?? (() => performance.now());
  }

  /** Report a problem; `key` groups reports for rate limiting. Returns whether it was reported. */
  report(key: string, message: string, fields: Record<string, string | number | boolean>, error?: unknown): boolean {
    const now = this.#now();
    const last = this.#last.get(key);
    if (last !== undefined && now - last.at < this.#intervalMs) {
      last.suppressed++;
      this.suppressed++;
      return false;
    }
    const suppressed = last?.suppressed ?? 0;
    this.#last.set(key, { at: now, suppressed: 0 });
    if (this.#last.size > 1024) this.#last.delete(this.#last.keys().next().value as string);
    const all: Fields = Object.assign(emptyFields(), fields);
    if (suppressed > 0) all['suppressed_count'] = suppressed;
    if (error !== undefined) all['error'] = errorText(error);
    this.#log(all, message);
    this.emit('error', message, all);
    this.reported++;
    return true;
  }

  /** Log to stderr and queue for the sinks, without rate limiting (the caller limits how often). */
  notice(message: string, fields: Fields): void {
    this.#log(fields, message);
    this.emit('error', message, fields);
    this.reported++;
  }

  #log(fields: Fields, message: string): void {
    (this.#logger ??= stderrLogger()).error({ ...fields }, message);
  }

  /** Queue a `ringtrace` event for the sinks, without logging it to stderr. */
  emit(level: EventRecord['level'], message: string, fields: Fields): void {
    this.pending.push({
      kind: 'event',
      time: performance.timeOrigin + performance.now(),
      level,
      target: DIAGNOSTIC_TARGET,
      message,
      fields,
      traceId: undefined,
      spanId: undefined,
    });
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  try {
    return String(error);
  } catch {
    return '[unprintable error]';
  }
}
