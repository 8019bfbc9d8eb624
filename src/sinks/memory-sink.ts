/**
 * `memory`: keeps every record it receives, for tests. The application's
 * thread reads them back with `dispatcher.inspectSink(name)`.
 *
 * Options: `{ limit?: number }`, the most records kept (default 1,000,000);
 * past it the oldest are discarded and counted in `inspect().discarded`.
 */
import { invalidOptionRange } from '../errors.js';
import type { TraceRecord } from '../record/trace-record.js';
import type { SinkFactory, TraceSink } from './trace-sink.js';

export interface MemorySinkOptions {
  limit?: number;
}

export interface MemorySinkContents {
  records: TraceRecord[];
  flushes: number;
  closed: boolean;
  discarded: number;
}

export class MemorySink implements TraceSink {
  /**
   * Kept records. Once `limit` is reached this is a circular buffer: the
   * oldest record sits at `#head` and is overwritten by the next one, so a
   * full sink costs O(1) per record (an `Array#shift` would move them all).
   */
  readonly #kept: TraceRecord[] = [];
  #head = 0;
  readonly limit: number;
  flushes = 0;
  closed = false;
  discarded = 0;

  constructor(options: MemorySinkOptions = {}) {
    const limit = options.limit ?? 1_000_000;
    if (!Number.isInteger(limit) || limit < 1) throw invalidOptionRange('memory.limit', 'a positive integer', limit);
    this.limit = limit;
  }

  consume(record: TraceRecord): void {
    if (this.#kept.length < this.limit) {
      this.#kept.push(record);
      return;
    }
    this.#kept[this.#head] = record;
    this.#head = this.#head + 1 === this.limit ? 0 : this.#head + 1;
    this.discarded++;
  }

  /** The kept records, oldest first. */
  get records(): TraceRecord[] {
    return this.#head === 0 ? this.#kept.slice() : [...this.#kept.slice(this.#head), ...this.#kept.slice(0, this.#head)];
  }

  flush(): void {
    this.flushes++;
  }

  close(): void {
    this.closed = true;
  }

  inspect(): MemorySinkContents {
    return { records: this.records, flushes: this.flushes, closed: this.closed, discarded: this.discarded };
  }
}

const createMemorySink: SinkFactory<MemorySinkOptions | undefined> = (options) => new MemorySink(options ?? {});
export default createMemorySink;
