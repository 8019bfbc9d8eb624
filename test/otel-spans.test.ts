/**
 * The capture layer as an OpenTelemetry tracer provider: the trace API and
 * SDK semantics, checked on the records the sinks receive.
 */
import t, { type Test } from 'tap';
import {
  DiagLogLevel,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  context,
  diag,
  isSpanContextValid,
  propagation,
  trace,
  type Span,
  type SpanContext,
} from '@opentelemetry/api';
import { TracerProvider as SdkTracerProvider, TraceIdRatioBasedSampler } from '@opentelemetry/sdk-trace';
import { TraceDispatcher, type DispatcherOptions } from '../src/index.js';
import { INSTALL_WARNING_CODE } from '../src/capture/install.js';
import type { MemorySinkContents } from '../src/sinks/memory-sink.js';
import type { SpanEndRecord, SpanStartRecord, TraceRecord } from '../src/record/trace-record.js';
import type { ContextSinkContents } from './fixtures/context-sink.js';
import { RingTracerProvider } from '../src/capture/ring-tracer-provider.js';
import { LevelHint } from '../src/filter/level-hint.js';
import { TargetFilter } from '../src/filter/target-filter.js';
import { resolveOptions } from '../src/options.js';
import { RecordEncoder } from '../src/encoder/record-encoder.js';
import { StringTable } from '../src/encoder/string-table.js';
import { allocateRing } from '../src/ring/layout.js';
import { RingWriter } from '../src/ring/ring-writer.js';

const CONTEXT_SINK = new URL('./fixtures/context-sink.ts', import.meta.url);

async function start(t: Test, options: DispatcherOptions = {}, filter = 'trace'): Promise<TraceDispatcher> {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter }], ...options });
  t.teardown(() => d.shutdown());
  return d;
}

async function records(d: TraceDispatcher): Promise<TraceRecord[]> {
  await d.flush();
  return (await d.inspectSink<MemorySinkContents>('mem')).records;
}

/** Records of one span (by its span id). */
function ofSpan(all: TraceRecord[], span: Span): TraceRecord[] {
  const id = span.spanContext().spanId;
  return all.filter((r) => r.kind !== 'event' && r.span.spanId === id);
}

function startOf(all: TraceRecord[], span: Span): SpanStartRecord {
  const r = ofSpan(all, span).find((x) => x.kind === 'spanStart');
  if (r === undefined) throw new Error(`no spanStart for ${span.spanContext().spanId}`);
  return r as SpanStartRecord;
}

function endOf(all: TraceRecord[], span: Span): SpanEndRecord {
  const r = ofSpan(all, span).find((x) => x.kind === 'spanEnd');
  if (r === undefined) throw new Error(`no spanEnd for ${span.spanContext().spanId}`);
  return r as SpanEndRecord;
}

/** A span's attributes as a sink assembles them: the start record's, then each later record's over them. */
function attributesOf(recs: TraceRecord[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const r of recs) if (r.kind === 'spanStart' || r.kind === 'spanAttributes') Object.assign(out, r.attributes);
  return out;
}

/**
 * A provider built from options the way a dispatcher builds it, over a ring
 * with no worker: for decisions (sampling, options) that show without a
 * sink. `writer.counts().offered` says whether anything was recorded.
 */
function bareProvider(options: DispatcherOptions): { provider: RingTracerProvider; writer: RingWriter } {
  const o = resolveOptions(options);
  const writer = new RingWriter(allocateRing(1 << 16));
  const encoder = new RecordEncoder(writer, { maxStringLength: o.maxStringLength, strings: new StringTable(o.maxInternedStrings) });
  const hint = new LevelHint();
  hint.update([TargetFilter.parse('trace')]);
  return { provider: new RingTracerProvider({ encoder: encoder, hint: hint, limits: o.spanLimits, sampler: o.sampler, spanLevel: o.spanLevel, publishAfterMs: o.flushIntervalMs }), writer };
}

/** Set environment variables for the duration of `fn` (read when a dispatcher starts). */
async function withEnv<T>(vars: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(vars)) {
    saved[k] = process.env[k];
    process.env[k] = v;
  }
  try {
    return await fn();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Collect diag messages while `fn` runs. */
function diagMessages(fn: () => void): string[] {
  const seen: string[] = [];
  const log = (m: string) => seen.push(m);
  diag.setLogger({ error: log, warn: log, info: log, debug: log, verbose: log }, { logLevel: DiagLogLevel.ALL, suppressOverrideMessage: true });
  try {
    fn();
  } finally {
    diag.disable();
  }
  return seen;
}

const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const REMOTE_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const REMOTE_SPAN = '00f067aa0ba902b7';

// One dispatcher, installed (context manager + propagators), for the API semantics.
let d: TraceDispatcher;
t.before(async () => {
  d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'trace,quiet=off' }] });
  d.install();
});
t.teardown(async () => {
  await d.shutdown();
});

t.test('the tracer name is the target; spans are info by default', async (t) => {
  const span = d.tracerProvider.getTracer('svc.orders', '1.2.3').startSpan('load');
  span.end();
  const s = startOf(await records(d), span);
  t.equal(s.span.target, 'svc.orders');
  t.equal(s.span.name, 'load');
  t.equal(s.span.level, 'info');
  t.equal(s.span.spanKind, SpanKind.INTERNAL);
  t.equal(d.tracerProvider.getTracer('svc.orders', '1.2.3'), d.tracerProvider.getTracer('svc.orders', '1.2.3'), 'tracers are cached');
});

