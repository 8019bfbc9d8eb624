/**
 * A sink that only counts what it receives: the cheapest possible consumer,
 * so the benchmarks measure ringtrace rather than a sink.
 *
 * Option `gate` (an Int32Array-sized SharedArrayBuffer) lets the drain
 * benchmark hold the worker: when slot 0 is ARMED, the next `consume` marks it
 * HELD and blocks the worker thread until the main thread stores OPEN. The
 * main thread can then fill the ring while nothing reads it.
 *
 * Option `heap: true` makes `inspect()` also report the worker thread's own
 * V8 heap (`heapUsed`, and `heapAfterGc` after a full collection when the
 * process runs with --expose-gc), for the soak benchmark.
 *
 * Option `thread: true` makes `inspect()` also report the worker thread's
 * Linux thread id (`tid`), so a benchmark can read that thread's CPU time
 * from `/proc/self/task/<tid>/schedstat` around a measured stretch.
 */
import { readlinkSync } from 'node:fs';

export const GATE_OPEN = 0;
export const GATE_ARMED = 1;
export const GATE_HELD = 2;

export default function countingSink(options = {}) {
  const gate = options.gate === undefined ? null : new Int32Array(options.gate);
  let count = 0;
  return {
    consume() {
      count++;
      if (gate !== null && Atomics.load(gate, 0) === GATE_ARMED) {
        Atomics.store(gate, 0, GATE_HELD);
        Atomics.notify(gate, 0);
        Atomics.wait(gate, 0, GATE_HELD);
      }
    },
    flush() {},
    inspect() {
      if (options.thread === true) return { count, tid: threadId() };
      if (options.heap !== true) return { count };
      const heapUsed = process.memoryUsage().heapUsed;
      let heapAfterGc = NaN;
      if (typeof globalThis.gc === 'function') {
        globalThis.gc();
        heapAfterGc = process.memoryUsage().heapUsed;
      }
      return { count, heapUsed, heapAfterGc };
    },
  };
}

/** This thread's Linux thread id (`/proc/thread-self` links to `<pid>/task/<tid>`), or -1 off Linux. */
function threadId() {
  try {
    return Number(readlinkSync('/proc/thread-self').split('/').pop());
  } catch {
    return -1;
  }
}
