import t from 'tap';
import type { TraceRecord } from '../src/record/trace-record.js';
import createMemorySink, { MemorySink } from '../src/sinks/memory-sink.js';

const ev = (i: number): TraceRecord => ({ kind: 'event', time: i, level: 'info', target: 't', message: String(i), fields: Object.create(null), traceId: undefined, spanId: undefined });

t.test('keeps records, counts flushes and close', async (t) => {
  const sink = createMemorySink(undefined, { name: 'm' }) as MemorySink;
  sink.consume(ev(1));
  sink.consume(ev(2));
  sink.flush();
  sink.close();
  t.same(sink.inspect(), { records: [ev(1), ev(2)], flushes: 1, closed: true, discarded: 0 });
});

t.test('past the limit the oldest are discarded and counted', async (t) => {
  const sink = new MemorySink({ limit: 2 });
  for (let i = 0; i < 5; i++) sink.consume(ev(i));
  const c = sink.inspect();
  t.same(c.records.map((r) => (r as { message: string }).message), ['3', '4']);
  t.equal(c.discarded, 3);
});

t.test('a bad limit is a RangeError naming it', async (t) => {
  for (const limit of [0, -1, 1.5, NaN]) t.throws(() => new MemorySink({ limit }), { name: 'RangeError', message: /memory\.limit/ });
});
