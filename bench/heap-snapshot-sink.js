/**
 * A sink that receives nothing (give it the filter `off`) and, on
 * `inspect()`, writes a heap snapshot of the dispatcher worker's own V8 heap
 * to `options.dir` and returns its path: the soak benchmark's `--snapshots`
 * uses it to see what the worker retains (see bench/heap-diff.js).
 */
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

export default function heapSnapshotSink(options = {}) {
  let taken = 0;
  return {
    consume() {},
    flush() {},
    inspect() {
      return writeHeapSnapshot(join(options.dir, `worker-${++taken}.heapsnapshot`));
    },
  };
}
