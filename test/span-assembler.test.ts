import t from 'tap';
import { SpanAssembler, type AssembledSpan } from '../src/sinks/span-assembler.js';
import type { Fields, SpanInfo, TraceRecord } from '../src/record/trace-record.js';

let nextId = 1;
function info(name: string, over: Partial<SpanInfo> = {}): SpanInfo {
  const id = (nextId++).toString(16).padStart(16, '0');
  return {
    traceId: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    spanId: id,
    parentSpanId: undefined,
    parentIsRemote: false,
    traceFlags: 1,
    traceState: '',
    name,
    target: 'app',
    level: 'info',
    spanKind: 0,
    startTime: 1000,
    ...over,
  };
}

function fields(obj: Record<string, Fields[string]>): Fields {
  return Object.assign(Object.create(null) as Fields, obj);
}

const start = (span: SpanInfo, attributes: Fields = fields({}), time = span.startTime): TraceRecord => ({ kind: 'spanStart', span, time, attributes });
const end = (span: SpanInfo, time: number, dropped: [number, number, number] = [0, 0, 0]): TraceRecord => ({
  kind: 'spanEnd',
  span,
  time,
  droppedAttributesCount: dropped[0],
  droppedEventsCount: dropped[1],
  droppedLinksCount: dropped[2],
});

function collect(options = {}): { spans: AssembledSpan[]; asm: SpanAssembler } {
  const spans: AssembledSpan[] = [];
  const asm = new SpanAssembler((s) => spans.push(s), options);
  return { spans, asm };
}

t.test('a span is delivered whole at its end, with every kind of record applied', async (t) => {
  const { spans, asm } = collect();
  const parent = info('parent');
  const s = info('child', { parentSpanId: parent.spanId, parentIsRemote: true, spanKind: 2, traceState: 'k=v', traceFlags: 1 });
  asm.consume(start(s, fields({ a: 1, b: 'x' }), 1000));
  asm.consume({ kind: 'spanAttributes', span: s, attributes: fields({ b: 'y', c: true }) });
  asm.consume({ kind: 'spanEvent', span: s, time: 1001.5, name: 'retry', attributes: fields({ n: 2 }) });
  asm.consume({ kind: 'spanLink', span: s, traceId: 'b'.repeat(32), spanId: 'c'.repeat(16), traceFlags: 1, attributes: fields({ why: 'batch' }) });
  asm.consume({ kind: 'spanStatus', span: s, code: 2, message: 'boom' });
  asm.consume({ kind: 'spanName', span: s, name: 'renamed' });
  t.equal(spans.length, 0, 'nothing before the end');
  t.equal(asm.openSpans, 1);
  asm.consume(end(s, 1003, [1, 2, 3]));
  t.equal(asm.openSpans, 0);
  t.equal(spans.length, 1);
  const got = spans[0]!;
  t.match(got, {
    traceId: s.traceId,
    spanId: s.spanId,
    parentSpanId: parent.spanId,
    parentIsRemote: true,
    traceFlags: 1,
    traceState: 'k=v',
    name: 'renamed',
    target: 'app',
    spanKind: 2,
    startTime: 1000,
    endTime: 1003,
    statusCode: 2,
    statusMessage: 'boom',
    droppedAttributesCount: 1,
    droppedEventsCount: 2,
    droppedLinksCount: 3,
    incomplete: false,
    incompleteReason: undefined,
  });
  t.same({ ...got.attributes }, { a: 1, b: 'y', c: true }, 'later attributes overwrite');
  t.same(got.events.map((e) => [e.time, e.name, { ...e.attributes }]), [[1001.5, 'retry', { n: 2 }]]);
  t.same(got.links.map((l) => [l.traceId, l.spanId, l.traceFlags, { ...l.attributes }]), [['b'.repeat(32), 'c'.repeat(16), 1, { why: 'batch' }]]);
  t.equal(asm.stats.started, 1);
  t.equal(asm.stats.completed, 1);
  t.equal(asm.stats.incomplete, 0);
});

