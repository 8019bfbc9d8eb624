// Loggers and tracers are cached per target, up to a bound: an application
// that makes targets or tracer names from ids must not grow memory without limit.
import t from 'tap';
import { LevelHint } from '../src/filter/level-hint.js';
import { RecordEncoder } from '../src/encoder/record-encoder.js';
import { allocateRing, MIN_CAPACITY } from '../src/ring/layout.js';
import { RingWriter } from '../src/ring/ring-writer.js';
import { resolveOptions } from '../src/options.js';
import { MAX_CACHED_TRACERS, RingTracerProvider } from '../src/capture/ring-tracer-provider.js';
import { MAX_CACHED_LOGGERS, TraceDispatcher } from '../src/dispatcher.js';

t.test('tracers: one per (name, version), at most MAX_CACHED_TRACERS cached', async (t) => {
  const o = resolveOptions({});
  const provider = new RingTracerProvider({ encoder: new RecordEncoder(new RingWriter(allocateRing(MIN_CAPACITY))), hint: new LevelHint(), limits: o.spanLimits, sampler: o.sampler, spanLevel: o.spanLevel, publishAfterMs: o.flushIntervalMs });
  t.equal(provider.getTracer('a', '1'), provider.getTracer('a', '1'), 'the same tracer for the same name and version');
  t.not(provider.getTracer('a', '1'), provider.getTracer('a', '2'), 'another version, another tracer');
  for (let i = 0; i < MAX_CACHED_TRACERS; i++) provider.getTracer(`t${i}`);
  t.not(provider.getTracer('past-the-bound'), provider.getTracer('past-the-bound'), 'past the bound: made per call, not kept');
  t.equal(provider.getTracer('a', '1'), provider.getTracer('a', '1'), 'those cached before stay cached');
});

t.test('loggers: one per target, at most MAX_CACHED_LOGGERS cached', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'mem', sink: 'memory' }] });
  t.teardown(() => d.shutdown());
  t.equal(d.logger('a'), d.logger('a'));
  for (let i = 0; i < MAX_CACHED_LOGGERS; i++) d.logger(`l${i}`);
  const x = d.logger('past-the-bound');
  t.not(x, d.logger('past-the-bound'), 'past the bound: made per call, not kept');
  x.info('still records');
  await d.flush();
  const { records } = await d.inspectSink<{ records: { target: string }[] }>('mem');
  t.ok(records.some((r) => r.target === 'past-the-bound'), 'an uncached logger records as any other');
});
