/**
 * Which thread this is, for `TraceDispatcher.start()`. Node runs `--import`
 * and `--require` preloads again in every worker thread, ringtrace's own
 * dispatcher worker included (it keeps the application's `execArgv` so that
 * loaders reach custom sinks). A preload that starts ringtrace must be inert
 * there, or each dispatcher worker would start another, without end.
 */
import { isMainThread, workerData } from 'node:worker_threads';

/** The `workerData` ringtrace's dispatcher worker is started with. */
export const DISPATCHER_WORKER_DATA: Readonly<{ ringtraceDispatcherWorker: true }> = Object.freeze({ ringtraceDispatcherWorker: true });

/** Whether this thread is ringtrace's own dispatcher worker. */
export function isDispatcherWorker(): boolean {
  return !isMainThread && typeof workerData === 'object' && workerData !== null && (workerData as { ringtraceDispatcherWorker?: unknown }).ringtraceDispatcherWorker === true;
}

/** Why `start()` gives an inert dispatcher on this thread, or undefined on the main thread. */
export function inertReason(): string | undefined {
  if (isMainThread) return undefined;
  return isDispatcherWorker() ? "ringtrace's own dispatcher worker" : 'a worker thread';
}
