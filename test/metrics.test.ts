/**
 * The recording side (src/metrics) and the region reader
 * (src/metric-region), in-process: what a meter's instruments record is
 * what MetricRegionReader reads back, for every instrument kind, attribute
 * type, limit and bad input.
 */
import { Worker } from 'node:worker_threads';
import fc from 'fast-check';
import t from 'tap';
import { ValueType, type MetricAttributes } from '@opentelemetry/api';
import { allocateMetricRegion } from '../src/metric-region/layout.js';
import { MetricRegionReader } from '../src/metric-region/region-reader.js';
import type { HistogramMetric, HistogramPoint, MetricsSnapshot, NumberMetric, NumberPoint } from '../src/metric-region/metrics-snapshot.js';
import { canonicalAttributes, hashAttributes } from '../src/metrics/attribute-set-table.js';
import { BucketPicker } from '../src/metrics/bucket-picker.js';
import { DEFAULT_HISTOGRAM_BOUNDARIES, METRICS_WARNING_CODE, resolveMetricsOptions } from '../src/metrics/metrics-config.js';
import { RingMeterProvider } from '../src/metrics/ring-meter-provider.js';

function setup(o: { cardinalityLimit?: number; maxCells?: number; logBytes?: number } = {}) {
  const region = allocateMetricRegion(o.logBytes ?? 64 * 1024, o.maxCells ?? 64 * 1024);
  const provider = new RingMeterProvider(region, { cardinalityLimit: o.cardinalityLimit ?? 2000, exportIntervalMs: 60_000 });
  const reader = new MetricRegionReader([region]);
  return { region, provider, reader, meter: provider.getMeter('test', '1.2.3') };
}

function metric(s: MetricsSnapshot, name: string): NumberMetric | HistogramMetric {
  const m = s.metrics.find((x) => x.name === name);
  if (m === undefined) throw new Error(`no metric ${name} in ${s.metrics.map((x) => x.name).join(', ')}`);
  return m;
}

function point(s: MetricsSnapshot, name: string, attributes: Record<string, unknown> = {}): NumberPoint | HistogramPoint | undefined {
  return metric(s, name).points.find((p: NumberPoint | HistogramPoint) => JSON.stringify(sorted(p.attributes)) === JSON.stringify(sorted(attributes)));
}

function sorted(o: Record<string, unknown>): [string, unknown][] {
  return Object.entries(o).sort((a, b) => (a[0] < b[0] ? -1 : 1));
}

/** Collect RINGTRACE_METRICS warnings while `fn` runs. */
async function warnings(fn: () => void | Promise<void>): Promise<string[]> {
  const seen: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => {
    if (w.code === METRICS_WARNING_CODE) seen.push(w.message);
  };
  process.on('warning', onWarning);
  try {
    await fn();
    // process.emitWarning delivers on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('warning', onWarning);
  }
  return seen;
}

