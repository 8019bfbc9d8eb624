/**
 * Nothing in a ring can stop the worker (issue 6): fast-check damages real
 * records in a real ring — sizes, kinds, flags, levels, value tags, string
 * references, lengths, any body byte, records cut short — and the real
 * drain loop drains it. The loop never throws and never spins (a bounded
 * number of batches), every record is delivered or counted (`decoded +
 * corrupt == written` while the framing is sound), and records written after
 * the damage arrive whole. A second property feeds values at and around
 * every limit (BigInts past `maxStringLength` among them) through the
 * encoder: nothing it writes is corrupt to the decoder.
 */
import fc from 'fast-check';
import t from 'tap';
import { LevelHint } from '../src/filter/level-hint.js';
import { TargetFilter } from '../src/filter/target-filter.js';
import { RingTracerProvider } from '../src/capture/ring-tracer-provider.js';
import { resolveOptions } from '../src/options.js';
import { RecordEncoder, TRUNCATION_MARKER } from '../src/encoder/record-encoder.js';
import { StringTable } from '../src/encoder/string-table.js';
import type { EventRecord, FieldValue, TraceRecord } from '../src/record/trace-record.js';
import { RecordWalker, RECORD_KIND_OFFSET, RECORD_SIZE_OFFSET } from '../src/ring/framing.js';
import { HEADER_BYTES } from '../src/ring/layout.js';
import { RecordingSink, loopParts } from './fixtures/worker-harness.js';
import { DispatcherHealthReader } from '../workers/dispatcher-health-reader.js';

const RECORDS_PER_RUN = 40;

/**
 * Write a mix of events, pino lines and spans, each carrying its sequence
 * number; returns the ring position where each one's bytes start, and the end.
 */
function writeMix(encoder: RecordEncoder, writer: { writePosition: number }, seqStart: number, count: number): number[] {
  const at: number[] = [];
  const hint = new LevelHint();
  hint.update([TargetFilter.parse('trace')]);
  const o = resolveOptions({});
  const provider = new RingTracerProvider({ encoder: encoder, hint: hint, limits: o.spanLimits, sampler: o.sampler, spanLevel: o.spanLevel, publishAfterMs: o.flushIntervalMs });
  const tracer = provider.getTracer('fuzz');
  for (let i = 0; i < count; i++) {
    const seq = seqStart + i;
    at.push(writer.writePosition);
    switch (seq % 4) {
      case 0:
        encoder.event(3, 1000 + seq, 'app', `event ${seq}`, { seq, big: 12345678901234567890n, list: [1, 'two', true, null], f: 1.5, ok: false }, null);
        break;
      case 1:
        encoder.logLine(1000 + seq, `{"level":30,"msg":"line ${seq}","name":"pino","seq":${seq}}\n`, null);
        break;
      case 2: {
        const span = tracer.startSpan(`span ${seq}`, { attributes: { seq, route: '/a' } });
        span.setAttribute('more', 'x'.repeat(seq % 17));
        span.end();
        break;
      }
      default: {
        const span = tracer.startSpan(`span ${seq}`, { attributes: { seq } });
        span.addEvent('mid', { n: seq });
        span.setStatus({ code: 2, message: 'bad' });
        span.end();
      }
    }
  }
  at.push(writer.writePosition);
  return at;
}

/** The sequence number a delivered record carries, if it is one of ours. */
function seqOf(record: TraceRecord): number | undefined {
  if (record.kind === 'event') return typeof record.fields['seq'] === 'number' ? record.fields['seq'] : undefined;
  if (record.kind === 'spanEnd') return Number(record.span.name.slice('span '.length));
  return undefined;
}

type Damage = { record: number; field: 'size' | 'kind' | 'flags' | 'level' | 'body' | 'cut'; at: number; value: number };

const damageArb: fc.Arbitrary<Damage> = fc.record({
  record: fc.nat(),
  field: fc.constantFrom('size', 'kind', 'flags', 'level', 'body', 'body', 'body', 'cut'),
  at: fc.nat(),
  value: fc.nat({ max: 0xffffffff }),
});

