/**
 * The SpanInfo the worker hands sinks. Besides the public fields (the same,
 * in the same order, as a plain object would have) it keeps its ids' bytes,
 * so an encoder that writes ids as bytes (OTLP protobuf) copies them instead
 * of parsing back the hex the decoder made: that parse was a tenth of the
 * OTLP encoder's time a span. The bytes are kept in private fields as 24-bit
 * integers (small integers to V8: stored in the object, nothing allocated),
 * so keys, JSON and spreading see only the public fields.
 */
import type { LevelName } from '../filter/levels.js';
import type { SpanInfo, ThreadInfo } from '../record/trace-record.js';

/** Three bytes from `p` as one integer. */
function word(b: Uint8Array, p: number): number {
  return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
}

function put(out: Uint8Array, p: number, w: number): void {
  out[p] = w >>> 16;
  out[p + 1] = (w >>> 8) & 0xff;
  out[p + 2] = w & 0xff;
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
  // Trace id bytes 0–14 in five words and byte 15; span and parent ids: bytes 0–5 in two words, 6–7 in one.
  readonly #t0: number;
  readonly #t1: number;
  readonly #t2: number;
  readonly #t3: number;
  readonly #t4: number;
  readonly #t5: number;
  readonly #s0: number;
  readonly #s1: number;
  readonly #s2: number;
  readonly #p0: number;
  readonly #p1: number;
  readonly #p2: number;

  readonly thread: ThreadInfo | undefined;

  /**
   * @param fields the public fields, copied (the literal a caller passes is
   *   not kept, so V8 can leave it unallocated once this is inlined)
   * @param bytes the region the ids are read from: the trace id at `idsAt`,
   *   the span id right after it, and the parent's id at `parentAt` (when `parentSpanId` is given).
   */
  constructor(fields: SpanInfo, bytes: Uint8Array, idsAt: number, parentAt: number) {
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
    this.#t0 = word(bytes, p);
    this.#t1 = word(bytes, p + 3);
    this.#t2 = word(bytes, p + 6);
    this.#t3 = word(bytes, p + 9);
    this.#t4 = word(bytes, p + 12);
    this.#t5 = bytes[p + 15]!;
    this.#s0 = word(bytes, p + 16);
    this.#s1 = word(bytes, p + 19);
    this.#s2 = (bytes[p + 22]! << 8) | bytes[p + 23]!;
    const hasParent = fields.parentSpanId !== undefined;
    this.#p0 = hasParent ? word(bytes, parentAt) : 0;
    this.#p1 = hasParent ? word(bytes, parentAt + 3) : 0;
    this.#p2 = hasParent ? (bytes[parentAt + 6]! << 8) | bytes[parentAt + 7]! : 0;
  }

  /** `info` when it was decoded from the ring (and so has its ids' bytes), else undefined. */
  static of(info: object): DecodedSpanInfo | undefined {
    return #t0 in info ? (info as DecodedSpanInfo) : undefined;
  }

  /** The 16 bytes of the trace id into `out` at `p`. */
  writeTraceId(out: Uint8Array, p: number): void {
    put(out, p, this.#t0);
    put(out, p + 3, this.#t1);
    put(out, p + 6, this.#t2);
    put(out, p + 9, this.#t3);
    put(out, p + 12, this.#t4);
    out[p + 15] = this.#t5;
  }

  /** The 8 bytes of the span id into `out` at `p`. */
  writeSpanId(out: Uint8Array, p: number): void {
    put(out, p, this.#s0);
    put(out, p + 3, this.#s1);
    out[p + 6] = this.#s2 >>> 8;
    out[p + 7] = this.#s2 & 0xff;
  }

  /** The 8 bytes of the parent's span id into `out` at `p` (only when `parentSpanId` is set). */
  writeParentSpanId(out: Uint8Array, p: number): void {
    put(out, p, this.#p0);
    put(out, p + 3, this.#p1);
    out[p + 6] = this.#p2 >>> 8;
    out[p + 7] = this.#p2 & 0xff;
  }
}