t.test('each synchronous instrument kind records exactly what was given', async (t) => {
  const { meter, reader } = setup();
  const counter = meter.createCounter('requests', { description: 'Requests served', unit: '{request}', valueType: ValueType.INT });
  const updown = meter.createUpDownCounter('queue.depth');
  const gauge = meter.createGauge('temperature', { unit: 'Cel' });
  const histogram = meter.createHistogram('latency', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 0.5, 1] } });
  for (let i = 0; i < 1000; i++) counter.add(1);
  counter.add(2.5, { route: '/a' });
  updown.add(5);
  updown.add(-7);
  gauge.record(20);
  gauge.record(-3.5);
  for (const v of [0.05, 0.1, 0.3, 0.5, 0.7, 1, 2]) histogram.record(v, { route: '/a' });
  const s = reader.snapshot();
  const c = metric(s, 'requests');
  t.match(c, { kind: 'counter', description: 'Requests served', unit: '{request}', valueType: 'int', scope: { name: 'test', version: '1.2.3' } });
  t.equal((point(s, 'requests') as NumberPoint).value, 1000);
  t.equal((point(s, 'requests', { route: '/a' }) as NumberPoint).value, 2.5);
  t.equal((point(s, 'queue.depth') as NumberPoint).value, -2, 'an up-down counter goes down');
  t.equal(metric(s, 'queue.depth').kind, 'upDownCounter');
  t.equal((point(s, 'temperature') as NumberPoint).value, -3.5, 'a gauge keeps the last value');
  const h = metric(s, 'latency') as HistogramMetric;
  t.same(h.boundaries, [0.1, 0.5, 1], "the advice's boundaries");
  t.same((histogram as unknown as { boundaries: number[] }).boundaries, [0.1, 0.5, 1], 'and the instrument says so');
  const hp = point(s, 'latency', { route: '/a' }) as HistogramPoint;
  t.same(hp.buckets, [2, 2, 2, 1], 'bounds are inclusive upper bounds: (-inf,0.1], (0.1,0.5], (0.5,1], (1,+inf)');
  t.equal(hp.count, 7);
  t.equal(hp.sum, 0.05 + 0.1 + 0.3 + 0.5 + 0.7 + 1 + 2);
  t.equal(hp.min, 0.05);
  t.equal(hp.max, 2);
  t.equal(s.invalid, 0);
  t.ok(s.startTimeUnixMs <= s.timeUnixMs);
});

t.test('a histogram without advice uses the SDK default boundaries; an unrecorded one has no min/max', async (t) => {
  const { meter, reader } = setup();
  const h = meter.createHistogram('plain');
  h.record(7);
  h.record(10_001);
  const m = metric(reader.snapshot(), 'plain') as HistogramMetric;
  t.same(m.boundaries, DEFAULT_HISTOGRAM_BOUNDARIES);
  t.equal(m.points[0]!.buckets[2], 1, '7 is in (5, 10]');
  t.equal(m.points[0]!.buckets[15], 1, '10001 is in (10000, +Inf)');
  meter.createHistogram('never').record(1, { a: 1 });
  t.equal(metric(reader.snapshot(), 'never').points.length, 1);
});

t.test('every attribute type is kept; key order does not matter; invalid values are dropped', async (t) => {
  const { meter, reader } = setup();
  const c = meter.createCounter('typed');
  const attrs = { s: 'x', i: 42, f: 1.5, b: false, ss: ['a', 'b'], ns: [1, 2.5], bs: [true, false], holes: ['a', null, undefined] };
  c.add(1, attrs as MetricAttributes);
  c.add(1, { holes: ['a', null, undefined], bs: [true, false], ns: [1, 2.5], ss: ['a', 'b'], b: false, f: 1.5, i: 42, s: 'x' } as MetricAttributes);
  c.add(1, { ...attrs, nested: { no: 1 }, mixed: [1, 'a'], nul: null, undef: undefined } as unknown as MetricAttributes);
  c.add(1, { n: Number.NaN, inf: Infinity } as MetricAttributes);
  const s = reader.snapshot();
  const typed = metric(s, 'typed').points as NumberPoint[];
  t.equal(typed.length, 2, 'the invalid values did not make a third series');
  const p = typed.find((x) => 's' in x.attributes)!;
  t.equal(p.value, 3);
  t.same(p.attributes, { b: false, bs: [true, false], f: 1.5, holes: ['a', null, null], i: 42, ns: [1, 2.5], s: 'x', ss: ['a', 'b'] });
  t.same(typed.find((x) => 'n' in x.attributes)!.attributes, { inf: 'Infinity', n: 'NaN' }, 'non-finite numbers travel as strings');
  t.same(canonicalAttributes(['b', 'a', ''], [1, 'x', 'empty key']), [['a', 'x'], ['b', 1]]);
});

