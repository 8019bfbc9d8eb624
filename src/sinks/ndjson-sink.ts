/**
 * `ndjson`: one JSON object per record per line, serialised by
 * fast-json-stringify from the schema below, to stdout or a file.
 *
 * Options: `{ destination?: 'stdout' | 'stderr' | string }` (a file path,
 * appended to; default stdout), `{ mkdir?: boolean }` (create the file's
 * folder).
 *
 * Line fields by `kind` (all records: `kind`, and `target`):
 * - span records: `traceId`, `spanId`, `spanName` (the span's current name);
 * - `spanStart`: `time`, `parentSpanId`, `level`, `spanKind`, `attributes`;
 * - `spanAttributes`: `attributes`; `spanEvent`: `time`, `name`, `attributes`;
 * - `spanLink`: `linkTraceId`, `linkSpanId`, `linkTraceFlags`, `attributes`;
 * - `spanStatus`: `code`, `message`; `spanName`: `name` (the new name);
 * - `spanEnd`: `time`, `startTime`, `duration` (ms), the dropped counts;
 * - `event`: `time`, `level`, `message`, `fields`, and `traceId`/`spanId` inside a span.
 *
 * Times are Unix epoch milliseconds with a fraction. Attribute and field
 * values keep their JSON type; a bigint becomes a decimal string and NaN or
 * ±Infinity the strings `"NaN"`, `"Infinity"`, `"-Infinity"`, since JSON has
 * no form for them.
 */
import fastJson from 'fast-json-stringify';
import sonicBoom from 'sonic-boom';
import type { SonicBoom as SonicBoomStream, SonicBoomOpts } from 'sonic-boom';
import { invalidOptionType } from '../errors.js';
import type { TraceRecord } from '../record/trace-record.js';
import type { SinkContext, SinkFactory, TraceSink } from './trace-sink.js';
import { copyJsonFields } from './json-fields.js';

export interface NdjsonSinkOptions {
  destination?: string;
  mkdir?: boolean;
}

const openObject = { type: 'object' as const, additionalProperties: true };

/** The line schema: every property any kind uses; absent ones are left out. */
const lineSchema: fastJson.ObjectSchema = {
  type: 'object',
  properties: {
    kind: { type: 'string' },
    time: { type: 'number' },
    level: { type: 'string' },
    target: { type: 'string' },
    traceId: { type: 'string' },
    spanId: { type: 'string' },
    parentSpanId: { type: 'string' },
    spanName: { type: 'string' },
    spanKind: { type: 'integer' },
    name: { type: 'string' },
    message: { type: 'string' },
    code: { type: 'integer' },
    startTime: { type: 'number' },
    duration: { type: 'number' },
    linkTraceId: { type: 'string' },
    linkSpanId: { type: 'string' },
    linkTraceFlags: { type: 'integer' },
    droppedAttributesCount: { type: 'integer' },
    droppedEventsCount: { type: 'integer' },
    droppedLinksCount: { type: 'integer' },
    attributes: openObject,
    fields: openObject,
  },
  required: ['kind'],
};

const stringifyLine = fastJson(lineSchema);

// sonic-boom's CommonJS default export is the class; its typings say otherwise under NodeNext.
const SonicBoom = sonicBoom as unknown as new (options: SonicBoomOpts) => SonicBoomStream;

/** The JSON line object for a record (exported for tests and other JSON sinks). */
export function recordToJson(r: TraceRecord): Record<string, unknown> {
  if (r.kind === 'event') {
    return {
      kind: r.kind,
      time: r.time,
      level: r.level,
      target: r.target,
      message: r.message,
      traceId: r.traceId,
      spanId: r.spanId,
      fields: copyJsonFields({}, r.fields),
    };
  }
  const s = r.span;
  const base = { kind: r.kind, target: s.target, traceId: s.traceId, spanId: s.spanId, spanName: s.name };
  switch (r.kind) {
    case 'spanStart':
      return { ...base, time: r.time, level: s.level, parentSpanId: s.parentSpanId, spanKind: s.spanKind, attributes: copyJsonFields({}, r.attributes) };
    case 'spanAttributes':
      return { ...base, attributes: copyJsonFields({}, r.attributes) };
    case 'spanEvent':
      return { ...base, time: r.time, name: r.name, attributes: copyJsonFields({}, r.attributes) };
    case 'spanLink':
      return { ...base, linkTraceId: r.traceId, linkSpanId: r.spanId, linkTraceFlags: r.traceFlags, attributes: copyJsonFields({}, r.attributes) };
    case 'spanStatus':
      return { ...base, code: r.code, message: r.message };
    case 'spanName':
      return { ...base, name: r.name };
    case 'spanEnd':
      return {
        ...base,
        time: r.time,
        startTime: s.startTime,
        duration: r.time - s.startTime,
        droppedAttributesCount: r.droppedAttributesCount,
        droppedEventsCount: r.droppedEventsCount,
        droppedLinksCount: r.droppedLinksCount,
      };
  }
}

/** Bytes buffered before a write without waiting for the next flush. */
const WRITE_THRESHOLD = 64 * 1024;

export class NdjsonSink implements TraceSink {
  readonly #out: SonicBoomStream;
  #pending = '';

  constructor(options: NdjsonSinkOptions = {}) {
    const dest = options.destination ?? 'stdout';
    if (typeof dest !== 'string' || dest === '') throw invalidOptionType('ndjson.destination', "'stdout', 'stderr' or a file path", dest);
    if (dest === 'stdout' || dest === 'stderr') {
      this.#out = new SonicBoom({ fd: dest === 'stdout' ? 1 : 2, sync: true });
    } else {
      this.#out = new SonicBoom({ dest, mkdir: options.mkdir === true, sync: true, append: true });
    }
  }

  consume(record: TraceRecord): void {
    this.#pending += stringifyLine(recordToJson(record)) + '\n';
    if (this.#pending.length >= WRITE_THRESHOLD) this.#write();
  }

  flush(): void {
    this.#write();
  }

  close(): void {
    this.#write();
    this.#out.end();
  }

  #write(): void {
    if (this.#pending === '') return;
    this.#out.write(this.#pending);
    this.#pending = '';
  }
}

// `satisfies`, not a type annotation, so callers in-process see an NdjsonSink.
const createNdjsonSink = ((options: NdjsonSinkOptions | undefined, _context?: SinkContext) => new NdjsonSink(options ?? {})) satisfies SinkFactory<NdjsonSinkOptions | undefined>;
export default createNdjsonSink;
