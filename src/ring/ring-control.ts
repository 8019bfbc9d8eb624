/**
 * RingControl: the application thread's reads of the consumer-owned header
 * words, for the worker supervisor. The one write it makes to them happens
 * only once the consumer thread has exited, when nothing else writes them.
 */
import { DECODED_HIGH, DECODED_LOW, FLUSHED_HIGH, FLUSHED_LOW, HEADER_BYTES, loadCount, storeCount } from './layout.js';

export class RingControl {
  readonly #header: Int32Array;

  constructor(ring: SharedArrayBuffer) {
    this.#header = new Int32Array(ring, 0, HEADER_BYTES / 4);
  }

  /** Records every consumer of this ring has handed to the sinks so far. */
  decoded(): number {
    return loadCount(this.#header, DECODED_LOW, DECODED_HIGH);
  }

  /**
   * Call once the consumer thread has exited: the records it handed to the
   * sinks after the last flush round every sink completed, which it may
   * have lost in flight. They are marked flushed, so a later death does not
   * count them again; its successor resumes after them (TAKEN_INDEX), so
   * none is delivered twice.
   */
  settleExitedConsumer(): number {
    const decoded = this.decoded();
    const flushed = loadCount(this.#header, FLUSHED_LOW, FLUSHED_HIGH);
    storeCount(this.#header, FLUSHED_LOW, FLUSHED_HIGH, decoded);
    return Math.max(0, decoded - flushed);
  }
}
