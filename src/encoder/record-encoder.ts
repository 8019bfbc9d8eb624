/**
 * RecordEncoder: the producer's writer of the record format, one method per
 * record kind (as the decoder has one case per kind), each taking its
 * record's content. The fields of every kind are declared in schema.ts;
 * how a reservation reaches the ring is RecordFraming's, how a value is
 * written ValueWriter's.
 *
 *   event ─────────┐ fast path: in place, one pass, literal-free offsets from the schema
 *   spanComplete ──┤ (common shapes only; anything else gives up before publishing)
 *                  └─► general path: encode(records, writer method, source) ─► ring
 *
 * It never throws into the caller: see RecordFraming and ValueWriter.
 */
import type { RingWriter } from '../ring/ring-writer.js';
import * as F from '../record/format.js';
import { IN_PLACE_MIN, SLOTS_PER_KIND, writeHeader, writeIds, type IdWords } from './record-framing.js';
import * as S from '../record/schema.js';
import { ValueWriter, type AttributeList, type ValueWriterOptions } from './value-writer.js';

export { TRUNCATION_MARKER, type IdWords } from './record-framing.js';
export type { AttributeList } from './value-writer.js';

// Module-local copies of the format's and schema's constants (see record-framing.ts).
const { BODY_NONE, BODY_STRING, BODY_STRUCTURED, COUNT_BYTES, RECORD_FLAGS_OFFSET: FLAGS_AT, RECORD_KIND_OFFSET: KIND_AT, RECORD_LEVEL_OFFSET: LEVEL_AT, RECORD_SIZE_OFFSET, STR_INLINE, STR_REF, STR_REF_BYTES, STR_TAG_BYTES, VALUE_FALSE, VALUE_FLOAT, VALUE_INT, VALUE_STRING, VALUE_TAG_BYTES, VALUE_TRUE } = F;
const {
  align,
  EVENT,
  FIELD_BYTES,
  FLAG_HAS_CONTEXT,
  FLAG_LOG_RECORD,
  FLAG_HAS_DROPS,
  FLAG_HAS_PARENT,
  FLAG_HAS_TRACE_STATE,
  FLAG_PARENT_REMOTE,
  KIND_EVENT,
  KIND_LOG_LINE,
  KIND_SPAN_ATTRS,
  KIND_SPAN_END,
  KIND_SPAN_EVENT,
  KIND_SPAN_LINK,
  KIND_SPAN_NAME,
  KIND_SPAN_START,
  KIND_SPAN_STATUS,
  SPAN_END,
  SPAN_END_BYTES,
  SPAN_END_WITH_DROPS_BYTES,
  SPAN_START,
} = S;
const EVENT_TIME_AT = EVENT.at.time;
const EVENT_IDS_AT = EVENT.at.traceId;
const START_HANDLE_AT = SPAN_START.at.handle;
const START_TIME_AT = SPAN_START.at.startTime;
const START_TRACE_AT = SPAN_START.at.traceId;
const START_SPAN_AT = SPAN_START.at.spanId;
const START_PARENT_AT = SPAN_START.at.parentSpanId;
const END_HANDLE_AT = SPAN_END.at.handle;
const END_TIME_AT = SPAN_END.at.endTime;
const END_DROPPED_ATTRIBUTES_AT = SPAN_END.at.droppedAttributes;
const END_DROPPED_EVENTS_AT = SPAN_END.at.droppedEvents;
const END_DROPPED_LINKS_AT = SPAN_END.at.droppedLinks;
const START_SLOTS = KIND_SPAN_START * SLOTS_PER_KIND;
const U8 = FIELD_BYTES.u8;
const U32 = FIELD_BYTES.u32;
const F64 = FIELD_BYTES.f64;
const SPAN_ID_BYTES = FIELD_BYTES.spanId;

/**
 * What the encoder reads of a span the producer held back: the fields of
 * its opening record, the span's own ids (`IdWords`) among them. See
 * `RingSpan` for why a span is held.
 */