t.test('sink filters work on instrumentation scope names', async (t) => {
  const e = await start(t, {}, 'info,@opentelemetry/instrumentation-http=warn');
  const http = e.tracerProvider.getTracer('@opentelemetry/instrumentation-http').startSpan('GET');
  const app = e.tracerProvider.getTracer('app').startSpan('work');
  t.notOk(http.isRecording(), 'info span of a scope filtered at warn is not recorded');
  http.end();
  app.end();
  const all = await records(e);
  t.same(
    all.map((r) => (r.kind === 'event' ? r.target : r.span.target)),
    ['app', 'app'],
  );

  // spanLevel raises every span: now the instrumentation's spans pass its warn directive.
  const w = await start(t, { spanLevel: 'warn' }, 'error,@opentelemetry/instrumentation-http=warn');
  const s2 = w.tracerProvider.getTracer('@opentelemetry/instrumentation-http').startSpan('GET');
  const s3 = w.tracerProvider.getTracer('app').startSpan('work');
  t.ok(s2.isRecording());
  t.notOk(s3.isRecording(), 'app spans at warn do not pass error');
  s2.end();
  s3.end();
  const all2 = await records(w);
  t.equal(all2.length, 2);
  t.equal(startOf(all2, s2).span.level, 'warn');
});

t.test('startSpan: parent from the given context, else the active one; root on request', async (t) => {
  const tracer = d.tracerProvider.getTracer('api');
  const parent = tracer.startSpan('parent');
  const other = tracer.startSpan('other');
  const fromGiven = tracer.startSpan('given', {}, trace.setSpan(ROOT_CONTEXT, parent));
  let fromActive!: Span;
  let fromGivenOverActive!: Span;
  let root!: Span;
  context.with(trace.setSpan(context.active(), other), () => {
    fromActive = tracer.startSpan('active');
    fromGivenOverActive = tracer.startSpan('given2', undefined, trace.setSpan(ROOT_CONTEXT, parent));
    root = tracer.startSpan('root', { root: true, kind: SpanKind.SERVER });
  });
  for (const s of [parent, other, fromGiven, fromActive, fromGivenOverActive, root]) s.end();
  const all = await records(d);
  const p = parent.spanContext();
  t.equal(startOf(all, parent).span.parentSpanId, undefined);
  t.equal(startOf(all, fromGiven).span.parentSpanId, p.spanId);
  t.equal(startOf(all, fromGiven).span.traceId, p.traceId);
  t.equal(startOf(all, fromGiven).span.parentIsRemote, false);
  t.equal(startOf(all, fromActive).span.parentSpanId, other.spanContext().spanId);
  t.equal(startOf(all, fromActive).span.traceId, other.spanContext().traceId);
  t.equal(startOf(all, fromGivenOverActive).span.parentSpanId, p.spanId, 'a given context wins over the active one');
  const r = startOf(all, root);
  t.equal(r.span.parentSpanId, undefined, 'root: true ignores the active span');
  t.not(r.span.traceId, other.spanContext().traceId, 'a root span starts a new trace');
  t.equal(r.span.spanKind, SpanKind.SERVER);
});

t.test('startActiveSpan: every overload', async (t) => {
  const tracer = d.tracerProvider.getTracer('api');
  const outer = tracer.startSpan('outer');
  const outerCtx = trace.setSpan(ROOT_CONTEXT, outer);
  const spans: Span[] = [];

  const r2 = tracer.startActiveSpan('two', (span) => {
    t.equal(trace.getActiveSpan(), span, '2 args: the span is active inside fn');
    spans.push(span);
    span.end();
    return 'r2';
  });
  t.equal(r2, 'r2', 'the return value of fn is returned');
  t.equal(trace.getActiveSpan(), undefined, 'not active after fn');

  const r3 = await tracer.startActiveSpan('three', { attributes: { a: 1 }, kind: SpanKind.CLIENT }, async (span) => {
    await new Promise((r) => setImmediate(r));
    t.equal(trace.getActiveSpan(), span, '3 args: still active after an await');
    spans.push(span);
    span.end();
    return 3;
  });
  t.equal(r3, 3, 'a promise from fn is returned');

  context.with(trace.setSpan(ROOT_CONTEXT, tracer.startSpan('ignored')), () => {
    tracer.startActiveSpan('four', {}, outerCtx, (span) => {
      t.equal(trace.getActiveSpan(), span, '4 args');
      spans.push(span);
      // A span started inside is the child of the active one.
      const inner = tracer.startSpan('inner');
      spans.push(inner);
      inner.end();
      span.end();
    });
  });
  outer.end();

  const all = await records(d);
  const [two, three, four, inner] = spans.map((s) => startOf(all, s));
  t.equal(two!.span.name, 'two');
  t.equal(two!.span.parentSpanId, undefined);
  t.equal(three!.span.name, 'three');
  t.same({ ...three!.attributes }, { a: 1 }, 'options reach the span');
  t.equal(three!.span.spanKind, SpanKind.CLIENT);
  t.equal(four!.span.parentSpanId, outer.spanContext().spanId, '4 args: parent from the given context, not the active one');
  t.equal(inner!.span.parentSpanId, spans[2]!.spanContext().spanId);
});