t.test('the identity cache sees a changed value; equal objects share a series', async (t) => {
  const { meter, reader } = setup();
  const c = meter.createCounter('hits');
  const attrs: Record<string, string | number> = { status: 200 };
  c.add(1, attrs);
  c.add(1, attrs);
  attrs.status = 500;
  c.add(1, attrs);
  c.add(1, { status: 200 });
  const other = { status: 500 };
  c.add(1, other);
  c.add(1, attrs); // back to the memo of `other`'s series through the WeakMap
  const s = reader.snapshot();
  t.equal((point(s, 'hits', { status: 200 }) as NumberPoint).value, 3);
  t.equal((point(s, 'hits', { status: 500 }) as NumberPoint).value, 3);
  c.add(1, null as unknown as MetricAttributes);
  c.add(1, {});
  t.equal((point(reader.snapshot(), 'hits') as NumberPoint).value, 2, 'null and {} are the series without attributes');
});

t.test('two attribute sets with the same hash are still two series', async (t) => {
  // Find a collision among { id: 'u<n>' }: a 32-bit hash collides within a few hundred thousand sets.
  const seen = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let n = 0; pair === undefined && n < 3_000_000; n++) {
    const id = `u${n}`;
    const h = hashAttributes({ id });
    const other = seen.get(h);
    if (other !== undefined) pair = [other, id];
    else seen.set(h, id);
  }
  t.ok(pair, 'a collision was found');
  const [a, b] = pair!;
  t.equal(hashAttributes({ id: a }), hashAttributes({ id: b }));
  t.equal(hashAttributes({ x: 1, y: 'z' }), hashAttributes({ y: 'z', x: 1 }), 'key order does not change the hash');
  const { meter, reader } = setup();
  const c = meter.createCounter('collide');
  c.add(1, { id: a });
  c.add(2, { id: b });
  c.add(3, { id: `${b}x` });
  c.add(4, { id: a });
  const s = reader.snapshot();
  t.equal((point(s, 'collide', { id: a }) as NumberPoint).value, 5);
  t.equal((point(s, 'collide', { id: b }) as NumberPoint).value, 2);
  t.equal(metric(s, 'collide').points.length, 3);
});

t.test('past the cardinality limit measurements go to the otel.metric.overflow series, counted', async (t) => {
  const { meter, reader, provider } = setup({ cardinalityLimit: 5 });
  const c = meter.createCounter('bounded');
  const h = meter.createHistogram('bounded.h', { advice: { explicitBucketBoundaries: [1] } });
  for (let i = 0; i < 10; i++) {
    c.add(1, { id: i });
    h.record(i, { id: i });
  }
  c.add(1, { id: 9 }); // a set past the limit, again
  c.add(1, { id: 0 }); // a set within the limit still has its series
  const s = reader.snapshot();
  const points = metric(s, 'bounded').points as NumberPoint[];
  t.equal(points.length, 5, 'limit − 1 sets, and the overflow series');
  t.equal((point(s, 'bounded', { id: 0 }) as NumberPoint).value, 2);
  t.equal((point(s, 'bounded', { 'otel.metric.overflow': true }) as NumberPoint).value, 7, 'ids 4..9, and 9 again');
  const ho = point(s, 'bounded.h', { 'otel.metric.overflow': true }) as HistogramPoint;
  t.equal(ho.count, 6);
  t.equal(ho.sum, 4 + 5 + 6 + 7 + 8 + 9);
  t.equal(s.overflowed, 7 + 6, 'every measurement into overflow is counted');
  t.equal(provider.stats().overflowed, 13);
  t.equal(metric(s, 'bounded').points.reduce((n, p) => n + (p as NumberPoint).value, 0), 12, 'nothing lost');
});

