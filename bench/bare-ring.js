/**
 * The floor for ringtrace's design: a hand-written single-producer ring over
 * a SharedArrayBuffer that writes one fixed 48-byte record stamped with
 * `performance.timeOrigin + performance.now()`, with nothing else a real
 * record needs (no interning, no field walking, no variable sizes).
 *
 * It keeps the parts of the protocol no design can skip: the free-space check
 * (re-reading the consumer's index only when the ring looks full), a PAD at
 * the end of the region when a record would straddle it, the publishing
 * `Atomics.store` of the write index, and the check for a sleeping consumer.
 */
const HEADER_BYTES = 256;
const WRITE_INDEX = 0;
const READ_INDEX = 16;
const CONSUMER_STATE = 48;
const RECORD_BYTES = 48;
const KIND_PAD = 0;
const KIND_EVENT = 9;

export class BareRing {
  constructor(capacity) {
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.sab = new SharedArrayBuffer(HEADER_BYTES + capacity);
    this.header = new Int32Array(this.sab, 0, HEADER_BYTES / 4);
    this.view = new DataView(this.sab, HEADER_BYTES, capacity);
    this.write = 0;
    this.read = 0;
    this.written = 0;
    this.dropped = 0;
  }

  /** One 48-byte event record: header, timestamp, and three field words. */
  record(a, b, c) {
    const capacity = this.capacity;
    let offset = this.write & this.mask;
    const tail = capacity - offset;
    const pad = tail < RECORD_BYTES ? tail : 0;
    const needed = pad + RECORD_BYTES;
    if (this.write + needed - this.read > capacity) {
      this.read = Atomics.load(this.header, READ_INDEX) >>> 0;
      if (this.write + needed - this.read > capacity) {
        this.dropped++;
        return false;
      }
    }
    const v = this.view;
    if (pad !== 0) {
      v.setUint32(offset, pad, true);
      v.setUint8(offset + 4, KIND_PAD);
      offset = 0;
    }
    v.setUint32(offset, RECORD_BYTES, true);
    v.setUint32(offset + 4, KIND_EVENT | (3 << 8), true);
    v.setFloat64(offset + 8, performance.timeOrigin + performance.now(), true);
    v.setUint32(offset + 16, 1, true); // target id
    v.setUint32(offset + 20, 2, true); // message id
    v.setFloat64(offset + 24, a, true);
    v.setUint32(offset + 32, b, true);
    v.setUint32(offset + 36, c ? 1 : 0, true);
    v.setUint32(offset + 40, 0, true);
    v.setUint32(offset + 44, 0, true);
    this.write += needed;
    this.written++;
    Atomics.store(this.header, WRITE_INDEX, this.write | 0);
    if (Atomics.load(this.header, CONSUMER_STATE) === 1) Atomics.notify(this.header, WRITE_INDEX);
    return true;
  }

  /** Stand in for a consumer that took everything written so far. */
  consumeAll() {
    Atomics.store(this.header, READ_INDEX, this.write | 0);
  }
}