t.test('a remote parent extracted by the W3C propagator; injection back out', async (t) => {
  const tracer = d.tracerProvider.getTracer('api');
  const carrier = { traceparent: `00-${REMOTE_TRACE}-${REMOTE_SPAN}-01`, tracestate: 'vendor=abc' };
  const remote = propagation.extract(ROOT_CONTEXT, carrier);
  const child = tracer.startSpan('server', { kind: SpanKind.SERVER }, remote);
  const out: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, child), out);
  child.end();
  const s = startOf(await records(d), child);
  t.equal(s.span.traceId, REMOTE_TRACE);
  t.equal(s.span.parentSpanId, REMOTE_SPAN);
  t.equal(s.span.parentIsRemote, true);
  t.equal(s.span.traceState, 'vendor=abc', 'tracestate is carried');
  t.equal(child.spanContext().traceState?.serialize(), 'vendor=abc');
  t.equal(out['traceparent'], `00-${REMOTE_TRACE}-${child.spanContext().spanId}-01`, 'the child is injected as the new parent');
  t.equal(out['tracestate'], 'vendor=abc');
});

t.test('ids are valid hex, never all zero; spanContext() is the standard form', async (t) => {
  const tracer = d.tracerProvider.getTracer('ids');
  const spans: Span[] = [];
  for (let i = 0; i < 200; i++) spans.push(tracer.startSpan('s'));
  const traceIds = new Set<string>();
  const spanIds = new Set<string>();
  let bad = 0;
  for (const s of spans) {
    const c = s.spanContext();
    if (!HEX32.test(c.traceId) || !HEX16.test(c.spanId) || /^0+$/.test(c.traceId) || /^0+$/.test(c.spanId) || !isSpanContextValid(c)) bad++;
    traceIds.add(c.traceId);
    spanIds.add(c.spanId);
    s.end();
  }
  t.equal(bad, 0);
  t.equal(traceIds.size, 200, 'root spans get distinct trace ids');
  t.equal(spanIds.size, 200);
  const c = spans[0]!.spanContext();
  t.same(Object.keys(c).sort(), ['isRemote', 'spanId', 'traceFlags', 'traceId']);
  t.equal(c.traceFlags, TraceFlags.SAMPLED);
  t.equal(c.isRemote, false);
  const s = startOf(await records(d), spans[0]!);
  t.equal(s.span.traceId, c.traceId, 'records carry the same ids');
  t.equal(s.span.spanId, c.spanId);
  t.equal(s.span.traceFlags, TraceFlags.SAMPLED);
});

t.test('setAttribute(s): valid values kept, invalid ones dropped with a diagnostic', async (t) => {
  const tracer = d.tracerProvider.getTracer('attrs');
  const span = tracer.startSpan('a', { attributes: { start: 's', badStart: { x: 1 } as unknown as string } });
  const msgs = diagMessages(() => {
    span.setAttribute('n', 1);
    span.setAttribute('b', true);
    span.setAttribute('arr', ['x', 'y']);
    span.setAttribute('obj', { nested: 1 } as unknown as string);
    span.setAttribute('mixed', [1, 'a'] as unknown as string[]);
    span.setAttribute('undef', undefined as unknown as string);
    span.setAttribute('', 1);
    span.setAttributes({ m1: 'one', m2: 2, bad: (() => 1) as unknown as string });
  });
  span.end();
  const recs = ofSpan(await records(d), span);
  const merged: Record<string, unknown> = {};
  for (const r of recs) if (r.kind === 'spanStart' || r.kind === 'spanAttributes') Object.assign(merged, r.attributes);
  t.same(merged, { start: 's', n: 1, b: true, arr: ['x', 'y'], m1: 'one', m2: 2 });
  t.ok(msgs.some((m) => m.includes('invalid attribute value') && m.includes('obj')), 'a diagnostic names the bad key');
  t.ok(msgs.some((m) => m.includes('invalid attribute key')));
  t.equal(endOf(recs, span).droppedAttributesCount, 0, 'invalid values are not counted as limit drops');
});

t.test('addEvent with and without time and attributes', async (t) => {
  const span = d.tracerProvider.getTracer('events').startSpan('e');
  const before = performance.timeOrigin + performance.now();
  span.addEvent('plain');
  span.addEvent('attrs', { k: 'v', n: 2 });
  span.addEvent('hr', [1_700_000_000, 500_000_000]);
  span.addEvent('date', new Date(1_700_000_001_000));
  span.addEvent('epochms', 1_700_000_002_250);
  span.addEvent('perfnow', 5);
  span.addEvent('both', { k: 1 }, new Date(1_700_000_003_000));
  span.addEvent('twotimes', new Date(1_700_000_004_000), new Date(1_700_000_005_000));
  span.addEvent('cleaned', { ok: 'yes', obj: { x: 1 } as unknown as string, mixed: [1, 'a'] as unknown as number[], undef: undefined });
  const after = performance.timeOrigin + performance.now();
  span.end();
  const ev = ofSpan(await records(d), span).filter((r) => r.kind === 'spanEvent');
  const by = Object.fromEntries(ev.map((e) => [e.name, e]));
  t.same(Object.keys(by), ['plain', 'attrs', 'hr', 'date', 'epochms', 'perfnow', 'both', 'twotimes', 'cleaned']);
  t.equal(by['twotimes']!.time, 1_700_000_005_000, 'a time as the third argument wins, as the SDK');
  t.same({ ...by['cleaned']!.attributes }, { ok: 'yes' }, 'invalid event attribute values are dropped, as the SDK');
  t.ok(by['plain']!.time >= before && by['plain']!.time <= after, 'no time: now');
  t.same({ ...by['plain']!.attributes }, {});
  t.same({ ...by['attrs']!.attributes }, { k: 'v', n: 2 });
  t.equal(by['hr']!.time, 1_700_000_000_500, 'HrTime');
  t.equal(by['date']!.time, 1_700_000_001_000, 'Date');
  t.equal(by['epochms']!.time, 1_700_000_002_250, 'epoch milliseconds');
  t.ok(Math.abs(by['perfnow']!.time - (performance.timeOrigin + 5)) < 0.01, 'a small number is performance.now() time');
  t.equal(by['both']!.time, 1_700_000_003_000);
  t.same({ ...by['both']!.attributes }, { k: 1 });
});

