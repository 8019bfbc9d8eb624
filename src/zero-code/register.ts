/**
 * `node --import ringtrace/register app.js`: ringtrace started and installed
 * from the `OTEL_*` and `RINGTRACE_*` variables alone (docs/configuration.md),
 * for ES module and CommonJS applications. The application's first line runs
 * once the dispatcher is started and installed (top-level await), so its
 * first spans and logs are recorded.
 *
 * Outside the main thread it does nothing: ringtrace's own worker and the
 * application's worker threads inherit the preload.
 */
import { isMainThread } from 'node:worker_threads';
import type { TraceDispatcher } from '../dispatcher.js';

/** The dispatcher this entry started: undefined when disabled, in a worker thread, or when it could not start. */
export function zeroCodeDispatcher(): Promise<TraceDispatcher | undefined> {
  const started = (globalThis as { [key: symbol]: unknown })[Symbol.for('ringtrace.register')];
  return (started as Promise<TraceDispatcher | undefined> | undefined) ?? Promise.resolve(undefined);
}

if (isMainThread) {
  // Loaded only here: a worker thread does not pay for loading the dispatcher.
  const { startZeroCode } = await import('./zero-code-start.js');
  await startZeroCode();
}
