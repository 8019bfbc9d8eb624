/**
 * RecordEncoder: the producer's writer of the record format (see format.ts).
 * Each public method encodes one record, in one of two ways:
 *
 *   in place ─ claim contiguous free space in the ring, encode there, publish
 *              (the common case: no copy, no allocation)
 *   scratch  ─ encode into a private buffer, with the definitions of strings
 *              interned for the first time in a second one, and hand both to
 *              the RingWriter as one reservation (it wraps, drops and counts)
 *
 * In place is abandoned for scratch (RETRY) when the record needs a string
 * definition, which must travel ahead of it, or outgrows the claimed space.
 * A record made while another is being encoded (a getter or hook that
 * records) is refused and counted: the encoder is not re-entrant. It never throws
 * into the caller for a value's shape: unknown values become bounded strings,
 * throwing getters become `[Throws]`, and a record too large for the ring is
 * counted as `oversize`.
 */
import type { RingWriter } from '../ring/ring-writer.js';
import * as F from './format.js';
import { safeString } from './safe-string.js';
import { StringTable } from './string-table.js';

// The format's constants as this module's own bindings: V8 folds a module's
// own constants into optimized code, but reads an imported one (and converts
// the number it holds) at every use; the local copies made a span about 6%
// cheaper (bench/span-path.js A/B, six runs 1.023-1.094). `F.X` and named
// imports alike are read each time.
const {
  BODY_NONE,
  BODY_STRING,
  BODY_STRUCTURED,
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
  KIND_STRING_DEF,
  RECORD_FLAGS_OFFSET,
  RECORD_HEADER_BYTES,
  RECORD_KIND_OFFSET,
  RECORD_LEVEL_OFFSET,
  RECORD_SIZE_OFFSET,
  STR_INLINE,
  STR_REF,
  VALUE_ARRAY,
  VALUE_BIGINT,
  VALUE_FALSE,
  VALUE_FLOAT,
  VALUE_INT,
  VALUE_NULL,
  VALUE_OTHER,
  VALUE_STRING,
  VALUE_TRUE,
} = F;

/** Default limit on one string value, in UTF-16 code units, before truncation. */
export const DEFAULT_MAX_STRING_LENGTH = 16 * 1024;
/** Default limit on array elements in one value; the rest are cut. */
export const DEFAULT_MAX_ARRAY_LENGTH = 1024;
/** Appended to a truncated string, followed by the count of cut code units and `]`. */
export const TRUNCATION_MARKER = '…[truncated ';

/**
 * Trace and span ids as 32-bit words, the form the record format carries:
 * `t0..t3` is the 16-byte trace id, `s0, s1` the 8-byte span id, big-endian
 * word order (t0 is the first 8 hex digits). Signed or unsigned: only the
 * bits count.
 */
export interface IdWords {
  t0: number;
  t1: number;
  t2: number;
  t3: number;
  s0: number;
  s1: number;
}

/** Attributes as a flat list: key, value, key, value… A later pair overwrites an earlier one with the same key. */
export type AttributeList = unknown[];

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

export interface RecordEncoderOptions {
  maxStringLength?: number;
  maxArrayLength?: number;
  strings?: StringTable;
}

/** Thrown inside the encoder when a record outgrows the ring; never escapes it. */
const OVERSIZE = Symbol('oversize');
/** Thrown to abandon in-place encoding and encode the record again in scratch. */
const RETRY = Symbol('retry');
/** Thrown by a re-entrant call before it touches any state. */
const REENTRANT = Symbol('reentrant');
/** Contiguous free bytes needed to try encoding in place. */
const IN_PLACE_MIN = 512;

/** Signals that must pass through the value guards to the record's top level. */
function isControl(e: unknown): boolean {
  return e === OVERSIZE || e === RETRY;
}

/** Attributes (fields) and string length the fast paths take: with them a span or an event fits in IN_PLACE_MIN. */
const FAST_ATTRIBUTES = 6;
const FAST_STRING = 48;
/** A SPAN_END without drop counts (the common one): header, handle, end time, padded to 8. */
const END_RECORD_BYTES = 24;
/** A SPAN_END with its three drop counts. */
const END_RECORD_WITH_DROPS_BYTES = 32;

/** A record header at `start` (its size is written when the record is closed). */
function writeHeader(buf: Uint8Array, v: DataView, start: number, kind: number, level: number, flags: number): void {
  buf[start + RECORD_KIND_OFFSET] = kind;
  buf[start + RECORD_LEVEL_OFFSET] = level;
  v.setUint16(start + RECORD_FLAGS_OFFSET, flags, true);
}