t.test('ids with the high bit set survive every path: random, remote parent, ringtrace parent, records', async (t) => {
  const tracer = d.tracerProvider.getTracer('high-bits');
  const remote: SpanContext = { traceId: 'ffffffff80000000ffffffff80000001', spanId: 'fedcba9880000000', traceFlags: 1, isRemote: true };
  const child = tracer.startSpan('high-bits child', {}, trace.setSpanContext(ROOT_CONTEXT, remote));
  const grandchild = tracer.startSpan('high-bits grandchild', {}, trace.setSpan(ROOT_CONTEXT, child));
  t.equal(child.spanContext().traceId, remote.traceId, 'the remote trace id, read back as hex');
  t.equal(grandchild.spanContext().traceId, remote.traceId, "and inherited from a ringtrace parent");
  // Random ids: about half of all words have the high bit set.
  const many = Array.from({ length: 64 }, (_, i) => tracer.startSpan(`high-bits ${i}`));
  for (const s of [grandchild, child, ...many]) s.end();
  const all = await records(d);
  const childStart = startOf(all, child);
  t.same([childStart.span.traceId, childStart.span.parentSpanId], [remote.traceId, remote.spanId], 'the child record: trace id and remote parent id');
  t.equal(startOf(all, grandchild).span.parentSpanId, child.spanContext().spanId, "the grandchild record's parent is the child");
  const mismatched = many.filter((s) => {
    const r = startOf(all, s).span;
    return r.traceId !== s.spanContext().traceId || !/^[0-9a-f]{16}$/.test(r.spanId) || !/^[0-9a-f]{32}$/.test(r.traceId);
  });
  t.equal(mismatched.length, 0, 'records carry the ids spanContext() reports, as 16 and 32 hex digits');
  t.ok(
    many.some((s) => parseInt(s.spanContext().spanId.slice(0, 1), 16) >= 8),
    'some random span ids have the high bit set',
  );
});

t.test('links: in options, addLink, addLinks', async (t) => {
  const tracer = d.tracerProvider.getTracer('links');
  const a = tracer.startSpan('a');
  const b = tracer.startSpan('b');
  const remote: SpanContext = { traceId: REMOTE_TRACE, spanId: REMOTE_SPAN, traceFlags: 0, isRemote: true };
  const span = tracer.startSpan('linked', { links: [{ context: a.spanContext(), attributes: { why: 'opt' } }] });
  span.addLink({ context: b.spanContext() });
  span.addLinks([{ context: remote, attributes: { n: 1 } }]);
  for (const s of [a, b, span]) s.end();
  const links = ofSpan(await records(d), span).filter((r) => r.kind === 'spanLink');
  t.same(
    links.map((l) => [l.traceId, l.spanId, l.traceFlags, { ...l.attributes }]),
    [
      [a.spanContext().traceId, a.spanContext().spanId, 1, { why: 'opt' }],
      [b.spanContext().traceId, b.spanContext().spanId, 1, {}],
      [REMOTE_TRACE, REMOTE_SPAN, 0, { n: 1 }],
    ],
  );
});

t.test('setStatus: UNSET ignored, message only with ERROR, OK final', async (t) => {
  const tracer = d.tracerProvider.getTracer('status');
  const statuses = (all: TraceRecord[], span: Span): [number, string][] =>
    ofSpan(all, span).flatMap((r) => (r.kind === 'spanStatus' ? [[r.code, r.message] as [number, string]] : []));
  // Held until its end: only the final status is written, with the end.
  const held = tracer.startSpan('held');
  held.setStatus({ code: SpanStatusCode.UNSET, message: 'x' });
  held.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  held.setStatus({ code: SpanStatusCode.OK, message: 'dropped' });
  held.setStatus({ code: SpanStatusCode.ERROR, message: 'after ok' });
  held.end();
  const failed = tracer.startSpan('failed');
  failed.setStatus({ code: SpanStatusCode.ERROR, message: 'first' });
  failed.setStatus({ code: SpanStatusCode.ERROR, message: 'last' });
  failed.end();
  // Published by a flush while open: each status is written as it is set.
  const published = tracer.startSpan('published');
  published.setStatus({ code: SpanStatusCode.ERROR, message: 'boom' });
  await d.flush();
  published.setStatus({ code: SpanStatusCode.OK, message: 'dropped' });
  published.setStatus({ code: SpanStatusCode.ERROR, message: 'after ok' });
  published.end();
  const all = await records(d);
  t.same(statuses(all, held), [[SpanStatusCode.OK, '']]);
  t.same(statuses(all, failed), [[SpanStatusCode.ERROR, 'last']], 'the last ERROR wins');
  t.same(statuses(all, published), [
    [SpanStatusCode.ERROR, 'boom'],
    [SpanStatusCode.OK, ''],
  ]);
  t.same(
    ofSpan(all, held).map((r) => r.kind),
    ['spanStart', 'spanStatus', 'spanEnd'],
  );
});

