/**
 * `node --require ringtrace/register app.js`, for CommonJS applications.
 *
 * The instrumentations are registered before this returns, so the modules
 * the application requires are patched. The dispatcher's start is
 * asynchronous and `--require` cannot wait for it: the application's first
 * lines run before ringtrace is installed, and spans or logs made then are
 * not recorded (use `--import ringtrace/register`, which waits). On a Node.js
 * that cannot `require()` an ES module (before 20.19 and 22.12), the whole
 * start is asynchronous, instrumentations included.
 */
import * as workerThreads from 'node:worker_threads';
import { getEnvironmentData, isMainThread, parentPort, workerData } from 'node:worker_threads';
import type { TraceDispatcher } from '../dispatcher.js';
import type { AttachedThread } from '../threads/attach.js';

type ZeroCodeStart = typeof import('./zero-code-start.js');

/** The start while the ES module is still loading (the asynchronous path below). */
const PENDING = Symbol.for('ringtrace.register.pending');
const THREAD_PENDING = Symbol.for('ringtrace.register.thread.pending');
type Global = { [key: symbol]: Promise<unknown> | undefined };

/** The dispatcher this entry started: `require('ringtrace/register').zeroCodeDispatcher()` waits for the start. */
export function zeroCodeDispatcher(): Promise<TraceDispatcher | undefined> {
  const g = globalThis as unknown as Global;
  return (g[Symbol.for('ringtrace.register')] ?? g[PENDING] ?? Promise.resolve(undefined)) as Promise<TraceDispatcher | undefined>;
}

/** This worker thread as this entry attached it: `await require('ringtrace/register').zeroCodeThread()` waits for the attach. */
export function zeroCodeThread(): Promise<AttachedThread | undefined> {
  const g = globalThis as unknown as Global;
  return (g[Symbol.for('ringtrace.register.thread')] ?? g[THREAD_PENDING] ?? Promise.resolve(undefined)) as Promise<AttachedThread | undefined>;
}

function failed(error: unknown): void {
  process.emitWarning(`ringtrace: zero-code start failed, the application runs without ringtrace: ${error instanceof Error ? error.message : String(error)}`, {
    code: 'RINGTRACE_ENV',
  });
}

/** The ES module, loaded synchronously where Node can (require(esm)), else undefined. */
function loadNow(): ZeroCodeStart | undefined {
  if ((process.features as { require_module?: boolean }).require_module !== true) return undefined;
  try {
    return require('./zero-code-start.js') as ZeroCodeStart;
  } catch {
    // ERR_REQUIRE_ASYNC_MODULE and the like: load it asynchronously instead.
    return undefined;
  }
}

/**
 * Whether this worker thread is the application's (not ringtrace's own, not
 * Node's module loader thread, which runs --require preloads too) and the
 * main thread is starting or has started a dispatcher. The checks of
 * worker-identity.ts and main-start-state.ts, written out: this file cannot
 * load an ES module synchronously on every Node.js it supports.
 */
function attachHere(): boolean {
  const ours = typeof workerData === 'object' && workerData !== null && (workerData as { ringtraceDispatcherWorker?: unknown }).ringtraceDispatcherWorker === true;
  const internal = (workerThreads as { isInternalThread?: boolean }).isInternalThread === true || parentPort === null;
  const state = getEnvironmentData('ringtrace.register.main');
  return !ours && !internal && (state === 'starting' || state === 'started');
}

if (!isMainThread) {
  if (attachHere()) {
    // As on the main thread, --require cannot wait: the worker's first lines may run before its globals are installed.
    const start = loadNow();
    if (start !== undefined) {
      void start.attachZeroCode();
    } else {
      (globalThis as unknown as Global)[THREAD_PENDING] = import('./zero-code-start.js')
        .then((m: ZeroCodeStart) => m.attachZeroCode())
        .catch((error: unknown) => {
          failed(error);
          return undefined;
        });
    }
  }
} else {
  const start = loadNow();
  if (start !== undefined) {
    // The synchronous part of the start (instrumentations) runs now.
    void start.startZeroCode();
  } else {
    (globalThis as unknown as Global)[PENDING] = import('./zero-code-start.js')
      .then((m: ZeroCodeStart) => m.startZeroCode())
      .catch((error: unknown) => {
        failed(error);
        return undefined;
      });
  }
}
