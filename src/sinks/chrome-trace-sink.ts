/**
 * `chrome-trace`: writes the Chrome Trace Event format (JSON array form) to
 * a file, for chrome://tracing, Perfetto (ui.perfetto.dev) or speedscope.
 *
 *   [                                  ← written when the sink opens
 *   {"ph":"M","name":"process_name"…}  ← process and thread names
 *   ,{"ph":"X","name":"GET /cart"…}     ← one complete event per ended span
 *   ,{"ph":"i","name":"retry"…}         ← span events and standalone events
 *   ]                                  ← written by close()
 *
 * Events are appended at each flush, never held until the end, so the file
 * is readable up to the last flush if the process dies: the Trace Event
 * format lets the array's closing `]` be missing ("the JSON Array Format …
 * the ] at the end is optional", for exactly this case). After `shutdown()`
 * the file is complete, valid JSON.
 *
 * Lanes: one process (pid 1, named after the service), one thread lane per
 * trace (default), per target (`lanes: 'target'`) or per recording thread
 * (`lanes: 'thread'`: the main thread and each attached worker thread,
 * named after `thread.name` and `thread.id`). Spans that overlap
 * without nesting (concurrent siblings) go to a second lane of the same
 * trace, so every lane is well nested as the viewers require. Times are
 * microseconds since the Unix epoch.
 *
 * A span is written when it ends, with its attributes, status and ids as
 * `args` and its events as instant events. Spans still open at `close()` are
 * written up to the last time seen, marked `"ringtrace.unfinished": true`.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { invalidOptionRange, invalidOptionType } from '../errors.js';
import type { Fields, SpanInfo, ThreadInfo, TraceRecord } from '../record/trace-record.js';
import type { SinkContext, SinkFactory, TraceSink } from './trace-sink.js';
import { copyJsonFields } from './json-fields.js';

export interface ChromeTraceSinkOptions {
  /** File to write (truncated when the sink opens). Required. */
  path: string;
  /** Create the file's folder. Default false. */
  mkdir?: boolean;
  /** One thread lane per `trace` (default), per `target`, or per recording `thread` (`thread.id`). */
  lanes?: ChromeTraceLanes;
  /** Name of the process lane. Default: the resource's `service.name`, else `ringtrace`. */
  processName?: string;
  /** Spans tracked while open, before the oldest is written as unfinished. Default 10,000. */
  maxOpenSpans?: number;
}

/** How the chrome-trace sink assigns lanes. */
export type ChromeTraceLanes = 'trace' | 'target' | 'thread';

/** What `dispatcher.inspectSink(name)` returns. */
export interface ChromeTraceSinkInspection {
  path: string;
  /** Trace events written to the file so far, metadata included. */
  eventsWritten: number;
  /** Spans written as unfinished (open at close, or evicted past `maxOpenSpans`). */
  unfinishedSpans: number;
}

export const DEFAULT_CHROME_TRACE_MAX_OPEN_SPANS = 10_000;
/** The one process id in the file. */
const PID = 1;
/** Thread id of standalone events outside any span (lanes: 'trace'). */
const EVENTS_TID = 1;
/** Recent intervals kept per lane to test nesting against. */
const LANE_MEMORY = 256;
/** Lane keys remembered (their tids stay stable) before the oldest is forgotten. */
const MAX_LANE_KEYS = 10_000;
/** Events held per open span before they are cut (and counted in its args). */
const MAX_EVENTS_PER_SPAN = 1024;
/** Bytes buffered before a write without waiting for the next flush. */
const WRITE_THRESHOLD = 64 * 1024;

const STATUS = ['unset', 'ok', 'error'];

interface OpenSpan {
  readonly info: SpanInfo;
  attributes: Record<string, unknown>;
  events: { name: string; time: number; attributes: Fields }[];
  droppedEvents: number;
  status: number;
  statusMessage: string;
}

/** A thread lane: its tid and the recent [start, end] intervals placed on it. */
interface Lane {
  readonly tid: number;
  readonly intervals: [number, number][];
}

function resolveChromeTraceOptions(options: ChromeTraceSinkOptions | undefined): Required<Omit<ChromeTraceSinkOptions, 'processName'>> & { processName: string | undefined } {
  if (options === undefined || options === null || typeof options !== 'object') {
    throw invalidOptionType('chrome-trace options', 'an object with a `path`', options);
  }
  const { path, mkdir = false, lanes = 'trace', processName, maxOpenSpans = DEFAULT_CHROME_TRACE_MAX_OPEN_SPANS } = options;
  if (typeof path !== 'string' || path === '') throw invalidOptionType('chrome-trace.path', 'a file path', path);
  if (typeof mkdir !== 'boolean') throw invalidOptionType('chrome-trace.mkdir', 'a boolean', mkdir);
  if (lanes !== 'trace' && lanes !== 'target' && lanes !== 'thread') throw invalidOptionRange('chrome-trace.lanes', "'trace', 'target' or 'thread'", lanes);
  if (processName !== undefined && typeof processName !== 'string') throw invalidOptionType('chrome-trace.processName', 'a string', processName);
  if (typeof maxOpenSpans !== 'number') throw invalidOptionType('chrome-trace.maxOpenSpans', 'an integer', maxOpenSpans);
  if (!Number.isSafeInteger(maxOpenSpans) || maxOpenSpans < 1) throw invalidOptionRange('chrome-trace.maxOpenSpans', 'an integer >= 1', maxOpenSpans);
  return { path, mkdir, lanes, processName, maxOpenSpans };
}

