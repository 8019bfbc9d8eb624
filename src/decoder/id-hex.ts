/**
 * Trace and span ids to hex, on the worker. Ids are their bytes in order in
 * the record; the hex is made by `String.fromCharCode` from a table: one
 * flat string and no native call, where `Buffer#toString('hex')` cost 85 ns
 * a trace id (an API callback, a malloc and a copy) and was a quarter of the
 * worker's time per span (perf, bench/drain.js).
 *
 * `IdHex` also remembers the last ids it made. The records of one trace come
 * together: a request's spans and the log lines inside them carry the same
 * trace id, a log line the span id of the span around it, a child's start
 * its parent's span id. Comparing an id's words with the last one's is a few
 * loads; making its hex is the largest part of decoding a record that
 * carries one.
 */

/** The hex digit of each byte's high and low nibble, as char codes. */
const HEX_HIGH = new Uint8Array(256);
const HEX_LOW = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  HEX_HIGH[i] = '0123456789abcdef'.charCodeAt(i >> 4);
  HEX_LOW[i] = '0123456789abcdef'.charCodeAt(i & 15);
}
const fromCharCode = String.fromCharCode;

/** The 8 bytes at `p` as 16 lowercase hex digits. */
export function hex8(b: Uint8Array, p: number): string {
  const b0 = b[p]!, b1 = b[p + 1]!, b2 = b[p + 2]!, b3 = b[p + 3]!, b4 = b[p + 4]!, b5 = b[p + 5]!, b6 = b[p + 6]!, b7 = b[p + 7]!;
  const h = HEX_HIGH;
  const l = HEX_LOW;
  return fromCharCode(h[b0]!, l[b0]!, h[b1]!, l[b1]!, h[b2]!, l[b2]!, h[b3]!, l[b3]!, h[b4]!, l[b4]!, h[b5]!, l[b5]!, h[b6]!, l[b6]!, h[b7]!, l[b7]!);
}

/** The 16 bytes at `p` as 32 lowercase hex digits. */
export function hex16(b: Uint8Array, p: number): string {
  const b0 = b[p]!, b1 = b[p + 1]!, b2 = b[p + 2]!, b3 = b[p + 3]!, b4 = b[p + 4]!, b5 = b[p + 5]!, b6 = b[p + 6]!, b7 = b[p + 7]!;
  const b8 = b[p + 8]!, b9 = b[p + 9]!, b10 = b[p + 10]!, b11 = b[p + 11]!, b12 = b[p + 12]!, b13 = b[p + 13]!, b14 = b[p + 14]!, b15 = b[p + 15]!;
  const h = HEX_HIGH;
  const l = HEX_LOW;
  return fromCharCode(
    h[b0]!, l[b0]!, h[b1]!, l[b1]!, h[b2]!, l[b2]!, h[b3]!, l[b3]!, h[b4]!, l[b4]!, h[b5]!, l[b5]!, h[b6]!, l[b6]!, h[b7]!, l[b7]!,
    h[b8]!, l[b8]!, h[b9]!, l[b9]!, h[b10]!, l[b10]!, h[b11]!, l[b11]!, h[b12]!, l[b12]!, h[b13]!, l[b13]!, h[b14]!, l[b14]!, h[b15]!, l[b15]!,
  );
}

/**
 * The ids of one byte region as hex, remembering the last trace id and the
 * last two span ids (a child's start brings two: its own, then its
 * parent's). Each remembered id starts as the all-zero id, whose hex it
 * holds, so a match is always a right answer.
 */
export class IdHex {
  readonly #bytes: Uint8Array;
  readonly #view: DataView;
  // The words as int32 (small integers to V8, so plain fields), and the hex.
  #t0 = 0;
  #t1 = 0;
  #t2 = 0;
  #t3 = 0;
  #trace = '0'.repeat(32);
  #a0 = 0;
  #a1 = 0;
  #a = '0'.repeat(16);
  #b0 = 0;
  #b1 = 0;
  #b = '0'.repeat(16);
  /** Which span id a miss replaces: the other one than the last replaced. */
  #replaceB = false;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** The 16-byte trace id at `p`, as 32 hex digits. */
  traceId(p: number): string {
    const v = this.#view;
    const w0 = v.getInt32(p);
    const w1 = v.getInt32(p + 4);
    const w2 = v.getInt32(p + 8);
    const w3 = v.getInt32(p + 12);
    if (w0 !== this.#t0 || w1 !== this.#t1 || w2 !== this.#t2 || w3 !== this.#t3) {
      this.#t0 = w0;
      this.#t1 = w1;
      this.#t2 = w2;
      this.#t3 = w3;
      this.#trace = hex16(this.#bytes, p);
    }
    return this.#trace;
  }

  /** The 8-byte span id at `p`, as 16 hex digits. */
  spanId(p: number): string {
    const v = this.#view;
    const w0 = v.getInt32(p);
    const w1 = v.getInt32(p + 4);
    if (w0 === this.#a0 && w1 === this.#a1) return this.#a;
    if (w0 === this.#b0 && w1 === this.#b1) return this.#b;
    const hex = hex8(this.#bytes, p);
    if (this.#replaceB) {
      this.#b0 = w0;
      this.#b1 = w1;
      this.#b = hex;
    } else {
      this.#a0 = w0;
      this.#a1 = w1;
      this.#a = hex;
    }
    this.#replaceB = !this.#replaceB;
    return hex;
  }
}