/** Trace id words (if `withTrace`) and span id words at `p`; returns the position after them. */
function writeIds(v: DataView, p: number, ids: IdWords, withTrace: boolean): number {
  // Big-endian: the id's bytes in order (see format.ts).
  if (withTrace) {
    v.setUint32(p, ids.t0);
    v.setUint32(p + 4, ids.t1);
    v.setUint32(p + 8, ids.t2);
    v.setUint32(p + 12, ids.t3);
    p += 16;
  }
  v.setUint32(p, ids.s0);
  v.setUint32(p + 4, ids.s1);
  return p + 8;
}

/**
 * For the fast paths: write a number, boolean or ASCII string of at most
 * FAST_STRING units as a value at `p` (room known), returning the position
 * after it, or -1 for anything else (the caller gives up).
 */
function fastValue(buf: Uint8Array, v: DataView, p: number, value: unknown): number {
  if (typeof value === 'number') {
    buf[p] = Number.isInteger(value) ? VALUE_INT : VALUE_FLOAT;
    v.setFloat64(p + 1, value, true);
    return p + 9;
  }
  if (typeof value === 'boolean') {
    buf[p] = value ? VALUE_TRUE : VALUE_FALSE;
    return p + 1;
  }
  if (typeof value !== 'string') return -1;
  buf[p] = VALUE_STRING;
  return fastAscii(buf, v, p + 1, value);
}

/** u32 length and the bytes of an ASCII string of at most FAST_STRING units at `p`, or -1. */
function fastAscii(buf: Uint8Array, v: DataView, p: number, s: string): number {
  const n = s.length;
  if (n > FAST_STRING) return -1;
  for (let j = 0; j < n; j++) {
    const c = s.charCodeAt(j);
    if (c >= 0x80) return -1;
    buf[p + 4 + j] = c;
  }
  v.setUint32(p, n, true);
  return p + 4 + n;
}

const INITIAL_SCRATCH = 4096;
/** String slots remembered per record kind (target, name and the first attribute keys). */
const SLOTS_PER_KIND = 8;
const SLOT_CACHE_SIZE = (KIND_LOG_LINE + 1) * SLOTS_PER_KIND;
const textEncoder = new TextEncoder();

export class RecordEncoder {
  readonly strings: StringTable;
  readonly maxStringLength: number;
  readonly maxArrayLength: number;
  /** Attributes cut by the `maxCount` of the last record's attribute list. */
  lastDroppedAttributes = 0;
  /** @internal spans `spanComplete` and events `event` wrote by their fast paths (for tests). */
  fastSpans = 0;
  fastEvents = 0;
  readonly #writer: RingWriter;
  #scratch = new Uint8Array(INITIAL_SCRATCH);
  #scratchView = new DataView(this.#scratch.buffer);
  /** Where the current record is encoded: the scratch buffer, or the ring's data region. */
  #buf: Uint8Array = this.#scratch;
  #view: DataView = this.#scratchView;
  /** Offset of the reservation in `#buf`, position, and end of usable space. */
  #start = 0;
  #pos = 0;
  /** Offset of the current record's header (a reservation may hold several records). */
  #recordStart = 0;
  /** Records in the open reservation. */
  #records = 1;
  #end = INITIAL_SCRATCH;
  #inPlace = false;
  /** Set by RETRY: the next `#begin` uses scratch. */
  #scratchNext = false;
  #busy = false;
  #defs = new Uint8Array(256);
  #defsView = new DataView(this.#defs.buffer);
  #defsPos = 0;
  /**
   * Interned ids remembered per (record kind, string slot in the record):
   * a call site passes the same target and keys every time, and comparing
   * with the string seen last in that slot is much cheaper than a Map lookup.
   * Valid while the table keeps its ids, so cleared on every rollback.
   */
  readonly #slotStrings: (string | undefined)[] = new Array<string | undefined>(SLOT_CACHE_SIZE).fill(undefined);
  readonly #slotIds = new Int32Array(SLOT_CACHE_SIZE);
  #slot = 0;
  #slotEnd = 0;

  constructor(writer: RingWriter, options: RecordEncoderOptions = {}) {
    this.#writer = writer;
    this.strings = options.strings ?? new StringTable();
    this.maxStringLength = options.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
    this.maxArrayLength = options.maxArrayLength ?? DEFAULT_MAX_ARRAY_LENGTH;
  }

