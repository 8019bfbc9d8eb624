/**
 * The exit handshake: how the producer's thread, about to exit, gets a last
 * synchronous drain out of the consumer.
 *
 *   producer (exiting, blocks)                 consumer (worker, keeps running)
 *   EXIT_REQUEST = 1
 *   notify(WRITE_INDEX) ───── wakes a sleep ──► sees EXIT_REQUEST between batches
 *   wait(EXIT_ACK, 0, ≤ deadline)              drains the ring, flushes every sink
 *                       ◄──── notify(EXIT_ACK) EXIT_ACK = 1
 *
 * The producer never waits past its deadline: a worker that is dead, stuck or
 * slower than the deadline costs the exiting process at most that long.
 */
import { EXIT_ACK, EXIT_REQUEST, HEADER_BYTES, WRITE_INDEX } from './layout.js';

export class ExitHandshake {
  readonly #header: Int32Array;

  constructor(ring: SharedArrayBuffer) {
    this.#header = new Int32Array(ring, 0, HEADER_BYTES / 4);
  }

  // ── producer side ──────────────────────────────────────────────────────

  /**
   * Ask the consumer for a final drain and flush, and block this thread until
   * it acknowledges or `timeoutMs` passes. Returns whether it acknowledged.
   */
  request(timeoutMs: number): boolean {
    const header = this.#header;
    Atomics.store(header, EXIT_REQUEST, 1);
    // Wake a consumer sleeping on WRITE_INDEX whatever its value.
    Atomics.notify(header, WRITE_INDEX);
    const deadline = performance.now() + timeoutMs;
    while (Atomics.load(header, EXIT_ACK) === 0) {
      const left = deadline - performance.now();
      if (left <= 0) return false;
      Atomics.wait(header, EXIT_ACK, 0, left);
    }
    return true;
  }

  // ── consumer side ──────────────────────────────────────────────────────

  /** Whether the producer asked for a final drain that is not yet acknowledged. */
  get requested(): boolean {
    return Atomics.load(this.#header, EXIT_REQUEST) !== 0 && Atomics.load(this.#header, EXIT_ACK) === 0;
  }

  /** Tell the waiting producer that everything it wrote is drained and flushed. */
  acknowledge(): void {
    Atomics.store(this.#header, EXIT_ACK, 1);
    Atomics.notify(this.#header, EXIT_ACK);
  }
}