t.test('bad input: a warning once per instrument naming the value, the value ignored and counted, nothing thrown', async (t) => {
  const { meter, reader, provider } = setup();
  const c = meter.createCounter('c');
  const u = meter.createUpDownCounter('u');
  const g = meter.createGauge('g');
  const h = meter.createHistogram('h');
  const seen = await warnings(() => {
    c.add(-1);
    c.add(-2);
    c.add(Number.NaN);
    c.add(Infinity);
    c.add('5' as unknown as number);
    u.add(-Infinity);
    g.record(Number.NaN);
    h.record(-1);
    h.record(Infinity);
    c.add(3);
    for (let i = 0; i < 1000; i++) c.add(-i - 1);
  });
  t.equal(seen.length, 7, 'negative, non-finite and non-number for c; non-finite for u and g; negative and non-finite for h: once each, 1000 more negatives for c said nothing');
  t.match(seen[0], /negative value \(-1\) is not allowed for counter "c"/);
  t.ok(seen.some((m) => /non-finite value \(NaN\).*counter "c"/.test(m)));
  t.ok(seen.some((m) => /counter "c" takes a number, got string/.test(m)));
  const s = reader.snapshot();
  t.equal((point(s, 'c') as NumberPoint).value, 3, 'only the good value');
  t.equal(s.invalid, 1009, 'every ignored value counted');
  t.equal(provider.stats().invalid, 1009);
  t.equal((point(s, 'h') as HistogramPoint | undefined)?.count ?? 0, 0, 'the histogram took none of them');
  t.equal((point(s, 'g') as NumberPoint | undefined)?.value, undefined, 'the gauge has no value');
  t.notOk(s.metrics.find((m) => m.name === 'u')?.points.length, 'no series for a value never accepted');
});

t.test('bad instrument names, units and boundaries warn and never throw', async (t) => {
  const { meter, reader } = setup();
  let bad!: ReturnType<typeof meter.createCounter>;
  let h!: ReturnType<typeof meter.createHistogram>;
  const seen = await warnings(() => {
    bad = meter.createCounter('9lives');
    meter.createHistogram('');
    meter.createGauge('a'.repeat(256));
    meter.createCounter('has space');
    meter.createCounter('ok', { unit: 'é' });
    h = meter.createHistogram('hb', { advice: { explicitBucketBoundaries: [1, 1, 2] } });
    meter.createHistogram('hn', { advice: { explicitBucketBoundaries: [1, Number.NaN] } });
  });
  t.equal(seen.length, 7);
  t.match(seen[0], /invalid instrument name "9lives"/);
  t.match(seen[4], /invalid unit "é"/);
  t.match(seen[5], /histogram "hb": advice\.explicitBucketBoundaries \[1,1,2\] ignored \(boundary 1 is not greater/);
  t.doesNotThrow(() => bad.add(1));
  h.record(3);
  const s = reader.snapshot();
  t.equal(s.invalid, 6, 'the four bad names and the two bad boundary lists are counted (a bad unit is replaced, not counted)');
  t.notOk(s.metrics.some((m) => m.name === '9lives'), 'an invalid name records nothing');
  t.same((metric(s, 'hb') as HistogramMetric).boundaries, DEFAULT_HISTOGRAM_BOUNDARIES, 'default boundaries instead');
  t.equal(metric(s, 'ok').unit, '');
  t.ok(meter.createCounter('a'.repeat(255)), 'a 255-character name is valid');
  t.ok(meter.createCounter('a-b.c_d/e'), 'every allowed character');
});

t.test('one instrument per name in a meter (case-insensitive); another kind with the name records nothing', async (t) => {
  const { meter, reader, provider } = setup();
  const a = meter.createCounter('Dup');
  t.equal(meter.createCounter('dup'), a, 'the same instrument again');
  const seen = await warnings(() => {
    meter.createHistogram('DUP').record(1);
  });
  t.match(seen[0], /"DUP" is already a counter/);
  a.add(1);
  t.equal(reader.snapshot().metrics.filter((m) => m.name.toLowerCase() === 'dup').length, 1);
  t.equal(provider.getMeter('test', '1.2.3'), meter, 'meters are cached per scope');
  t.not(provider.getMeter('test', '2'), meter);
  const other = provider.getMeter('other');
  other.createCounter('dup').add(5);
  t.equal(reader.snapshot().metrics.filter((m) => m.name.toLowerCase() === 'dup').length, 2, 'each scope has its own');
});

t.test('observable instruments: callbacks and batch callbacks store their observations at collection', async (t) => {
  const { meter, reader, provider } = setup();
  const oc = meter.createObservableCounter('cpu.time', { unit: 's' });
  const ou = meter.createObservableUpDownCounter('connections');
  const og = meter.createObservableGauge('heap');
  let total = 10;
  const cb = (r: { observe(v: number, a?: MetricAttributes): void }) => r.observe(total, { cpu: 0 });
  oc.addCallback(cb);
  ou.addCallback(async (r) => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    r.observe(-4);
  });
  const batch = (r: { observe(o: unknown, v: number, a?: MetricAttributes): void }) => {
    r.observe(og, 123, { space: 'old' });
    r.observe(oc, 999, { cpu: 9 }); // not registered with this batch callback: ignored
  };
  meter.addBatchObservableCallback(batch as never, [og]);
  t.notOk(metric(reader.snapshot(), 'heap').points.length, 'nothing before the first collection');
  await provider.collect();
  let s = reader.snapshot();
  t.equal((point(s, 'cpu.time', { cpu: 0 }) as NumberPoint).value, 10);
  t.notOk(point(s, 'cpu.time', { cpu: 9 }));
  t.equal((point(s, 'connections') as NumberPoint).value, -4, 'an async callback was waited for');
  t.equal((point(s, 'heap', { space: 'old' }) as NumberPoint).value, 123);
  total = 25;
  await provider.collect();
  t.equal((point(reader.snapshot(), 'cpu.time', { cpu: 0 }) as NumberPoint).value, 25, 'an observable counter reports its running total, not a sum of observations');
  oc.removeCallback(cb);
  meter.removeBatchObservableCallback(batch as never, [og]);
  total = 50;
  await provider.collect();
  s = reader.snapshot();
  t.equal((point(s, 'cpu.time', { cpu: 0 }) as NumberPoint).value, 25, 'a removed callback no longer runs');
  provider.close();
});

