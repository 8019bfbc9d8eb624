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
  readonly records: TraceRecord[] = [];
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
    if (this.records.length >= this.limit) {
      this.records.shift();
      this.discarded++;
    }
    this.records.push(record);
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
