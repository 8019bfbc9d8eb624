/**
 * RecordFraming: how the encoder gets bytes into the ring, apart from what
 * the bytes say. A reservation (one or more records that must arrive
 * together) is encoded in one of two places:
 *
 *   in place ─ claim contiguous free space in the ring, encode there, publish
 *              (the common case: no copy, no allocation)
 *   scratch  ─ encode into a private buffer, with the definitions of strings
 *              interned for the first time in a second one, and hand both to
 *              the RingWriter as one reservation (it wraps, drops and counts)
 *
 * In place is abandoned for scratch (RETRY) when the record needs a string
 * definition, which must travel ahead of it, or outgrows the claimed space;
 * `encode` is the one loop that runs a record's writer again when that
 * happens. A record made while another is being encoded (a getter or hook
 * that records) is refused and counted: the encoder is not re-entrant.
 *
 * Subclasses add the value writer (ValueWriter) and the record kinds
 * (RecordEncoder); the fields here are theirs to write through.
 */
import { DEFAULT_MAX_STRING_LENGTH } from '../defaults.js';
import type { RingWriter } from '../ring/ring-writer.js';
import * as F from '../record/format.js';
import * as S from '../record/schema.js';
import { StringTable } from './string-table.js';

// The format's constants as this module's own bindings: V8 folds a module's
// own constants into optimized code, but reads an imported one at every use
// (a span was about 6% cheaper with local copies, bench/span-path.js A/B).
const {
  KIND_LOG_LINE,
  KIND_STRING_DEF,
  RECORD_FLAGS_OFFSET,
  RECORD_HEADER_BYTES,
  RECORD_KIND_OFFSET,
  RECORD_LEVEL_OFFSET,
  RECORD_SIZE_OFFSET,
  STR_INLINE,
  STR_REF,
  STR_REF_BYTES,
  STR_TAG_BYTES,
  COUNT_BYTES,
} = F;
const { align, FIELD_BYTES, STRING_DEF } = S;

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

/** Thrown inside the encoder when a record outgrows the ring; never escapes it. */
export const OVERSIZE = Symbol('oversize');
/** Thrown to abandon in-place encoding and encode the record again in scratch. */
export const RETRY = Symbol('retry');
/** Thrown by a re-entrant call before it touches any state. */
const REENTRANT = Symbol('reentrant');
/** Contiguous free bytes needed to try encoding in place. */
export const IN_PLACE_MIN = 512;

/** Signals that must pass through the value guards to the record's top level. */
export function isControl(e: unknown): boolean {
  return e === OVERSIZE || e === RETRY;
}

const INITIAL_SCRATCH = 4096;
/** String slots remembered per record kind (target, name and the first attribute keys). */
export const SLOTS_PER_KIND = 8;
const SLOT_CACHE_SIZE = (KIND_LOG_LINE + 1) * SLOTS_PER_KIND;
const textEncoder = new TextEncoder();

/** A record header at `start` (its size is written when the record is closed). */
export function writeHeader(buf: Uint8Array, v: DataView, start: number, kind: number, level: number, flags: number): void {
  buf[start + RECORD_KIND_OFFSET] = kind;
  buf[start + RECORD_LEVEL_OFFSET] = level;
  v.setUint16(start + RECORD_FLAGS_OFFSET, flags, true);
}

/** Trace id words (if `withTrace`) and span id words at `p`; returns the position after them. */
export function writeIds(v: DataView, p: number, ids: IdWords, withTrace: boolean): number {
  // Big-endian: the id's bytes in order (see format.ts).
  if (withTrace) {
    v.setUint32(p, ids.t0);
    v.setUint32(p + 4, ids.t1);
    v.setUint32(p + 8, ids.t2);
    v.setUint32(p + 12, ids.t3);
    p += FIELD_BYTES.traceId;
  }
  v.setUint32(p, ids.s0);
  v.setUint32(p + 4, ids.s1);
  return p + FIELD_BYTES.spanId;
}