t.test('standalone events are not taken, and records of unknown spans are counted as orphans', async (t) => {
  const { spans, asm } = collect();
  const ev: TraceRecord = { kind: 'event', time: 1, level: 'info', target: 'x', message: 'm', fields: fields({}), traceId: undefined, spanId: undefined };
  t.equal(asm.consume(ev), false);
  const ghost = info('ghost');
  t.equal(asm.consume({ kind: 'spanStatus', span: ghost, code: 1, message: '' }), true);
  asm.consume(end(ghost, 5));
  t.equal(asm.stats.orphanRecords, 2);
  t.equal(spans.length, 0);
});

t.test('spans interleave and complete independently, keyed by their shared SpanInfo', async (t) => {
  const { spans, asm } = collect();
  const a = info('a');
  const b = info('b');
  asm.consume(start(a));
  asm.consume(start(b));
  asm.consume({ kind: 'spanAttributes', span: a, attributes: fields({ who: 'a' }) });
  asm.consume({ kind: 'spanAttributes', span: b, attributes: fields({ who: 'b' }) });
  asm.consume(end(b, 2000));
  asm.consume(end(a, 3000));
  t.same(spans.map((s) => [s.name, s.attributes.who, s.endTime]), [
    ['b', 'b', 2000],
    ['a', 'a', 3000],
  ]);
});

t.test('the name is the one at the end even when SpanInfo.name changes afterwards', async (t) => {
  const { spans, asm } = collect();
  const s = info('first');
  asm.consume(start(s));
  asm.consume({ kind: 'spanName', span: s, name: 'second' });
  asm.consume(end(s, 1001));
  (s as { name: string }).name = 'later';
  t.equal(spans[0]!.name, 'second');
});

t.test('maxOpenSpans: the oldest open span is delivered incomplete (evicted), counted, and its later records are orphans', async (t) => {
  const { spans, asm } = collect({ maxOpenSpans: 2 });
  const a = info('a');
  const b = info('b');
  const c = info('c');
  asm.consume(start(a, fields({ k: 1 }), 1000));
  asm.consume(start(b, fields({}), 1001));
  t.equal(spans.length, 0);
  asm.consume(start(c, fields({}), 1002));
  t.equal(asm.openSpans, 2);
  t.equal(spans.length, 1);
  t.match(spans[0], { name: 'a', incomplete: true, incompleteReason: 'evicted', endTime: 1002 });
  t.equal(spans[0]!.attributes.k, 1, 'what it had is kept');
  t.equal(asm.stats.evicted, 1);
  t.equal(asm.stats.incomplete, 1);
  asm.consume(end(a, 1010));
  t.equal(asm.stats.orphanRecords, 1);
  t.equal(spans.length, 1, 'no second delivery of the evicted span');
  asm.consume(end(b, 1011));
  asm.consume(end(c, 1012));
  t.same(spans.map((s) => [s.name, s.incomplete]), [
    ['a', true],
    ['b', false],
    ['c', false],
  ]);
});

