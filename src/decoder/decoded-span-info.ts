/**
 * The SpanInfo the worker hands sinks. Besides the public fields (the same,
 * in the same order, as a plain object would have) it keeps its ids' bytes,
 * so an encoder that writes ids as bytes (OTLP protobuf) copies them instead
 * of parsing back the hex the decoder made: that parse was a tenth of the
 * OTLP encoder's time a span. The bytes are kept in private fields as
 * big-endian 32-bit words (small integers to V8 on 64-bit builds: stored in
 * the object, nothing allocated; read with one DataView load each), so keys,
 * JSON and spreading see only the public fields.
 */
import type { LevelName } from '../filter/levels.js';
import type { SpanInfo, ThreadInfo } from '../record/trace-record.js';

/** The 32-bit word `w` big-endian at `p`. */
function put(out: Uint8Array, p: number, w: number): void {
  out[p] = w >>> 24;
  out[p + 1] = w >>> 16;
  out[p + 2] = w >>> 8;
  out[p + 3] = w;
}

/** @internal */
export class DecodedSpanInfo implements SpanInfo {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly parentIsRemote: boolean;
  readonly traceFlags: number;
  readonly traceState: string;
  name: string;
  readonly target: string;
  readonly level: LevelName;
  readonly spanKind: number;
  readonly startTime: number;
  // The trace id in four words, the span and parent ids in two each.
  readonly #t0: number;
  readonly #t1: number;
  readonly #t2: number;
  readonly #t3: number;
  readonly #s0: number;
  readonly #s1: number;
  readonly #p0: number;
  readonly #p1: number;

  readonly thread: ThreadInfo | undefined;

  /**
   * @param fields the public fields, copied (the literal a caller passes is
   *   not kept, so V8 can leave it unallocated once this is inlined)
   * @param view the region the ids are read from: the trace id at `idsAt`,
   *   the span id right after it, and the parent's id at `parentAt` (when `parentSpanId` is given).
   */
  constructor(fields: SpanInfo, view: DataView, idsAt: number, parentAt: number) {
    this.traceId = fields.traceId;
    this.spanId = fields.spanId;
    this.parentSpanId = fields.parentSpanId;
    this.parentIsRemote = fields.parentIsRemote;
    this.traceFlags = fields.traceFlags;
    this.traceState = fields.traceState;
    this.name = fields.name;
    this.target = fields.target;
    this.level = fields.level;
    this.spanKind = fields.spanKind;
    this.startTime = fields.startTime;
    this.thread = fields.thread;
    const p = idsAt;
    this.#t0 = view.getInt32(p);
    this.#t1 = view.getInt32(p + 4);
    this.#t2 = view.getInt32(p + 8);
    this.#t3 = view.getInt32(p + 12);
    this.#s0 = view.getInt32(p + 16);
    this.#s1 = view.getInt32(p + 20);
    const hasParent = fields.parentSpanId !== undefined;
    this.#p0 = hasParent ? view.getInt32(parentAt) : 0;
    this.#p1 = hasParent ? view.getInt32(parentAt + 4) : 0;
  }

  /** `info` when it was decoded from the ring (and so has its ids' bytes), else undefined. */
  static of(info: object): DecodedSpanInfo | undefined {
    return #t0 in info ? (info as DecodedSpanInfo) : undefined;
  }

  /** The 16 bytes of the trace id into `out` at `p`. */
  writeTraceId(out: Uint8Array, p: number): void {
    put(out, p, this.#t0);
    put(out, p + 4, this.#t1);
    put(out, p + 8, this.#t2);
    put(out, p + 12, this.#t3);
  }

  /** The 8 bytes of the span id into `out` at `p`. */
  writeSpanId(out: Uint8Array, p: number): void {
    put(out, p, this.#s0);
    put(out, p + 4, this.#s1);
  }

  /** The 8 bytes of the parent's span id into `out` at `p` (only when `parentSpanId` is set). */
  writeParentSpanId(out: Uint8Array, p: number): void {
    put(out, p, this.#p0);
    put(out, p + 4, this.#p1);
  }
}
