/**
 * Messages between the dispatcher (application thread) and its worker over
 * the control MessagePort. Requests carry an id; each gets one reply.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../errors.js';
import type { SinkStats } from '../../workers/sink-slot.js';
import type { DrainStats } from '../../workers/drain-loop.js';
import type { ThreadInfo } from '../record/trace-record.js';

/** The main thread, as its records name it (`thread.id` 0, `thread.name` 'main'). */
export const MAIN_THREAD: ThreadInfo = Object.freeze({ id: 0, name: 'main' });

/** An attached worker thread's ring, as the worker is given it. */
export interface AttachedRing {
  thread: ThreadInfo;
  ring: SharedArrayBuffer;
  /** The thread's metrics region, summed with the others' at each read. */
  metricRegion: SharedArrayBuffer | undefined;
}

/** A sink spec after validation on the application thread: modules resolved to URLs. */
export interface ResolvedSinkSpec {
  name: string;
  filter: string;
  /** Built-in sink name, or undefined for a module sink. */
  builtin: string | undefined;
  /** File URL of a module sink. */
  moduleUrl: string | undefined;
  options: unknown;
}

/** Everything the worker needs to start, sent as the piscina task. */
export interface WorkerSeed {
  ring: SharedArrayBuffer;
  port: MessagePort;
  sinks: ResolvedSinkSpec[];
  /** Strings already interned by the producer (a respawned worker). */
  strings: string[];
  flushIntervalMs: number;
  flushEveryRecords: number;
  maxOpenSpans: number;
  sinkTimeoutMs: number;
  /** Set when this worker replaces one that died; it reports the restart as a `ringtrace` error event. */
  restart?: { reason: string; restarts: number; lostInFlight: number };
  /**
   * The metrics regions (one per recording thread), read at each flush and
   * scrape. Made once by the dispatcher; they outlive every worker, so a
   * respawned one reads the same counts.
   */
  metricRegions: SharedArrayBuffer[];
  /** The application's OpenTelemetry resource attributes, handed to every sink. */
  resource: Record<string, string | number | boolean>;
  /** Rings of attached worker threads (a respawned worker carries on draining them). */
  rings?: AttachedRing[];
}

export type ControlRequest =
  | { id: number; type: 'addSink'; spec: ResolvedSinkSpec }
  | { id: number; type: 'removeSink'; name: string }
  | { id: number; type: 'flush'; position: number; threadId?: number }
  | { id: number; type: 'attachRing'; ring: AttachedRing }
  | { id: number; type: 'endRing'; threadId: number }
  | { id: number; type: 'stats' }
  | { id: number; type: 'inspect'; name: string }
  | { id: number; type: 'shutdown'; position: number };

/** What the worker answers to each request type. */
export interface ControlReplies {
  addSink: undefined;
  /** The removed sink's final counts. */
  removeSink: SinkStats;
  flush: undefined;
  attachRing: undefined;
  /** The ended ring's final counts (undefined when no ring of that thread was attached). */
  endRing: ThreadStats | undefined;
  stats: WorkerStats;
  /** What the sink's `inspect()` returned (structured-cloned). */
  inspect: unknown;
  /** The final counts. */
  shutdown: WorkerStats;
}

export type ControlRequestType = ControlRequest['type'];

/** A request as the application thread makes it: the supervisor adds the id. */
export type ControlRequestBody<K extends ControlRequestType = ControlRequestType> = K extends unknown ? Omit<Extract<ControlRequest, { type: K }>, 'id'> : never;

export type { SerializedError };

export type ControlReply = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: SerializedError };

/** Sent by the worker once, when its first sinks are ready (or failed). */
export type WorkerStartMessage = { type: 'ready' } | { type: 'startFailed'; error: SerializedError };

export interface WorkerStats extends DrainStats {
  sinks: SinkStats[];
}

/**
 * One recording thread's counts, in `dispatcher.stats().threads`. The
 * identities of the whole hold per thread: `offered == written + dropped +
 * oversize` and, at quiescence, `written == decoded + corrupt`.
 */
export interface ThreadStats {
  /** `worker_threads`' `threadId` (0: the main thread). */
  threadId: number;
  /** The worker's `name` option ('main' for the main thread). */
  threadName: string;
  offered: number;
  written: number;
  /** Dropped because the thread's ring was full. */
  dropped: number;
  oversize: number;
  /** Bytes waiting in the thread's ring. */
  queueBytes: number;
  queueCapacity: number;
  decoded: number;
  corrupt: number;
  corruptBytes: number;
  /** Spans of this thread open in the worker. */
  openSpans: number;
}

/** A thread's counts before the worker reported any. */
export function emptyThreadStats(thread: ThreadInfo, queueCapacity: number): ThreadStats {
  return { threadId: thread.id, threadName: thread.name, offered: 0, written: 0, dropped: 0, oversize: 0, queueBytes: 0, queueCapacity, decoded: 0, corrupt: 0, corruptBytes: 0, openSpans: 0 };
}

/** Producer counts summed over threads. */
export interface ProducerTotals {
  offered: number;
  written: number;
  dropped: number;
  oversize: number;
}

/** The worker's counts before it has reported any (an inert dispatcher's, or a worker that never came up). */
export function emptyWorkerStats(): WorkerStats {
  return {
    decoded: 0,
    corrupt: 0,
    corruptBytes: 0,
    corruptNotices: 0,
    orphaned: 0,
    evictedSpans: 0,
    openSpans: 0,
    dropNotices: 0,
    droppedReported: 0,
    oversizeReported: 0,
    queueHighWaterBytes: 0,
    prefaultedBytes: 0,
    threads: [],
    attached: { offered: 0, written: 0, dropped: 0, oversize: 0 },
    endedRings: 0,
    sinks: [],
  };
}
