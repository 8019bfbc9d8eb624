/**
 * `node --import ringtrace/register app.js`: ringtrace started and installed
 * from the `OTEL_*` and `RINGTRACE_*` variables alone (docs/configuration.md),
 * for ES module and CommonJS applications. The application's first line runs
 * once the dispatcher is started and installed (top-level await), so its
 * first spans and logs are recorded.
 *
 * Worker threads inherit the preload: in the application's, it attaches the
 * thread to the main thread's dispatcher and installs the thread's globals
 * before the worker's first line (docs/threads.md); in ringtrace's own
 * dispatcher worker it does nothing.
 */
import { isMainThread } from 'node:worker_threads';
import type { TraceDispatcher } from '../dispatcher.js';
import type { AttachedThread } from '../threads/attach.js';
import { isDispatcherWorker } from '../worker-identity.js';
import { shouldAttach } from './main-start-state.js';

/** The dispatcher this entry started: undefined when disabled, in a worker thread, or when it could not start. */
export function zeroCodeDispatcher(): Promise<TraceDispatcher | undefined> {
  const started = (globalThis as { [key: symbol]: unknown })[Symbol.for('ringtrace.register')];
  return (started as Promise<TraceDispatcher | undefined> | undefined) ?? Promise.resolve(undefined);
}

/** This worker thread as this entry attached it: undefined on the main thread, when disabled, or when it could not attach. */
export function zeroCodeThread(): Promise<AttachedThread | undefined> {
  const attached = (globalThis as { [key: symbol]: unknown })[Symbol.for('ringtrace.register.thread')];
  return (attached as Promise<AttachedThread | undefined> | undefined) ?? Promise.resolve(undefined);
}

if (isMainThread) {
  const { startZeroCode } = await import('./zero-code-start.js');
  await startZeroCode();
} else if (!isDispatcherWorker() && shouldAttach()) {
  // Loaded only here: a worker thread with no dispatcher to attach to does not pay for loading ringtrace.
  const { attachZeroCode } = await import('./zero-code-start.js');
  await attachZeroCode();
}