t.test('a failing observable callback is warned about once, counted, and does not stop the others', async (t) => {
  const { meter, reader, provider } = setup();
  const bad = meter.createObservableGauge('bad');
  const good = meter.createObservableGauge('good');
  bad.addCallback(() => {
    throw new Error('boom');
  });
  bad.addCallback(() => Promise.reject(new Error('later')));
  good.addCallback((r) => r.observe(1));
  meter.createObservableCounter('neg').addCallback((r) => r.observe(-1));
  meter.addBatchObservableCallback(() => {
    throw new Error('batch boom');
  }, [good]);
  const seen = await warnings(async () => {
    await provider.collect();
    await provider.collect();
  });
  t.equal(seen.filter((m) => /callback of observableGauge "bad" failed: boom/.test(m)).length, 1, 'once per instrument');
  t.equal(seen.filter((m) => /batch observable callback failed: batch boom/.test(m)).length, 1);
  t.ok(seen.some((m) => /negative value \(-1\).*observableCounter "neg"/.test(m)));
  t.equal((point(reader.snapshot(), 'good') as NumberPoint).value, 1);
  t.equal(reader.snapshot().invalid, 2 * 2 + 2, 'two failing callbacks and one negative observation, twice');
  provider.close();
});

t.test('a full region: new series go to overflow, counted as dropped; an instrument with no room records nothing', async (t) => {
  const { meter, reader, provider } = setup({ maxCells: 64 });
  const c = meter.createCounter('small');
  for (let i = 0; i < 100; i++) c.add(1, { i });
  const s = reader.snapshot();
  const total = metric(s, 'small').points.reduce((n, p) => n + (p as NumberPoint).value, 0);
  t.equal(total, 100, 'every measurement is somewhere');
  t.ok(s.seriesDropped > 0, 'the refused series are counted');
  t.equal(provider.stats().cellsUsed, 64);
  const seen = await warnings(() => {
    meter.createHistogram('nope').record(1);
    meter.createHistogram('nope2').record(1);
  });
  t.equal(seen.length, 1, 'said once');
  t.match(seen[0], /metrics region is full; histogram "nope" and instruments made after it record nothing/);
  t.equal(provider.region.byteLength > 0, true, 'the provider exposes its region');
});

