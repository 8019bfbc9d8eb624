/**
 * The consumer's side of the ring. `available()` says how far the producer
 * has published; records up to there are whole and may be read in place from
 * `view`/`bytes`; `release(position)` hands their bytes back to the producer.
 *
 * The reader also owns the consumer half of the sleep/wake protocol:
 *
 *   consumer: state = SLEEPING ; re-read WRITE_INDEX ; waitAsync(WRITE_INDEX, seen)
 *   producer: store WRITE_INDEX ; if state == SLEEPING and the wake threshold is reached: state = RUNNING, notify
 *
 * Both sides use sequentially consistent Atomics, so either the consumer sees
 * the new write or the producer sees it sleeping: no lost wake-up. (The
 * producer reads the state only now and then, see RingWriter's #publish; a
 * consumer it has not woken wakes by its own timeout.)
 */
import {
  CONSUMER_RUNNING,
  CONSUMER_SLEEPING,
  CONSUMER_STATE,
  CORRUPT_BYTES_HIGH,
  CORRUPT_BYTES_LOW,
  CORRUPT_HIGH,
  CORRUPT_LOW,
  DECODED_HIGH,
  DECODED_LOW,
  DROPPED,
  DROPPED_REPORTED,
  FLUSHED_HIGH,
  FLUSHED_LOW,
  HEADER_BYTES,
  OVERSIZE,
  OVERSIZE_REPORTED,
  READ_INDEX,
  TAKEN_INDEX,
  WRITE_INDEX,
  WRITTEN_HIGH,
  WRITTEN_LOW,
  loadCount,
  ringCapacity,
  storeCount,
  widen,
} from './layout.js';

/** Drops the producer has counted since the consumer last reported them. */
export interface DropNotice {
  /** Records dropped because the ring was full. */
  dropped: number;
  /** Records dropped because they could never fit. */
  oversize: number;
}

/** The page size the prefault steps by: 4 KiB (on larger pages it only touches some twice). */
export const PAGE_BYTES = 4096;

export class RingReader {
  readonly capacity: number;
  readonly mask: number;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly #header: Int32Array;
  /** The data region as words, for `prefault`. */
  readonly #words: Int32Array;
  #read: number;
  #droppedSeen: number;
  #oversizeSeen: number;