export interface RecordFramingOptions {
  maxStringLength?: number;
  strings?: StringTable;
}

export abstract class RecordFraming {
  readonly strings: StringTable;
  readonly maxStringLength: number;
  protected readonly writer: RingWriter;
  /** The ring's data region (the writer's `data` and `dataView`, fixed for its life), for in-place encoding. */
  protected readonly ringData: Uint8Array;
  protected readonly ringView: DataView;
  #scratch = new Uint8Array(INITIAL_SCRATCH);
  #scratchView = new DataView(this.#scratch.buffer);
  /** Where the current record is encoded: the scratch buffer, or the ring's data region. */
  protected buf: Uint8Array = this.#scratch;
  protected view: DataView = this.#scratchView;
  /** Offset of the reservation in `buf`, the position, and the end of usable space. */
  #start = 0;
  protected pos = 0;
  #end = INITIAL_SCRATCH;
  /** Offset of the current record's header (a reservation may hold several records). */
  #recordStart = 0;
  /** Records in the open reservation. */
  #records = 1;
  protected inPlace = false;
  /** Set by RETRY: the next reservation uses scratch. */
  #scratchNext = false;
  /** A record is being encoded: another one is refused. */
  protected busy = false;
  #defs = new Uint8Array(256);
  #defsView = new DataView(this.#defs.buffer);
  #defsPos = 0;
  /**
   * Interned ids remembered per (record kind, string slot in the record):
   * a call site passes the same target and keys every time, and comparing
   * with the string seen last in that slot is much cheaper than a Map lookup.
   * Valid while the table keeps its ids, so cleared on every rollback.
   */
  protected readonly slotStrings: (string | undefined)[] = new Array<string | undefined>(SLOT_CACHE_SIZE).fill(undefined);
  protected readonly slotIds = new Int32Array(SLOT_CACHE_SIZE);
  #slot = 0;
  #slotEnd = 0;
  /** Attributes cut by the `maxCount` of the last record's attribute list. */
  lastDroppedAttributes = 0;

  constructor(writer: RingWriter, options: RecordFramingOptions = {}) {
    this.writer = writer;
    this.ringData = writer.data;
    this.ringView = writer.dataView;
    this.strings = options.strings ?? new StringTable();
    this.maxStringLength = options.maxStringLength ?? DEFAULT_MAX_STRING_LENGTH;
  }

  /**
   * The one encoding loop: open a reservation of `records` records, let
   * `write` encode them from `source`, and publish. When in-place encoding
   * is abandoned (RETRY) the reservation is opened again in scratch, where
   * no RETRY is thrown, so `write` runs at most twice. Never throws: a
   * re-entrant call, a reservation too large or a dropped one is counted.
   */
  protected encode<S>(records: number, write: (this: this, source: S) => void, source: S): boolean {
    for (;;) {
      try {
        this.#open(records);
        write.call(this, source);
        return this.#commit();
      } catch (e) {
        if (e !== RETRY) return this.#abort(e, records);
      }
    }
  }

