// Re-entrancy: an instrumentation, getter or pino hook that records while
// ringtrace is recording must not corrupt the record being encoded nor
// recurse without bound; what is refused is counted (as a drop, `refused`).
import t from 'tap';
import { pino } from 'pino';
import { LevelHint } from '../src/filter/level-hint.js';
import { TargetFilter } from '../src/filter/target-filter.js';
import { RecordDecoder } from '../src/decoder/record-decoder.js';
import { RecordEncoder } from '../src/encoder/record-encoder.js';
import type { EventRecord, SpanStartRecord, TraceRecord } from '../src/record/trace-record.js';
import { allocateRing, MIN_CAPACITY } from '../src/ring/layout.js';
import { RingReader } from '../src/ring/ring-reader.js';
import { RingWriter } from '../src/ring/ring-writer.js';
import { resolveOptions } from '../src/options.js';
import { RingTracerProvider } from '../src/capture/ring-tracer-provider.js';
import { createPinoDestination } from '../src/capture/pino-destination.js';
import { EventLogger } from '../src/capture/event-logger.js';
import { readRing } from './fixtures/ring-records.js';

function producer() {
  const sab = allocateRing(MIN_CAPACITY);
  const writer = new RingWriter(sab);
  const reader = new RingReader(sab);
  const encoder = new RecordEncoder(writer);
  const decoder = new RecordDecoder(reader.bytes);
  const hint = new LevelHint();
  hint.update([TargetFilter.parse('trace')]);
  const o = resolveOptions({});
  const provider = new RingTracerProvider({ encoder: encoder, hint: hint, limits: o.spanLimits, sampler: o.sampler, spanLevel: o.spanLevel, publishAfterMs: o.flushIntervalMs });
  const read = (): TraceRecord[] => readRing(reader, decoder).filter((r): r is TraceRecord => typeof r === 'object');
  return { writer, encoder, hint, provider, read };
}

t.test('a span attribute whose getter starts and ends a span', async (t) => {
  const p = producer();
  const tracer = p.provider.getTracer('outer-lib');
  let inner: ReturnType<typeof tracer.startSpan> | undefined;
  let reads = 0;
  const attributes = {
    a: 1,
    get b(): string {
      reads++;
      inner = tracer.startSpan('inner');
      inner.end();
      return 'two';
    },
  };
  // A getter on a plain object: read once, by the span's checks, outside the
  // encoder (a span keeps its attributes until it is written).
  const span = tracer.startSpan('outer', { attributes });
  span.end();
  t.equal(reads, 1, 'the getter ran once');
  const records = p.read();
  const starts = records.filter((r): r is SpanStartRecord => r.kind === 'spanStart');
  t.ok(starts.some((r) => r.span.name === 'outer' && r.attributes['b'] === 'two'), 'the outer span is whole');
  const c = p.writer.counts();
  t.equal(c.refused, 0, 'the inner span was made outside the encoder: nothing refused');
  t.equal(c.offered, c.written + c.dropped + c.oversize, 'offered == written + dropped + oversize');
  const innerStart = starts.some((r) => r.span.name === 'inner');
  const innerEnd = records.some((r) => r.kind === 'spanEnd' && r.span.name === 'inner');
  t.ok(innerStart && innerEnd, 'the inner span is whole');
});

t.test('an event field getter that logs through the same logger, recursively', async (t) => {
  const p = producer();
  const log = new EventLogger('app', p.encoder, p.hint);
  let depth = 0;
  const fields = {
    get nested(): number {
      // Unbounded recursion if it were allowed: every level logs again.
      if (depth++ < 1000) log.info('from a getter', fields);
      return depth;
    },
  };
  log.info('outer', fields);
  const events = p.read() as EventRecord[];
  t.equal(events.length, 1, 'only the outer event is written');
  t.equal(events[0]!.message, 'outer');
  t.equal(depth, 1, 'the getter ran once: the refused inner call did not read the fields');
  t.equal(p.writer.counts().refused, 1);
});

t.test('a pino serializer that logs through the same pino logger', async (t) => {
  const p = producer();
  const dest = createPinoDestination(p.encoder, p.hint);
  let calls = 0;
  const logger: pino.Logger = pino(
    {
      name: 'http',
      serializers: {
        req(value: unknown) {
          // A serializer that logs: pino serialises before it writes, so this
          // nested line is written first and is not a re-entrant encode.
          if (calls++ === 0) logger.warn('from a serializer');
          return value;
        },
      },
    },
    dest,
  );
  logger.info({ req: { url: '/x' } }, 'request');
  const events = p.read() as EventRecord[];
  t.same(
    events.map((e) => e.message),
    ['from a serializer', 'request'],
    'both lines arrive, whole, in the order pino wrote them',
  );
  t.equal(p.writer.counts().refused, 0, 'nothing refused: pino never writes while ringtrace encodes');
});
