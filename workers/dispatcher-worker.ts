/**
 * The dispatcher worker's entry, as piscina runs it: one long task per
 * dispatcher, which lives until shutdown. Everything it does is in
 * WorkerRuntime, so the tests drive the same code in-process.
 *
 *   application thread                 this worker
 *   ring (SharedArrayBuffer) ───────►  drain loop ─► decoder ─► fan-out ─► sinks
 *   control port  ◄───────────────►   add/remove sink, flush, stats, shutdown
 */
import type { WorkerSeed, WorkerStats } from './control-protocol.js';
import { WorkerRuntime } from './worker-runtime.js';

export default function runDispatcher(seed: WorkerSeed): Promise<WorkerStats> {
  return new WorkerRuntime(seed).run(seed.sinks);
}