for (const interned of [true, false]) {
  t.test(`byte-level fuzz (${interned ? 'interned' : 'inline'} strings): the worker survives any damage and accounts for every record`, async () => {
    fc.assert(
      fc.property(fc.array(damageArb, { minLength: 1, maxLength: 6 }), (damages) => {
        const p = loopParts({ capacity: 1 << 20 });
        const encoder = new RecordEncoder(p.writer, { strings: new StringTable(interned ? 1024 : 0) });
        const sink = new RecordingSink();
        p.add('s', 'trace', sink);
        const at = writeMix(encoder, p.writer, 0, RECORDS_PER_RUN);
        const end = p.writer.writePosition;
        // Where each record starts, from the sound framing before any damage.
        const walker = new RecordWalker(p.reader.bytes);
        const starts: number[] = [];
        for (let pos = 0; pos < end; pos += walker.sizeAt(pos, end)) starts.push(pos);
        const view = new DataView(p.ring, HEADER_BYTES);
        let firstDamaged = Infinity;
        let lastDamaged = -1;
        for (const d of damages) {
          const index = d.record % starts.length;
          const start = starts[index]!;
          const size = (starts[index + 1] ?? end) - start;
          firstDamaged = Math.min(firstDamaged, start);
          lastDamaged = Math.max(lastDamaged, start);
          switch (d.field) {
            case 'size':
              view.setUint32(start + RECORD_SIZE_OFFSET, d.value % 4 === 0 ? d.value : d.value % 512, true);
              break;
            case 'kind':
              view.setUint8(start + RECORD_KIND_OFFSET, d.value & 0xff);
              break;
            case 'level':
              view.setUint8(start + 5, d.value & 0xff);
              break;
            case 'flags':
              view.setUint16(start + 6, d.value & 0xffff, true);
              break;
            case 'cut':
              // A record cut short: its size says less than its body needs.
              if (size > 8) view.setUint32(start + RECORD_SIZE_OFFSET, Math.max(8, size - 8 * (1 + (d.value % 3))), true);
              break;
            default:
              if (size > 8) view.setUint8(start + 8 + (d.at % (size - 8)), d.value & 0xff);
          }
        }
        const writtenBefore = p.writer.written;
        let batches = 0;
        while (p.reader.position < p.reader.available()) {
          p.loop.drainBatch(64);
          if (++batches > RECORDS_PER_RUN * 4) throw new Error('the drain loop stopped moving');
        }
        const stats = p.loop.stats();
        // Damage to the body, flags or level leaves the framing and the kind alone: then every
        // record is exactly decoded or corrupt (a damaged string definition counts in bytes, as
        // it is no record of its own). A damaged kind can turn a definition into a record or back,
        // and damaged sizes hide where records start: then only bytes can be counted.
        const framingKept = damages.every((d) => d.field === 'body' || d.field === 'flags' || d.field === 'level');
        if (framingKept && stats.decoded + stats.corrupt !== writtenBefore) {
          throw new Error(`decoded ${stats.decoded} + corrupt ${stats.corrupt} != written ${writtenBefore}`);
        }
        // Records wholly before the first damaged one arrive; with nothing
        // interned (no record depends on another's string definitions) and the
        // framing kept, so do those after the last damaged one.
        const seen = new Set(sink.records.map(seqOf));
        for (let seq = 0; seq < RECORDS_PER_RUN; seq++) {
          const before = at[seq + 1]! <= firstDamaged;
          const after = !interned && framingKept && at[seq]! > lastDamaged;
          if ((before || after) && !seen.has(seq)) throw new Error(`record ${seq}, ${before ? 'before' : 'after'} the damage, did not arrive`);
        }
        if (stats.corrupt + stats.corruptBytes > 0 && !sink.records.some((r) => r.kind === 'event' && r.target === 'ringtrace' && r.message.startsWith('records skipped'))) {
          throw new Error('corrupt records were not reported to the sinks');
        }
        // The worker reads on as if nothing happened: records written now all arrive.
        sink.records.length = 0;
        const written = p.writer.written;
        const fresh = new RecordEncoder(p.writer, { strings: new StringTable(0) });
        writeMix(fresh, p.writer, 1000, 8);
        p.loop.drainBatch(1000);
        const after = sink.records.map(seqOf).filter((s): s is number => s !== undefined && s >= 1000);
        if (after.length !== 8) throw new Error(`records written after the damage: ${after.length} of 8 arrived`);
        const now = p.loop.stats();
        if (now.decoded - stats.decoded !== p.writer.written - written) throw new Error('records after the damage were not all decoded');
        if (now.corrupt !== stats.corrupt) throw new Error('records after the damage were counted corrupt');
      }),
      { numRuns: 300 },
    );
  });
}