t.test('per-span limits cut attributes, events and links and count them on the span and in stats', async (t) => {
  const { spans, asm } = collect({ maxAttributes: 2, maxEvents: 1, maxLinks: 1 });
  const s = info('s');
  asm.consume(start(s, fields({ a: 1, b: 2, c: 3 })));
  asm.consume({ kind: 'spanAttributes', span: s, attributes: fields({ a: 10, d: 4 }) });
  asm.consume({ kind: 'spanEvent', span: s, time: 1, name: 'e1', attributes: fields({ x: 1, y: 2, z: 3 }) });
  asm.consume({ kind: 'spanEvent', span: s, time: 2, name: 'e2', attributes: fields({}) });
  const link: TraceRecord = { kind: 'spanLink', span: s, traceId: 'b'.repeat(32), spanId: 'c'.repeat(16), traceFlags: 0, attributes: fields({}) };
  asm.consume(link);
  asm.consume(link);
  asm.consume(end(s, 1005, [5, 0, 0]));
  const got = spans[0]!;
  t.same({ ...got.attributes }, { a: 10, b: 2 }, 'overwriting a kept key is allowed past the cap');
  t.equal(got.droppedAttributesCount, 5 + 2, "producer's cuts plus ours (c, d)");
  t.equal(got.events.length, 1);
  t.equal(got.events[0]!.droppedAttributesCount, 1);
  t.same(Object.keys(got.events[0]!.attributes), ['x', 'y']);
  t.equal(got.droppedEventsCount, 1);
  t.equal(got.links.length, 1);
  t.equal(got.droppedLinksCount, 1);
  t.match(asm.stats, { droppedAttributes: 3, droppedEvents: 1, droppedLinks: 1 });
});

t.test('closeOpen delivers every open span marked incomplete (closed), and nothing twice', async (t) => {
  const { spans, asm } = collect();
  const a = info('a');
  const b = info('b');
  asm.consume(start(a, fields({}), 1000));
  asm.consume(start(b, fields({}), 1500));
  asm.consume({ kind: 'spanStatus', span: b, code: 1, message: '' });
  t.equal(asm.closeOpen(1200), 2);
  t.equal(asm.openSpans, 0);
  t.same(spans.map((s) => [s.name, s.incomplete, s.incompleteReason, s.endTime, s.statusCode]), [
    ['a', true, 'closed', 1200, 0],
    ['b', true, 'closed', 1500, 1],
  ], 'an end time never precedes the start');
  t.equal(asm.stats.closedOpen, 2);
  t.equal(asm.stats.incomplete, 2);
  t.equal(asm.closeOpen(), 0);
  t.equal(spans.length, 2);
});

t.test('accounting: every start is delivered exactly once, completed or incomplete', async (t) => {
  const { spans, asm } = collect({ maxOpenSpans: 7 });
  const open: SpanInfo[] = [];
  // A deterministic pseudo-random interleaving of starts and ends.
  let seed = 12345;
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
  for (let i = 0; i < 500; i++) {
    if (open.length === 0 || rand() < 0.55) {
      const s = info(`s${i}`);
      open.push(s);
      asm.consume(start(s, fields({}), 1000 + i));
    } else {
      const s = open.splice(Math.floor(rand() * open.length), 1)[0]!;
      asm.consume(end(s, 1000 + i));
    }
  }
  asm.closeOpen(5000);
  const ids = spans.map((s) => s.spanId);
  t.equal(new Set(ids).size, ids.length, 'no span delivered twice');
  t.equal(spans.length, asm.stats.started);
  t.equal(asm.stats.completed + asm.stats.incomplete, asm.stats.started);
  t.equal(asm.stats.incomplete, asm.stats.evicted + asm.stats.closedOpen);
  t.ok(asm.stats.evicted > 0, 'the limit was exercised');
  t.equal(spans.filter((s) => s.incomplete).length, asm.stats.incomplete);
});

t.test('options are validated with errors naming the option and value', async (t) => {
  const noop = (): void => {};
  t.throws(() => new SpanAssembler(noop, { maxOpenSpans: 0 }), { name: 'RangeError', message: /spanAssembler\.maxOpenSpans.*got 0/ });
  t.throws(() => new SpanAssembler(noop, { maxEvents: -1 }, 'otlp'), { name: 'RangeError', message: /otlp\.maxEvents.*got -1/ });
  t.throws(() => new SpanAssembler(noop, { maxLinks: '3' as unknown as number }), { name: 'TypeError', message: /maxLinks.*"3"/ });
  t.throws(() => new SpanAssembler(noop, { maxAttributes: 1.5 }), { name: 'RangeError', message: /maxAttributes.*1\.5/ });
});
