/**
 * The worker's open span table (src/decoder/open-span-table.ts) against a Map
 * doing the same operations: slots, the overflow Map and the move between
 * them must never lose, duplicate or misfile a span.
 */
import fc from 'fast-check';
import t from 'tap';
import { OpenSpanTable } from '../src/decoder/open-span-table.js';

interface Span {
  handle: number;
}

type Op = { end: number } | { start: number };

/**
 * Apply `ops` to a table and to a Map (the model: insertion order is start
 * order, the oldest evicted first); handles start at `base` and go up by one
 * a start, as the producer numbers them (wrapping at 2^32).
 */
function check(maxOpen: number, base: number, ops: Op[], skips: boolean): void {
  const expect = (ok: boolean, what: string): void => {
    if (!ok) throw new Error(what);
  };
  const table = new OpenSpanTable<Span>(maxOpen);
  const model = new Map<number, Span>();
  let next = base;
  for (const op of ops) {
    if ('start' in op) {
      // A skipped handle: that span's start never reached the worker.
      if (skips) next = (next + op.start) >>> 0;
      const span = { handle: next };
      const full = model.size >= maxOpen;
      const evicted = table.add(next, span);
      expect((evicted !== undefined) === full, `evicts only at the bound (${next})`);
      if (evicted !== undefined) {
        // Without skips, exactly the oldest; with them, some open span.
        if (!skips) expect(evicted === model.values().next().value, `evicts the oldest at ${next}`);
        expect(model.get(evicted.handle) === evicted, `evicted an open span at ${next}`);
        model.delete(evicted.handle);
      }
      model.set(next, span);
      next = (next + 1) >>> 0;
    } else if (model.size > 0) {
      // End one of the open spans: op.end picks which.
      const handles = [...model.keys()];
      const handle = handles[op.end % handles.length]!;
      expect(table.get(handle) === model.get(handle), `finds ${handle}`);
      expect(table.delete(handle), `deletes ${handle}`);
      expect(!table.delete(handle), `a second delete of ${handle} finds nothing`);
      model.delete(handle);
    }
    expect(table.size === model.size, `size ${table.size}, expected ${model.size}`);
  }
  for (const [handle, span] of model) expect(table.get(handle) === span, `lost span ${handle}`);
  const values = [...table.values()];
  expect(values.length === model.size && values.every((v) => model.get(v.handle) === v), 'values() is the open spans');
}

// Starts outnumber ends two to one, so the table fills to its bound and past its slots.
const opArb: fc.Arbitrary<Op> = fc.oneof({ arbitrary: fc.record({ start: fc.nat(3000) }), weight: 2 }, { arbitrary: fc.record({ end: fc.nat() }), weight: 1 });
const maxOpenArb = fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 5000 }));

t.test('matches a Map: starts in order, spans ended in any order, long-lived spans past the slots', async (t) => {
  fc.assert(
    fc.property(maxOpenArb, fc.array(opArb, { maxLength: 3000, size: 'large' }), (maxOpen, ops) => {
      check(maxOpen, 0, ops, false);
    }),
    { numRuns: 60 },
  );
  t.pass();
});

t.test('handles that skip (dropped starts) and wrap at 2^32 keep every span and the bound', async (t) => {
  fc.assert(
    fc.property(maxOpenArb, fc.array(opArb, { maxLength: 1000, size: 'large' }), (maxOpen, ops) => {
      check(maxOpen, 2 ** 32 - 1500, ops, true);
    }),
    { numRuns: 60 },
  );
  t.pass();
});

t.test('a span open across 2,000 later ones moves out of its slot and is still found', async (t) => {
  const table = new OpenSpanTable<Span>(100_000);
  const long = { handle: 7 };
  table.add(7, long);
  for (let h = 8; h < 2_008; h++) {
    table.add(h, { handle: h });
    table.delete(h);
  }
  t.equal(table.size, 1);
  t.equal(table.get(7), long);
  t.equal(table.get(7 + 1024), undefined, 'the handle that took its slot has ended');
  t.equal(table.delete(7), true);
  t.equal(table.size, 0);
});

t.test('maxOpen 1: each start evicts the span before', async (t) => {
  const table = new OpenSpanTable<Span>(1);
  const a = { handle: 1 };
  const b = { handle: 2 };
  t.equal(table.add(1, a), undefined);
  t.equal(table.add(2, b), a);
  t.equal(table.get(1), undefined);
  t.equal(table.get(2), b);
  t.equal(table.size, 1);
});

t.test('a handle added again replaces its span without counting it twice', async (t) => {
  const table = new OpenSpanTable<Span>(10);
  table.add(5, { handle: 5 });
  const again = { handle: 5 };
  t.equal(table.add(5, again), undefined);
  t.equal(table.size, 1);
  t.equal(table.get(5), again);
});