/** Epoch milliseconds to microseconds, kept to the nanosecond. */
function micros(ms: number): number {
  return Math.round(ms * 1e6) / 1e3;
}

export class ChromeTraceSink implements TraceSink {
  readonly path: string;
  readonly #lanesBy: ChromeTraceLanes;
  readonly #maxOpenSpans: number;
  readonly #fd: number;
  readonly #open = new Map<SpanInfo, OpenSpan>();
  readonly #lanes = new Map<string, Lane[]>();
  #nextTid = EVENTS_TID + 1;
  #pending = '';
  #eventsWritten = 0;
  #unfinished = 0;
  #lastTime = 0;
  #closed = false;

  constructor(options: ChromeTraceSinkOptions, context: SinkContext = { name: 'chrome-trace' }) {
    const o = resolveChromeTraceOptions(options);
    this.path = o.path;
    this.#lanesBy = o.lanes;
    this.#maxOpenSpans = o.maxOpenSpans;
    if (o.mkdir) mkdirSync(dirname(o.path), { recursive: true });
    this.#fd = openSync(o.path, 'w');
    const serviceName = context.resource?.['service.name'];
    const processName = o.processName ?? (typeof serviceName === 'string' ? serviceName : 'ringtrace');
    // The array opens with the process name, so every later event starts with a comma.
    this.#pending = '[\n' + JSON.stringify({ ph: 'M', name: 'process_name', pid: PID, tid: 0, args: { name: processName } });
    this.#eventsWritten++;
    if (o.lanes === 'trace') this.#event({ ph: 'M', name: 'thread_name', pid: PID, tid: EVENTS_TID, args: { name: 'events' } });
    this.#write();
  }

