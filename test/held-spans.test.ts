/**
 * Held spans: a span writes nothing until it ends (then start, status and
 * end go as one reservation), unless it gets an event or a link, lives past
 * the flush interval, or a flush, shutdown or exit asks for it.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT_CONTEXT, SpanStatusCode, trace } from '@opentelemetry/api';
import { TraceDispatcher } from '../src/index.js';
import { OpenSpans, type HeldSpan } from '../src/capture/open-spans.js';
import { RingTracerProvider } from '../src/capture/ring-tracer-provider.js';
import { LevelHint } from '../src/filter/level-hint.js';
import { TargetFilter } from '../src/filter/target-filter.js';
import { resolveOptions } from '../src/options.js';
import { RecordEncoder } from '../src/encoder/record-encoder.js';
import { allocateRing, MIN_CAPACITY } from '../src/ring/layout.js';
import { RingWriter } from '../src/ring/ring-writer.js';
import type { MemorySinkContents } from '../src/sinks/memory-sink.js';

function bare(publishAfterMs = 60_000): { provider: RingTracerProvider; writer: RingWriter; encoder: RecordEncoder } {
  const o = resolveOptions({});
  const writer = new RingWriter(allocateRing(MIN_CAPACITY));
  const encoder = new RecordEncoder(writer);
  const hint = new LevelHint();
  hint.update([TargetFilter.parse('trace')]);
  return { provider: new RingTracerProvider({ encoder: encoder, hint: hint, limits: o.spanLimits, sampler: o.sampler, spanLevel: o.spanLevel, publishAfterMs: publishAfterMs }), writer, encoder };
}

t.test('a held span writes nothing until its end, then its records as one reservation', async (t) => {
  const { provider, writer } = bare();
  t.teardown(() => provider.close());
  const tracer = provider.getTracer('held');
  const span = tracer.startSpan('op', { attributes: { a: 1 } });
  span.setAttribute('b', 'two');
  span.setStatus({ code: SpanStatusCode.ERROR, message: 'bad' });
  span.updateName('op renamed');
  t.equal(writer.counts().offered, 0, 'nothing written while held');
  const position = writer.writePosition;
  span.end();
  t.same(writer.counts(), { offered: 3, written: 3, dropped: 0, oversize: 0, refused: 0 }, 'start, status and end: three records');
  t.ok(writer.writePosition > position, 'in one reservation');
  const plain = tracer.startSpan('plain');
  plain.end();
  t.equal(writer.counts().written, 5, 'without a status: start and end');
});

t.test('a held span keeps the start attributes as they were at the start, as the SDK does', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'trace' }] });
  t.teardown(() => d.shutdown());
  const attributes: Record<string, string | number> = { route: '/a', n: 1 };
  const span = d.tracerProvider.getTracer('held').startSpan('op', { attributes });
  attributes['route'] = '/changed';
  attributes['added'] = 'later';
  span.end();
  await d.flush();
  const start = (await d.inspectSink<MemorySinkContents>('mem')).records.find((r) => r.kind === 'spanStart');
  t.same(start !== undefined && start.kind === 'spanStart' ? { ...start.attributes } : undefined, { route: '/a', n: 1 });
});

t.test('start attributes are the object own enumerable keys, whatever its prototype', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'trace' }] });
  t.teardown(() => d.shutdown());
  const tracer = d.tracerProvider.getTracer('own-keys');
  const inherited = Object.assign(Object.create({ inherited: 'no', alsoInherited: 2 }) as Record<string, unknown>, { own: 'yes' });
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: 'two' });
  class Request {
    method = 'GET';
    get computed(): string {
      return 'not own';
    }
  }
  const cases: [string, object, Record<string, unknown>][] = [
    ['inherited', inherited, { own: 'yes' }],
    ['null prototype', bare, { a: 1, b: 'two' }],
    ['class instance', new Request(), { method: 'GET' }],
  ];
  for (const [name, attributes] of cases) tracer.startSpan(name, { attributes: attributes as never }).end();
  await d.flush();
  const records = (await d.inspectSink<MemorySinkContents>('mem')).records;
  for (const [name, , expected] of cases) {
    const start = records.find((r) => r.kind === 'spanStart' && r.span.name === name);
    t.same(start !== undefined && start.kind === 'spanStart' ? { ...start.attributes } : undefined, expected, name);
  }
});

t.test('an event, a link, or links at start publish the span at once', async (t) => {
  const { provider, writer } = bare();
  t.teardown(() => provider.close());
  const tracer = provider.getTracer('held');
  const a = tracer.startSpan('a');
  a.setStatus({ code: SpanStatusCode.OK });
  a.addEvent('e');
  t.equal(writer.counts().written, 3, 'start, the status set so far, and the event');
  const b = tracer.startSpan('b');
  b.addLink({ context: a.spanContext() });
  t.equal(writer.counts().written, 5, 'start and link');
  tracer.startSpan('c', { links: [{ context: a.spanContext() }] });
  t.equal(writer.counts().written, 7, 'links in the options: start and link');
  a.setAttribute('k', 1);
  t.equal(writer.counts().written, 8, 'after publication every call is written as it happens');
});

t.test('the drops of a held span are counted per record', async (t) => {
  const { provider, writer, encoder } = bare();
  t.teardown(() => provider.close());
  const span = provider.getTracer('held').startSpan('op');
  span.setStatus({ code: SpanStatusCode.ERROR });
  // Fill the ring (no consumer): the next reservation is dropped.
  while (encoder.event(3, 0, 'fill', 'x'.repeat(200), undefined, null));
  const before = writer.counts();
  span.end();
  const after = writer.counts();
  t.equal(after.dropped - before.dropped, 3, 'start, status and end dropped and counted');
  t.equal(after.offered, after.written + after.dropped + after.oversize, 'offered == written + dropped + oversize');
});

t.test('a span open longer than the flush interval is published by the timer', async (t) => {
  const d = await TraceDispatcher.start({ flushIntervalMs: 20, sinks: [{ name: 'mem', sink: 'memory', filter: 'trace' }] });
  t.teardown(() => d.shutdown());
  const span = d.tracerProvider.getTracer('long').startSpan('long request', { attributes: { route: '/slow' } });
  const kinds = async (): Promise<string[]> => (await d.inspectSink<MemorySinkContents>('mem')).records.map((r) => r.kind);
  // inspectSink does not publish (flush does): only the timer can.
  const deadline = Date.now() + 5000;
  while (!(await kinds()).includes('spanStart') && Date.now() < deadline) await sleep(10);
  t.same(await kinds(), ['spanStart'], 'the start arrives while the span is open');
  span.setAttribute('late', true);
  span.end();
  await d.flush();
  t.same(await kinds(), ['spanStart', 'spanAttributes', 'spanEnd']);
});

t.test('flush() and shutdown() publish held spans', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'trace' }] });
  const tracer = d.tracerProvider.getTracer('open');
  const a = tracer.startSpan('open at flush');
  await d.flush();
  const records = (await d.inspectSink<MemorySinkContents>('mem')).records;
  t.same(
    records.map((r) => (r.kind === 'spanStart' ? r.span.name : r.kind)),
    ['open at flush'],
  );
  const before = d.producerStats().written;
  a.end();
  tracer.startSpan('open at shutdown');
  const stats = await d.shutdown();
  t.equal(stats.written - before, 2, "a's end, then the held span's start");
  t.equal(stats.decoded, stats.written, 'and both reached the worker');
});

t.test('through the global API: install() and trace.getTracer', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'trace' }] });
  t.teardown(() => d.shutdown());
  d.install({ replace: true });
  t.teardown(() => d.uninstall());
  const parent = trace.getTracer('api').startSpan('parent');
  const child = trace.getTracer('api').startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, parent));
  child.end();
  parent.end();
  await d.flush();
  const records = (await d.inspectSink<MemorySinkContents>('mem')).records;
  const starts = records.flatMap((r) => (r.kind === 'spanStart' ? [r] : []));
  t.same(
    starts.map((r) => r.span.name),
    ['child', 'parent'],
    'spans arrive as they end',
  );
  t.equal(starts[0]!.span.parentSpanId, parent.spanContext().spanId, 'the child names its parent, written later');
});

t.test('OpenSpans: swap removal, publishing by start time, and a timer only while spans are held', async (t) => {
  const published: string[] = [];
  const open = new OpenSpans(10);
  const make = (name: string, startTime: number): HeldSpan => {
    const s: HeldSpan = {
      heldAt: -1,
      startTime,
      publish: () => {
        published.push(name);
        open.release(s);
      },
    };
    return s;
  };
  const a = make('a', 1);
  const b = make('b', 5);
  const c = make('c', 2);
  const e = make('e', 9);
  for (const s of [a, b, c, e]) open.hold(s);
  open.release(a);
  t.equal(open.size, 3);
  t.equal(a.heldAt, -1);
  t.equal(e.heldAt, 0, 'the last span took the released one’s place');
  open.release(a);
  t.equal(open.size, 3, 'releasing twice is harmless');
  open.publishStartedBy(5);
  t.same(published.sort(), ['b', 'c'], 'the spans started by then');
  t.equal(open.size, 1);
  await sleep(60);
  t.same(published.sort(), ['b', 'c', 'e'], 'the timer published the rest');
  t.equal(open.size, 0);
  open.close();
  open.hold(make('after close', 0));
  await sleep(40);
  t.equal(published.length, 3, 'no timer after close');
  open.publishAll();
  t.same(published.at(-1), 'after close', 'publishAll still works');
});