t.test('updateName: the name the sinks see is the latest', async (t) => {
  const tracer = d.tracerProvider.getTracer('names');
  const held = tracer.startSpan('GET');
  held.updateName('GET /users/:id');
  held.setAttribute('k', 1);
  held.end();
  const published = tracer.startSpan('GET');
  await d.flush();
  published.updateName('GET /orders/:id');
  published.setAttribute('k', 1);
  published.end();
  const all = await records(d);
  const h = ofSpan(all, held);
  t.same(
    h.map((r) => r.kind),
    ['spanStart', 'spanEnd'],
    'a held span is written once, under its final name',
  );
  t.equal(startOf(all, held).span.name, 'GET /users/:id');
  t.equal(startOf(all, held).attributes['k'], 1, 'attributes set after start travel in the start record');
  const p = ofSpan(all, published);
  const named = p.find((r) => r.kind === 'spanName');
  t.equal(named?.kind === 'spanName' ? named.name : undefined, 'GET /orders/:id');
  t.equal(endOf(p, published).span.name, 'GET /orders/:id');
  t.equal(p.find((r) => r.kind === 'spanAttributes')?.span.name, 'GET /orders/:id', 'later records carry the new name');
});

t.test('recordException: the exception event with type, message and stacktrace', async (t) => {
  const span = d.tracerProvider.getTracer('exc').startSpan('x');
  const err = new TypeError('bad input');
  span.recordException(err);
  const coded = Object.assign(new Error('no file'), { code: 'ENOENT' });
  span.recordException(coded, new Date(1_700_000_000_000));
  span.recordException('just text');
  const msgs = diagMessages(() => span.recordException({} as Error));
  span.end();
  const ev = ofSpan(await records(d), span).filter((r) => r.kind === 'spanEvent');
  t.equal(ev.length, 3, 'an exception without type or message is not recorded');
  t.ok(msgs.length > 0, 'with a diagnostic');
  t.equal(ev[0]!.name, 'exception');
  t.same({ ...ev[0]!.attributes }, { 'exception.type': 'TypeError', 'exception.message': 'bad input', 'exception.stacktrace': err.stack });
  t.equal(ev[1]!.attributes['exception.type'], 'ENOENT', 'the code wins over the name, as the SDK');
  t.equal(ev[1]!.time, 1_700_000_000_000);
  t.same({ ...ev[2]!.attributes }, { 'exception.message': 'just text' });
});

t.test('end with an explicit time; isRecording', async (t) => {
  const span = d.tracerProvider.getTracer('end').startSpan('x', { startTime: new Date(1_700_000_000_000) });
  t.equal(span.isRecording(), true);
  span.end([1_700_000_001, 250_000_000]);
  t.equal(span.isRecording(), false);
  const all = await records(d);
  t.equal(startOf(all, span).time, 1_700_000_000_000, 'startTime option');
  t.equal(endOf(all, span).time, 1_700_000_001_250);
});

t.test('calls on an ended span are ignored with a diagnostic', async (t) => {
  const span = d.tracerProvider.getTracer('ended').startSpan('x');
  span.end();
  const all = diagMessages(() => {
    span.setAttribute('a', 1);
    span.setAttributes({ b: 2 });
    span.addEvent('e');
    span.addLink({ context: span.spanContext() });
    span.setStatus({ code: SpanStatusCode.ERROR });
    span.updateName('renamed');
    span.recordException(new Error('late'));
    span.end();
  });
  const msgs = all.filter((m) => m.startsWith('ringtrace:'));
  const recs = ofSpan(await records(d), span);
  t.same(
    recs.map((r) => r.kind),
    ['spanStart', 'spanEnd'],
    'nothing after the end is recorded',
  );
  t.equal(msgs.length, 8, `one diagnostic per ignored call: ${JSON.stringify(msgs)}`);
  t.ok(msgs.some((m) => m.includes('end()')));
  t.equal(endOf(recs, span).span.name, 'x');
});

t.test('limits: the SDK defaults (128) and what is cut is counted', async (t) => {
  const span = d.tracerProvider.getTracer('limits').startSpan('x');
  for (let i = 0; i < 130; i++) span.setAttribute(`k${i}`, i);
  span.setAttribute('k0', 'overwritten'); // an overwrite is not a new attribute
  for (let i = 0; i < 131; i++) span.addEvent(`e${i}`);
  for (let i = 0; i < 129; i++) span.addLink({ context: { traceId: REMOTE_TRACE, spanId: REMOTE_SPAN, traceFlags: 1 } });
  span.setAttribute('late', 'x');
  span.end();
  const recs = ofSpan(await records(d), span);
  const attrs = attributesOf(recs);
  t.equal(Object.keys(attrs).length, 128);
  t.equal(recs.filter((r) => r.kind === 'spanEvent').length, 128);
  t.equal(recs.filter((r) => r.kind === 'spanLink').length, 128);
  const end = endOf(recs, span);
  t.equal(end.droppedAttributesCount, 3, '2 past the limit, plus late');
  t.equal(end.droppedEventsCount, 3);
  t.equal(end.droppedLinksCount, 1);
  t.equal(attrs['k0'], 'overwritten');
  t.notOk('late' in attrs);
});

