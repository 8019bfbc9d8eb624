/**
 * The OpenTelemetry Logs API through ringtrace: `install()` registers the
 * dispatcher's LoggerProvider globally; `logger.emit()` records reach the
 * sinks as events with every Logs API field; `enabled()` answers from the
 * sinks' filters; nothing the application passes makes emit throw.
 */
import t from 'tap';
import fc from 'fast-check';
import { context, logs, trace, SeverityNumber, ROOT_CONTEXT, type LogRecord } from '@opentelemetry/api';
import { TraceDispatcher, severityLevel } from '../src/index.js';
import type { MemorySinkContents } from '../src/sinks/memory-sink.js';
import type { EventRecord, SpanStartRecord } from '../src/record/trace-record.js';
import { logBodyJson } from '../src/capture/log-body.js';

let d: TraceDispatcher;
t.before(async () => {
  d = await TraceDispatcher.start({
    sinks: [{ name: 'mem', sink: 'memory', filter: 'trace,quiet=warn,silent=off' }],
  });
  d.install();
});
t.teardown(() => d.shutdown());

let seen = 0;
/** The events recorded since the last call. */
async function newEvents(): Promise<EventRecord[]> {
  await d.flush();
  const all = (await d.inspectSink<MemorySinkContents>('mem')).records;
  const fresh = all.slice(seen);
  seen = all.length;
  return fresh.filter((r): r is EventRecord => r.kind === 'event');
}

t.test('install() registers the logger provider globally, uninstall() removes it', async (t) => {
  t.equal(logs.getLoggerProvider(), d.loggerProvider);
  t.equal(logs.getLogger('x').enabled({ severityNumber: SeverityNumber.INFO }), true);
  d.uninstall();
  t.not(logs.getLoggerProvider(), d.loggerProvider);
  t.equal(logs.getLogger('x').enabled({ severityNumber: SeverityNumber.INFO }), false, 'the no-op logger again');
  d.install();
  t.equal(logs.getLoggerProvider(), d.loggerProvider);
});

t.test('severity numbers map to levels; the exact number and text are kept', async (t) => {
  const cases: [number | undefined, string][] = [
    [undefined, 'info'], [0, 'info'], [1, 'trace'], [4, 'trace'], [5, 'debug'], [8, 'debug'], [9, 'info'], [12, 'info'],
    [13, 'warn'], [16, 'warn'], [17, 'error'], [20, 'error'], [21, 'error'], [24, 'error'],
  ];
  const logger = logs.getLogger('levels');
  for (const [n, _] of cases) logger.emit({ severityNumber: n, severityText: n === undefined ? undefined : `S${n}`, body: `sev ${n}` });
  const events = await newEvents();
  t.equal(events.length, cases.length);
  cases.forEach(([n, level], i) => {
    const e = events[i]!;
    t.equal(e.level, level, `severity ${n} -> ${level}`);
    t.equal(e.severityNumber, n ?? 0);
    t.equal(e.severityText, n === undefined ? '' : `S${n}`);
    t.equal(e.target, 'levels');
    t.equal(e.message, `sev ${n}`);
  });
  t.equal(severityLevel(Number.NaN), severityLevel(undefined));
});

t.test('body kinds: a string is the message; structured values stay structured', async (t) => {
  const logger = logs.getLogger('bodies');
  const bodies: unknown[] = ['text', 42, 1.5, true, null, ['a', 1, { b: 2 }], { order: { id: 7, items: ['x', 'y'] }, ok: false }];
  for (const body of bodies) logger.emit({ body: body as LogRecord['body'] });
  logger.emit({ severityNumber: SeverityNumber.INFO });
  const events = await newEvents();
  t.equal(events[0]!.message, 'text');
  t.equal(events[0]!.body, 'text');
  for (let i = 1; i < bodies.length; i++) {
    t.same(events[i]!.body, bodies[i], `body ${JSON.stringify(bodies[i])} kept structured`);
    t.equal(events[i]!.message, JSON.stringify(bodies[i]), 'the message is its JSON');
  }
  const none = events[bodies.length]!;
  t.equal(none.body, undefined, 'no body');
  t.equal(none.message, '');
});

