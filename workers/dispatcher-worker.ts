/**
 * The dispatcher worker's entry, as piscina runs it: one long task per
 * dispatcher, which lives until shutdown. Everything it does is in
 * WorkerRuntime, so the tests drive the same code in-process.
 *
 *   application thread                 this worker
 *   ring (SharedArrayBuffer) ───────►  drain loop ─► decoder ─► fan-out ─► sinks
 *   control port  ◄───────────────►   add/remove sink, flush, stats, shutdown
 */
import type { WorkerSeed, WorkerStartMessage } from '../src/control/control-protocol.js';
import { WorkerRuntime } from './worker-runtime.js';

/**
 * Resolves as soon as the first sinks are ready (or failed to load); the drain
 * loop keeps running in this thread afterwards. A piscina task in flight
 * would ref piscina's port and keep the application alive, which the
 * dispatcher must never do by itself.
 */
export default function runDispatcher(seed: WorkerSeed): Promise<WorkerStartMessage> {
  const runtime = new WorkerRuntime(seed);
  // A failure of the loop itself kills this worker; the supervisor respawns it.
  void runtime.run(seed.sinks);
  return runtime.started;
}
