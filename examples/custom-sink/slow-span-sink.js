// A custom ringtrace sink: reports spans slower than a threshold, and error
// events, to a file. It is the example of docs/sinks.md ("Writing a sink").
//
// A sink module's default export is a factory `(options, context) => sink`.
// It runs in the dispatcher's worker thread, never in the application's.
import { appendFile } from 'node:fs/promises';

/**
 * @param {{ path: string, thresholdMs?: number }} options from the sink spec
 * @param {import('ringtrace').SinkContext} context the sink's name, and more
 * @returns {import('ringtrace').TraceSink}
 */
export default function createSlowSpanSink(options, context) {
  // Validate every option up front, naming the option and the value: a throw
  // here makes `TraceDispatcher.start()` (or `addSink`) reject with a SinkError.
  const { path, thresholdMs = 100 } = options ?? {};
  if (typeof path !== 'string' || path === '') {
    throw new TypeError(`slow-span sink ${context.name}: option path must be a file path, got ${JSON.stringify(path)}`);
  }
  if (typeof thresholdMs !== 'number' || !(thresholdMs >= 0)) {
    throw new RangeError(`slow-span sink ${context.name}: option thresholdMs must be a number >= 0, got ${JSON.stringify(thresholdMs)}`);
  }

  let pending = []; // lines waiting for the next flush
  const counts = { spans: 0, slowSpans: 0, errorEvents: 0, flushes: 0 };

  return {
    // Called once per record that passed this sink's filter, in ring order.
    // Synchronous and quick: keep what you need, do the I/O in flush().
    consume(record) {
      switch (record.kind) {
        case 'spanEnd': {
          counts.spans++;
          const durationMs = record.time - record.span.startTime;
          if (durationMs >= thresholdMs) {
            counts.slowSpans++;
            pending.push(`SLOW ${record.span.target} ${record.span.name} ${durationMs.toFixed(1)}ms trace=${record.span.traceId}`);
          }
          break;
        }
        case 'event':
          if (record.level === 'error') {
            counts.errorEvents++;
            pending.push(`ERROR ${record.target} ${record.message}${record.traceId ? ` trace=${record.traceId}` : ''}`);
          }
          break;
        default:
          break; // spanStart, spanAttributes, spanEvent, ...: not needed here
      }
    },

    // Called periodically, when the ring runs empty, on dispatcher.flush(),
    // and before close(). May be async; a rejection is counted in the sink's
    // flushFailures and reported, and the lines stay for the next flush.
    async flush() {
      counts.flushes++;
      if (pending.length === 0) return;
      const lines = pending;
      pending = [];
      try {
        await appendFile(path, lines.join('\n') + '\n');
      } catch (error) {
        pending = lines.concat(pending);
        throw error;
      }
    },

    // Called once, after a final flush, at shutdown or removeSink(): release
    // files and sockets here. Nothing to release: appendFile opens and closes.
    async close() {
      await appendFile(path, `SUMMARY ${JSON.stringify(counts)}\n`);
    },

    // Optional: what dispatcher.inspectSink(name) returns (structured-cloneable).
    inspect() {
      return { ...counts };
    },
  };
}
