/**
 * The records sinks receive: one decoded object per record in the ring.
 *
 * Times are Unix epoch milliseconds as float64, with a fractional part:
 * resolution is about 0.25 µs at today's dates (`Date.now()`'s unit, finer).
 * Ids are lowercase hex, as `SpanContext` has them. Span kinds and status
 * codes use the numbering of `@opentelemetry/api`'s `SpanKind` and
 * `SpanStatusCode`.
 */
import type { LevelName } from '../filter/levels.js';

/** A field or attribute value as delivered: primitives and flat arrays of them. */
export type FieldPrimitive = string | number | boolean | bigint | null;
export type FieldValue = FieldPrimitive | FieldPrimitive[];
/**
 * Event fields or span attributes. An object that inherits nothing (its
 * prototype is an empty, frozen object with a null prototype; see
 * src/record/fields.ts): any key, `__proto__` included, is an ordinary own
 * property, and no Object.prototype method is there to call.
 */
export type Fields = Record<string, FieldValue>;

/**
 * The thread a record was made on, as the OpenTelemetry semantic conventions
 * name it (`thread.id`, `thread.name`): `worker_threads`' `threadId` and the
 * worker's `name` option (`'main'` and 0 for the main thread). One frozen
 * object per thread, shared by all its records: compare by identity.
 */
export interface ThreadInfo {
  readonly id: number;
  readonly name: string;
}

/**
 * The worker's view of an open span, shared by every record of that span.
 * `name` follows `updateName`. Do not keep it past the span's end record if
 * you need it unchanged: the worker owns it.
 */
export interface SpanInfo {
  readonly traceId: string;
  readonly spanId: string;
  /** Parent span id, or undefined for a root span. */
  readonly parentSpanId: string | undefined;
  /** Whether the parent came from another process through a propagator. */
  readonly parentIsRemote: boolean;
  readonly traceFlags: number;
  /** W3C tracestate header value, or '' when there is none. */
  readonly traceState: string;
  name: string;
  /** The instrumentation scope (tracer) name: what filters match. */
  readonly target: string;
  readonly level: LevelName;
  /** `SpanKind`: 0 internal, 1 server, 2 client, 3 producer, 4 consumer. */
  readonly spanKind: number;
  readonly startTime: number;
  /** The thread that made the span; undefined only on records not read from a ring (built by hand). */
  readonly thread?: ThreadInfo;
}

/**
 * A span's opening record. Its `attributes` are those set before the span
 * was written: for a span written at its end (most spans), all of them.
 */
export interface SpanStartRecord {
  readonly kind: 'spanStart';
  readonly span: SpanInfo;
  readonly time: number;
  readonly attributes: Fields;
}

export interface SpanAttributesRecord {
  readonly kind: 'spanAttributes';
  readonly span: SpanInfo;
  readonly attributes: Fields;
}

export interface SpanEventRecord {
  readonly kind: 'spanEvent';
  readonly span: SpanInfo;
  readonly time: number;
  /** The event's name (`addEvent(name)`). */
  readonly name: string;
  readonly attributes: Fields;
}

export interface SpanLinkRecord {
  readonly kind: 'spanLink';
  readonly span: SpanInfo;
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly attributes: Fields;
}

export interface SpanStatusRecord {
  readonly kind: 'spanStatus';
  readonly span: SpanInfo;
  /** `SpanStatusCode`: 0 unset, 1 ok, 2 error. */
  readonly code: number;
  readonly message: string;
}

export interface SpanNameRecord {
  readonly kind: 'spanName';
  readonly span: SpanInfo;
  readonly name: string;
}

export interface SpanEndRecord {
  readonly kind: 'spanEnd';
  readonly span: SpanInfo;
  readonly time: number;
  /** Attributes, events and links cut by the span limits. */
  readonly droppedAttributesCount: number;
  readonly droppedEventsCount: number;
  readonly droppedLinksCount: number;
}

/** A standalone event: the structured-event API, a pino line, or ringtrace's own diagnostics. */
export interface EventRecord {
  readonly kind: 'event';
  readonly time: number;
  readonly level: LevelName;
  readonly target: string;
  readonly message: string;
  readonly fields: Fields;
  /** The active span's ids when the event was made inside one. */
  readonly traceId: string | undefined;
  readonly spanId: string | undefined;
  /** The thread that made the event; undefined on ringtrace's own diagnostics and records built by hand. */
  readonly thread?: ThreadInfo;
  // The properties below are set only on a record made through the
  // OpenTelemetry Logs API (`logger.emit()`), for what `level` and
  // `message` cannot say.
  /** The exact `SeverityNumber` given (0 when none was). */
  readonly severityNumber?: number;
  /** `severityText` as given ('' when none was). */
  readonly severityText?: string;
  /** `eventName` as given ('' when none was). */
  readonly eventName?: string;
  /** When the record was observed (`observedTimestamp`, else when `emit()` was called). */
  readonly observedTime?: number;
  /**
   * The body as given: a string (then also `message`), or any other value
   * kept structured (objects, arrays, numbers, booleans, null; `message` is
   * then its JSON). Bounded; cycles and throwing getters become marker
   * strings, bigints decimal strings. Undefined when there was no body.
   */
  readonly body?: LogBody;
  /** The span's trace flags when the record carries trace context. */
  readonly traceFlags?: number;
  /** The logger's version and schema URL, for the instrumentation scope ('' when none). */
  readonly scopeVersion?: string;
  readonly schemaUrl?: string;
}

/** A Logs API body as delivered: JSON-shaped values. */
export type LogBody = string | number | boolean | null | LogBody[] | { [key: string]: LogBody };

export type SpanRecord =
  | SpanStartRecord
  | SpanAttributesRecord
  | SpanEventRecord
  | SpanLinkRecord
  | SpanStatusRecord
  | SpanNameRecord
  | SpanEndRecord;

/** Every record a sink can receive. Switch on `kind`. */
export type TraceRecord = SpanRecord | EventRecord;