  constructor(sab: SharedArrayBuffer) {
    this.capacity = ringCapacity(sab);
    this.mask = this.capacity - 1;
    this.#header = new Int32Array(sab, 0, HEADER_BYTES / 4);
    this.bytes = new Uint8Array(sab, HEADER_BYTES, this.capacity);
    this.view = new DataView(sab, HEADER_BYTES, this.capacity);
    this.#words = new Int32Array(sab, HEADER_BYTES, this.capacity / 4);
    // A new reader (for instance a respawned worker) resumes after the last
    // record an earlier one handed to the sinks, which may be past the read
    // index that reader published last.
    const read = Atomics.load(this.#header, READ_INDEX) >>> 0;
    const taken = widen(Atomics.load(this.#header, TAKEN_INDEX), read);
    const write = widen(Atomics.load(this.#header, WRITE_INDEX), read);
    this.#read = taken > read && taken <= write ? taken : read;
    if (this.#read !== read) Atomics.store(this.#header, READ_INDEX, this.#read | 0);
    // Drops already reported by an earlier reader are not reported again.
    this.#droppedSeen = Atomics.load(this.#header, DROPPED_REPORTED);
    this.#oversizeSeen = Atomics.load(this.#header, OVERSIZE_REPORTED);
  }

  /** The full read position. */
  get position(): number {
    return this.#read;
  }

  /** The full write position the producer has published. */
  available(): number {
    return widen(Atomics.load(this.#header, WRITE_INDEX), this.#read);
  }

  /**
   * Give bytes up to `position` back to the producer. `decoded` is the
   * consumers' running count of records taken, published with it so that a
   * respawned consumer continues from it (see `decodedSoFar`).
   */
  release(position: number, decoded?: number): void {
    this.#read = position;
    if (decoded !== undefined) storeCount(this.#header, DECODED_LOW, DECODED_HIGH, decoded);
    this.#header[TAKEN_INDEX] = position | 0;
    Atomics.store(this.#header, READ_INDEX, position | 0);
  }

  /**
   * Note that the records before `position` (`decoded` of them so far) are
   * being handed to the sinks, before they are: a successor of this reader
   * never hands them out again. Plain stores, one record at a time: only a
   * reader made after this thread has exited reads them.
   */
  take(position: number, decoded: number): void {
    const header = this.#header;
    header[TAKEN_INDEX] = position | 0;
    header[DECODED_LOW] = decoded % 2 ** 32 | 0;
    header[DECODED_HIGH] = Math.floor(decoded / 2 ** 32) | 0;
  }

  /** Records no consumer of this ring could decode, and bytes skipped where records could not be told apart. */
  corruptSoFar(): { records: number; bytes: number } {
    return { records: loadCount(this.#header, CORRUPT_LOW, CORRUPT_HIGH), bytes: loadCount(this.#header, CORRUPT_BYTES_LOW, CORRUPT_BYTES_HIGH) };
  }

  /** Publish the running corrupt counts (see `corruptSoFar`). */
  storeCorrupt(records: number, bytes: number): void {
    storeCount(this.#header, CORRUPT_LOW, CORRUPT_HIGH, records);
    storeCount(this.#header, CORRUPT_BYTES_LOW, CORRUPT_BYTES_HIGH, bytes);
  }

  /**
   * Make the memory pages of the data bytes [from, to) resident, so that
   * the producer's first write to each does not take a page fault there
   * (3–8 µs a page on this project's machines; a span cost 1.32x while a
   * fresh ring filled, see bench/prefault.js). One atomic add of 0 per
   * page: it writes each word back as it is, so records the producer is
   * writing meanwhile are untouched.
   */
  prefault(from: number, to: number): void {
    const words = this.#words;
    for (let byte = from - (from % PAGE_BYTES); byte < to; byte += PAGE_BYTES) Atomics.add(words, byte >> 2, 0);
  }

  /** Records released by every consumer of this ring so far (an earlier, dead worker's included). */
  decodedSoFar(): number {
    return loadCount(this.#header, DECODED_LOW, DECODED_HIGH);
  }

  /** Record that every sink finished a flush begun when `decoded` records had been taken. */
  markFlushed(decoded: number): void {
    if (decoded > loadCount(this.#header, FLUSHED_LOW, FLUSHED_HIGH)) storeCount(this.#header, FLUSHED_LOW, FLUSHED_HIGH, decoded);
  }

  /** The last `markFlushed` count. */
  flushedSoFar(): number {
    return loadCount(this.#header, FLUSHED_LOW, FLUSHED_HIGH);
  }

  /**
   * Records the producer has published so far (its `written`). Read after
   * `available()`, it covers at least the records up to that position.
   */
  writtenSoFar(): number {
    return loadCount(this.#header, WRITTEN_LOW, WRITTEN_HIGH);
  }

  /** The producer's drop counters as they stand (totals mod 2^32), without taking them. */
  dropTotals(): DropNotice {
    return { dropped: Atomics.load(this.#header, DROPPED) >>> 0, oversize: Atomics.load(this.#header, OVERSIZE) >>> 0 };
  }

  /**
   * The priority drop channel: drops counted since the last call, read
   * before the main ring so they are seen even while the ring stays full.
   * Returns null when there are none.
   */
  takeDrops(): DropNotice | null {
    const dropped = Atomics.load(this.#header, DROPPED);
    const oversize = Atomics.load(this.#header, OVERSIZE);
    if (dropped === this.#droppedSeen && oversize === this.#oversizeSeen) return null;
    const notice = {
      dropped: (dropped - this.#droppedSeen) >>> 0,
      oversize: (oversize - this.#oversizeSeen) >>> 0,
    };
    this.#droppedSeen = dropped;
    this.#oversizeSeen = oversize;
    Atomics.store(this.#header, DROPPED_REPORTED, dropped);
    Atomics.store(this.#header, OVERSIZE_REPORTED, oversize);
    return notice;
  }

  /**
   * Announce sleep and return the write index value to wait on, or null when
   * data arrived meanwhile (then the state is back to running).
   */
  prepareSleep(): number | null {
    Atomics.store(this.#header, CONSUMER_STATE, CONSUMER_SLEEPING);
    const seen = Atomics.load(this.#header, WRITE_INDEX);
    const dropped = Atomics.load(this.#header, DROPPED);
    const oversize = Atomics.load(this.#header, OVERSIZE);
    if (widen(seen, this.#read) !== this.#read || dropped !== this.#droppedSeen || oversize !== this.#oversizeSeen) {
      Atomics.store(this.#header, CONSUMER_STATE, CONSUMER_RUNNING);
      return null;
    }
    return seen;
  }

  /** Back to running without sleeping (another ring of the same worker had data). */
  cancelSleep(): void {
    Atomics.store(this.#header, CONSUMER_STATE, CONSUMER_RUNNING);
  }

  /**
   * End a `sleep()` still waiting on this ring (the worker woke for another
   * ring): only the consumer waits on WRITE_INDEX, so this wakes nothing else.
   */
  interruptSleep(): void {
    Atomics.notify(this.#header, WRITE_INDEX);
  }

  /**
   * Sleep until the producer writes or `timeoutMs` passes, without blocking
   * this thread's event loop. Call after `prepareSleep()` returned a value.
   */
  async sleep(seen: number, timeoutMs: number): Promise<void> {
    const result = Atomics.waitAsync(this.#header, WRITE_INDEX, seen, timeoutMs);
    if (result.async) await result.value;
    Atomics.store(this.#header, CONSUMER_STATE, CONSUMER_RUNNING);
  }
}