  /** A standalone event. `ctx` is the active span's ids, or null. */
  event(level: number, time: number, target: string, message: string, fields: object | undefined, ctx: IdWords | null): boolean {
    if (this.#eventFast(level, time, target, message, fields, ctx)) return true;
    try {
      this.#begin(KIND_EVENT, level, ctx === null ? 0 : FLAG_HAS_CONTEXT);
      this.#f64(time);
      if (ctx !== null) this.#ids(ctx, true);
      this.#str(target);
      this.#inline(message);
      this.#attributes(fields, Infinity);
      return this.#commit();
    } catch (e) {
      return e === RETRY ? this.event(level, time, target, message, fields, ctx) : this.#abort(e, 1);
    }
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
    const slots = this.#slotStrings;
    if (this.#busy || slots[base] !== target) return false;
    const writer = this.#writer;
    const start = writer.claim(IN_PLACE_MIN);
    if (start < 0) return false;
    const buf = writer.data;
    const v = writer.dataView;
    const ref = this.#slotIds;
    writeHeader(buf, v, start, KIND_EVENT, level, ctx === null ? 0 : FLAG_HAS_CONTEXT);
    v.setFloat64(start + RECORD_HEADER_BYTES, time, true);
    let p = start + RECORD_HEADER_BYTES + 8;
    if (ctx !== null) p = writeIds(v, p, ctx, true);
    buf[p] = STR_REF;
    v.setUint32(p + 1, ref[base]!, true);
    buf[p + 5] = STR_INLINE;
    p = fastAscii(buf, v, p + 6, message);
    if (p < 0) return false;
    const countAt = p;
    p += 4;
    let n = 0;
    if (fields !== undefined) {
      // Field getters may record: such calls are refused, as in the general path.
      this.#busy = true;
      try {
        const proto: unknown = Object.getPrototypeOf(fields);
        if (proto !== Object.prototype && proto !== null) return false;
        for (const key in fields) {
          if (n === FAST_ATTRIBUTES || slots[base + 1 + n] !== key) return false;
          buf[p] = STR_REF;
          v.setUint32(p + 1, ref[base + 1 + n]!, true);
          p = fastValue(buf, v, p + 5, (fields as Record<string, unknown>)[key]);
          if (p < 0) return false;
          n++;
        }
      } catch {
        return false;
      } finally {
        this.#busy = false;
      }
    }
    v.setUint32(countAt, n, true);
    const size = (p - start + 7) & ~7;
    v.setUint32(start + RECORD_SIZE_OFFSET, size, true);
    this.lastDroppedAttributes = 0;
    this.fastEvents++;
    writer.commitClaim(size, 1);
    return true;
  }

  /** A Logs API record: an EVENT carrying the record's own fields after its attributes. */
  logRecord(r: LogRecordSource): boolean {
    try {
      const ctx = r.ctx;
      this.#begin(KIND_EVENT, r.level, (ctx === null ? 0 : FLAG_HAS_CONTEXT) | FLAG_LOG_RECORD);
      this.#f64(r.time);
      if (ctx !== null) this.#ids(ctx, true);
      this.#str(r.target);
      this.#inline(r.message);
      this.#attributes(r.attributes, Infinity);
      this.#ensure(3);
      const buf = this.#buf;
      buf[this.#pos] = r.severityNumber;
      buf[this.#pos + 1] = r.traceFlags;
      const bodyKind = r.bodyJson !== undefined ? BODY_STRUCTURED : r.hasBody ? BODY_STRING : BODY_NONE;
      buf[this.#pos + 2] = bodyKind;
      this.#pos += 3;
      // Whole: JSON cut by the per-value limit would not parse (capture bounds the value itself).
      if (r.bodyJson !== undefined) this.#inline(r.bodyJson, Infinity);
      this.#f64(r.observedTime);
      this.#str(r.severityText);
      this.#str(r.eventName);
      this.#str(r.scopeVersion);
      this.#str(r.schemaUrl);
      return this.#commit();
    } catch (e) {
      return e === RETRY ? this.logRecord(r) : this.#abort(e, 1);
    }
  }

  /** A raw pino JSON line, parsed on the worker. */
  logLine(time: number, line: string, ctx: IdWords | null): boolean {
    try {
      this.#begin(KIND_LOG_LINE, 0, ctx === null ? 0 : FLAG_HAS_CONTEXT);
      this.#f64(time);
      if (ctx !== null) this.#ids(ctx, true);
      // The whole line: the worker parses it as JSON, and a line cut by the
      // per-value limit arrived as an unparseable line instead of its fields.
      // Only the ring bounds it: a line over half the ring is counted oversize.
      this.#inline(line, Infinity);
      return this.#commit();
    } catch (e) {
      return e === RETRY ? this.logLine(time, line, ctx) : this.#abort(e, 1);
    }
  }

  /**
   * A span's opening record, from its fields one by one, with `attributes`
   * any object (read as the application made it, guarded). `parent` carries
   * the parent span id in `s0, s1`.
   */
  spanStart(
    handle: number,
    time: number,
    ids: IdWords,
    parent: IdWords | null,
    parentRemote: boolean,
    traceFlags: number,
    spanKind: number,
    level: number,
    name: string,
    target: string,
    traceState: string,
    attributes: object | undefined,
    maxAttributes: number,
  ): boolean {
    const span: SpanSource = {
      handle,
      startTime: time,
      t0: ids.t0,
      t1: ids.t1,
      t2: ids.t2,
      t3: ids.t3,
      s0: ids.s0,
      s1: ids.s1,
      hasParent: parent !== null,
      parentS0: parent === null ? 0 : parent.s0,
      parentS1: parent === null ? 0 : parent.s1,
      parentRemote,
      traceFlags,
      spanKind,
      level,
      name,
      target,
      traceStateText: traceState,
      attributeList: [],
    };
    try {
      this.#open(1);
      this.#startRecord(span, attributes, maxAttributes);
      return this.#commit();
    } catch (e) {
      return e === RETRY
        ? this.spanStart(handle, time, ids, parent, parentRemote, traceFlags, spanKind, level, name, target, traceState, attributes, maxAttributes)
        : this.#abort(e, 1);
    }
  }

  /** The opening record of a span held by the producer until now (see `SpanSource`). */
  spanOpened(span: SpanSource): boolean {
    try {
      this.#open(1);
      this.#sourceStart(span);
      return this.#commit();
    } catch (e) {
      return e === RETRY ? this.spanOpened(span) : this.#abort(e, 1);
    }
  }

  /**
   * A span's whole life in one reservation: its opening record, a status
   * record when `statusCode` is not UNSET (0), and its closing record. The
   * worker decodes them as the three records they are; the writer counts
   * them as such (`records` 2 or 3), so accounting stays exact.
   */
  spanComplete(
    span: SpanSource,
    statusCode: number,
    statusMessage: string,
    endTime: number,
    droppedAttributes: number,
    droppedEvents: number,
    droppedLinks: number,
  ): boolean {
    if (statusCode === 0 && this.#completeFast(span, endTime, droppedAttributes, droppedEvents, droppedLinks)) return true;
    const records = statusCode === 0 ? 2 : 3;
    try {
      this.#open(records);
      this.#sourceStart(span);
      if (statusCode !== 0) {
        this.#close();
        this.#statusRecord(span.handle, statusCode, statusMessage);
      }
      this.#close();
      this.#endRecord(span.handle, endTime, droppedAttributes, droppedEvents, droppedLinks);
      return this.#commit();
    } catch (e) {
      return e === RETRY
        ? this.spanComplete(span, statusCode, statusMessage, endTime, droppedAttributes, droppedEvents, droppedLinks)
        : this.#abort(e, records);
    }
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
  #completeFast(s: SpanSource, endTime: number, droppedAttributes: number, droppedEvents: number, droppedLinks: number): boolean {
    const list = s.attributeList;
    const pairs = list.length >> 1;
    if (this.#busy || pairs > FAST_ATTRIBUTES || s.traceStateText !== '') return false;
    const slots = this.#slotStrings;
    const base = KIND_SPAN_START * SLOTS_PER_KIND;
    if (slots[base] !== s.name || slots[base + 1] !== s.target) return false;
    for (let i = 0; i < pairs; i++) if (slots[base + 2 + i] !== list[2 * i]) return false;
    const writer = this.#writer;
    const start = writer.claim(IN_PLACE_MIN);
    if (start < 0) return false;
    const buf = writer.data;
    const v = writer.dataView;
    const hasParent = s.hasParent;
    const ref = this.#slotIds;
    // No FLAG_HAS_TRACE_STATE: a span with a trace state takes the general path.
    writeHeader(buf, v, start, KIND_SPAN_START, s.level, (hasParent ? FLAG_HAS_PARENT : 0) | (s.parentRemote ? FLAG_PARENT_REMOTE : 0));
    let p = start + RECORD_HEADER_BYTES;
    v.setUint32(p, s.handle, true);
    v.setFloat64(p + 4, s.startTime, true);
    p = writeIds(v, p + 12, s, true);
    if (hasParent) {
      v.setUint32(p, s.parentS0);
      v.setUint32(p + 4, s.parentS1);
      p += 8;
    }
    buf[p] = s.traceFlags;
    buf[p + 1] = s.spanKind;
    buf[p + 2] = STR_REF;
    v.setUint32(p + 3, ref[base]!, true);
    buf[p + 7] = STR_REF;
    v.setUint32(p + 8, ref[base + 1]!, true);
    v.setUint32(p + 12, pairs, true);
    p += 16;
    for (let i = 0; i < pairs; i++) {
      buf[p] = STR_REF;
      v.setUint32(p + 1, ref[base + 2 + i]!, true);
      p = fastValue(buf, v, p + 5, list[2 * i + 1]);
      if (p < 0) return false;
    }
    const startSize = (p - start + 7) & ~7;
    v.setUint32(start + RECORD_SIZE_OFFSET, startSize, true);
    const end = start + startSize;
    const drops = (droppedAttributes | droppedEvents | droppedLinks) !== 0;
    const endSize = drops ? END_RECORD_WITH_DROPS_BYTES : END_RECORD_BYTES;
    writeHeader(buf, v, end, KIND_SPAN_END, 0, drops ? FLAG_HAS_DROPS : 0);
    v.setUint32(end + RECORD_SIZE_OFFSET, endSize, true);
    v.setUint32(end + 8, s.handle, true);
    v.setFloat64(end + 12, endTime, true);
    if (drops) {
      v.setUint32(end + 20, droppedAttributes, true);
      v.setUint32(end + 24, droppedEvents, true);
      v.setUint32(end + 28, droppedLinks, true);
    }
    this.lastDroppedAttributes = 0;
    this.fastSpans++;
    writer.commitClaim(startSize + endSize, 2);
    return true;
  }

  #sourceStart(s: SpanSource): void {
    this.#startRecord(s, undefined, 0);
  }

  /**
   * The opening record: attributes from `attributes` when given (an
   * application's object), else from the span's own list (never an
   * application's object: that may be a proxy posing as an array).
   */
  #startRecord(s: SpanSource, attributes: object | undefined, maxAttributes: number): void {
    const traceState = s.traceStateText;
    const flags = (s.hasParent ? FLAG_HAS_PARENT : 0) | (s.parentRemote ? FLAG_PARENT_REMOTE : 0) | (traceState !== '' ? FLAG_HAS_TRACE_STATE : 0);
    this.#header(KIND_SPAN_START, s.level, flags);
    this.#u32(s.handle);
    this.#f64(s.startTime);
    this.#ids(s, true);
    if (s.hasParent) {
      this.#ensure(8);
      this.#view.setUint32(this.#pos, s.parentS0);
      this.#view.setUint32(this.#pos + 4, s.parentS1);
      this.#pos += 8;
    }
    this.#ensure(2);
    this.#buf[this.#pos++] = s.traceFlags;
    this.#buf[this.#pos++] = s.spanKind;
    this.#str(s.name);
    this.#str(s.target);
    if (traceState !== '') this.#inline(traceState);
    if (attributes !== undefined) this.#attributes(attributes, maxAttributes);
    else this.#attributeList(s.attributeList);
  }

  /** Attributes set on an open span after its start. */
  spanAttributes(handle: number, attributes: object, maxAttributes: number): boolean {
    try {
      this.#begin(KIND_SPAN_ATTRS, 0, 0);
      this.#u32(handle);
      this.#attributes(attributes, maxAttributes);
      return this.#commit();
    } catch (e) {
      return e === RETRY ? this.spanAttributes(handle, attributes, maxAttributes) : this.#abort(e, 1);
    }
  }

  /** One span attribute: the common `setAttribute(key, value)` without an object. */
  spanAttribute(handle: number, key: string, value: unknown): boolean {
    try {
      this.#begin(KIND_SPAN_ATTRS, 0, 0);
      this.#u32(handle);
      this.#u32(1);
      this.#str(key);
      this.#value(value, true);
      return this.#commit();
    } catch (e) {
      return e === RETRY ? this.spanAttribute(handle, key, value) : this.#abort(e, 1);
    }
  }

  /** An event on an open span (`span.addEvent`). */
  spanEvent(handle: number, time: number, name: string, attributes: object | undefined, maxAttributes: number): boolean {
    try {
      this.#begin(KIND_SPAN_EVENT, 0, 0);
      this.#u32(handle);
      this.#f64(time);
      this.#str(name);
      this.#attributes(attributes, maxAttributes);
      return this.#commit();
    } catch (e) {
      return e === RETRY ? this.spanEvent(handle, time, name, attributes, maxAttributes) : this.#abort(e, 1);
    }
  }

  /** A link from an open span to another span context. */
  spanLink(handle: number, ids: IdWords, traceFlags: number, attributes: object | undefined, maxAttributes: number): boolean {
    try {
      this.#begin(KIND_SPAN_LINK, 0, 0);
      this.#u32(handle);
      this.#ids(ids, true);
      this.#ensure(1);
      this.#buf[this.#pos++] = traceFlags;
      this.#attributes(attributes, maxAttributes);
      return this.#commit();
    } catch (e) {
      return e === RETRY ? this.spanLink(handle, ids, traceFlags, attributes, maxAttributes) : this.#abort(e, 1);
    }
  }

  /** A span's status (`SpanStatusCode` numbering). */
  spanStatus(handle: number, code: number, message: string): boolean {
    try {
      this.#open(1);
      this.#statusRecord(handle, code, message);
      return this.#commit();
    } catch (e) {
      return e === RETRY ? this.spanStatus(handle, code, message) : this.#abort(e, 1);
    }
  }

  /** A new name for an open span. */
  spanName(handle: number, name: string): boolean {
    try {
      this.#begin(KIND_SPAN_NAME, 0, 0);
      this.#u32(handle);
      this.#str(name);
      return this.#commit();
    } catch (e) {
      return e === RETRY ? this.spanName(handle, name) : this.#abort(e, 1);
    }
  }

  /** A span's closing record, with the counts its limits cut. */
  spanEnd(handle: number, time: number, droppedAttributes: number, droppedEvents: number, droppedLinks: number): boolean {
    try {
      this.#open(1);
      this.#endRecord(handle, time, droppedAttributes, droppedEvents, droppedLinks);
      return this.#commit();
    } catch (e) {
      return e === RETRY ? this.spanEnd(handle, time, droppedAttributes, droppedEvents, droppedLinks) : this.#abort(e, 1);
    }
  }

  #statusRecord(handle: number, code: number, message: string): void {
    this.#header(KIND_SPAN_STATUS, 0, 0);
    this.#u32(handle);
    this.#ensure(1);
    this.#buf[this.#pos++] = code;
    this.#inline(message);
  }

  #endRecord(handle: number, time: number, droppedAttributes: number, droppedEvents: number, droppedLinks: number): void {
    const drops = (droppedAttributes | droppedEvents | droppedLinks) !== 0;
    this.#header(KIND_SPAN_END, 0, drops ? FLAG_HAS_DROPS : 0);
    this.#u32(handle);
    this.#f64(time);
    if (!drops) return;
    this.#u32(droppedAttributes);
    this.#u32(droppedEvents);
    this.#u32(droppedLinks);
  }

  // ── framing ────────────────────────────────────────────────────────────

  /** Open a reservation and begin its first record. */
  #begin(kind: number, level: number, flags: number): void {
    this.#open(1);
    this.#header(kind, level, flags);
  }

  /** Open a reservation that will carry `records` records. */
  #open(records: number): void {
    // Refuse a record made while another is encoded (from a getter, a hook),
    // before touching any state of the outer one.
    if (this.#busy) throw REENTRANT;
    this.#busy = true;
    this.#records = records;
    const writer = this.#writer;
    const offset = this.#scratchNext ? -1 : writer.claim(IN_PLACE_MIN);
    this.#scratchNext = false;
    if (offset >= 0) {
      this.#inPlace = true;
      this.#buf = writer.data;
      this.#view = writer.dataView;
      this.#start = offset;
      this.#end = writer.claimEnd;
    } else {
      this.#inPlace = false;
      this.#buf = this.#scratch;
      this.#view = this.#scratchView;
      this.#start = 0;
      this.#end = this.#scratch.length;
    }
    this.#pos = this.#start;
    this.#defsPos = 0;
    this.lastDroppedAttributes = 0;
  }

  /** Begin a record at the current position of the open reservation. */
  #header(kind: number, level: number, flags: number): void {
    this.#ensure(RECORD_HEADER_BYTES);
    this.#slot = kind * SLOTS_PER_KIND;
    this.#slotEnd = this.#slot + SLOTS_PER_KIND;
    const start = (this.#recordStart = this.#pos);
    this.#pos = start + RECORD_HEADER_BYTES;
    writeHeader(this.#buf, this.#view, start, kind, level, flags);
  }

  /** Close the current record: pad it to 8 bytes and write its size. */
  #close(): void {
    const start = this.#recordStart;
    const size = (this.#pos - start + 7) & ~7;
    this.#ensure(start + size - this.#pos);
    this.#view.setUint32(start + RECORD_SIZE_OFFSET, size, true);
    this.#pos = start + size;
  }

  /** Close the last record and publish the reservation. */
  #commit(): boolean {
    this.#close();
    const size = this.#pos - this.#start;
    const records = this.#records;
    this.#busy = false;
    if (this.#inPlace) {
      this.#writer.commitClaim(size, records);
      this.strings.commit();
      return true;
    }
    const ok =
      this.#defsPos === 0
        ? this.#writer.write(this.#scratch, size, undefined, 0, records)
        : this.#writer.write(this.#defs, this.#defsPos, this.#scratch, size, records);
    if (ok) this.strings.commit();
    else this.#rollback();
    return ok;
  }

  /** Abandon in-place encoding: the caller encodes the record again in scratch. */
  #retry(): never {
    this.#busy = false;
    this.#scratchNext = true;
    throw RETRY;
  }

  /** Count the reservation's `records` as refused, oversize or dropped. */
  #abort(error: unknown, records: number): boolean {
    if (error === REENTRANT) {
      this.#writer.countRefused(records);
      return false;
    }
    this.#busy = false;
    this.#rollback();
    if (error === OVERSIZE) {
      this.#writer.countOversize(records);
      return false;
    }
    // Not reachable for any value shape (each value is guarded); kept so a bug
    // in the encoder is a counted drop, never an exception in application code.
    this.#writer.countDrop(records);
    return false;
  }

