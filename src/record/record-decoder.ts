/**
 * RecordDecoder: the worker's reader of the record format (see format.ts).
 * It decodes each record once into the object sinks receive, keeps the
 * interned-string table the producer defines through STRING_DEF records, and
 * keeps the table of open spans so that every span record carries its span.
 *
 * Both tables are bounded: strings by the producer's cap (which it never
 * exceeds), open spans by `maxOpenSpans` (the oldest is evicted and counted;
 * its later records then decode as orphans).
 */
import { LEVEL_ERROR, LEVEL_NAMES, LEVEL_INFO, type LevelName } from '../filter/levels.js';
import * as F from './format.js';
import { emptyFields } from './fields.js';
import { IdHex } from './id-hex.js';
import { OpenSpanTable } from './open-span-table.js';
import type { EventRecord, FieldPrimitive, FieldValue, Fields, LogBody, SpanInfo, TraceRecord } from './trace-record.js';

// Module-local copies of the format's constants, so V8 folds them into
// optimized code (an imported constant is read at every use; see record-encoder.ts).
const {
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

/** A span record whose span the worker does not know (its start was dropped or evicted). */
export const ORPHAN: unique symbol = Symbol('orphan');

/** What the decoder keeps per open span: the public view and the fan-out's bookkeeping. */
export interface SpanEntry {
  readonly info: SpanInfo;
  /** Bit i set: sink slot i accepted the span's start and so gets its later records. */
  sinkMask: number;
}

/** Default bound on spans open at once in the worker. */
export const DEFAULT_MAX_OPEN_SPANS = 100_000;

/** Target of pino lines whose logger has no `name`. */
export const DEFAULT_PINO_TARGET = 'pino';

/** Strings up to this many bytes are decoded by hand when they are ASCII. */
const SHORT_ASCII_BYTES = 8;

export interface RecordDecoderOptions {
  maxOpenSpans?: number;
  /** Strings the producer defined before this decoder existed (a respawned worker). */
  strings?: readonly string[];
}

export class RecordDecoder {
  readonly maxOpenSpans: number;
  /** The span of the last span record decoded. */
  lastSpan: SpanEntry | undefined;
  /** Span records whose span was unknown. */
  orphaned = 0;
  /** Open spans evicted to keep the table bounded. */
  evictedSpans = 0;
  readonly #strings: string[];
  readonly #spans: OpenSpanTable<SpanEntry>;
  readonly #view: DataView;
  readonly #buf: Buffer;
  readonly #ids: IdHex;
  #p = 0;

  constructor(region: Uint8Array, options: RecordDecoderOptions = {}) {
    this.#view = new DataView(region.buffer, region.byteOffset, region.byteLength);
    this.#buf = Buffer.from(region.buffer, region.byteOffset, region.byteLength);
    this.#ids = new IdHex(region);
    this.maxOpenSpans = options.maxOpenSpans ?? DEFAULT_MAX_OPEN_SPANS;
    this.#spans = new OpenSpanTable(this.maxOpenSpans);
    this.#strings = options.strings === undefined ? [] : [...options.strings];
  }

  /** Size in bytes of the record at `offset` (PAD: the rest of the region). */
  sizeAt(offset: number): number {
    return this.#view.getUint32(offset + RECORD_SIZE_OFFSET, true);
  }

  kindAt(offset: number): number {
    return this.#view.getUint8(offset + RECORD_KIND_OFFSET);
  }

  /** Spans currently open. */
  get openSpans(): number {
    return this.#spans.size;
  }

  /** Iterate the open spans (for a sink removed at run time, to clear its bit). */
  spans(): IterableIterator<SpanEntry> {
    return this.#spans.values();
  }

  /** The interned strings known so far. */
  get stringCount(): number {
    return this.#strings.length;
  }

  /**
   * Decode the record at `offset`. Returns the record, ORPHAN for a span
   * record of an unknown span, or undefined for bookkeeping records (string
   * definitions) that sinks never see.
   */
  decode(offset: number): TraceRecord | typeof ORPHAN | undefined {
    const v = this.#view;
    const kind = v.getUint8(offset + RECORD_KIND_OFFSET);
    const level = v.getUint8(offset + RECORD_LEVEL_OFFSET);
    const flags = v.getUint16(offset + RECORD_FLAGS_OFFSET, true);
    this.#p = offset + RECORD_HEADER_BYTES;
    switch (kind) {
      case KIND_STRING_DEF: {
        const id = this.#u32();
        this.#strings[id] = this.#utf8();
        return undefined;
      }
      case KIND_EVENT: {
        const time = this.#f64();
        const traceId = flags & FLAG_HAS_CONTEXT ? this.#traceId() : undefined;
        const spanId = traceId === undefined ? undefined : this.#spanId();
        const target = this.#str();
        const message = this.#str();
        const fields = this.#attributes();
        if (flags & FLAG_LOG_RECORD) return this.#logRecord(time, levelName(level), target, message, fields, traceId, spanId);
        return { kind: 'event', time, level: levelName(level), target, message, fields, traceId, spanId };
      }
      case KIND_LOG_LINE: {
        const time = this.#f64();
        const traceId = flags & FLAG_HAS_CONTEXT ? this.#traceId() : undefined;
        const spanId = traceId === undefined ? undefined : this.#spanId();
        return pinoLineToEvent(this.#str(), time, traceId, spanId);
      }
      case KIND_SPAN_START:
        return this.#spanStart(level, flags);
      default:
        return this.#spanRecord(kind, flags);
    }
  }

  /** The rest of a FLAG_LOG_RECORD event: the Logs API record's own fields. */
  #logRecord(time: number, level: LevelName, target: string, message: string, fields: Fields, traceId: string | undefined, spanId: string | undefined): EventRecord {
    const v = this.#view;
    const severityNumber = v.getUint8(this.#p);
    const traceFlags = v.getUint8(this.#p + 1);
    const bodyKind = v.getUint8(this.#p + 2);
    this.#p += 3;
    let body: LogBody | undefined;
    if (bodyKind === BODY_STRUCTURED) {
      const json = this.#str();
      // Sinks that print a message (pino, ndjson) show a structured body as its JSON.
      message = json;
      try {
        body = JSON.parse(json) as LogBody;
      } catch {
        body = json;
      }
    } else if (bodyKind === BODY_STRING) {
      body = message;
    }
    const observedTime = this.#f64();
    const severityText = this.#str();
    const eventName = this.#str();
    const scopeVersion = this.#str();
    const schemaUrl = this.#str();
    return {
      kind: 'event', time, level, target, message, fields, traceId, spanId,
      severityNumber, severityText, eventName, observedTime, body, traceFlags, scopeVersion, schemaUrl,
    };
  }

  #spanStart(level: number, flags: number): TraceRecord {
    const handle = this.#u32();
    const time = this.#f64();
    const traceId = this.#traceId();
    const spanId = this.#spanId();
    const parentSpanId = flags & FLAG_HAS_PARENT ? this.#spanId() : undefined;
    const traceFlags = this.#view.getUint8(this.#p);
    const spanKind = this.#view.getUint8(this.#p + 1);
    this.#p += 2;
    const name = this.#str();
    const target = this.#str();
    const traceState = flags & FLAG_HAS_TRACE_STATE ? this.#str() : '';
    const attributes = this.#attributes();
    const info: SpanInfo = {
      traceId,
      spanId,
      parentSpanId,
      parentIsRemote: (flags & FLAG_PARENT_REMOTE) !== 0,
      traceFlags,
      traceState,
      name,
      target,
      level: levelName(level),
      spanKind,
      startTime: time,
    };
    const entry: SpanEntry = { info, sinkMask: 0 };
    if (this.#spans.add(handle, entry) !== undefined) this.evictedSpans++;
    this.lastSpan = entry;
    return { kind: 'spanStart', span: info, time, attributes };
  }

  #spanRecord(kind: number, flags: number): TraceRecord | typeof ORPHAN {
    const handle = this.#u32();
    const entry = this.#spans.get(handle);
    if (entry === undefined) {
      this.orphaned++;
      this.lastSpan = undefined;
      return ORPHAN;
    }
    this.lastSpan = entry;
    const span = entry.info;
    switch (kind) {
      case KIND_SPAN_ATTRS:
        return { kind: 'spanAttributes', span, attributes: this.#attributes() };
      case KIND_SPAN_EVENT: {
        const time = this.#f64();
        const name = this.#str();
        return { kind: 'spanEvent', span, time, name, attributes: this.#attributes() };
      }
      case KIND_SPAN_LINK: {
        const traceId = this.#traceId();
        const spanId = this.#spanId();
        const traceFlags = this.#view.getUint8(this.#p++);
        return { kind: 'spanLink', span, traceId, spanId, traceFlags, attributes: this.#attributes() };
      }
      case KIND_SPAN_STATUS: {
        const code = this.#view.getUint8(this.#p++);
        return { kind: 'spanStatus', span, code, message: this.#str() };
      }
      case KIND_SPAN_NAME: {
        const name = this.#str();
        span.name = name;
        return { kind: 'spanName', span, name };
      }
      case KIND_SPAN_END: {
        const time = this.#f64();
        const drops = (flags & FLAG_HAS_DROPS) !== 0;
        const droppedAttributesCount = drops ? this.#u32() : 0;
        const droppedEventsCount = drops ? this.#u32() : 0;
        const droppedLinksCount = drops ? this.#u32() : 0;
        this.#spans.delete(handle);
        return { kind: 'spanEnd', span, time, droppedAttributesCount, droppedEventsCount, droppedLinksCount };
      }
      default:
        throw new RangeError(`ringtrace: unknown record kind ${kind}`);
    }
  }

  // ── primitives ─────────────────────────────────────────────────────────

  #u32(): number {
    const x = this.#view.getUint32(this.#p, true);
    this.#p += 4;
    return x;
  }

  #f64(): number {
    const x = this.#view.getFloat64(this.#p, true);
    this.#p += 8;
    return x;
  }

  #traceId(): string {
    const p = this.#p;
    this.#p = p + 16;
    return this.#ids.traceId(p);
  }

  #spanId(): string {
    const p = this.#p;
    this.#p = p + 8;
    return this.#ids.spanId(p);
  }

  #utf8(): string {
    const n = this.#view.getUint32(this.#p, true);
    const start = this.#p + 4;
    this.#p = start + n;
    if (n <= SHORT_ASCII_BYTES) {
      // Short ASCII ('GET', 'ok', 'msg') is common and a Buffer decode call costs ~60 ns whatever the length.
      const buf = this.#buf;
      let s = '';
      for (let i = start; i < start + n; i++) {
        const c = buf[i]!;
        if (c >= 0x80) return buf.toString('utf8', start, start + n);
        s += String.fromCharCode(c);
      }
      return s;
    }
    return this.#buf.toString('utf8', start, start + n);
  }

  #str(): string {
    const tag = this.#view.getUint8(this.#p++);
    if (tag === STR_REF) {
      const s = this.#strings[this.#u32()];
      return s === undefined ? '' : s;
    }
    return this.#utf8();
  }

  #attributes(): Fields {
    const n = this.#u32();
    const out = emptyFields();
    for (let i = 0; i < n; i++) {
      const key = this.#str();
      out[key] = this.#value();
    }
    return out;
  }

  #value(): FieldValue {
    const tag = this.#view.getUint8(this.#p++);
    switch (tag) {
      case VALUE_NULL:
        return null;
      case VALUE_FALSE:
        return false;
      case VALUE_TRUE:
        return true;
      case VALUE_INT:
      case VALUE_FLOAT:
        return this.#f64();
      case VALUE_BIGINT:
        return BigInt(this.#utf8());
      case VALUE_STRING:
      case VALUE_OTHER:
        return this.#utf8();
      case VALUE_ARRAY: {
        const n = this.#u32();
        const out: FieldPrimitive[] = new Array<FieldPrimitive>(n);
        for (let i = 0; i < n; i++) out[i] = this.#value() as FieldPrimitive;
        return out;
      }
      default:
        throw new RangeError(`ringtrace: unknown value tag ${tag}`);
    }
  }
}