export interface SpanSource extends IdWords {
  readonly handle: number;
  readonly startTime: number;
  /** Whether the span has a parent; its span id is then `parentS0, parentS1`. */
  readonly hasParent: boolean;
  readonly parentS0: number;
  readonly parentS1: number;
  readonly parentRemote: boolean;
  readonly traceFlags: number;
  readonly spanKind: number;
  readonly level: number;
  readonly name: string;
  readonly target: string;
  readonly traceStateText: string;
  readonly attributeList: AttributeList;
}

/** A span's closing record: its end time and the counts its limits cut. */
export interface SpanEnding {
  readonly handle: number;
  readonly endTime: number;
  readonly droppedAttributes: number;
  readonly droppedEvents: number;
  readonly droppedLinks: number;
}

/**
 * A Logs API record (`logger.emit()`), as `RecordEncoder.logRecord` reads it:
 * an EVENT with FLAG_LOG_RECORD. Capture has made every field safe to read.
 */
export interface LogRecordSource {
  readonly level: number;
  readonly time: number;
  readonly observedTime: number;
  readonly target: string;
  /** The string body, or '' (a structured body travels as `bodyJson`). */
  readonly message: string;
  /** JSON of a body that is not a string, or undefined when it is one or there is none. */
  readonly bodyJson: string | undefined;
  readonly hasBody: boolean;
  readonly attributes: object | undefined;
  readonly ctx: IdWords | null;
  readonly traceFlags: number;
  /** 0 to 255; 0 when not given. */
  readonly severityNumber: number;
  readonly severityText: string;
  readonly eventName: string;
  readonly scopeVersion: string;
  readonly schemaUrl: string;
}

/** A span held until it ended, written whole: its opening, status (code 0: none) and closing records. */
export interface EndedSpan extends SpanSource, SpanEnding {
  /** `SpanStatusCode`: 0 (UNSET) writes no status record. */
  readonly statusCode: number;
  readonly statusMessage: string;
}

/** A span's opening record from an application's attributes object (read as it is, guarded). */
export interface SpanStart extends SpanSource {
  readonly attributes: object | undefined;
  readonly maxAttributes: number;
}

interface EventSource {
  level: number;
  time: number;
  target: string;
  message: string;
  fields: object | undefined;
  ctx: IdWords | null;
}

interface LineSource {
  time: number;
  line: string;
  ctx: IdWords | null;
}

interface AttributesSource {
  handle: number;
  /** An application's object (attributes) or one key and value. */
  attributes: object | undefined;
  maxAttributes: number;
  key: string;
  value: unknown;
}

interface SpanEventSource {
  handle: number;
  time: number;
  name: string;
  attributes: object | undefined;
  maxAttributes: number;
}

interface LinkSource {
  handle: number;
  ids: IdWords;
  traceFlags: number;
  attributes: object | undefined;
  maxAttributes: number;
}

interface StatusSource {
  handle: number;
  code: number;
  message: string;
}

interface NameSource {
  handle: number;
  name: string;
}

/** Attributes (fields) and string length the fast paths take: with them a span or an event fits in IN_PLACE_MIN. */
const FAST_ATTRIBUTES = 6;
const FAST_STRING = 48;

/**
 * For the fast paths: write a number, boolean or ASCII string of at most
 * FAST_STRING units as a value at `p` (room known), returning the position
 * after it, or -1 for anything else (the caller gives up).
 */
function fastValue(buf: Uint8Array, v: DataView, p: number, value: unknown): number {
  if (typeof value === 'number') {
    buf[p] = Number.isInteger(value) ? VALUE_INT : VALUE_FLOAT;
    v.setFloat64(p + VALUE_TAG_BYTES, value, true);
    return p + VALUE_TAG_BYTES + F64;
  }
  if (typeof value === 'boolean') {
    buf[p] = value ? VALUE_TRUE : VALUE_FALSE;
    return p + VALUE_TAG_BYTES;
  }
  if (typeof value !== 'string') return -1;
  buf[p] = VALUE_STRING;
  return fastAscii(buf, v, p + VALUE_TAG_BYTES, value);
}

/** u32 length and the bytes of an ASCII string of at most FAST_STRING units at `p`, or -1. */
function fastAscii(buf: Uint8Array, v: DataView, p: number, s: string): number {
  const n = s.length;
  if (n > FAST_STRING) return -1;
  for (let j = 0; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c >= 0x80) return -1;
    buf[p + COUNT_BYTES + j] = c;
  }
  v.setUint32(p, n, true);
  return p + COUNT_BYTES + n;
}

