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
import { LEVEL_NAMES, pinoLevel, type LevelName } from '../filter/levels.js';
import * as F from '../record/format.js';
import { emptyFields } from '../record/fields.js';
import { DecodedSpanInfo } from './decoded-span-info.js';
import { IdHex } from './id-hex.js';
import { OpenSpanTable } from './open-span-table.js';
import { DEFAULT_MAX_OPEN_SPANS } from '../defaults.js';
import { CorruptRecordError } from '../errors.js';
import type { EventRecord, FieldPrimitive, FieldValue, Fields, LogBody, SpanInfo, ThreadInfo, TraceRecord } from '../record/trace-record.js';

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

/** A span record whose span the worker does not know (its start was dropped or evicted). */
export const ORPHAN: unique symbol = Symbol('orphan');

/** What the decoder keeps per open span: the public view and the fan-out's bookkeeping. */
export interface SpanEntry {
  readonly info: SpanInfo;
  /** Bit i set: sink slot i accepted the span's start and so gets its later records. */
  sinkMask: number;
}


/** Target of pino lines whose logger has no `name`. */
export const DEFAULT_PINO_TARGET = 'pino';

/** The fewest bytes an attribute takes: a key (tag and u32) and a value tag. */
const MIN_PAIR_BYTES = 6;

/** What `bigint.toString()` writes. */
const BIGINT_DIGITS = /^-?[0-9]+$/;

/** Strings up to this many bytes are decoded by hand when they are ASCII. */
const SHORT_ASCII_BYTES = 8;

let keepIdBytes = false;

/**
 * Whether span infos keep their ids' bytes (a {@link DecodedSpanInfo}) for a
 * sink that writes ids as bytes: the worker turns it on while an otlp sink is
 * registered. Off, a span info is a plain object and decoding a span start
 * costs what it did before the bytes were kept.
 */
export function keepSpanIdBytes(on: boolean): void {
  keepIdBytes = on;
}

export interface RecordDecoderOptions {
  maxOpenSpans?: number;
  /** Strings the producer defined before this decoder existed (a respawned worker). */
  strings?: readonly string[];
/** The thread whose ring this decoder reads: set on every span and event it decodes. */
  thread?: ThreadInfo;
}

export class RecordDecoder {
  readonly maxOpenSpans: number;
  readonly thread: ThreadInfo | undefined;
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
  /** End of the record being decoded: no read may pass it. */
  #end = 0;

  constructor(region: Uint8Array, options: RecordDecoderOptions = {}) {
    this.#view = new DataView(region.buffer, region.byteOffset, region.byteLength);
    this.#buf = Buffer.from(region.buffer, region.byteOffset, region.byteLength);
    this.#ids = new IdHex(region);
    this.maxOpenSpans = options.maxOpenSpans ?? DEFAULT_MAX_OPEN_SPANS;
    this.#spans = new OpenSpanTable(this.maxOpenSpans);
    this.#strings = options.strings === undefined ? [] : [...options.strings];
    this.thread = options.thread;
  }

