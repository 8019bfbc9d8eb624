/**
 * Context through the places Node loses it without a context manager:
 * `await`, timers, `setImmediate`, event emitters (bound), with nested
 * active spans; and structured events made inside an active span carry its
 * ids.
 */
import t from 'tap';
import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { context, trace, type Span } from '@opentelemetry/api';
import { TraceDispatcher } from '../src/index.js';
import type { MemorySinkContents } from '../src/sinks/memory-sink.js';
import type { EventRecord, SpanStartRecord } from '../src/record/trace-record.js';

let d: TraceDispatcher;
t.before(async () => {
  d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory', filter: 'debug' }] });
  d.install();
});
t.teardown(() => d.shutdown());

const tracer = () => trace.getTracer('ctx');
const active = () => trace.getActiveSpan();

t.test('nested active spans through await, setTimeout, setImmediate', async (t) => {
  const seen: Record<string, Span | undefined> = {};
  let outer!: Span;
  let inner!: Span;
  await tracer().startActiveSpan('outer', async (o) => {
    outer = o;
    await sleep(1);
    seen['outer after await'] = active();
    await tracer().startActiveSpan('inner', async (i) => {
      inner = i;
      await Promise.resolve();
      seen['inner after await'] = active();
      await new Promise<void>((r) =>
        setTimeout(() => {
          seen['inner in setTimeout'] = active();
          r();
        }, 1),
      );
      await new Promise<void>((r) =>
        setImmediate(() => {
          seen['inner in setImmediate'] = active();
          r();
        }),
      );
      i.end();
    });
    seen['outer after inner'] = active();
    await new Promise<void>((r) =>
      setTimeout(() => {
        seen['outer in setTimeout'] = active();
        r();
      }, 1),
    );
    o.end();
  });
  seen['outside'] = active();
  t.equal(seen['outer after await'], outer);
  t.equal(seen['inner after await'], inner);
  t.equal(seen['inner in setTimeout'], inner);
  t.equal(seen['inner in setImmediate'], inner);
  t.equal(seen['outer after inner'], outer, 'the outer span is active again after the inner one');
  t.equal(seen['outer in setTimeout'], outer);
  t.equal(seen['outside'], undefined);

  await d.flush();
  const starts = (await d.inspectSink<MemorySinkContents>('mem')).records.filter((r): r is SpanStartRecord => r.kind === 'spanStart');
  const innerStart = starts.find((s) => s.span.spanId === inner.spanContext().spanId);
  t.equal(innerStart?.span.parentSpanId, outer.spanContext().spanId, 'the inner span is the child of the outer one');
});

t.test('two concurrent requests keep their own active span', async (t) => {
  const results: boolean[] = [];
  const request = (name: string, delay: number) =>
    tracer().startActiveSpan(name, async (span) => {
      await sleep(delay);
      results.push(active() === span);
      await sleep(delay);
      results.push(active() === span);
      span.end();
    });
  await Promise.all([request('a', 3), request('b', 1), request('c', 2)]);
  t.same(results, [true, true, true, true, true, true]);
});

t.test('event emitters: listeners bound to a context see its span', async (t) => {
  const emitter = new EventEmitter();
  let bound!: Span;
  const inListener: (Span | undefined)[] = [];
  tracer().startActiveSpan('emitter owner', (span) => {
    bound = span;
    context.bind(context.active(), emitter);
    emitter.on('data', () => inListener.push(active()));
    span.end();
  });
  // Emitted from another context: the bound listener still sees the owner's span.
  tracer().startActiveSpan('emitting', (other) => {
    emitter.emit('data');
    other.end();
  });
  emitter.emit('data');
  t.same(inListener, [bound, bound]);

  // Unbound emitters run listeners in the emitter's caller context, which is the default.
  const plain = new EventEmitter();
  let seen: Span | undefined;
  plain.on('x', () => (seen = active()));
  tracer().startActiveSpan('caller', (span) => {
    plain.emit('x');
    t.equal(seen, span);
    span.end();
  });
  // A bound function keeps its context too.
  let owner!: Span;
  const fn = tracer().startActiveSpan('fn owner', (span) => {
    owner = span;
    span.end();
    return context.bind(context.active(), () => active());
  });
  t.equal(fn(), owner, 'called outside, it runs in the bound context');
  await new Promise((r) => setImmediate(r));
  t.equal(fn(), owner);
});

t.test('events from dispatcher.logger() inside an active span carry its ids', async (t) => {
  const log = d.logger('checkout');
  let outer!: Span;
  let inner!: Span;
  log.info('before any span');
  await tracer().startActiveSpan('outer', async (o) => {
    outer = o;
    log.info('in outer');
    await sleep(1);
    await tracer().startActiveSpan('inner', async (i) => {
      inner = i;
      await Promise.resolve();
      log.debug('in inner', { step: 1 });
      setTimeout(() => log.warn('in inner timer'), 1);
      await sleep(5);
      i.end();
    });
    log.error('outer again');
    o.end();
  });
  await d.flush();
  const events = (await d.inspectSink<MemorySinkContents>('mem')).records.filter((r): r is EventRecord => r.kind === 'event' && r.target === 'checkout');
  const ids = Object.fromEntries(events.map((e) => [e.message, [e.traceId, e.spanId]]));
  const o = outer.spanContext();
  const i = inner.spanContext();
  t.same(ids['before any span'], [undefined, undefined]);
  t.same(ids['in outer'], [o.traceId, o.spanId]);
  t.same(ids['in inner'], [i.traceId, i.spanId]);
  t.same(ids['in inner timer'], [i.traceId, i.spanId]);
  t.same(ids['outer again'], [o.traceId, o.spanId]);
  t.equal(o.traceId, i.traceId);
});