t.test('a full descriptor log refuses new series the same way', async (t) => {
  const { meter, reader } = setup({ logBytes: 1024 });
  const c = meter.createCounter('logged');
  for (let i = 0; i < 50; i++) c.add(1, { key: `value-${i}` });
  const s = reader.snapshot();
  t.ok(s.seriesDropped > 0);
  t.equal(metric(s, 'logged').points.reduce((n, p) => n + (p as NumberPoint).value, 0), 50, 'the overflow series was described with its instrument');
  t.ok(point(s, 'logged', { 'otel.metric.overflow': true }));
});

t.test('several regions (recording threads) are summed; gauges take the last region with a value', async (t) => {
  const a = setup();
  const bRegion = allocateMetricRegion(4096, 1024);
  const b = new RingMeterProvider(bRegion, { cardinalityLimit: 2000, exportIntervalMs: 60_000 }).getMeter('test', '1.2.3');
  a.meter.createCounter('n').add(2, { k: 1 });
  b.createCounter('n').add(3, { k: 1 });
  b.createCounter('n').add(1, { k: 2 });
  a.meter.createGauge('g').record(1);
  b.createGauge('g').record(2);
  a.meter.createHistogram('h').record(1);
  b.createHistogram('h').record(100);
  const s = new MetricRegionReader([a.region, bRegion]).snapshot();
  t.equal((point(s, 'n', { k: 1 }) as NumberPoint).value, 5);
  t.equal((point(s, 'n', { k: 2 }) as NumberPoint).value, 1);
  t.equal((point(s, 'g') as NumberPoint).value, 2);
  t.match(point(s, 'h'), { count: 2, sum: 101, min: 1, max: 100 });
});

t.test('BucketPicker agrees with a linear scan for any bounds and value', async (t) => {
  const linear = (bounds: number[], v: number): number => {
    let i = 0;
    while (i < bounds.length && v > bounds[i]!) i++;
    return i;
  };
  const boundsArb = fc.oneof(
    fc.uniqueArray(fc.integer({ min: -1000, max: 70_000 }), { minLength: 1, maxLength: 40 }),
    fc.uniqueArray(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 20 }).map((xs) => xs.map((x) => x / 1000)),
    fc.uniqueArray(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 20 }),
  );
  fc.assert(
    fc.property(boundsArb, fc.array(fc.double({ min: -1e7, max: 1e7, noNaN: true }), { maxLength: 30 }), (raw, values) => {
      const bounds = [...new Set(raw)].sort((x, y) => x - y);
      const picker = new BucketPicker(bounds);
      for (const v of [...values, ...bounds, ...bounds.map((b) => b + 1e-9), ...bounds.map((b) => b - 1e-9), ...bounds.map((b) => Math.ceil(b))]) {
        if (picker.pick(v) !== linear(bounds, v)) return false;
      }
      return true;
    }),
    { numRuns: 300 },
  );
  t.equal(new BucketPicker([]).pick(5), 0, 'no bounds: one bucket');
  t.equal(new BucketPicker([0.005, 0.01, 0.025]).pick(0.01), 1, 'a bound is inclusive, also after scaling');
});

/**
 * A thread recording into one histogram series as RingHistogram does (the
 * bucket, the sum, then the generation with `Atomics.store`), as plain JS: an
 * eval'd worker loads no TypeScript. `pause` holds it between the bucket and
 * the sum of one record (`control[1]` = 1 once there) until `control[0]` is 2;
 * otherwise it records in a tight loop until `control[0]` is 1.
 */
