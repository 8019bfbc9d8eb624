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

t.test('a full sink keeps the newest `limit` records in order, however often it wraps', async (t) => {
  const sink = new MemorySink({ limit: 3 });
  const seen: string[][] = [];
  for (let i = 0; i < 10; i++) {
    sink.consume(ev(i));
    seen.push(sink.records.map((r) => (r as { message: string }).message));
  }
  t.same(seen.slice(2), [
    ['0', '1', '2'],
    ['1', '2', '3'],
    ['2', '3', '4'],
    ['3', '4', '5'],
    ['4', '5', '6'],
    ['5', '6', '7'],
    ['6', '7', '8'],
    ['7', '8', '9'],
  ]);
  t.equal(sink.discarded, 7);
  const big = new MemorySink({ limit: 1000 });
  for (let i = 0; i < 200_000; i++) big.consume(ev(i));
  const kept = big.inspect().records;
  t.equal(kept.length, 1000);
  t.equal((kept[0] as { message: string }).message, '199000');
  t.equal((kept[999] as { message: string }).message, '199999');
  t.equal(big.inspect().discarded, 199_000);
});

t.test('a bad limit is a RangeError naming it', async (t) => {
  for (const limit of [0, -1, 1.5, NaN]) t.throws(() => new MemorySink({ limit }), { name: 'RangeError', message: /memory\.limit/ });
});
