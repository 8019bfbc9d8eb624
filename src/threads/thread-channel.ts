/**
 * The attach protocol: messages on one BroadcastChannel, which reaches every
 * thread of the process (a SharedArrayBuffer crosses it; a MessagePort
 * would not), between attached worker threads and the main thread's hub.
 *
 *   worker thread                          main thread (ThreadHub)            dispatcher worker
 *   attach {thread, ring, region} ───────► attachRing ──── control port ────► drains the ring too
 *          ◄──────────────────────────────  attached {filters}
 *   flush {position} ─────────────────────► flush {threadId, position} ──────► reach, flush sinks
 *          ◄──────────────────────────────  flushed
 *   detach / the thread ends ─────────────► endRing ─────────────────────────► drain to the end, drop
 *   child {parent, child} (it started one)  (watches the child's end through the parent)
 *          ◄──────────────────────────────  filters (sinks changed) · hub (a dispatcher started)
 *                                            · restarted (a respawned worker: intern strings anew)
 */
import type { ThreadInfo } from '../record/trace-record.js';

/** The channel's name: one per process, whatever the number of dispatchers started. */
export const THREAD_CHANNEL = 'ringtrace:threads:1';

/** From a worker thread to the hub. */
export type ToHub =
  | { type: 'attach'; token: number; thread: ThreadInfo; ring: SharedArrayBuffer; metricRegion: SharedArrayBuffer }
  | { type: 'flush'; token: number; threadId: number; position: number }
  | { type: 'detach'; token: number; threadId: number }
  /** The thread runs its `exit` handlers (normal end or `process.exit()`); authoritative only when no parent watches it. */
  | { type: 'exiting'; threadId: number }
  /** An attached thread started a worker of its own, whose end it reports. */
  | { type: 'child'; parent: number; child: number }
  /** A worker that an attached thread started has exited. */
  | { type: 'ended'; threadId: number };

/** From the hub to worker threads. */
export type FromHub =
  | { type: 'hub' }
  | { type: 'filters'; filters: string[] }
  /** The dispatcher worker was respawned without the attached threads' strings: define them again. */
  | { type: 'restarted' }
  | { type: 'attached'; token: number; threadId: number; filters: string[] }
  | { type: 'reply'; token: number; threadId: number; ok: boolean; message: string };

export type ChannelMessage = ToHub | FromHub;