  /** Whether `kind` is a record kind this decoder reads (for the ring walker's resynchronisation). */
  static knowsKind(kind: number): boolean {
    return kind >= KIND_STRING_DEF && kind <= KIND_LOG_LINE;
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
   * Decode the record at `offset`, whose framing the ring walker has checked.
   * Returns the record, ORPHAN for a span record of an unknown span, or
   * undefined for bookkeeping records (string definitions) that sinks never
   * see. Throws CorruptRecordError for anything the encoder cannot have
   * written (an unknown kind, tag or string, a read past the record's end);
   * the tables are changed only by a record that decoded whole.
   */
  decode(offset: number): TraceRecord | typeof ORPHAN | undefined {
    const v = this.#view;
    const kind = v.getUint8(offset + RECORD_KIND_OFFSET);
    const level = v.getUint8(offset + RECORD_LEVEL_OFFSET);
    const flags = v.getUint16(offset + RECORD_FLAGS_OFFSET, true);
    this.#p = offset + RECORD_HEADER_BYTES;
    this.#end = offset + v.getUint32(offset + RECORD_SIZE_OFFSET, true);
    switch (kind) {
      case KIND_STRING_DEF: {
        const id = this.#u32();
        const text = this.#utf8();
        // Ids are handed out in order, so a definition is the next id or (after a respawn's seed) a known one.
        if (id > this.#strings.length) throw new CorruptRecordError(`string definition ${id} out of order (${this.#strings.length} known)`);
        this.#whole();
        this.#strings[id] = text;
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
        this.#whole();
        return { kind: 'event', time, level: levelName(level), target, message, fields, traceId, spanId, thread: this.thread };
      }
      case KIND_LOG_LINE: {
        const time = this.#f64();
        const traceId = flags & FLAG_HAS_CONTEXT ? this.#traceId() : undefined;
        const spanId = traceId === undefined ? undefined : this.#spanId();
        const line = this.#str();
        this.#whole();
        return pinoLineToEvent(line, time, traceId, spanId, this.thread);
      }
      case KIND_SPAN_START:
        return this.#spanStart(level, flags);
      case KIND_SPAN_ATTRS:
      case KIND_SPAN_EVENT:
      case KIND_SPAN_LINK:
      case KIND_SPAN_STATUS:
      case KIND_SPAN_NAME:
      case KIND_SPAN_END:
        return this.#spanRecord(kind, flags);
      default:
        throw new CorruptRecordError(`unknown record kind ${kind}`);
    }
  }

  /** The rest of a FLAG_LOG_RECORD event: the Logs API record's own fields. */
  #logRecord(time: number, level: LevelName, target: string, message: string, fields: Fields, traceId: string | undefined, spanId: string | undefined): EventRecord {
    const severityNumber = this.#u8();
    const traceFlags = this.#u8();
    const bodyKind = this.#u8();
    if (bodyKind > BODY_STRUCTURED) throw new CorruptRecordError(`unknown log body kind ${bodyKind}`);
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
    this.#whole();
    return {
      kind: 'event', time, level, target, message, fields, traceId, spanId, thread: this.thread,
      severityNumber, severityText, eventName, observedTime, body, traceFlags, scopeVersion, schemaUrl,
    };
  }

  /** The record was read to its end: what is left is its padding, less than 8 bytes. */
  #whole(): void {
    const left = this.#end - this.#p;
    if (left < 0 || left >= 8) throw new CorruptRecordError(`record body ${left < 0 ? 'runs past' : 'stops short of'} its size by ${Math.abs(left)} bytes`);
  }

  /** `n` more bytes are within the record. */
  #within(n: number): void {
    if (n > this.#end - this.#p) throw new CorruptRecordError(`a length of ${n} runs past the record's end`);
  }

  #spanStart(level: number, flags: number): TraceRecord {
    const handle = this.#u32();
    const time = this.#f64();
    const idsAt = this.#p;
    // Reads of the ids are bounded by the record's size, which the ring walker checked against the region.
    const traceId = this.#traceId();
    const spanId = this.#spanId();
    const parentAt = this.#p;
    const parentSpanId = flags & FLAG_HAS_PARENT ? this.#spanId() : undefined;
    const traceFlags = this.#u8();
    const spanKind = this.#u8();
    const name = this.#str();
    const target = this.#str();
    const traceState = flags & FLAG_HAS_TRACE_STATE ? this.#str() : '';
    const attributes = this.#attributes();
    this.#whole();
    const spanLevel = levelName(level);
    const parentIsRemote = (flags & FLAG_PARENT_REMOTE) !== 0;
    // The ids' bytes only when a sink writes them (the otlp sink): keeping them costs every span ~50 ns.
    // Each branch has its own literal: the one passed to DecodedSpanInfo does not escape once the
    // constructor is inlined, so V8 need not allocate it (a literal shared by both branches escapes in one).
    const info: SpanInfo = keepIdBytes
      ? new DecodedSpanInfo(
          { traceId, spanId, parentSpanId, parentIsRemote, traceFlags, traceState, name, target, level: spanLevel, spanKind, startTime: time, thread: this.thread },
          this.#view,
          idsAt,
          parentAt,
        )
      : { traceId, spanId, parentSpanId, parentIsRemote, traceFlags, traceState, name, target, level: spanLevel, spanKind, startTime: time, thread: this.thread };
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
    const span = entry.info;
    let record: TraceRecord;
    switch (kind) {
      case KIND_SPAN_ATTRS:
        record = { kind: 'spanAttributes', span, attributes: this.#attributes() };
        break;
      case KIND_SPAN_EVENT: {
        const time = this.#f64();
        const name = this.#str();
        record = { kind: 'spanEvent', span, time, name, attributes: this.#attributes() };
        break;
      }
      case KIND_SPAN_LINK: {
        const traceId = this.#traceId();
        const spanId = this.#spanId();
        const traceFlags = this.#u8();
        record = { kind: 'spanLink', span, traceId, spanId, traceFlags, attributes: this.#attributes() };
        break;
      }
      case KIND_SPAN_STATUS: {
        const code = this.#u8();
        record = { kind: 'spanStatus', span, code, message: this.#str() };
        break;
      }
      case KIND_SPAN_NAME: {
        record = { kind: 'spanName', span, name: this.#str() };
        break;
      }
      default: {
        const time = this.#f64();
        const drops = (flags & FLAG_HAS_DROPS) !== 0;
        const droppedAttributesCount = drops ? this.#u32() : 0;
        const droppedEventsCount = drops ? this.#u32() : 0;
        const droppedLinksCount = drops ? this.#u32() : 0;
        record = { kind: 'spanEnd', span, time, droppedAttributesCount, droppedEventsCount, droppedLinksCount };
      }
    }
    this.#whole();
    // Only a record read whole changes the span.
    if (record.kind === 'spanName') span.name = record.name;
    else if (record.kind === 'spanEnd') this.#spans.delete(handle);
    this.lastSpan = entry;
    return record;
  }

  // ── primitives ─────────────────────────────────────────────────────────

  #u8(): number {
    return this.#view.getUint8(this.#p++);
  }

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
    if (n > this.#end - start) throw new CorruptRecordError(`a string of ${n} bytes runs past the record's end`);
    this.#p = start + n;
    if (n <= SHORT_ASCII_BYTES) {
      // Short ASCII ('GET', 'ok', 'msg') is common and a Buffer decode call costs ~60 ns whatever the length.
      const b = this.#buf;
      let bits = 0;
      for (let i = start; i < start + n; i++) bits |= b[i]!;
      if (bits < 0x80) return shortAscii(b, start, n);
    }
    return this.#buf.toString('utf8', start, start + n);
  }

  #str(): string {
    const tag = this.#view.getUint8(this.#p++);
    if (tag === STR_REF) {
      const id = this.#u32();
      const s = this.#strings[id];
      if (s === undefined) throw new CorruptRecordError(`string reference ${id} was never defined`);
      return s;
    }
    if (tag !== STR_INLINE) throw new CorruptRecordError(`unknown string tag ${tag}`);
    return this.#utf8();
  }

  #attributes(): Fields {
    const n = this.#u32();
    // Each pair takes at least MIN_PAIR_BYTES, so a count that cannot fit is caught before the loop.
    this.#within(n * MIN_PAIR_BYTES);
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
      case VALUE_INT: {
        // The same f64 as FLOAT; the tag says the producer saw an integer, which it must be.
        const n = this.#f64();
        if (!Number.isInteger(n)) throw new CorruptRecordError(`an integer value reads ${n}`);
        return n;
      }
      case VALUE_FLOAT:
        return this.#f64();
      case VALUE_BIGINT: {
        const digits = this.#utf8();
        if (!BIGINT_DIGITS.test(digits)) throw new CorruptRecordError(`a BigInt value reads ${JSON.stringify(digits.slice(0, 40))}`);
        return BigInt(digits);
      }
      case VALUE_STRING:
      case VALUE_OTHER:
        return this.#utf8();
      case VALUE_ARRAY: {
        const n = this.#u32();
        this.#within(n);
        const out: FieldPrimitive[] = new Array<FieldPrimitive>(n);
        for (let i = 0; i < n; i++) out[i] = this.#value() as FieldPrimitive;
        return out;
      }
      default:
        throw new CorruptRecordError(`unknown value tag ${tag}`);
    }
  }
}

const fromCharCode = String.fromCharCode;

/**
 * `n` (at most 8) ASCII bytes at `p` as a string, made in one call: a string
 * built a character at a time was a new string per character (3 bytes: 21
 * ns against 17; 8 bytes: 56 against 23).
 */
function shortAscii(b: Uint8Array, p: number, n: number): string {
  switch (n) {
    case 0:
      return '';
    case 1:
      return fromCharCode(b[p]!);
    case 2:
      return fromCharCode(b[p]!, b[p + 1]!);
    case 3:
      return fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!);
    case 4:
      return fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!);
    case 5:
      return fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!);
    case 6:
      return fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!);
    case 7:
      return fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!);
    default:
      return fromCharCode(b[p]!, b[p + 1]!, b[p + 2]!, b[p + 3]!, b[p + 4]!, b[p + 5]!, b[p + 6]!, b[p + 7]!);
  }
}

