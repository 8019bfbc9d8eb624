/**
 * A growable protobuf writer for the OTLP encoders: varints, fixed-width
 * numbers, UTF-8 strings and length-delimited messages whose length is
 * back-patched (a guessed number of length bytes is reserved; the body moves
 * only when the guess was wrong). One writer is reused across batches; its
 * memory goes out as a request body (batch-layout.ts), and it takes other
 * memory for the next batch, so a body in flight stays valid.
 */

const HEX = new Uint8Array(128);
for (let c = 0; c < 128; c++) HEX[c] = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : (c - 55) & 0xff;

/** Up to this many bytes are copied by a loop, which costs less than a `set` call. */
const RAW_LOOP = 8;

/** @internal Bytes a varint of the unsigned 32-bit value `v` takes. */
export function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

/**
 * The last whole second {@link putTimeMs} split: its start in epoch ms, and
 * seconds × 10⁹ as a low half below 2³² and a high half. Typed arrays rather
 * than module `let`s, which would box each new double; a span's times, and
 * most of a batch's, share one second.
 */
const split = new Float64Array([NaN, 0]);
const splitHigh = new Int32Array(1);

/**
 * Unix nanoseconds as fixed64 at `p` from epoch milliseconds with a fraction:
 * whole seconds and rounded nanoseconds, as the SDK's HrTime has them, then
 * seconds × 10⁹ + nanos in 32-bit halves without losing bits. Within the
 * last second split no division is made, and one carry at most is added.
 *
 * @internal
 */
export function putTimeMs(buf: Uint8Array, p: number, ms: number): void {
  let rest = ms - split[0]!;
  if (!(rest >= 0 && rest < 1000)) rest = splitSecond(ms);
  let low = split[1]! + Math.min(999_999_999, Math.round(rest * 1e6));
  let high = splitHigh[0]!;
  if (low >= 4294967296) {
    low -= 4294967296;
    high++;
  } else if (low < 0) {
    low += 4294967296;
    high--;
  }
  putFixed64(buf, p, low | 0, high);
}

/** Splits the second `ms` falls in (see {@link putTimeMs}); returns the milliseconds past it. */
function splitSecond(ms: number): number {
  const seconds = Math.floor(ms / 1000);
  const lowerSeconds = (seconds & 0xffff) * 1e9;
  const upperSeconds = ((seconds / 65536) >>> 0) * 1e9;
  let low = (lowerSeconds >>> 0) + (((upperSeconds & 0xffff) * 65536) >>> 0);
  const carry = Math.floor(low / 4294967296);
  low -= carry * 4294967296;
  split[0] = seconds * 1000;
  split[1] = low;
  splitHigh[0] = Math.floor(lowerSeconds / 4294967296) + ((upperSeconds / 65536) >>> 0) + carry;
  return ms - seconds * 1000;
}

/** Little-endian fixed64 from 32-bit halves, by byte stores: `writeUInt32LE` checks its arguments at every call. */
function putFixed64(buf: Uint8Array, p: number, low: number, high: number): void {
  buf[p] = low;
  buf[p + 1] = low >>> 8;
  buf[p + 2] = low >>> 16;
  buf[p + 3] = low >>> 24;
  buf[p + 4] = high;
  buf[p + 5] = high >>> 8;
  buf[p + 6] = high >>> 16;
  buf[p + 7] = high >>> 24;
}