  consume(record: TraceRecord): void {
    switch (record.kind) {
      case 'spanStart': {
        if (this.#open.size >= this.#maxOpenSpans) this.#evictOldest();
        const attributes: Record<string, unknown> = {};
        copyJsonFields(attributes, record.attributes);
        this.#open.set(record.span, { info: record.span, attributes, events: [], droppedEvents: 0, status: 0, statusMessage: '' });
        this.#seen(record.time);
        return;
      }
      case 'spanAttributes': {
        const s = this.#open.get(record.span);
        if (s !== undefined) copyJsonFields(s.attributes, record.attributes);
        return;
      }
      case 'spanEvent': {
        this.#seen(record.time);
        const s = this.#open.get(record.span);
        if (s === undefined) return;
        if (s.events.length < MAX_EVENTS_PER_SPAN) s.events.push({ name: record.name, time: record.time, attributes: record.attributes });
        else s.droppedEvents++;
        return;
      }
      case 'spanStatus': {
        const s = this.#open.get(record.span);
        if (s !== undefined) {
          s.status = record.code;
          s.statusMessage = record.message;
        }
        return;
      }
      case 'spanEnd': {
        this.#seen(record.time);
        const s = this.#open.get(record.span);
        if (s === undefined) return;
        this.#open.delete(record.span);
        this.#writeSpan(s, record.time, false);
        return;
      }
      case 'event': {
        this.#seen(record.time);
        const key = this.#laneKey(record.target, record.traceId, record.thread);
        const tid = key === undefined ? EVENTS_TID : this.#lanesFor(key, this.#lanesBy === 'thread' ? threadLabel(record.thread) : record.target)[0]!.tid;
        const args: Record<string, unknown> = { level: record.level, target: record.target };
        if (record.traceId !== undefined) {
          args.trace_id = record.traceId;
          args.span_id = record.spanId;
        }
        copyJsonFields(args, record.fields);
        this.#event({ ph: 'i', s: 't', name: record.message, cat: record.target, ts: micros(record.time), pid: PID, tid, args });
        return;
      }
      default:
        // spanLink and spanName: the name is read from SpanInfo at the end; links are not drawn.
        return;
    }
  }

  flush(): void {
    this.#write();
  }

  close(): void {
    if (this.#closed) return;
    for (const s of [...this.#open.values()]) this.#writeSpan(s, Math.max(this.#lastTime, s.info.startTime), true);
    this.#open.clear();
    this.#pending += '\n]\n';
    this.#write();
    closeSync(this.#fd);
    this.#closed = true;
  }

  inspect(): ChromeTraceSinkInspection {
    return { path: this.path, eventsWritten: this.#eventsWritten, unfinishedSpans: this.#unfinished };
  }

  #seen(time: number): void {
    if (time > this.#lastTime) this.#lastTime = time;
  }

  #evictOldest(): void {
    const oldest = this.#open.values().next().value as OpenSpan;
    this.#open.delete(oldest.info);
    this.#writeSpan(oldest, Math.max(this.#lastTime, oldest.info.startTime), true);
  }

  #writeSpan(s: OpenSpan, end: number, unfinished: boolean): void {
    const info = s.info;
    const key = this.#laneKey(info.target, info.traceId, info.thread)!;
    const tid = this.#place(key, info, info.startTime, end);
    const args: Record<string, unknown> = {
      trace_id: info.traceId,
      span_id: info.spanId,
      parent_span_id: info.parentSpanId,
      target: info.target,
      span_kind: info.spanKind,
      status: STATUS[s.status] ?? 'unset',
    };
    if (s.statusMessage !== '') args.status_message = s.statusMessage;
    if (s.droppedEvents !== 0) args['ringtrace.dropped_events'] = s.droppedEvents;
    if (this.#lanesBy === 'thread' && info.thread !== undefined) {
      args['thread.id'] = info.thread.id;
      args['thread.name'] = info.thread.name;
    }
    if (unfinished) {
      args['ringtrace.unfinished'] = true;
      this.#unfinished++;
    }
    Object.assign(args, s.attributes);
    const ts = micros(info.startTime);
    this.#event({ ph: 'X', name: info.name, cat: info.target, ts, dur: Math.max(0, micros(end) - ts), pid: PID, tid, args });
    for (const e of s.events) {
      const eventArgs: Record<string, unknown> = { span_id: info.spanId };
      copyJsonFields(eventArgs, e.attributes);
      this.#event({ ph: 'i', s: 't', name: e.name, cat: info.target, ts: micros(e.time), pid: PID, tid, args: eventArgs });
    }
  }

  /** The lane key of a record: its trace, its target or its thread (undefined: the events lane). */
  #laneKey(target: string, traceId: string | undefined, thread: ThreadInfo | undefined): string | undefined {
    if (this.#lanesBy === 'target') return target;
    if (this.#lanesBy === 'thread') return thread === undefined ? 'thread ?' : `thread ${thread.id}`;
    return traceId;
  }

  /** The lanes of a key, made (with a thread name) on first use. */
  #lanesFor(key: string, label: string): Lane[] {
    let lanes = this.#lanes.get(key);
    if (lanes === undefined) {
      if (this.#lanes.size >= MAX_LANE_KEYS) this.#lanes.delete(this.#lanes.keys().next().value as string);
      lanes = [];
      this.#lanes.set(key, lanes);
      this.#addLane(key, lanes, label);
    }
    return lanes;
  }

  #addLane(key: string, lanes: Lane[], label: string): Lane {
    const lane: Lane = { tid: this.#nextTid++, intervals: [] };
    lanes.push(lane);
    const base = this.#lanesBy === 'trace' ? `trace ${key.slice(0, 8)} ${label}` : this.#lanesBy === 'thread' ? label : key;
    const name = lanes.length === 1 ? base : `${base} (${lanes.length})`;
    this.#event({ ph: 'M', name: 'thread_name', pid: PID, tid: lane.tid, args: { name } });
    this.#event({ ph: 'M', name: 'thread_sort_index', pid: PID, tid: lane.tid, args: { sort_index: lane.tid } });
    return lane;
  }

  /** The first lane of `key` where [start, end] nests with every interval already there. */
  #place(key: string, info: SpanInfo, start: number, end: number): number {
    // A trace's lane is named after the first span that reaches it (a child usually ends first).
    const label = this.#lanesBy === 'trace' ? info.name : this.#lanesBy === 'thread' ? threadLabel(info.thread) : info.target;
    const lanes = this.#lanesFor(key, label);
    let lane = lanes.find((l) => l.intervals.every(([s, e]) => end <= s || start >= e || (start <= s && end >= e) || (start >= s && end <= e)));
    lane ??= this.#addLane(key, lanes, label);
    lane.intervals.push([start, end]);
    if (lane.intervals.length > LANE_MEMORY) lane.intervals.shift();
    return lane.tid;
  }

  #event(event: Record<string, unknown>): void {
    this.#pending += ',\n' + JSON.stringify(event);
    this.#eventsWritten++;
    if (this.#pending.length >= WRITE_THRESHOLD) this.#write();
  }

  #write(): void {
    if (this.#pending === '') return;
    writeSync(this.#fd, this.#pending);
    this.#pending = '';
  }
}

const createChromeTraceSink: SinkFactory<ChromeTraceSinkOptions | undefined> = (options, context) =>
  new ChromeTraceSink(options as ChromeTraceSinkOptions, context);
export default createChromeTraceSink;

/** A thread lane's name: `main (0)`, `pool-1 (3)`. */
function threadLabel(thread: ThreadInfo | undefined): string {
  return thread === undefined ? 'unknown thread' : `${thread.name} (${thread.id})`;
}
