/**
 * The ring's shared memory layout: every header slot is named here and only
 * here, for both the producer (RingWriter) and the consumer (RingReader).
 *
 *   SharedArrayBuffer
 *   ┌──────────── header: 6 lines × 64 bytes, one writer per line ───────────┐
 *   │ line 0  WRITE_INDEX, WRITTEN_*                (producer writes)         │
 *   │ line 1  READ_INDEX                            (consumer writes)         │
 *   │ line 2  DROPPED, OVERSIZE       priority drop channel (producer writes) │
 *   │ line 3  CONSUMER_STATE, *_REPORTED            (consumer writes)         │
 *   │ line 4  EXIT_REQUEST                          (producer writes)         │
 *   │ line 5  EXIT_ACK, DECODED_*, FLUSHED_*,       (consumer writes; the     │
 *   │         TAKEN_INDEX, CORRUPT_*                 supervisor only once the │
 *   │                                                consumer has exited)     │
 *   ├──────────── data: `capacity` bytes, a power of two ─────────────────────┤
 *   │ records … | PAD to the end | wrapped records …                          │
 *   └──────────────────────────────────────────────────────────────────────────┘
 *
 * Indexes are byte positions that only grow. Each side keeps its own position
 * as a full JavaScript number (exact to 2^53) and publishes the low 32 bits;
 * the other side rebuilds the full number from its own, because the two can
 * never be more than `capacity` (at most 2^30) apart.
 */

/** Bytes per header line: one cache line, so the two threads never share one. */
export const CACHE_LINE_BYTES = 64;
const INT32_PER_LINE = CACHE_LINE_BYTES / 4;

/** Int32 slot: low 32 bits of the producer's write position. */
export const WRITE_INDEX = 0 * INT32_PER_LINE;
/**
 * Int32 slots: records the producer has published (low, high 32 bits),
 * stored plainly just before each WRITE_INDEX store, so another thread can
 * read a producer's `written` (a worker thread's ring, read by the
 * dispatcher worker) without asking it; loaded after WRITE_INDEX.
 */
export const WRITTEN_LOW = 0 * INT32_PER_LINE + 1;
export const WRITTEN_HIGH = 0 * INT32_PER_LINE + 2;
/** Int32 slot: low 32 bits of the consumer's read position. */
export const READ_INDEX = 1 * INT32_PER_LINE;
/** Int32 slot: records dropped because the ring was full (wraps at 2^32). */
export const DROPPED = 2 * INT32_PER_LINE;
/** Int32 slot: records dropped because they could never fit (wraps at 2^32). */
export const OVERSIZE = 2 * INT32_PER_LINE + 1;
/** Int32 slot: consumer state, one of the `CONSUMER_*` values. */
export const CONSUMER_STATE = 3 * INT32_PER_LINE;
/** Int32 slot: the DROPPED count the consumer has already told the sinks about. */
export const DROPPED_REPORTED = 3 * INT32_PER_LINE + 1;
/** Int32 slot: the OVERSIZE count the consumer has already told the sinks about. */
export const OVERSIZE_REPORTED = 3 * INT32_PER_LINE + 2;

/**
 * Int32 slot: the producer's thread is exiting (see ring/exit-handshake.ts):
 * 0, or 1 once the producer asks the consumer for a final drain and flush.
 */
export const EXIT_REQUEST = 4 * INT32_PER_LINE;
/** Int32 slot: 1 once the consumer has drained and flushed after EXIT_REQUEST. */
export const EXIT_ACK = 5 * INT32_PER_LINE;
/**
 * Int32 slots: records the consumers have decoded and released, low and high
 * 32 bits, published with each READ_INDEX release, so a respawned consumer
 * continues the count and `decoded == written` holds across worker restarts.
 */
export const DECODED_LOW = 5 * INT32_PER_LINE + 1;
export const DECODED_HIGH = 5 * INT32_PER_LINE + 2;
/**
 * Int32 slots: the DECODED count at the start of the last flush round that
 * every sink completed. When a worker dies, DECODED − FLUSHED is the most
 * records it can have lost in flight (decoded but maybe not yet written out).
 */
export const FLUSHED_LOW = 5 * INT32_PER_LINE + 3;
export const FLUSHED_HIGH = 5 * INT32_PER_LINE + 4;
/**
 * Int32 slot: low 32 bits of the position up to which records have been
 * handed to the sinks, stored (plainly) before each record is delivered. It
 * runs ahead of READ_INDEX, which is published once per batch; a respawned
 * consumer resumes here, so no record reaches a sink twice. Read by another
 * thread only after the writing worker has exited.
 */
export const TAKEN_INDEX = 5 * INT32_PER_LINE + 5;
/**
 * Int32 slots: records the consumers could not decode (low, high), and bytes
 * skipped where the framing itself was unsound so records could not be told
 * apart (low, high). Like DECODED, they outlive a worker.
 */
export const CORRUPT_LOW = 5 * INT32_PER_LINE + 6;
export const CORRUPT_HIGH = 5 * INT32_PER_LINE + 7;
export const CORRUPT_BYTES_LOW = 5 * INT32_PER_LINE + 8;
export const CORRUPT_BYTES_HIGH = 5 * INT32_PER_LINE + 9;

/** Header size in bytes; the data region starts here. */
export const HEADER_BYTES = 6 * CACHE_LINE_BYTES;

/** Read a 64-bit count kept in two Int32 slots (written by one thread only). */
export function loadCount(header: Int32Array, low: number, high: number): number {
  return (Atomics.load(header, high) >>> 0) * 2 ** 32 + (Atomics.load(header, low) >>> 0);
}

/** Publish a 64-bit count into two Int32 slots (only the owning thread writes them). */
export function storeCount(header: Int32Array, low: number, high: number, value: number): void {
  Atomics.store(header, high, Math.floor(value / 2 ** 32) | 0);
  Atomics.store(header, low, value % 2 ** 32 | 0);
}

/** The consumer is draining; the producer need not wake it. */
export const CONSUMER_RUNNING = 0;
/** The consumer waits on WRITE_INDEX; the producer wakes it after a write. */
export const CONSUMER_SLEEPING = 1;

/** Smallest, largest and default data capacity in bytes (see src/defaults.ts). */
export { MIN_QUEUE_CAPACITY as MIN_CAPACITY, MAX_QUEUE_CAPACITY as MAX_CAPACITY, DEFAULT_QUEUE_CAPACITY as DEFAULT_CAPACITY } from '../defaults.js';

/** Allocate a ring buffer (header + data) for `capacity` data bytes. */
export function allocateRing(capacity: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + capacity);
}

/** Data capacity of a ring buffer made by `allocateRing`. */
export function ringCapacity(sab: SharedArrayBuffer): number {
  return sab.byteLength - HEADER_BYTES;
}

/** Rebuild a full position from its published low 32 bits and a full position within 2^31 of it. */
export function widen(low32: number, near: number): number {
  return near + ((low32 - near) | 0);
}