t.test('limits from environment variables, and options over them', async (t) => {
  const e = await withEnv(
    {
      OTEL_ATTRIBUTE_COUNT_LIMIT: '2',
      OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '4',
      OTEL_SPAN_EVENT_COUNT_LIMIT: '1',
      OTEL_SPAN_LINK_COUNT_LIMIT: '1',
      OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: '1',
      OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: '1',
    },
    () => start(t),
  );
  const span = e.tracerProvider.getTracer('env').startSpan('x', { attributes: { a: 'abcdefgh', n: 123456789 } });
  span.setAttribute('c', 'dropped');
  span.setAttribute('a', ['longer', 'ok']);
  span.addEvent('e1', { one: 'abcdefgh', two: 2 });
  span.addEvent('e2');
  span.addLink({ context: span.spanContext(), attributes: { l1: 1, l2: 2 } });
  span.addLink({ context: span.spanContext() });
  span.end();
  const recs = await records(e);
  const s = startOf(recs, span);
  t.same(s.attributes['n'], 123456789);
  t.same(attributesOf(ofSpan(recs, span)), { a: ['long', 'ok'], n: 123456789 }, 'array elements cut too; c is over the count limit');
  const e2 = e.tracerProvider.getTracer('env').startSpan('y', { attributes: { a: 'abcdefgh', n: 1 } });
  e2.end();
  t.same({ ...startOf(await records(e), e2).attributes }, { a: 'abcd', n: 1 }, 'value length limit on strings only');
  const ev = recs.filter((r) => r.kind === 'spanEvent');
  t.equal(ev.length, 1);
  t.equal(Object.keys(ev[0]!.attributes).length, 1, 'OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT');
  t.equal(ev[0]!.attributes['one'], 'abcd');
  const links = recs.filter((r) => r.kind === 'spanLink');
  t.equal(links.length, 1);
  t.equal(Object.keys(links[0]!.attributes).length, 1, 'OTEL_LINK_ATTRIBUTE_COUNT_LIMIT');
  const end = endOf(recs, span);
  t.same([end.droppedAttributesCount, end.droppedEventsCount, end.droppedLinksCount], [1, 1, 1]);

  // The span-specific variable wins over the general one; an option wins over both.
  const f = await withEnv({ OTEL_ATTRIBUTE_COUNT_LIMIT: '1', OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '3' }, async () => resolveOptions({}));
  t.equal(f.spanLimits.attributeCountLimit, 3);
  const g = await withEnv({ OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '3' }, async () => bareProvider({ spanLimits: { attributeCountLimit: 5, eventCountLimit: 0 } }));
  const z = g.provider.getTracer('z').startSpan('z');
  for (let i = 0; i < 7; i++) z.setAttribute(`k${i}`, i);
  z.addEvent('none allowed');
  const before = g.writer.counts().offered;
  z.end();
  t.equal(g.writer.counts().offered - before, 2, 'eventCountLimit 0: the event did not publish the span; start and end are written together');
  t.equal(resolveOptions({}).spanLimits.attributeCountLimit, 128, 'default');
  t.equal(resolveOptions({}).spanLimits.attributeValueLengthLimit, Infinity, 'default: no length limit');
});

t.test('sampling: parent-based always-on by default', async (t) => {
  const tracer = d.tracerProvider.getTracer('sampling');
  const unsampledParent = propagation.extract(ROOT_CONTEXT, { traceparent: `00-${REMOTE_TRACE}-${REMOTE_SPAN}-00` });
  const child = tracer.startSpan('child-of-unsampled', {}, unsampledParent);
  t.equal(child.isRecording(), false, 'the child of an unsampled parent is unsampled');
  const c = child.spanContext();
  t.equal(c.traceId, REMOTE_TRACE, 'it keeps the trace');
  t.ok(isSpanContextValid(c));
  t.not(c.spanId, REMOTE_SPAN, 'with its own span id');
  t.equal(c.traceFlags & TraceFlags.SAMPLED, 0);
  const grandchild = tracer.startSpan('grandchild', {}, trace.setSpan(ROOT_CONTEXT, child));
  t.equal(grandchild.isRecording(), false);
  t.equal(grandchild.spanContext().traceId, REMOTE_TRACE);
  const out: Record<string, string> = {};
  propagation.inject(trace.setSpan(ROOT_CONTEXT, child), out);
  t.equal(out['traceparent'], `00-${REMOTE_TRACE}-${c.spanId}-00`, 'propagation goes on across it');
  child.end();
  grandchild.end();
  const all = await records(d);
  t.equal(all.filter((r) => r.kind !== 'event' && r.span.traceId === REMOTE_TRACE && r.span.name.startsWith('child-of')).length, 0, 'nothing recorded');
  t.equal(all.filter((r) => r.kind !== 'event' && r.span.name === 'grandchild').length, 0);
});