/** An interned string reference at `p`: tag and id. */
function fastRef(buf: Uint8Array, v: DataView, p: number, id: number): number {
  buf[p] = STR_REF;
  v.setUint32(p + STR_TAG_BYTES, id, true);
  return p + STR_REF_BYTES;
}

export type RecordEncoderOptions = ValueWriterOptions;

export class RecordEncoder extends ValueWriter {
  /** @internal spans `spanComplete` and events `event` wrote by their fast paths (for tests). */
  fastSpans = 0;
  /** @internal */
  fastEvents = 0;

  constructor(writer: RingWriter, options: RecordEncoderOptions = {}) {
    super(writer, options);
  }

  // ── events ─────────────────────────────────────────────────────────────

  /** A standalone event. `ctx` is the active span's ids, or null. */
  event(level: number, time: number, target: string, message: string, fields: object | undefined, ctx: IdWords | null): boolean {
    if (this.#eventFast(level, time, target, message, fields, ctx)) return true;
    return this.encode(1, this.#eventRecord, { level, time, target, message, fields, ctx });
  }

  #eventRecord(e: EventSource): void {
    this.header(KIND_EVENT, e.level, e.ctx === null ? 0 : FLAG_HAS_CONTEXT);
    this.f64(e.time);
    if (e.ctx !== null) this.ids(e.ctx, true);
    this.str(e.target);
    this.inline(e.message);
    this.attributes(e.fields, Infinity);
  }

  /**
   * `event` for the common event, in place and in one pass, as
   * `#completeFast` does for spans: a short ASCII message, a plain fields
   * object with at most FAST_ATTRIBUTES fields whose keys the slot cache
   * holds and whose values are numbers, booleans or short ASCII strings.
   * Anything else gives up before publishing, and the general path encodes
   * the event (reading the fields again, as a RETRY does).
   */
  #eventFast(level: number, time: number, target: string, message: string, fields: object | undefined, ctx: IdWords | null): boolean {
    const base = KIND_EVENT * SLOTS_PER_KIND;
    const slots = this.slotStrings;
    if (this.busy || slots[base] !== target) return false;
    const writer = this.writer;
    const start = writer.claim(IN_PLACE_MIN);
    if (start < 0) return false;
    const buf = this.ringData;
    const v = this.ringView;
    const ref = this.slotIds;
    writeHeader(buf, v, start, KIND_EVENT, level, ctx === null ? 0 : FLAG_HAS_CONTEXT);
    v.setFloat64(start + EVENT_TIME_AT, time, true);
    let p = start + EVENT_IDS_AT;
    if (ctx !== null) p = writeIds(v, p, ctx, true);
    p = fastRef(buf, v, p, ref[base]!);
    buf[p] = STR_INLINE;
    p = fastAscii(buf, v, p + STR_TAG_BYTES, message);
    if (p < 0) return false;
    const countAt = p;
    p += COUNT_BYTES;
    let n = 0;
    if (fields !== undefined) {
      // Field getters may record: such calls are refused, as in the general path.
      this.busy = true;
      try {
        const proto: unknown = Object.getPrototypeOf(fields);
        if (proto !== Object.prototype && proto !== null) return false;
        for (const key in fields) {
          if (n === FAST_ATTRIBUTES || slots[base + 1 + n] !== key) return false;
          p = fastValue(buf, v, fastRef(buf, v, p, ref[base + 1 + n]!), (fields as Record<string, unknown>)[key]);
          if (p < 0) return false;
          n++;
        }
      } catch {
        return false;
      } finally {
        this.busy = false;
      }
    }
    v.setUint32(countAt, n, true);
    const size = align(p - start);
    v.setUint32(start + RECORD_SIZE_OFFSET, size, true);
    this.lastDroppedAttributes = 0;
    this.fastEvents++;
    writer.commitClaim(size, 1);
    return true;
  }