function levelName(level: number): LevelName {
  return LEVEL_NAMES[level] ?? 'info';
}

/** Keys of a pino line that become parts of the event rather than fields. */
const PINO_OWN_KEYS = new Set(['level', 'time', 'msg', 'name']);

/**
 * A pino JSON line as an event: level mapped, target from the logger's `name`
 * (else `pino`), `msg` as the message, every other key a field (objects kept
 * as JSON text). A line that is not JSON becomes an `error` event holding it.
 */
export function pinoLineToEvent(line: string, time: number, traceId: string | undefined, spanId: string | undefined, thread?: ThreadInfo): EventRecord {
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    obj = undefined;
  }
  const fields = emptyFields();
  if (obj === null || typeof obj !== 'object' || Array.isArray(obj)) {
    fields['line'] = line.trimEnd();
    return { kind: 'event', time, level: 'error', target: DEFAULT_PINO_TARGET, message: 'unparseable pino line', fields, traceId, spanId, thread };
  }
  const o = obj as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (PINO_OWN_KEYS.has(key)) continue;
    fields[key] = jsonField(o[key]);
  }
  const target = typeof o['name'] === 'string' && o['name'] !== '' ? o['name'] : DEFAULT_PINO_TARGET;
  const message = typeof o['msg'] === 'string' ? o['msg'] : '';
  return { kind: 'event', time, level: levelName(pinoLevel(o['level'])), target, message, fields, traceId, spanId, thread };
}

function jsonField(v: unknown): FieldValue {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (Array.isArray(v) && v.every((x) => x === null || (typeof x !== 'object' && typeof x !== 'undefined'))) {
    return v as FieldPrimitive[];
  }
  return JSON.stringify(v);
}