t.test('sampling: traceidratio 0 from an option or the environment', async (t) => {
  const viaOption = bareProvider({ sampler: 'traceidratio', samplerArg: 0 });
  const viaEnv = await withEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0' }, async () => bareProvider({}));
  for (const { provider, writer } of [viaOption, viaEnv]) {
    const tracer = provider.getTracer('ratio');
    const spans: Span[] = [];
    for (let i = 0; i < 50; i++) spans.push(tracer.startSpan('s'));
    t.equal(spans.filter((s) => s.isRecording()).length, 0, 'nothing sampled');
    t.equal(spans.filter((s) => isSpanContextValid(s.spanContext())).length, 50, 'every span still has a valid context');
    t.equal(spans.filter((s) => s.spanContext().traceFlags & TraceFlags.SAMPLED).length, 0, 'with the sampled flag off');
    const parent = spans[0]!;
    const child = tracer.startSpan('child', {}, trace.setSpan(ROOT_CONTEXT, parent));
    t.equal(child.spanContext().traceId, parent.spanContext().traceId, 'children keep the trace');
    t.not(child.spanContext().spanId, parent.spanContext().spanId);
    const out: Record<string, string> = {};
    propagation.inject(trace.setSpan(ROOT_CONTEXT, child), out);
    t.equal(out['traceparent'], `00-${child.spanContext().traceId}-${child.spanContext().spanId}-00`, 'and propagate');
    // A trace id whose four words XOR to 0: the SDK's ratio sampler never samples it at ratio 0.
    const xorZero = propagation.extract(ROOT_CONTEXT, { traceparent: `00-aaaaaaaabbbbbbbbaaaaaaaabbbbbbbb-${REMOTE_SPAN}-01` });
    const edge = tracer.startSpan('edge', {}, xorZero);
    t.equal(edge.isRecording(), false, 'ratio 0 samples no trace id at all');
    for (const s of [...spans, child, edge]) s.end();
    t.equal(writer.counts().offered, 0, 'nothing recorded');
  }
  const one = await withEnv({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' }, async () => bareProvider({}));
  const spans: Span[] = [];
  for (let i = 0; i < 50; i++) spans.push(one.provider.getTracer('ratio').startSpan('s'));
  t.equal(spans.filter((s) => s.isRecording()).length, 50, 'ratio 1 samples everything');
  // Every word of this id XORs to 0xffffffff, which the SDK samples at ratio 1.
  const allF = propagation.extract(ROOT_CONTEXT, { traceparent: `00-ffffffff00000000ffffffffffffffff-${REMOTE_SPAN}-00` });
  t.equal(one.provider.getTracer('ratio').startSpan('edge', {}, allF).isRecording(), true);
  const off = bareProvider({ sampler: 'always_off' });
  t.equal(off.provider.getTracer('x').startSpan('s').isRecording(), false, 'always_off');
  const on = bareProvider({ sampler: 'always_on' });
  const unsampled = propagation.extract(ROOT_CONTEXT, { traceparent: `00-${REMOTE_TRACE}-${REMOTE_SPAN}-00` });
  t.equal(on.provider.getTracer('x').startSpan('s', {}, unsampled).isRecording(), true, 'always_on ignores the parent');
});

t.test('sampling: the ratio decision agrees with the SDK on every trace id', async (t) => {
  const { provider } = bareProvider({ sampler: 'traceidratio', samplerArg: 0.5 });
  const sdk = new TraceIdRatioBasedSampler(0.5);
  const tracer = provider.getTracer('agree');
  let disagree = 0;
  let sampled = 0;
  for (let i = 0; i < 400; i++) {
    const span = tracer.startSpan('s');
    const { traceId } = span.spanContext();
    const want = sdk.shouldSample(ROOT_CONTEXT, traceId).decision === 2;
    if (want !== span.isRecording()) disagree++;
    if (span.isRecording()) sampled++;
    span.end();
  }
  t.equal(disagree, 0);
  t.ok(sampled > 100 && sampled < 300, `about half sampled (${sampled})`);
  // parent-based ratio follows a sampled remote parent even at ratio 0.
  const pb = bareProvider({ sampler: 'parentbased_traceidratio', samplerArg: 0 }).provider;
  const sampledParent = propagation.extract(ROOT_CONTEXT, { traceparent: `00-${REMOTE_TRACE}-${REMOTE_SPAN}-01` });
  t.equal(pb.getTracer('pb').startSpan('c', {}, sampledParent).isRecording(), true);
  t.equal(pb.getTracer('pb').startSpan('root').isRecording(), false);
});

t.test('the level hint: a filtered-out tracer returns the parent context and records nothing', async (t) => {
  const loud = d.tracerProvider.getTracer('loud');
  const quiet = d.tracerProvider.getTracer('quiet'); // quiet=off in the sink's filter
  const parent = loud.startSpan('parent');
  const pctx = trace.setSpan(ROOT_CONTEXT, parent);
  const q = quiet.startSpan('q', { attributes: { a: 1 } }, pctx);
  t.equal(q.isRecording(), false);
  t.same(q.spanContext(), parent.spanContext(), 'the no-op API way: it carries the parent context');
  t.equal(quiet.startSpan('orphan').spanContext().traceId, '00000000000000000000000000000000', 'no parent: the invalid context');
  q.setAttribute('b', 2);
  q.end();
  const child = loud.startSpan('child', {}, trace.setSpan(pctx, q));
  child.end();
  parent.end();
  const all = await records(d);
  t.equal(all.filter((r) => r.kind !== 'event' && r.span.target === 'quiet').length, 0, 'nothing recorded for quiet');
  t.equal(startOf(all, child).span.parentSpanId, parent.spanContext().spanId, 'parentage goes through it');

  // A sink added later that wants the target turns it on.
  await d.addSink({ name: 'q', sink: 'memory', filter: 'off,quiet=info' });
  const on = quiet.startSpan('now');
  t.equal(on.isRecording(), true);
  on.end();
  await d.flush();
  const got = (await d.inspectSink<MemorySinkContents>('q')).records;
  t.same(
    got.map((r) => r.kind),
    ['spanStart', 'spanEnd'],
  );
  await d.removeSink('q');
  t.equal(quiet.startSpan('off again').isRecording(), false);
});

t.test('resource: service.name from option, OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES, reaches sinks', async (t) => {
  const startCtx = (options: DispatcherOptions) =>
    TraceDispatcher.start({ sinks: [{ name: 'ctx', module: CONTEXT_SINK }], ...options }).then((x) => {
      t.teardown(() => x.shutdown());
      return x;
    });
  const env = { OTEL_SERVICE_NAME: 'from-env', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test,service.name=from-attrs,team=a%20b' };
  const a = await withEnv(env, () => startCtx({ serviceName: 'checkout', resourceAttributes: { region: 'eu', 'deployment.environment': 'prod' } }));
  const ca = await a.inspectSink<ContextSinkContents>('ctx');
  t.equal(ca.name, 'ctx');
  t.equal(ca.resource?.['service.name'], 'checkout', 'the option wins');
  t.equal(ca.resource?.['region'], 'eu');
  t.equal(ca.resource?.['deployment.environment'], 'prod', 'an option attribute wins over the environment');
  t.equal(ca.resource?.['team'], 'a b', 'percent-decoded');
  t.equal(ca.resource?.['telemetry.sdk.name'], 'ringtrace');
  t.equal(ca.resource?.['process.pid'], process.pid);
  t.equal(ca.resource?.['process.runtime.name'], 'nodejs');
  t.same(ca.resource, { ...a.resource }, 'the sink sees dispatcher.resource');

  const resource = (env: Record<string, string>) => withEnv(env, async () => resolveOptions({}).resource);
  t.equal((await resource(env))['service.name'], 'from-env', 'OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES');
  t.equal((await resource({ OTEL_SERVICE_NAME: '', OTEL_RESOURCE_ATTRIBUTES: env.OTEL_RESOURCE_ATTRIBUTES }))['service.name'], 'from-attrs');
  t.equal((await resource({ OTEL_SERVICE_NAME: '', OTEL_RESOURCE_ATTRIBUTES: '' }))['service.name'], 'unknown_service:node', "the SDK's default");
});

t.test('invalid options are rejected naming the option and the value', async (t) => {
  const cases: [DispatcherOptions, RegExp][] = [
    [{ sampler: 'sometimes' as 'always_on' }, /option sampler .*"sometimes"/],
    [{ samplerArg: 2 }, /option samplerArg .*got 2/],
    [{ samplerArg: -0.5 }, /option samplerArg .*got -0.5/],
    [{ samplerArg: 'half' as unknown as number }, /option samplerArg .*"half"/],
    [{ spanLimits: 'big' as unknown as object }, /option spanLimits .*"big"/],
    [{ spanLimits: { attributeCountLimit: -1 } }, /option spanLimits\.attributeCountLimit .*got -1/],
    [{ spanLimits: { eventCountLimit: 1.5 } }, /option spanLimits\.eventCountLimit .*got 1.5/],
    [{ spanLevel: 'loud' as 'info' }, /option spanLevel .*"loud"/],
    [{ spanLevel: 'off' as 'info' }, /option spanLevel .*"off"/],
    [{ serviceName: '' }, /option serviceName .*""/],
  ];
  for (const [options, message] of cases) {
    await t.rejects(TraceDispatcher.start(options), message, JSON.stringify(options));
  }
  await withEnv({ OTEL_TRACES_SAMPLER: 'bogus' }, () => t.rejects(TraceDispatcher.start({}), /OTEL_TRACES_SAMPLER .*"bogus"/));
  await withEnv({ OTEL_TRACES_SAMPLER_ARG: '7' }, () => t.rejects(TraceDispatcher.start({}), /OTEL_TRACES_SAMPLER_ARG .*"7"/));
  await withEnv({ OTEL_SPAN_EVENT_COUNT_LIMIT: 'many' }, () => t.rejects(TraceDispatcher.start({}), /OTEL_SPAN_EVENT_COUNT_LIMIT .*"many"/));
});

t.test('install: twice, over another provider, replace, uninstall', async (t) => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => {
    if ((w as Error & { code?: string }).code === INSTALL_WARNING_CODE) warnings.push(w);
  };
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const tick = () => new Promise((r) => setImmediate(r));

  // d is installed (t.before): the global API records into it.
  const viaGlobal = trace.getTracer('global').startSpan('g');
  t.equal(viaGlobal.isRecording(), true);
  viaGlobal.end();
  t.ok(startOf(await records(d), viaGlobal));

  d.install();
  await tick();
  t.equal(warnings.length, 1, 'installing twice warns');
  t.match(warnings[0]!.message, /already installed/);
  t.equal(trace.getTracer('global').startSpan('still').isRecording(), true, 'and leaves it working');

  d.uninstall();
  t.equal(trace.getTracer('global').startSpan('gone').isRecording(), false, 'uninstall removes the provider');
  t.equal(propagation.fields().length, 0, 'and the propagators');
  d.uninstall(); // a second uninstall is harmless

  // Another SDK got there first: keep it, with a warning.
  const sdk = new SdkTracerProvider();
  t.ok(trace.setGlobalTracerProvider(sdk));
  const e = await start(t);
  e.install();
  await tick();
  t.ok(warnings.some((w) => /another global tracer provider/.test(w.message)), 'over another provider: a warning');
  const kept = trace.getTracer('global').startSpan('sdk');
  t.equal(kept.isRecording(), true, 'the other provider still works');
  t.notOk('idWords' in kept, 'and it is the other one');
  kept.end();
  t.same(propagation.fields().sort(), ['baggage', 'traceparent', 'tracestate'], 'the propagators were free: installed');
  // Active context works with the context manager that was installed.
  const inner = trace.getTracer('x').startActiveSpan('a', (s) => {
    const same = trace.getActiveSpan() === s;
    s.end();
    return same;
  });
  t.equal(inner, true);
  e.uninstall();
  trace.disable();

  e.install({ replace: true });
  const mine = trace.getTracer('global').startSpan('mine');
  t.equal(mine.isRecording(), true);
  t.ok('idWords' in mine, 'replace: ringtrace is the provider');
  mine.end();
  t.ok(startOf(await records(e), mine));
  await e.shutdown();
  t.equal(trace.getTracer('global').startSpan('after shutdown').isRecording(), false, 'shutdown uninstalls');

  // Leave d installed for any later test.
  d.install();
});