  /** A Logs API record: an EVENT carrying the record's own fields after its attributes. */
  logRecord(r: LogRecordSource): boolean {
    return this.encode(1, this.#logRecordFields, r);
  }

  #logRecordFields(r: LogRecordSource): void {
    const ctx = r.ctx;
    this.header(KIND_EVENT, r.level, (ctx === null ? 0 : FLAG_HAS_CONTEXT) | FLAG_LOG_RECORD);
    this.f64(r.time);
    if (ctx !== null) this.ids(ctx, true);
    this.str(r.target);
    this.inline(r.message);
    this.attributes(r.attributes, Infinity);
    this.u8(r.severityNumber);
    this.u8(r.traceFlags);
    this.u8(r.bodyJson !== undefined ? BODY_STRUCTURED : r.hasBody ? BODY_STRING : BODY_NONE);
    // Whole: JSON cut by the per-value limit would not parse (capture bounds the value itself).
    if (r.bodyJson !== undefined) this.inline(r.bodyJson, Infinity);
    this.f64(r.observedTime);
    this.str(r.severityText);
    this.str(r.eventName);
    this.str(r.scopeVersion);
    this.str(r.schemaUrl);
  }

  /** A raw pino JSON line, parsed on the worker. */
  logLine(time: number, line: string, ctx: IdWords | null): boolean {
    return this.encode(1, this.#lineRecord, { time, line, ctx });
  }

  #lineRecord(l: LineSource): void {
    this.header(KIND_LOG_LINE, 0, l.ctx === null ? 0 : FLAG_HAS_CONTEXT);
    this.f64(l.time);
    if (l.ctx !== null) this.ids(l.ctx, true);
    // The whole line: the worker parses it as JSON, and a line cut by the
    // per-value limit arrived as an unparseable line instead of its fields.
    // Only the ring bounds it: a line over half the ring is counted oversize.
    this.inline(l.line, Infinity);
  }

  // ── spans ──────────────────────────────────────────────────────────────

