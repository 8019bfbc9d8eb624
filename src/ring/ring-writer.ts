/**
 * The producer's side of the ring: copy one reservation (one or more records,
 * already encoded) in and publish it with a single store of WRITE_INDEX, so
 * the reader sees all of it or none of it. Never waits: when the ring is full
 * the reservation is dropped and counted.
 *
 *   write ─► [ free ........ | used records | free ... ]
 *             ▲ read                        ▲ write       (positions mod capacity)
 *
 * A reservation that does not fit before the end of the data region leaves a
 * PAD marker there and starts again at offset 0.
 */
import {
  CONSUMER_RUNNING,
  CONSUMER_SLEEPING,
  CONSUMER_STATE,
  DROPPED,
  HEADER_BYTES,
  OVERSIZE,
  READ_INDEX,
  WRITE_INDEX,
  WRITTEN_HIGH,
  WRITTEN_LOW,
  ringCapacity,
  widen,
} from './layout.js';
import { KIND_PAD, RECORD_KIND_OFFSET, RECORD_SIZE_OFFSET } from './framing.js';

/**
 * Producer-side counts, in records (a reservation may carry several: a span
 * that ends before it was published travels as start, status and end
 * together). `offered == written + dropped + oversize`.
 */
export interface RingWriterCounts {
  offered: number;
  written: number;
  dropped: number;
  oversize: number;
  /** Of `dropped`: records refused because they were made re-entrantly, while another was being encoded. */
  refused: number;
}

/** How often, in bytes written, the producer looks whether a running consumer has gone to sleep. */
const STATE_CHECK_BYTES = 4096;

/**
 * An eighth of the ring, between 1 KiB and 1 MiB. Each wake-up costs the
 * producer an `Atomics.notify` and the worker a drain pass and a flush, so
 * fewer, larger ones are cheaper for both: at 50,000 spans/s on a 1 MiB ring
 * (an attached thread's default), 1/64 of it cost the worker 3.8 µs and the
 * producer ~120 ns more a span than 1/8 does (2.2 µs). Seven eighths stay free
 * for what arrives while the worker wakes, and the flush interval still
 * bounds how long a record waits.
 */
export function defaultWakeThreshold(capacity: number): number {
  return Math.min(1024 * 1024, Math.max(1024, capacity / 8));
}

export class RingWriter {
  readonly capacity: number;
  /** Largest reservation that fits in the ring even when it is empty, wherever the write position is. */
  readonly maxReservation: number;
  readonly #header: Int32Array;
  readonly #data: Uint8Array;
  readonly #view: DataView;
  readonly #mask: number;
  #write: number;
  /** Last read position seen; refreshed only when the ring looks full. */
  #read: number;
  offered = 0;
  written = 0;
  dropped = 0;
  oversize = 0;
  /** Of `dropped`, records refused for re-entrancy (see `countRefused`). */
  refused = 0;

  /**
   * A sleeping consumer is woken once this many bytes wait (default:
   * `defaultWakeThreshold`). Below it the producer stays off the wake-up path,
   * whose `Atomics.notify` costs tens of microseconds of wall time; the
   * consumer wakes by itself every flush interval anyway, and at once for a
   * drop, a flush request or an exit.
   */
  readonly wakeThresholdBytes: number;
  /** While the consumer runs, the producer looks at its state once per this many bytes (see #publish). */
  readonly #stateCheckBytes: number;
  /** The write position at which #publish next looks at the consumer's state. */
  #checkStateAt: number;

  constructor(sab: SharedArrayBuffer, options: { wakeThresholdBytes?: number } = {}) {
    this.capacity = ringCapacity(sab);
    this.wakeThresholdBytes = options.wakeThresholdBytes ?? defaultWakeThreshold(this.capacity);
    this.maxReservation = this.capacity / 2;
    this.#mask = this.capacity - 1;
    this.#header = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.#data = new Uint8Array(sab, HEADER_BYTES, this.capacity);
    this.#view = new DataView(sab, HEADER_BYTES, this.capacity);
    // Resume where the ring stands (a writer may be made for a ring in use).
    this.#read = Atomics.load(this.#header, READ_INDEX) >>> 0;
    this.#write = widen(Atomics.load(this.#header, WRITE_INDEX), this.#read);
    this.#stateCheckBytes = Math.min(STATE_CHECK_BYTES, this.wakeThresholdBytes);
    this.#checkStateAt = this.#write;
  }

  /** The full write position: bytes ever reserved, padding included. */
  get writePosition(): number {
    return this.#write;
  }

  /**
   * Copy one reservation into the ring and publish it: `firstLength` bytes of
   * `first`, then `secondLength` bytes of `second` (whole, 8-byte aligned
   * records; the second part lets string definitions travel just ahead of the
   * record that uses them). `records` is how many records (string
   * definitions not counted) it carries. Returns false, counting them
   * dropped, when it does not fit.
   */
  write(first: Uint8Array, firstLength: number, second?: Uint8Array, secondLength = 0, records = 1): boolean {
    const length = firstLength + secondLength;
    if (length > this.maxReservation) {
      this.countOversize(records);
      return false;
    }
    const capacity = this.capacity;
    let offset = this.#write & this.#mask;
    const tail = capacity - offset;
    const pad = tail < length ? tail : 0;
    const needed = pad + length;
    if (this.#write + needed - this.#read > capacity) {
      this.#read = widen(Atomics.load(this.#header, READ_INDEX), this.#write);
      if (this.#write + needed - this.#read > capacity) {
        this.countDrop(records);
        return false;
      }
    }
    if (pad !== 0) {
      this.#view.setUint32(offset + RECORD_SIZE_OFFSET, pad, true);
      this.#data[offset + RECORD_KIND_OFFSET] = KIND_PAD;
      offset = 0;
    }
    this.#data.set(firstLength === first.length ? first : first.subarray(0, firstLength), offset);
    if (second !== undefined && secondLength !== 0) {
      this.#data.set(secondLength === second.length ? second : second.subarray(0, secondLength), offset + firstLength);
    }
    this.offered += records;
    this.#publish(needed, records);
    return true;
  }