  /** Forget the ids this reservation defined, and every remembered slot id with them. */
  #rollback(): void {
    this.strings.rollback();
    this.#slotStrings.fill(undefined);
  }

  #ensure(n: number): void {
    if (this.#pos + n > this.#end) this.#grow(n);
  }

  #grow(n: number): void {
    if (this.#inPlace) this.#retry();
    const needed = this.#pos + n;
    if (needed > this.#writer.maxReservation) throw OVERSIZE;
    let size = this.#scratch.length * 2;
    while (size < needed) size *= 2;
    const next = new Uint8Array(Math.min(size, Math.max(needed, this.#writer.maxReservation)));
    next.set(this.#scratch.subarray(0, this.#pos));
    this.#scratch = this.#buf = next;
    this.#scratchView = this.#view = new DataView(next.buffer);
    this.#end = next.length;
  }

  // ── primitives ─────────────────────────────────────────────────────────

  #u32(v: number): void {
    this.#ensure(4);
    this.#view.setUint32(this.#pos, v, true);
    this.#pos += 4;
  }

  #f64(v: number): void {
    this.#ensure(8);
    this.#view.setFloat64(this.#pos, v, true);
    this.#pos += 8;
  }

  /** Trace id words (if `withTrace`) and span id words. */
  #ids(ids: IdWords, withTrace: boolean): void {
    this.#ensure(24);
    this.#pos = writeIds(this.#view, this.#pos, ids, withTrace);
  }

  /** A string slot, interned when the table has room. */
  #str(s: string): void {
    // The common case first and small (so it is inlined): the string seen
    // last in this slot of this record kind.
    const slot = this.#slot;
    const id = slot < this.#slotEnd && this.#slotStrings[slot] === s ? this.#slotIds[slot]! : this.#strMiss(s, slot);
    this.#slot = slot + 1;
    if (id >= 0) {
      this.#ensure(5);
      this.#buf[this.#pos] = STR_REF;
      this.#view.setUint32(this.#pos + 1, id, true);
      this.#pos += 5;
    } else {
      this.#inline(s);
    }
  }

  /** The interned id of `s` (defining it if the table has room), or -1 when it travels inline. */
  #strMiss(s: string, slot: number): number {
    let id = this.strings.lookup(s);
    if (id === undefined) {
      // A definition must travel ahead of the record: not possible in place.
      if (this.#inPlace && this.strings.canDefine(s)) this.#retry();
      id = this.strings.define(s);
      if (id >= 0) this.#define(id, s);
    }
    if (slot < this.#slotEnd && id >= 0) {
      this.#slotStrings[slot] = s;
      this.#slotIds[slot] = id;
    }
    return id;
  }

  /** A string slot carrying its bytes. */
  #inline(s: string, max = this.maxStringLength): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = STR_INLINE;
    this.#utf8(s, max);
  }

  /** u32 byte length and UTF-8 bytes of `s`, truncated past `max` UTF-16 units. */
  #utf8(s: string, max = this.maxStringLength): void {
    const n = s.length;
    const pos = this.#pos;
    if (n <= 64 && n <= max && pos + 4 + n <= this.#end) {
      // Short ASCII is the common case and cheaper than a TextEncoder call.
      const buf = this.#buf;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[pos + 4 + i] = c;
      }
      if (i === n) {
        this.#view.setUint32(pos, n, true);
        this.#pos = pos + 4 + n;
        return;
      }
    }
    this.#utf8Any(s, max);
  }

  /** Any string: cut past `max` with the marker, encoded by TextEncoder. */
  #utf8Any(s: string, max: number): void {
    if (s.length > max) {
      const cut = s.length - max;
      s = s.slice(0, max) + TRUNCATION_MARKER + cut + ']';
    }
    const n = s.length;
    // Reserve the worst case (3 bytes per UTF-16 unit) unless that alone would
    // exceed the largest reservation: then measure, so a string that fits is
    // not counted oversize.
    const worst = 4 + n * 3;
    this.#ensure(this.#pos - this.#start + worst > this.#writer.maxReservation ? 4 + Buffer.byteLength(s, 'utf8') : worst);
    const start = this.#pos + 4;
    const written = textEncoder.encodeInto(s, this.#buf.subarray(start, this.#end)).written;
    this.#view.setUint32(this.#pos, written, true);
    this.#pos = start + written;
  }

  /** A STRING_DEF record in the definitions buffer. */
  #define(id: number, s: string): void {
    const need = this.#defsPos + 16 + s.length * 3;
    if (need > this.#defs.length) {
      const next = new Uint8Array(Math.max(need, this.#defs.length * 2));
      next.set(this.#defs.subarray(0, this.#defsPos));
      this.#defs = next;
      this.#defsView = new DataView(next.buffer);
    }
    const v = this.#defsView;
    const start = this.#defsPos;
    const written = textEncoder.encodeInto(s, this.#defs.subarray(start + 16)).written;
    const size = (16 + written + 7) & ~7;
    v.setUint32(start + RECORD_SIZE_OFFSET, size, true);
    this.#defs[start + RECORD_KIND_OFFSET] = KIND_STRING_DEF;
    this.#defs[start + RECORD_LEVEL_OFFSET] = 0;
    v.setUint16(start + RECORD_FLAGS_OFFSET, 0, true);
    v.setUint32(start + 8, id, true);
    v.setUint32(start + 12, written, true);
    this.#defsPos = start + size;
  }

  // ── values ─────────────────────────────────────────────────────────────

  /** `count` then (key, value) pairs of `obj`'s own enumerable properties, at most `maxCount`. */
  #attributes(obj: object | undefined, maxCount: number): void {
    this.#ensure(4);
    const countAt = this.#pos;
    this.#pos += 4;
    let count = 0;
    let dropped = 0;
    if (obj !== undefined && obj !== null && typeof obj === 'object') {
      try {
        // for…in also visits inherited enumerable keys; a plain object has none to visit.
        const proto: unknown = Object.getPrototypeOf(obj);
        const plain = proto === Object.prototype || proto === null;
        for (const key in obj) {
          if (!plain && !Object.prototype.hasOwnProperty.call(obj, key)) continue;
          if (count >= maxCount) {
            dropped++;
            continue;
          }
          const at = this.#pos;
          try {
            const value = (obj as Record<string, unknown>)[key];
            this.#str(key);
            this.#value(value, true);
          } catch (e) {
            if (isControl(e)) throw e;
            this.#pos = at;
            this.#str(key);
            this.#otherText('[Throws]');
          }
          count++;
        }
      } catch (e) {
        // A proxy whose key enumeration throws: keep the pairs read so far.
        if (isControl(e)) throw e;
      }
    }
    this.#view.setUint32(countAt, count, true);
    this.lastDroppedAttributes = dropped;
  }

  /** `count` then the (key, value) pairs of a flat `[key, value, …]` list. */
  #attributeList(list: AttributeList): void {
    const n = list.length >> 1;
    this.#u32(n);
    for (let i = 0; i < 2 * n; i += 2) {
      this.#str(list[i] as string);
      const at = this.#pos;
      try {
        this.#value(list[i + 1], true);
      } catch (e) {
        // An array whose element getter throws (the span checked it once; it may throw now).
        if (isControl(e)) throw e;
        this.#pos = at;
        this.#otherText('[Throws]');
      }
    }
  }

  #value(v: unknown, allowArray: boolean): void {
    // Numbers, strings and booleans first and small (so this is inlined);
    // everything else in #otherValue.
    if (typeof v === 'number') {
      this.#ensure(9);
      this.#buf[this.#pos] = Number.isInteger(v) ? VALUE_INT : VALUE_FLOAT;
      this.#view.setFloat64(this.#pos + 1, v, true);
      this.#pos += 9;
    } else if (typeof v === 'string') {
      this.#ensure(1);
      this.#buf[this.#pos++] = VALUE_STRING;
      this.#utf8(v);
    } else if (typeof v === 'boolean') {
      this.#ensure(1);
      this.#buf[this.#pos++] = v ? VALUE_TRUE : VALUE_FALSE;
    } else {
      this.#otherValue(v, allowArray);
    }
  }

  #otherValue(v: unknown, allowArray: boolean): void {
    this.#ensure(1);
    const buf = this.#buf;
    if (typeof v === 'bigint') {
      buf[this.#pos++] = VALUE_BIGINT;
      this.#utf8(v.toString());
      return;
    }
    if (v === undefined || v === null) {
      buf[this.#pos++] = VALUE_NULL;
      return;
    }
    if (allowArray && Array.isArray(v)) {
      const at = this.#pos;
      try {
        // A proxy can report any length (negative, fractional, NaN, a string):
        // the count written must be the whole number of values that follow.
        const length = Number(v.length);
        const n = length >= 1 ? Math.min(Math.floor(length), this.maxArrayLength) : 0;
        buf[this.#pos++] = VALUE_ARRAY;
        this.#u32(n);
        for (let i = 0; i < n; i++) this.#value(v[i], false);
        return;
      } catch (e) {
        if (isControl(e)) throw e;
        this.#pos = at;
      }
    }
    this.#otherText(safeString(v, Math.min(this.maxStringLength, 4096)));
  }

  #otherText(text: string): void {
    this.#ensure(1);
    this.#buf[this.#pos++] = VALUE_OTHER;
    this.#utf8(text);
  }
}
