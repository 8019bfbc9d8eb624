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
  ringCapacity,
  widen,
} from './layout.js';
import { KIND_PAD, RECORD_KIND_OFFSET, RECORD_SIZE_OFFSET } from '../record/format.js';

/** Producer-side counts. `offered == written + dropped + oversize`. */
export interface RingWriterCounts {
  offered: number;
  written: number;
  dropped: number;
  oversize: number;
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

  /**
   * A sleeping consumer is woken once this many bytes wait (default: an
   * eighth of the ring). Below it the producer stays off the wake-up path,
   * whose `Atomics.notify` costs tens of microseconds of wall time; the
   * consumer wakes by itself every flush interval anyway, and at once for a
   * drop, a flush request or an exit.
   */
  readonly wakeThresholdBytes: number;

  constructor(sab: SharedArrayBuffer, options: { wakeThresholdBytes?: number } = {}) {
    this.capacity = ringCapacity(sab);
    this.wakeThresholdBytes = options.wakeThresholdBytes ?? this.capacity / 8;
    this.maxReservation = this.capacity / 2;
    this.#mask = this.capacity - 1;
    this.#header = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.#data = new Uint8Array(sab, HEADER_BYTES, this.capacity);
    this.#view = new DataView(sab, HEADER_BYTES, this.capacity);
    // Resume where the ring stands (a writer may be made for a ring in use).
    this.#read = Atomics.load(this.#header, READ_INDEX) >>> 0;
    this.#write = widen(Atomics.load(this.#header, WRITE_INDEX), this.#read);
  }

  /** The full write position: bytes ever reserved, padding included. */
  get writePosition(): number {
    return this.#write;
  }

  /**
   * Copy one reservation into the ring and publish it: `firstLength` bytes of
   * `first`, then `secondLength` bytes of `second` (whole, 8-byte aligned
   * records; the second part lets string definitions travel just ahead of the
   * record that uses them). Returns false, counting a drop, when it does not fit.
   */
  write(first: Uint8Array, firstLength: number, second?: Uint8Array, secondLength = 0): boolean {
    this.offered++;
    const length = firstLength + secondLength;
    if (length > this.maxReservation) {
      this.offered--;
      this.countOversize();
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
        this.offered--;
        this.countDrop();
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
    this.#write += needed;
    this.written++;
    // The single publishing store: everything written above becomes visible with it.
    Atomics.store(this.#header, WRITE_INDEX, this.#write | 0);
    if (this.#write - this.#read >= this.wakeThresholdBytes && Atomics.load(this.#header, CONSUMER_STATE) === CONSUMER_SLEEPING) {
      this.#wakeConsumer();
    }
    return true;
  }

  /** Count a record offered and dropped: the ring was full (or it could not be encoded). */
  countDrop(): void {
    this.offered++;
    this.dropped++;
    Atomics.store(this.#header, DROPPED, this.dropped | 0);
    this.#wakeConsumer();
  }

  /** Count a record offered but too large for the ring even when empty. */
  countOversize(): void {
    this.offered++;
    this.oversize++;
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
    return { offered: this.offered, written: this.written, dropped: this.dropped, oversize: this.oversize };
  }
}