  /**
   * Claim contiguous free space at the write position, for a record encoded
   * in place (no copy). Returns its data offset, with `claimEnd` set to where
   * the space ends (at most `maxReservation` past the offset), or -1 when
   * less than `min` contiguous bytes are free: then use `write()`, which
   * wraps with a PAD marker and counts drops.
   */
  claim(min: number): number {
    const offset = this.#write & this.#mask;
    let free = this.capacity - (this.#write - this.#read);
    if (free < min) {
      this.#read = widen(Atomics.load(this.#header, READ_INDEX), this.#write);
      free = this.capacity - (this.#write - this.#read);
    }
    const tail = this.capacity - offset;
    let room = tail < free ? tail : free;
    if (room > this.maxReservation) room = this.maxReservation;
    if (room < min) return -1;
    this.claimEnd = offset + room;
    return offset;
  }

  /** Publish `length` bytes (`records` records) encoded in place at the offset `claim()` returned. */
  commitClaim(length: number, records = 1): void {
    this.offered += records;
    this.#publish(length, records);
  }

  /** The end of the space the last `claim()` returned. */
  claimEnd = 0;

  /** The ring's data region, for in-place encoding after `claim()`. */
  get data(): Uint8Array {
    return this.#data;
  }

  get dataView(): DataView {
    return this.#view;
  }

  /**
   * The single publishing store, then the wake-up check. Loading the
   * consumer's state on every publish cost 5–6% of a whole span (A/B in
   * bench/span-path.js), so it is loaded only at `#checkStateAt`: every
   * `#stateCheckBytes` while the consumer runs, and, once it is seen asleep
   * at read position R, not again before R + wakeThresholdBytes, where the
   * wake is due. As `#stateCheckBytes` ≤ the threshold, a sleeping consumer
   * is still woken by the first write that reaches the threshold. (Skipping
   * the load loses no wake-up: a consumer that announced sleep after this
   * write finds WRITE_INDEX moved and does not sleep.)
   */
  #publish(length: number, records: number): void {
    const write = (this.#write += length);
    const written = (this.written += records);
    const header = this.#header;
    header[WRITTEN_LOW] = written | 0;
    if (written > 0x7fffffff) header[WRITTEN_HIGH] = Math.floor(written / 2 ** 32) | 0;
    // Everything written before (records and the count) becomes visible with this store.
    Atomics.store(header, WRITE_INDEX, write | 0);
    // Apart and rarely called, so that the encoder's fast paths can inline the common part.
    if (write >= this.#checkStateAt) this.#checkConsumer(write);
  }

  /** The consumer's state is due to be looked at (see #publish): wake it, or decide when to look next. */
  #checkConsumer(write: number): void {
    if (Atomics.load(this.#header, CONSUMER_STATE) !== CONSUMER_SLEEPING) {
      this.#checkStateAt = write + this.#stateCheckBytes;
      return;
    }
    // The consumer is not moving the read index now: reading it is cheap and exact.
    this.#read = widen(Atomics.load(this.#header, READ_INDEX), write);
    if (write - this.#read >= this.wakeThresholdBytes) {
      this.#wakeConsumer();
      this.#checkStateAt = write + this.#stateCheckBytes;
    } else {
      this.#checkStateAt = this.#read + this.wakeThresholdBytes;
    }
  }

  /**
   * Count a record refused because it was made while another was being
   * encoded (a getter or hook that records re-entrantly). It counts as
   * dropped, so `offered == written + dropped + oversize` still holds;
   * `refused` says how many of the drops were refusals.
   */
  countRefused(records = 1): void {
    this.refused += records;
    this.countDrop(records);
  }

  /** Count records offered and dropped: the ring was full (or they could not be encoded). */
  countDrop(records = 1): void {
    this.offered += records;
    this.dropped += records;
    Atomics.store(this.#header, DROPPED, this.dropped | 0);
    this.#wakeConsumer();
  }

  /** Count records offered in a reservation too large for the ring even when empty. */
  countOversize(records = 1): void {
    this.offered += records;
    this.oversize += records;
    Atomics.store(this.#header, OVERSIZE, this.oversize | 0);
    this.#wakeConsumer();
  }

  /** Wake the consumer if it sleeps; at most one wake per sleep. */
  #wakeConsumer(): void {
    if (Atomics.compareExchange(this.#header, CONSUMER_STATE, CONSUMER_SLEEPING, CONSUMER_RUNNING) === CONSUMER_SLEEPING) {
      Atomics.notify(this.#header, WRITE_INDEX);
    }
  }

  /** Bytes currently waiting for the consumer. */
  get usedBytes(): number {
    this.#read = widen(Atomics.load(this.#header, READ_INDEX), this.#write);
    return this.#write - this.#read;
  }

  counts(): RingWriterCounts {
    return { offered: this.offered, written: this.written, dropped: this.dropped, oversize: this.oversize, refused: this.refused };
  }
}