t.test('attributes, event name, timestamps and scope', async (t) => {
  const logger = d.loggerProvider.getLogger('scoped', '1.2.3', { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' });
  logger.emit({
    eventName: 'order.placed',
    timestamp: 1_700_000_000_123,
    observedTimestamp: [1_700_000_001, 500_000_000],
    severityNumber: SeverityNumber.WARN2,
    attributes: { 'order.id': 7, tags: ['a', 'b'], paid: true },
    body: 'placed',
  });
  const [e] = await newEvents();
  t.equal(e!.eventName, 'order.placed');
  t.equal(e!.time, 1_700_000_000_123);
  t.equal(e!.observedTime, 1_700_000_001_500);
  t.equal(e!.level, 'warn');
  t.equal(e!.severityNumber, 14);
  t.same({ ...e!.fields }, { 'order.id': 7, tags: ['a', 'b'], paid: true });
  t.equal(e!.scopeVersion, '1.2.3');
  t.equal(e!.schemaUrl, 'https://opentelemetry.io/schemas/1.30.0');
  t.equal(d.loggerProvider.getLogger('scoped', '1.2.3', { schemaUrl: 'https://opentelemetry.io/schemas/1.30.0' }), logger, 'cached');
  // No timestamps given: the time of the call.
  const before = Date.now();
  logger.emit({ body: 'now' });
  const [n] = await newEvents();
  t.ok(n!.time >= before - 1 && n!.time <= Date.now() + 1);
  t.ok(n!.observedTime! >= n!.time - 1);
});

t.test('exception attributes, as the SDK sets them, without overriding given ones', async (t) => {
  const logger = logs.getLogger('exc');
  const err = new TypeError('bad input');
  logger.emit({ severityNumber: SeverityNumber.ERROR, body: 'failed', exception: err, attributes: { a: 1 } });
  const coded = Object.assign(new Error('refused'), { code: 'ECONNREFUSED' });
  logger.emit({ exception: coded, attributes: { 'exception.message': 'mine' } });
  logger.emit({ exception: 'just a string' });
  const [a, b, c] = await newEvents();
  t.equal(a!.fields['a'], 1);
  t.equal(a!.fields['exception.type'], 'TypeError');
  t.equal(a!.fields['exception.message'], 'bad input');
  t.match(a!.fields['exception.stacktrace'], /TypeError: bad input\n\s+at /);
  t.equal(b!.fields['exception.type'], 'ECONNREFUSED', 'code wins over name');
  t.equal(b!.fields['exception.message'], 'mine', 'a given attribute is kept');
  t.equal(c!.fields['exception.message'], 'just a string');
  t.equal(c!.fields['exception.type'], undefined);
});

t.test('trace context from the active span and from an explicit context', async (t) => {
  const logger = logs.getLogger('ctx');
  const tracer = trace.getTracer('ctx');
  let activeIds: { traceId: string; spanId: string } | undefined;
  tracer.startActiveSpan('outer', (span) => {
    activeIds = span.spanContext();
    logger.emit({ body: 'inside' });
    span.end();
  });
  const remote = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: 1, isRemote: true };
  const explicit = trace.setSpanContext(ROOT_CONTEXT, remote);
  logger.emit({ body: 'explicit', context: explicit });
  const unsampled = trace.setSpanContext(ROOT_CONTEXT, { ...remote, traceFlags: 0 });
  // An explicit context wins over the active one.
  tracer.startActiveSpan('other', (span) => {
    logger.emit({ body: 'explicit over active', context: unsampled });
    span.end();
  });
  context.with(ROOT_CONTEXT, () => logger.emit({ body: 'outside' }));
  const events = await newEvents();
  const by = (m: string) => events.find((e) => e.message === m)!;
  t.equal(by('inside').traceId, activeIds!.traceId);
  t.equal(by('inside').spanId, activeIds!.spanId);
  t.equal(by('inside').traceFlags, 1);
  t.equal(by('explicit').traceId, remote.traceId);
  t.equal(by('explicit').spanId, remote.spanId);
  t.equal(by('explicit').traceFlags, 1);
  t.equal(by('explicit over active').spanId, remote.spanId);
  t.equal(by('explicit over active').traceFlags, 0);
  t.equal(by('outside').traceId, undefined);
  const all = (await d.inspectSink<MemorySinkContents>('mem')).records;
  t.ok(all.some((r) => r.kind === 'spanStart' && (r as SpanStartRecord).span.spanId === activeIds!.spanId));
});

t.test('enabled() answers from the sinks\' filters, and disabled records are not written', async (t) => {
  const loud = logs.getLogger('loud');
  const quiet = logs.getLogger('quiet');
  const silent = logs.getLogger('silent');
  t.equal(loud.enabled({ severityNumber: SeverityNumber.TRACE }), true);
  t.equal(loud.enabled(), true, 'unset severity is info');
  t.equal(quiet.enabled({ severityNumber: SeverityNumber.INFO4 }), false);
  t.equal(quiet.enabled({ severityNumber: SeverityNumber.WARN }), true);
  t.equal(quiet.enabled({ severityNumber: SeverityNumber.FATAL, eventName: 'x' }), true);
  t.equal(silent.enabled({ severityNumber: SeverityNumber.FATAL4 }), false);
  const before = d.producerStats().offered;
  quiet.emit({ severityNumber: SeverityNumber.INFO, body: 'skipped' });
  silent.emit({ severityNumber: SeverityNumber.ERROR, body: 'skipped' });
  t.equal(d.producerStats().offered, before, 'nothing offered to the ring');
  quiet.emit({ severityNumber: SeverityNumber.ERROR, body: 'kept' });
  const events = await newEvents();
  t.same(events.map((e) => e.message), ['kept']);
  // A sink added later changes the answer (the hint's generation moves on).
  await d.addSink({ name: 'all', sink: 'memory', filter: 'trace' });
  t.equal(silent.enabled({ severityNumber: SeverityNumber.TRACE }), true);
  await d.removeSink('all');
  t.equal(silent.enabled({ severityNumber: SeverityNumber.TRACE }), false);
});

t.test('hostile records never throw and still record what can be read', async (t) => {
  const logger = logs.getLogger('hostile');
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  const throwing = Object.defineProperty({ ok: 1 }, 'bad', { enumerable: true, get: () => { throw new Error('boom'); } });
  const record = Object.defineProperty({ body: 'partial' } as LogRecord, 'attributes', { enumerable: true, get: () => { throw new Error('boom'); } });
  const proxy = new Proxy({}, { get: () => { throw new Error('trap'); }, ownKeys: () => { throw new Error('trap'); } });
  const deep: Record<string, unknown> = {};
  let cur = deep;
  for (let i = 0; i < 20; i++) cur = (cur['next'] = {}) as Record<string, unknown>;
  const calls: (() => void)[] = [
    () => logger.emit({ body: cyclic as never }),
    () => logger.emit({ body: throwing as never }),
    () => logger.emit(record),
    () => logger.emit(proxy as LogRecord),
    () => logger.emit({ body: proxy as never, attributes: proxy as never, exception: proxy, context: proxy as never }),
    () => logger.emit({ body: 10n as never, severityNumber: 1e9 as never, severityText: Symbol('s') as never, timestamp: proxy as never }),
    () => logger.emit({ body: deep as never }),
    () => logger.emit(null as never),
    () => logger.emit(undefined as never),
    () => logger.enabled(proxy as never),
    () => d.loggerProvider.getLogger(Symbol('x') as never, proxy as never, proxy as never).emit({ body: 'sym' }),
  ];
  for (const call of calls) t.doesNotThrow(call);
  const events = await newEvents();
  const bodies = events.map((e) => e.body);
  t.same(bodies[0], { a: 1, self: '[Circular]' });
  t.same(bodies[1], { ok: 1, bad: '[Throws]' });
  t.equal(bodies[2], 'partial', 'the readable fields of a record whose attributes getter throws');
  t.equal(events[5]!.body, '10', 'bigint body as its digits');
  t.equal(events[5]!.level, 'error', 'a severity past 24 is error');
  t.equal(events[5]!.severityNumber, 0, 'not a u8: not kept');
  t.match(JSON.stringify(events[6]!.body), /\[Depth\]/);
  t.ok(events.some((e) => e.target === 'unknown' && e.message === 'sym'));
  t.equal(logBodyJson(new Uint8Array([1, 2, 3]), 100), JSON.stringify('AQID'), 'bytes as base64');
  t.equal(logBodyJson('x'.repeat(50), 10), JSON.stringify('x'.repeat(10) + '…[truncated 40]'));
  t.equal(logBodyJson([Number.NaN, new Date(0), undefined], 100), JSON.stringify(['NaN', '1970-01-01T00:00:00.000Z', null]));
});

t.test('property: emit() never throws, whatever the record holds, and every record it writes decodes', async (t) => {
  const logger = logs.getLogger('prop');
  const value = fc.anything({ withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true, maxDepth: 4 });
  const record = fc.record(
    {
      timestamp: fc.oneof(value, fc.tuple(fc.integer(), fc.integer()), fc.date()),
      observedTimestamp: value,
      severityNumber: fc.oneof(fc.integer({ min: -5, max: 300 }), fc.double(), value),
      severityText: value,
      eventName: value,
      body: value,
      attributes: value,
      exception: fc.oneof(value, fc.string().map((m) => new Error(m))),
      context: value,
    },
    { requiredKeys: [] },
  );
  const before = d.producerStats();
  let emitted = 0;
  fc.assert(
    fc.property(record, (r) => {
      logger.emit(r as LogRecord);
      emitted++;
    }),
    { numRuns: 300 },
  );
  const after = d.producerStats();
  t.equal(after.offered - before.offered, emitted, 'every record offered once');
  t.equal(after.written - before.written, emitted, 'and written (none dropped, none oversize)');
  const events = await newEvents();
  t.equal(events.filter((e) => e.target === 'prop').length, emitted, 'and delivered');
});
