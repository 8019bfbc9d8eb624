/**
 * Messages between the dispatcher (application thread) and its worker over
 * the control MessagePort. Requests carry an id; each gets one reply.
 */
import type { MessagePort } from 'node:worker_threads';
import type { SerializedError } from '../errors.js';
import type { SinkStats } from '../../workers/sink-slot.js';
import type { DrainStats } from '../../workers/drain-loop.js';

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
}

export type ControlRequest =
  | { id: number; type: 'addSink'; spec: ResolvedSinkSpec }
  | { id: number; type: 'removeSink'; name: string }
  | { id: number; type: 'flush'; position: number }
  | { id: number; type: 'stats' }
  | { id: number; type: 'inspect'; name: string }
  | { id: number; type: 'shutdown'; position: number };

/** What the worker answers to each request type. */
export interface ControlReplies {
  addSink: undefined;
  /** The removed sink's final counts. */
  removeSink: SinkStats;
  flush: undefined;
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
    sinks: [],
  };
}