  /** A span's opening record, with an application's attributes object. */
  spanStart(span: SpanStart): boolean {
    return this.encode(1, this.#startFromObject, span);
  }

  /** The opening record of a span held by the producer until now (see `SpanSource`). */
  spanOpened(span: SpanSource): boolean {
    return this.encode(1, this.#startRecord, span);
  }

  /**
   * A span's whole life in one reservation: its opening record, a status
   * record when `statusCode` is not UNSET (0), and its closing record. The
   * worker decodes them as the three records they are; the writer counts
   * them as such (`records` 2 or 3), so accounting stays exact.
   */
  spanComplete(span: EndedSpan): boolean {
    if (span.statusCode === 0) return this.#completeFast(span) || this.encode(2, this.#completeRecords, span);
    return this.encode(3, this.#completeRecords, span);
  }

  #completeRecords(span: EndedSpan): void {
    this.#startRecord(span);
    if (span.statusCode !== 0) this.#statusRecord({ handle: span.handle, code: span.statusCode, message: span.statusMessage });
    this.#endRecord(span);
  }

  /**
   * `spanComplete` for the common span, in place and in one pass: no status,
   * no trace state, at most FAST_ATTRIBUTES attributes whose values are
   * numbers, booleans or short ASCII strings, and a name, target and keys
   * that this call site sent last time (the slot cache), so no string needs
   * a definition. The bound on its size lets it skip every per-field bounds
   * check. Anything else returns false having published nothing (space
   * claimed but not published is simply reused), and the general path runs.
   * Writes exactly the bytes of `#startRecord` + `#endRecord`: a test
   * compares the two.
   */
  #completeFast(s: EndedSpan): boolean {
    const list = s.attributeList;
    const pairs = list.length >> 1;
    if (this.busy || pairs > FAST_ATTRIBUTES || s.traceStateText !== '') return false;
    const slots = this.slotStrings;
    if (slots[START_SLOTS] !== s.name || slots[START_SLOTS + 1] !== s.target) return false;
    for (let i = 0; i < pairs; i++) if (slots[START_SLOTS + 2 + i] !== list[2 * i]) return false;
    const writer = this.writer;
    const start = writer.claim(IN_PLACE_MIN);
    if (start < 0) return false;
    const buf = this.ringData;
    const v = this.ringView;
    const hasParent = s.hasParent;
    const ref = this.slotIds;
    // The fixed fields are stored here, not through writeHeader and writeIds:
    // V8 inlines callees into this function only up to a budget of bytecode,
    // and those two used up what the value writers and the ring's claim and
    // publish need, which then stayed calls (a span ~6% slower, span-path A/B).
    // No FLAG_HAS_TRACE_STATE: a span with a trace state takes the general path.
    buf[start + KIND_AT] = KIND_SPAN_START;
    buf[start + LEVEL_AT] = s.level;
    v.setUint16(start + FLAGS_AT, (hasParent ? FLAG_HAS_PARENT : 0) | (s.parentRemote ? FLAG_PARENT_REMOTE : 0), true);
    v.setUint32(start + START_HANDLE_AT, s.handle, true);
    v.setFloat64(start + START_TIME_AT, s.startTime, true);
    // Ids big-endian: their bytes in order (see format.ts).
    v.setUint32(start + START_TRACE_AT, s.t0);
    v.setUint32(start + START_TRACE_AT + U32, s.t1);
    v.setUint32(start + START_TRACE_AT + 2 * U32, s.t2);
    v.setUint32(start + START_TRACE_AT + 3 * U32, s.t3);
    v.setUint32(start + START_SPAN_AT, s.s0);
    v.setUint32(start + START_SPAN_AT + U32, s.s1);
    let p = start + START_PARENT_AT;
    if (hasParent) {
      v.setUint32(p, s.parentS0);
      v.setUint32(p + U32, s.parentS1);
      p += SPAN_ID_BYTES;
    }
    buf[p] = s.traceFlags;
    buf[p + U8] = s.spanKind;
    // Name and target: interned references (the slot cache holds both).
    p += 2 * U8;
    buf[p] = STR_REF;
    v.setUint32(p + STR_TAG_BYTES, ref[START_SLOTS]!, true);
    p += STR_REF_BYTES;
    buf[p] = STR_REF;
    v.setUint32(p + STR_TAG_BYTES, ref[START_SLOTS + 1]!, true);
    p += STR_REF_BYTES;
    v.setUint32(p, pairs, true);
    p += COUNT_BYTES;
    for (let i = 0; i < pairs; i++) {
      buf[p] = STR_REF;
      v.setUint32(p + STR_TAG_BYTES, ref[START_SLOTS + 2 + i]!, true);
      p = fastValue(buf, v, p + STR_REF_BYTES, list[2 * i + 1]);
      if (p < 0) return false;
    }
    const startSize = align(p - start);
    v.setUint32(start + RECORD_SIZE_OFFSET, startSize, true);
    const end = start + startSize;
    const droppedAttributes = s.droppedAttributes;
    const droppedEvents = s.droppedEvents;
    const droppedLinks = s.droppedLinks;
    const drops = (droppedAttributes | droppedEvents | droppedLinks) !== 0;
    const endSize = drops ? SPAN_END_WITH_DROPS_BYTES : SPAN_END_BYTES;
    v.setUint32(end + RECORD_SIZE_OFFSET, endSize, true);
    buf[end + KIND_AT] = KIND_SPAN_END;
    buf[end + LEVEL_AT] = 0;
    v.setUint16(end + FLAGS_AT, drops ? FLAG_HAS_DROPS : 0, true);
    v.setUint32(end + END_HANDLE_AT, s.handle, true);
    v.setFloat64(end + END_TIME_AT, s.endTime, true);
    if (drops) {
      v.setUint32(end + END_DROPPED_ATTRIBUTES_AT, droppedAttributes, true);
      v.setUint32(end + END_DROPPED_EVENTS_AT, droppedEvents, true);
      v.setUint32(end + END_DROPPED_LINKS_AT, droppedLinks, true);
    }
    this.lastDroppedAttributes = 0;
    this.fastSpans++;
    writer.commitClaim(startSize + endSize, 2);
    return true;
  }

  #startFromObject(s: SpanStart): void {
    this.#startHeader(s);
    this.attributes(s.attributes, s.maxAttributes);
  }