  /** Open a reservation that will carry `records` records. */
  #open(records: number): void {
    // Refuse a record made while another is encoded (from a getter, a hook),
    // before touching any state of the outer one.
    if (this.busy) throw REENTRANT;
    this.busy = true;
    this.#records = records;
    const writer = this.writer;
    const offset = this.#scratchNext ? -1 : writer.claim(IN_PLACE_MIN);
    this.#scratchNext = false;
    if (offset >= 0) {
      this.inPlace = true;
      this.buf = this.ringData;
      this.view = this.ringView;
      this.#start = offset;
      this.#end = writer.claimEnd;
    } else {
      this.inPlace = false;
      this.buf = this.#scratch;
      this.view = this.#scratchView;
      this.#start = 0;
      this.#end = this.#scratch.length;
    }
    this.pos = this.#start;
    this.#defsPos = 0;
    this.lastDroppedAttributes = 0;
  }

  /** Begin a record at the current position (closing the one before, if any). */
  protected header(kind: number, level: number, flags: number): void {
    if (this.pos !== this.#start) this.#close();
    this.ensure(RECORD_HEADER_BYTES);
    this.#slot = kind * SLOTS_PER_KIND;
    this.#slotEnd = this.#slot + SLOTS_PER_KIND;
    const start = (this.#recordStart = this.pos);
    this.pos = start + RECORD_HEADER_BYTES;
    writeHeader(this.buf, this.view, start, kind, level, flags);
  }

  /** Close the current record: pad it to 8 bytes and write its size. */
  #close(): void {
    const start = this.#recordStart;
    const size = align(this.pos - start);
    this.ensure(start + size - this.pos);
    this.view.setUint32(start + RECORD_SIZE_OFFSET, size, true);
    this.pos = start + size;
  }

  /** Close the last record and publish the reservation. */
  #commit(): boolean {
    this.#close();
    const size = this.pos - this.#start;
    const records = this.#records;
    this.busy = false;
    if (this.inPlace) {
      this.writer.commitClaim(size, records);
      this.strings.commit();
      return true;
    }
    const ok =
      this.#defsPos === 0
        ? this.writer.write(this.#scratch, size, undefined, 0, records)
        : this.writer.write(this.#defs, this.#defsPos, this.#scratch, size, records);
    if (ok) this.strings.commit();
    else this.#rollback();
    return ok;
  }

  /** Abandon in-place encoding: `encode` encodes the record again in scratch. */
  #retry(): never {
    this.busy = false;
    this.#scratchNext = true;
    throw RETRY;
  }

  /** Count the reservation's `records` as refused, oversize or dropped. */
  #abort(error: unknown, records: number): boolean {
    if (error === REENTRANT) {
      this.writer.countRefused(records);
      return false;
    }
    this.busy = false;
    this.#rollback();
    if (error === OVERSIZE) {
      this.writer.countOversize(records);
      return false;
    }
    // Not reachable for any value shape (each value is guarded); kept so a bug
    // in the encoder is a counted drop, never an exception in application code.
    this.writer.countDrop(records);
    return false;
  }

  /** Forget the ids this reservation defined, and every remembered slot id with them. */
  #rollback(): void {
    this.strings.rollback();
    this.slotStrings.fill(undefined);
  }

  /** Make room for `n` more bytes at `pos` (in place: RETRY when there is none). */
  protected ensure(n: number): void {
    if (this.pos + n > this.#end) this.#grow(n);
  }

  #grow(n: number): void {
    if (this.inPlace) this.#retry();
    const needed = this.pos + n;
    if (needed > this.writer.maxReservation) throw OVERSIZE;
    let size = this.#scratch.length * 2;
    while (size < needed) size *= 2;
    const next = new Uint8Array(Math.min(size, Math.max(needed, this.writer.maxReservation)));
    next.set(this.#scratch.subarray(0, this.pos));
    this.#scratch = this.buf = next;
    this.#scratchView = this.view = new DataView(next.buffer);
    this.#end = next.length;
  }

  // ── fixed-size fields ──────────────────────────────────────────────────

  protected u8(v: number): void {
    this.ensure(FIELD_BYTES.u8);
    this.buf[this.pos++] = v;
  }

  protected u32(v: number): void {
    this.ensure(FIELD_BYTES.u32);
    this.view.setUint32(this.pos, v, true);
    this.pos += FIELD_BYTES.u32;
  }

  protected f64(v: number): void {
    this.ensure(FIELD_BYTES.f64);
    this.view.setFloat64(this.pos, v, true);
    this.pos += FIELD_BYTES.f64;
  }

  /** Trace id words (if `withTrace`) and span id words. */
  protected ids(ids: IdWords, withTrace: boolean): void {
    this.ensure(FIELD_BYTES.traceId + FIELD_BYTES.spanId);
    this.pos = writeIds(this.view, this.pos, ids, withTrace);
  }

  // ── strings ────────────────────────────────────────────────────────────

  /** A string slot, interned when the table has room. */
  protected str(s: string): void {
    // The common case first and small (so it is inlined): the string seen
    // last in this slot of this record kind.
    const slot = this.#slot;
    const id = slot < this.#slotEnd && this.slotStrings[slot] === s ? this.slotIds[slot]! : this.#strMiss(s, slot);
    this.#slot = slot + 1;
    if (id >= 0) {
      this.ensure(STR_REF_BYTES);
      this.buf[this.pos] = STR_REF;
      this.view.setUint32(this.pos + STR_TAG_BYTES, id, true);
      this.pos += STR_REF_BYTES;
    } else {
      this.inline(s);
    }
  }

  /** The interned id of `s` (defining it if the table has room), or -1 when it travels inline. */
  #strMiss(s: string, slot: number): number {
    let id = this.strings.lookup(s);
    if (id === undefined) {
      // A definition must travel ahead of the record: not possible in place.
      if (this.inPlace && this.strings.canDefine(s)) this.#retry();
      id = this.strings.define(s);
      if (id >= 0) this.#define(id, s);
    }
    if (slot < this.#slotEnd && id >= 0) {
      this.slotStrings[slot] = s;
      this.slotIds[slot] = id;
    }
    return id;
  }

  /** A string slot carrying its bytes. */
  protected inline(s: string, max = this.maxStringLength): void {
    this.ensure(STR_TAG_BYTES);
    this.buf[this.pos++] = STR_INLINE;
    this.utf8(s, max);
  }

  /** u32 byte length and UTF-8 bytes of `s`, truncated past `max` UTF-16 units. */
  protected utf8(s: string, max = this.maxStringLength): void {
    const n = s.length;
    const pos = this.pos;
    if (n <= 64 && n <= max && pos + COUNT_BYTES + n <= this.#end) {
      // Short ASCII is the common case and cheaper than a TextEncoder call.
      const buf = this.buf;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        buf[pos + COUNT_BYTES + i] = c;
      }
      if (i === n) {
        this.view.setUint32(pos, n, true);
        this.pos = pos + COUNT_BYTES + n;
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
    const worst = COUNT_BYTES + n * 3;
    this.ensure(this.pos - this.#start + worst > this.writer.maxReservation ? COUNT_BYTES + Buffer.byteLength(s, 'utf8') : worst);
    const start = this.pos + COUNT_BYTES;
    const written = textEncoder.encodeInto(s, this.buf.subarray(start, this.#end)).written;
    this.view.setUint32(this.pos, written, true);
    this.pos = start + written;
  }

  /** A STRING_DEF record in the definitions buffer. */
  #define(id: number, s: string): void {
    const textAt = STRING_DEF.at.id + FIELD_BYTES.u32 + COUNT_BYTES;
    const need = this.#defsPos + textAt + s.length * 3 + 8;
    if (need > this.#defs.length) {
      const next = new Uint8Array(Math.max(need, this.#defs.length * 2));
      next.set(this.#defs.subarray(0, this.#defsPos));
      this.#defs = next;
      this.#defsView = new DataView(next.buffer);
    }
    const v = this.#defsView;
    const start = this.#defsPos;
    const written = textEncoder.encodeInto(s, this.#defs.subarray(start + textAt)).written;
    const size = align(textAt + written);
    v.setUint32(start + RECORD_SIZE_OFFSET, size, true);
    writeHeader(this.#defs, v, start, KIND_STRING_DEF, 0, 0);
    v.setUint32(start + STRING_DEF.at.id, id, true);
    v.setUint32(start + STRING_DEF.at.id + FIELD_BYTES.u32, written, true);
    this.#defsPos = start + size;
  }
}