/** @internal */
export class ProtobufWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 64 * 1024) {
    this.buf = Buffer.allocUnsafeSlow(initialSize);
  }

  reset(): void {
    this.pos = 0;
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    const needed = this.pos + n;
    if (needed <= this.buf.length) return;
    let size = Math.max(this.buf.length * 2, 4096);
    while (size < needed) size *= 2;
    const grown = Buffer.allocUnsafeSlow(size);
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  /** An unsigned 32-bit varint (tags, lengths, counts, enums). */
  uint32(value: number): void {
    this.ensure(5);
    const buf = this.buf;
    let v = value >>> 0;
    while (v > 127) {
      buf[this.pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[this.pos++] = v;
  }

  /** An int64 varint from an integral JS number (two's complement when negative). */
  int64(value: number): void {
    if (value >= 0 && value <= 0xffffffff) {
      this.uint32(value);
      return;
    }
    let low: number;
    let high: number;
    if (value >= 0) {
      low = value >>> 0;
      high = (value / 4294967296) >>> 0;
    } else {
      const abs = -value;
      low = ~(abs >>> 0) >>> 0;
      high = ~((abs / 4294967296) >>> 0) >>> 0;
      low = (low + 1) >>> 0;
      if (low === 0) high = (high + 1) >>> 0;
    }
    this.ensure(10);
    const buf = this.buf;
    while (high > 0 || low > 127) {
      buf[this.pos++] = (low & 127) | 128;
      low = ((low >>> 7) | (high << 25)) >>> 0;
      high >>>= 7;
    }
    buf[this.pos++] = low;
  }

  fixed32(value: number): void {
    this.ensure(4);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = value;
    buf[p + 1] = value >>> 8;
    buf[p + 2] = value >>> 16;
    buf[p + 3] = value >>> 24;
    this.pos = p + 4;
  }

  fixed64(low: number, high: number): void {
    this.ensure(8);
    putFixed64(this.buf, this.pos, low, high);
    this.pos += 8;
  }

  double(value: number): void {
    this.ensure(8);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  /** Unix nanoseconds as fixed64 from epoch milliseconds with a fraction (see {@link putTimeMs}). */
  timeMs(ms: number): void {
    this.ensure(8);
    putTimeMs(this.buf, this.pos, ms);
    this.pos += 8;
  }

  /** A length-prefixed UTF-8 string (lone surrogates become U+FFFD, as TextEncoder writes them). */
  string(s: string): void {
    const n = s.length;
    if (n < 43) {
      // At most 3 bytes a UTF-16 unit: the length fits one byte.
      this.ensure(1 + 3 * n);
      const buf = this.buf;
      const at = this.pos;
      let p = at + 1;
      for (let i = 0; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) {
          p = at + 1 + buf.write(s, at + 1, 'utf8');
          break;
        }
        buf[p++] = c;
      }
      buf[at] = p - at - 1;
      this.pos = p;
      return;
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.uint32(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  /** Bytes as they are (already encoded fields); short ones by a loop, which costs less than a `set` call. */
  raw(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    const buf = this.buf;
    const p = this.pos;
    if (n <= RAW_LOOP) {
      for (let i = 0; i < n; i++) buf[p + i] = b[i]!;
    } else {
      buf.set(b, p);
    }
    this.pos = p + n;
  }

  /** A tag byte, then bytes as they are (see {@link raw}), after one bounds check. */
  tagged(tag: number, b: Uint8Array): void {
    const n = b.length;
    this.ensure(n + 1);
    const buf = this.buf;
    const p = this.pos;
    buf[p] = tag;
    if (n <= RAW_LOOP) {
      for (let i = 0; i < n; i++) buf[p + 1 + i] = b[i]!;
    } else {
      buf.set(b, p + 1);
    }
    this.pos = p + 1 + n;
  }

  /** {@link tagged}, then an unsigned 32-bit varint, after one bounds check. */
  taggedUint32(tag: number, b: Uint8Array, value: number): void {
    const n = b.length;
    this.ensure(n + 6);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = tag;
    if (n <= RAW_LOOP) {
      for (let i = 0; i < n; i++) buf[p + i] = b[i]!;
    } else {
      buf.set(b, p);
    }
    p += n;
    let v = value >>> 0;
    while (v > 127) {
      buf[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[p++] = v;
    this.pos = p;
  }

  bytes(b: Uint8Array): void {
    this.uint32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Length-prefixed raw bytes from a hex string (ids: lowercase hex of even length). */
  hex(id: string): void {
    const n = id.length >>> 1;
    this.ensure(n + 1);
    const buf = this.buf;
    buf[this.pos++] = n;
    for (let i = 0; i < n; i++) buf[this.pos++] = (HEX[id.charCodeAt(2 * i) & 127]! << 4) | HEX[id.charCodeAt(2 * i + 1) & 127]!;
  }

  /** Reserves `reserve` bytes for a length to patch with {@link finish}; returns where the body starts. */
  start(reserve = 1): number {
    this.ensure(reserve);
    this.pos += reserve;
    return this.pos;
  }

  /** Writes the length of the message whose body began at `bodyStart`, moving the body when the reserve was not its size. */
  finish(bodyStart: number, reserve = 1): void {
    const length = this.pos - bodyStart;
    const size = varintSize(length);
    let at = bodyStart - reserve;
    if (size !== reserve) {
      this.ensure(size - reserve);
      this.buf.copyWithin(at + size, bodyStart, this.pos);
      this.pos += size - reserve;
    }
    const buf = this.buf;
    let v = length;
    while (v > 127) {
      buf[at++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[at] = v;
  }

  /** A copy of bytes [from, to), independent of this writer. */
  copy(from: number, to: number): Uint8Array {
    const out = Buffer.allocUnsafe(to - from);
    this.buf.copy(out, 0, from, to);
    return out;
  }
}
