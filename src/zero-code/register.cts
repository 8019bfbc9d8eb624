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
import { isMainThread } from 'node:worker_threads';
import type { TraceDispatcher } from '../dispatcher.js';

type ZeroCodeStart = typeof import('./zero-code-start.js');

/** The start while the ES module is still loading (the asynchronous path below). */
const PENDING = Symbol.for('ringtrace.register.pending');
type Global = { [key: symbol]: Promise<TraceDispatcher | undefined> | undefined };

/** The dispatcher this entry started: `require('ringtrace/register').zeroCodeDispatcher()` waits for the start. */
export function zeroCodeDispatcher(): Promise<TraceDispatcher | undefined> {
  const g = globalThis as unknown as Global;
  return g[Symbol.for('ringtrace.register')] ?? g[PENDING] ?? Promise.resolve(undefined);
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

if (isMainThread) {
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