t.test('corrupt records are reported to the sinks at most once per flush interval, with the count and the first reason', async (t) => {
  let now = 0;
  const p = loopParts({ flushIntervalMs: 100, now: () => now });
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  const encoder = new RecordEncoder(p.writer, { strings: new StringTable(0) });
  const damage = () => {
    const at = p.writer.writePosition;
    encoder.event(3, 1, 'app', 'victim', { v: 1 }, null);
    // The value tag of `v` becomes one no encoder writes.
    const view = new DataView(p.ring, HEADER_BYTES);
    const size = view.getUint32(at, true);
    for (let i = at + 8; i < at + size; i++) if (view.getUint8(i) === 3 /* VALUE_INT */ && view.getUint8(i - 1) === 0x76 /* 'v' */) view.setUint8(i, 99);
  };
  damage();
  damage();
  p.loop.drainBatch(100);
  const notices = () => (sink.records as EventRecord[]).filter((r) => r.target === 'ringtrace');
  t.equal(notices().length, 1);
  t.match(notices()[0], { level: 'error', message: 'records skipped: the worker could not decode them', fields: { corrupt_count: 2, corrupt_bytes: 0, reason: 'unknown value tag 99' } });
  damage();
  p.loop.drainBatch(100);
  t.equal(notices().length, 1, 'within the interval: held back');
  now += 100;
  p.loop.checkCorrupt();
  t.equal(notices().length, 2, 'when the interval is up: the held count goes out');
  t.match(notices()[1], { fields: { corrupt_count: 1 } });
  t.match(p.loop.stats(), { decoded: 0, corrupt: 3, corruptNotices: 2 });
  p.event('fine');
  p.loop.drainBatch(100);
  t.same(sink.messages().at(-1), 'fine');
});

t.test('a bad record, a bad string reference or an unknown kind is counted, not thrown', async (t) => {
  const p = loopParts();
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  const view = new DataView(p.ring, HEADER_BYTES);
  // An unknown kind, on the event record (its reservation starts with the string definitions).
  p.event('a');
  const records: number[] = [];
  const walker = new RecordWalker(p.reader.bytes);
  for (let pos = 0; pos < p.writer.writePosition; pos += walker.sizeAt(pos, p.writer.writePosition)) records.push(pos);
  view.setUint8(records.at(-1)! + RECORD_KIND_OFFSET, 77);
  // A reference to a string never defined.
  const at = p.writer.writePosition;
  p.event('b');
  const refs = new Uint8Array(p.ring, HEADER_BYTES + at, p.writer.writePosition - at);
  // The target 'app' is interned: its reference is STR_REF (1) then a u32 id; point it past the table.
  for (let i = 8 + 8; i < refs.length - 5; i++) {
    if (refs[i] === 1) {
      view.setUint32(at + i + 1, 4000, true);
      break;
    }
  }
  p.event('c');
  p.loop.drainBatch(100);
  t.same(sink.messages().filter((m) => !m.startsWith('records skipped')), ['c']);
  t.match(p.loop.stats(), { decoded: 1, corrupt: 2, corruptBytes: 0 });
  t.equal(p.loop.stats().decoded + p.loop.stats().corrupt, p.writer.written);
});

// ── values at and around every limit ──────────────────────────────────────

const MAX = 64;

const valueArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.bigInt({ min: -(10n ** BigInt(MAX + 40)), max: 10n ** BigInt(MAX + 40) }),
  fc.integer({ min: 0, max: MAX + 40 }).map((digits) => (digits === 0 ? 0n : 10n ** BigInt(digits - 1) * 7n)),
  fc.integer({ min: 0, max: MAX + 40 }).map((digits) => -(10n ** BigInt(digits))),
  fc.integer({ min: MAX - 3, max: MAX + 3 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: MAX - 3, max: MAX + 3 }).map((n) => 'é'.repeat(n)),
  fc.integer({ min: MAX - 3, max: MAX + 3 }).map((n) => '😀'.repeat(n)),
  fc.string({ maxLength: MAX + 8, unit: 'binary' }),
  fc.double(),
  fc.integer(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -0, NaN, Infinity, -Infinity, 2 ** 53 + 2, null, undefined, true, false),
  fc.array(fc.oneof(fc.integer(), fc.string({ maxLength: MAX + 4 }), fc.bigInt(), fc.boolean(), fc.constant(null)), { maxLength: 12 }),
  fc.array(fc.array(fc.integer(), { maxLength: 3 }), { maxLength: 3 }),
  fc.object({ maxDepth: 2 }),
);

t.test('value fuzz: every value the encoder writes decodes, at and around every limit', async () => {
  fc.assert(
    fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: MAX + 4 }), valueArb, { maxKeys: 12 }), fc.boolean(), (fields, inline) => {
      const p = loopParts();
      const encoder = new RecordEncoder(p.writer, { maxStringLength: MAX, maxArrayLength: 8, strings: new StringTable(inline ? 0 : 64) });
      const sink = new RecordingSink();
      p.add('s', 'trace', sink);
      encoder.event(3, 1, 'app', 'values', fields, null);
      p.loop.drainBatch(100);
      const stats = p.loop.stats();
      if (stats.corrupt !== 0 || stats.corruptBytes !== 0) throw new Error(`the encoder wrote a record the decoder could not read: ${JSON.stringify(sink.records.at(-1))}`);
      if (stats.decoded !== p.writer.written) throw new Error('decoded != written');
      const [record] = sink.records as EventRecord[];
      if (p.writer.written === 1 && record === undefined) throw new Error('nothing delivered');
      if (record === undefined) return;
      for (const [key, value] of Object.entries(fields)) {
        const k = key.length > MAX ? undefined : key;
        if (k === undefined || typeof value !== 'bigint') continue;
        const got: FieldValue | undefined = record.fields[k];
        const digits = value.toString();
        if (digits.length <= MAX) {
          if (got !== value) throw new Error(`BigInt ${digits} came back as ${String(got)}`);
        } else if (got !== `${digits.slice(0, MAX)}${TRUNCATION_MARKER}${digits.length - MAX}]`) {
          throw new Error(`a BigInt of ${digits.length} digits came back as ${String(got)}`);
        }
      }
    }),
    { numRuns: 500 },
  );
});

t.test('a BigInt longer than maxStringLength travels as a cut string, not a broken BigInt', async (t) => {
  const p = loopParts();
  const encoder = new RecordEncoder(p.writer, { maxStringLength: 16 });
  const sink = new RecordingSink();
  p.add('s', 'trace', sink);
  encoder.event(3, 1, 'app', 'big', { v: 12345678901234567890n, w: 1234567890123456n }, null);
  p.loop.drainBatch(10);
  t.same({ ...(sink.records[0] as EventRecord).fields }, { v: `1234567890123456${TRUNCATION_MARKER}4]`, w: 1234567890123456n });
  t.equal(p.loop.stats().corrupt, 0);
});

t.test('SinkContext.stats() walks the ring through the guarded walker: a record whose size reads 0 cannot spin it', async (t) => {
  const p = loopParts();
  const health = new DispatcherHealthReader(p.reader, p.loop, p.fanOut, () => 0);
  p.event('one');
  const at = p.writer.writePosition;
  p.event('two');
  p.event('three');
  t.equal(health.read().queueRecords, 3);
  new DataView(p.ring, HEADER_BYTES).setUint32(at, 0, true);
  const started = performance.now();
  const h = health.read();
  t.ok(performance.now() - started < 1000, 'it returned');
  t.equal(h.queueRecords, 1, 'it counts up to the unsound record and stops there');
  t.equal(h.written, 1, 'written is rebuilt from what can be counted');
});