const HISTOGRAM_WRITER = `
  const { workerData, parentPort } = require('node:worker_threads');
  const { region, offset, cell, bucket, control: c } = workerData;
  const cells = new Float64Array(region, offset);
  const gens = new Int32Array(region, offset);
  const control = new Int32Array(c);
  let n = 0;
  const record = (pause) => {
    cells[cell + 4 + bucket] += 1;
    if (pause) {
      Atomics.store(control, 1, 1);
      Atomics.notify(control, 1);
      while (Atomics.load(control, 0) !== 2) Atomics.wait(control, 0, Atomics.load(control, 0), 100);
    }
    cells[cell + 1] += 1;
    Atomics.store(gens, cell * 2, (gens[cell * 2] + 1) | 0);
    n++;
  };
  parentPort.postMessage('go');
  if (workerData.pause) record(true);
  else while (Atomics.load(control, 0) === 0) for (let i = 0; i < 1000; i++) record(false);
  parentPort.postMessage(n);`;

/** A histogram with `bounds`, recorded into `before` times with 1 here, and a writer thread on its series' last bucket. */
async function histogramUnderWriter(bounds: number[], before: number, pause = false) {
  const region = allocateMetricRegion(16 * 1024, 4096);
  const provider = new RingMeterProvider(region, { cardinalityLimit: 10, exportIntervalMs: 60_000 });
  const h = provider.getMeter('m').createHistogram('h', { advice: { explicitBucketBoundaries: bounds } });
  for (let i = 0; i < before; i++) h.record(1);
  const reader = new MetricRegionReader([region]);
  const read = (): HistogramPoint => metric(reader.snapshot(), 'h').points[0] as HistogramPoint;
  const first = read();
  const offset = new Int32Array(region, 0, 16)[2]! + 64;
  const cells = new Float64Array(region, offset, 4096);
  // The series' first cell: the one whose sum and last bucket hold the records above.
  const cell = [...cells.keys()].find((i) => cells[i + 1] === before && cells[i + 4 + bounds.length] === before)!;
  const control = new Int32Array(new SharedArrayBuffer(8));
  const worker = new Worker(HISTOGRAM_WRITER, { eval: true, workerData: { region, offset, cell, bucket: bounds.length, control: control.buffer, pause } });
  await new Promise((resolve) => worker.once('message', resolve));
  const stop = async (): Promise<number> => {
    Atomics.store(control, 0, pause ? 2 : 1);
    Atomics.notify(control, 0);
    const n = await new Promise<number>((resolve) => worker.once('message', resolve));
    await worker.terminate();
    provider.close();
    return n;
  };
  return { region, reader, first, read, stop, control };
}

