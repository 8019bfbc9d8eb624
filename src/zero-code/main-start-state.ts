/**
 * How far the main thread's `ringtrace/register` start has come, told to
 * the application's worker threads through `worker_threads` environment
 * data (each worker gets a copy of its parent's when it is made, so the
 * workers of workers see it too). A worker thread attaches only when the
 * main thread is starting or has started a dispatcher: when it is disabled
 * or failed, the worker does not load ringtrace nor wait for an answer
 * that will not come.
 */
import * as workerThreads from 'node:worker_threads';
import { getEnvironmentData, isMainThread, parentPort, setEnvironmentData } from 'node:worker_threads';

/** The environment data key (register.cts reads it by this name too). */
export const MAIN_START_STATE_KEY = 'ringtrace.register.main';

export type MainStartState = 'starting' | 'started' | 'failed';

/** Set on the main thread; workers made from now on see it. */
export function setMainStartState(state: MainStartState): void {
  setEnvironmentData(MAIN_START_STATE_KEY, state);
}

/** What the main thread had set when this thread was made (undefined: no zero-code start there). */
export function mainStartState(): MainStartState | undefined {
  const state = getEnvironmentData(MAIN_START_STATE_KEY);
  return state === 'starting' || state === 'started' || state === 'failed' ? state : undefined;
}

/**
 * Whether this is one of Node's own threads: the module loader's hooks
 * thread runs `--require` preloads too. It has no `parentPort` (every
 * `Worker` has one); Node 22.14 and later also say so (`isInternalThread`).
 */
export function isInternalThread(): boolean {
  return !isMainThread && ((workerThreads as { isInternalThread?: boolean }).isInternalThread === true || parentPort === null);
}

/** Whether this worker thread should attach to the main thread's dispatcher. */
export function shouldAttach(): boolean {
  if (isMainThread || isInternalThread()) return false;
  const state = mainStartState();
  return state === 'starting' || state === 'started';
}