  /** The opening record, with the span's own attribute list (never an application's object: that may be a proxy posing as an array). */
  #startRecord(s: SpanSource): void {
    this.#startHeader(s);
    this.attributeList(s.attributeList);
  }

  /** The opening record up to its attributes. */
  #startHeader(s: SpanSource): void {
    const traceState = s.traceStateText;
    const flags = (s.hasParent ? FLAG_HAS_PARENT : 0) | (s.parentRemote ? FLAG_PARENT_REMOTE : 0) | (traceState !== '' ? FLAG_HAS_TRACE_STATE : 0);
    this.header(KIND_SPAN_START, s.level, flags);
    this.u32(s.handle);
    this.f64(s.startTime);
    this.ids(s, true);
    if (s.hasParent) {
      this.ensure(SPAN_ID_BYTES);
      this.view.setUint32(this.pos, s.parentS0);
      this.view.setUint32(this.pos + SPAN_ID_BYTES / 2, s.parentS1);
      this.pos += SPAN_ID_BYTES;
    }
    this.u8(s.traceFlags);
    this.u8(s.spanKind);
    this.str(s.name);
    this.str(s.target);
    if (traceState !== '') this.inline(traceState);
  }

  /** Attributes set on an open span after its start. */
  spanAttributes(handle: number, attributes: object, maxAttributes: number): boolean {
    return this.encode(1, this.#attributesRecord, { handle, attributes, maxAttributes, key: '', value: undefined });
  }

  /** One span attribute: the common `setAttribute(key, value)` without an object. */
  spanAttribute(handle: number, key: string, value: unknown): boolean {
    return this.encode(1, this.#attributesRecord, { handle, attributes: undefined, maxAttributes: 1, key, value });
  }

  #attributesRecord(a: AttributesSource): void {
    this.header(KIND_SPAN_ATTRS, 0, 0);
    this.u32(a.handle);
    if (a.attributes !== undefined) {
      this.attributes(a.attributes, a.maxAttributes);
    } else {
      this.u32(1);
      this.str(a.key);
      this.value(a.value, true);
    }
  }

  /** An event on an open span (`span.addEvent`). */
  spanEvent(handle: number, time: number, name: string, attributes: object | undefined, maxAttributes: number): boolean {
    return this.encode(1, this.#spanEventRecord, { handle, time, name, attributes, maxAttributes });
  }

  #spanEventRecord(e: SpanEventSource): void {
    this.header(KIND_SPAN_EVENT, 0, 0);
    this.u32(e.handle);
    this.f64(e.time);
    this.str(e.name);
    this.attributes(e.attributes, e.maxAttributes);
  }

  /** A link from an open span to another span context. */
  spanLink(handle: number, ids: IdWords, traceFlags: number, attributes: object | undefined, maxAttributes: number): boolean {
    return this.encode(1, this.#linkRecord, { handle, ids, traceFlags, attributes, maxAttributes });
  }

  #linkRecord(l: LinkSource): void {
    this.header(KIND_SPAN_LINK, 0, 0);
    this.u32(l.handle);
    this.ids(l.ids, true);
    this.u8(l.traceFlags);
    this.attributes(l.attributes, l.maxAttributes);
  }

  /** A span's status (`SpanStatusCode` numbering). */
  spanStatus(handle: number, code: number, message: string): boolean {
    return this.encode(1, this.#statusRecord, { handle, code, message });
  }

  #statusRecord(s: StatusSource): void {
    this.header(KIND_SPAN_STATUS, 0, 0);
    this.u32(s.handle);
    this.u8(s.code);
    this.inline(s.message);
  }

  /** A new name for an open span. */
  spanName(handle: number, name: string): boolean {
    return this.encode(1, this.#nameRecord, { handle, name });
  }

  #nameRecord(n: NameSource): void {
    this.header(KIND_SPAN_NAME, 0, 0);
    this.u32(n.handle);
    this.str(n.name);
  }

  /** A span's closing record, with the counts its limits cut. */
  spanEnd(span: SpanEnding): boolean {
    return this.encode(1, this.#endRecord, span);
  }

  #endRecord(s: SpanEnding): void {
    const drops = (s.droppedAttributes | s.droppedEvents | s.droppedLinks) !== 0;
    this.header(KIND_SPAN_END, 0, drops ? FLAG_HAS_DROPS : 0);
    this.u32(s.handle);
    this.f64(s.endTime);
    if (!drops) return;
    this.u32(s.droppedAttributes);
    this.u32(s.droppedEvents);
    this.u32(s.droppedLinks);
  }
}