t.test('a histogram read while another thread records into it: count is its buckets, sum agrees within one record, it only grows', async (t) => {
  const { reader, first, read, stop } = await histogramUnderWriter([0.5], 1);
  t.same(first.buckets, [0, 1]);
  let last = 0;
  let countIsBuckets = 0;
  let decreases = 0;
  let agree = 0;
  for (let i = 0; i < 2000; i++) {
    const p = read();
    if (p.count === p.buckets[0]! + p.buckets[1]!) countIsBuckets++;
    if (p.count < last) decreases++;
    last = p.count;
    if (Math.abs(p.sum - p.count) <= 1) agree++;
    if (i % 200 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const torn = reader.tornReads;
  const n = await stop();
  t.equal(countIsBuckets, 2000, 'count is always the sum of the buckets');
  t.equal(decreases, 0, 'the count never goes down');
  t.equal(agree, 2000, `every read has sum and count within one record (${torn} of 2000 found no quiet moment and kept the last matched read)`);
  t.ok(last > 1, 'the reads overlapped the recording');
  const end = read();
  t.equal(end.count, n + 1, 'every record is counted once the writer stops');
  t.equal(end.sum, n + 1);
});

t.test('a histogram read torn on every attempt reports its last matched read, never the torn one', async (t) => {
  // 200 bounds: a read copies 201 buckets after the sum, time for many records into the last one,
  // so a read whose generation loads differ is off by many records.
  const bounds = Array.from({ length: 200 }, (_, i) => (i + 1) / 400);
  const { region, reader, first, read, stop } = await histogramUnderWriter(bounds, 5);
  t.match(first, { count: 5, sum: 5 });
  // A reader started while the series is being recorded into, as a respawned worker's: none of its reads matched yet.
  const fresh = new MetricRegionReader([region]);
  let last = 0;
  const bad: string[] = [];
  // Reads go on until 100 found the writer mid-read on every attempt: on a loaded machine the writer
  // may be off its core for a while, and then every read matches.
  let reads = 0;
  while (reads < 20_000 && reader.tornReads < 100) {
    const p = read();
    if (p.count !== p.buckets[200] || Math.abs(p.sum - p.count) > 1 || p.count < Math.max(last, 5)) bad.push(`count ${p.count}, sum ${p.sum}, last bucket ${p.buckets[200]}, before ${last}`);
    last = p.count;
    if (reads % 10 === 0) {
      const q = metric(fresh.snapshot(), 'h').points[0] as HistogramPoint | undefined;
      if (q !== undefined && (q.count !== q.buckets[200] || Math.abs(q.sum - q.count) > 1 || q.count < 5)) bad.push(`new reader: count ${q.count}, sum ${q.sum}`);
    }
    if (++reads % 100 === 0) await new Promise((resolve) => setImmediate(resolve));
  }
  const torn = reader.tornReads;
  const n = await stop();
  t.same(bad.slice(0, 5), [], `every read is a matched one, at least the 5 records made before the writer started (${torn} of ${reads} kept the last matched read)`);
  t.match(read(), { count: n + 5, sum: n + 5, min: 1, max: 1 }, 'exact once the writer stops');
  t.match(metric(fresh.snapshot(), 'h').points, [{ count: n + 5, sum: n + 5 }], 'the new reader too');
});

t.test('a record in flight (bucket stored, sum not yet) is read as it is: within one record, not retried forever', async (t) => {
  const { reader, read, stop, control } = await histogramUnderWriter([0.5], 3, true);
  while (Atomics.load(control, 1) !== 1) Atomics.wait(control, 1, 0, 100);
  const mid = read();
  t.match(mid, { count: 4, sum: 3, buckets: [0, 4] }, 'the bucket counted, the sum not yet: one record apart');
  t.equal(reader.tornReads, 0, 'the generation did not move, so the read matched');
  t.equal(await stop(), 1);
  t.match(read(), { count: 4, sum: 4 });
});

t.test('metrics options: defaults, OTEL_METRIC_EXPORT_INTERVAL, errors naming the option', async (t) => {
  t.match(resolveMetricsOptions(undefined, {}), { cardinalityLimit: 2000, exportIntervalMs: 60_000 });
  t.equal(resolveMetricsOptions({}, { OTEL_METRIC_EXPORT_INTERVAL: '5000' }).exportIntervalMs, 5000);
  t.equal(resolveMetricsOptions({ exportIntervalMs: 10 }, { OTEL_METRIC_EXPORT_INTERVAL: '5000' }).exportIntervalMs, 10, 'the option wins');
  t.equal(resolveMetricsOptions({ exportIntervalMs: 10 }, { OTEL_METRIC_EXPORT_INTERVAL: 'often' }).exportIntervalMs, 10, 'and a bad variable is not read then');
  t.throws(() => resolveMetricsOptions({}, { OTEL_METRIC_EXPORT_INTERVAL: 'soon' }), { name: 'RangeError', message: /OTEL_METRIC_EXPORT_INTERVAL.*"soon"/ });
  t.throws(() => resolveMetricsOptions({ cardinalityLimit: 1 }, {}), { name: 'RangeError', message: /metrics\.cardinalityLimit.*1/ });
  t.throws(() => resolveMetricsOptions({ maxCells: 'many' }, {}), { name: 'TypeError', message: /metrics\.maxCells.*"many"/ });
  t.throws(() => resolveMetricsOptions(5, {}), { name: 'TypeError', message: /option metrics must be an object/ });
});
