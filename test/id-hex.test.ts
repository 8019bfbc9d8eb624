/**
 * Ids to hex on the worker (src/decoder/id-hex.ts): the table-made hex
 * against Buffer#toString('hex'), and the memo of the last ids, which must
 * never answer with a remembered id for a different one.
 */
import fc from 'fast-check';
import t from 'tap';
import { IdHex, hex16, hex8 } from '../src/decoder/id-hex.js';

t.test('hex8 and hex16 give what Buffer#toString("hex") gives, at any offset', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 16, maxLength: 40 }), fc.nat(24), (bytes, at) => {
      const p = at % (bytes.length - 15);
      const buf = Buffer.from(bytes);
      if (hex16(bytes, p) !== buf.toString('hex', p, p + 16)) throw new Error(`hex16 at ${p}`);
      if (hex8(bytes, p) !== buf.toString('hex', p, p + 8)) throw new Error(`hex8 at ${p}`);
    }),
  );
  t.equal(hex16(new Uint8Array(16).fill(0xff), 0), 'f'.repeat(32));
  t.equal(hex8(Uint8Array.from([0, 1, 0x0a, 0x10, 0x7f, 0x80, 0xab, 0xfe]), 0), '00010a107f80abfe');
});

/**
 * Ids from a small pool, so they repeat as a trace's do: each a base id with
 * at most one byte changed, so ids differing in a single word (any of them)
 * follow each other, and the all-zero id (what the memo starts holding).
 */
function idPool(bytes: number): fc.Arbitrary<Uint8Array[]> {
  const id = fc.tuple(fc.uint8Array({ minLength: bytes, maxLength: bytes }), fc.nat(bytes - 1), fc.integer({ min: 0, max: 255 }), fc.boolean());
  return fc
    .array(id, { minLength: 1, maxLength: 4 })
    .map((specs) => {
      const pool = [new Uint8Array(bytes)];
      for (const [base, at, value, zeroBase] of specs) {
        const a = zeroBase ? new Uint8Array(bytes) : Uint8Array.from(base);
        const b = Uint8Array.from(a);
        b[at] = value;
        pool.push(a, b);
      }
      return pool;
    });
}

t.test('IdHex answers every id as its own hex, however ids repeat and alternate', async () => {
  const sequence = fc.tuple(idPool(16), idPool(8)).chain(([traces, spans]) =>
    fc.array(
      fc.oneof(
        fc.nat(traces.length - 1).map((i) => ({ bytes: traces[i]! })),
        fc.nat(spans.length - 1).map((i) => ({ bytes: spans[i]! })),
      ),
      { minLength: 1, maxLength: 40 },
    ),
  );
  fc.assert(
    fc.property(sequence, fc.nat(7), (ids, offset) => {
      // All the ids laid out in one region, as records are, read in order.
      const region = new Uint8Array(offset + ids.reduce((n, id) => n + id.bytes.length, 0));
      const ids$ = new IdHex(region);
      let p = offset;
      for (const { bytes } of ids) {
        region.set(bytes, p);
        const got = bytes.length === 16 ? ids$.traceId(p) : ids$.spanId(p);
        const want = Buffer.from(bytes).toString('hex');
        if (got !== want) throw new Error(`at ${p}: ${got}, want ${want}`);
        p += bytes.length;
      }
    }),
    { numRuns: 2000 },
  );
});