function levelName(level: number): LevelName {
  return LEVEL_NAMES[level] ?? 'info';
}

/** pino's numeric levels to ours: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal (error). */
export function pinoLevel(level: unknown): number {
  if (typeof level !== 'number') return LEVEL_INFO;
  if (level >= 50) return LEVEL_ERROR;
  if (level >= 40) return 4;
  if (level >= 30) return LEVEL_INFO;
  if (level >= 20) return 2;
  return 1;
}

/** Keys of a pino line that become parts of the event rather than fields. */
const PINO_OWN_KEYS = new Set(['level', 'time', 'msg', 'name']);

/**
 * A pino JSON line as an event: level mapped, target from the logger's `name`
 * (else `pino`), `msg` as the message, every other key a field (objects kept
 * as JSON text). A line that is not JSON becomes an `error` event holding it.
 */
export function pinoLineToEvent(line: string, time: number, traceId: string | undefined, spanId: string | undefined): EventRecord {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    obj = undefined;
  }
  const fields = emptyFields();
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    fields['line'] = line.trimEnd();
    return { kind: 'event', time, level: 'error', target: DEFAULT_PINO_TARGET, message: 'unparseable pino line', fields, traceId, spanId };
  }
  const o = obj as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (PINO_OWN_KEYS.has(key)) continue;
    fields[key] = jsonField(o[key]);
  }
  const target = typeof o['name'] === 'string' && o['name'] !== '' ? o['name'] : DEFAULT_PINO_TARGET;
  const message = typeof o['msg'] === 'string' ? o['msg'] : '';
  return { kind: 'event', time, level: levelName(pinoLevel(o['level'])), target, message, fields, traceId, spanId };
}

function jsonField(v: unknown): FieldValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v) && v.every((x) => x === null || (typeof x !== 'object' && typeof x !== 'undefined'))) {
    return v as FieldPrimitive[];
  }
  return JSON.stringify(v);
}
