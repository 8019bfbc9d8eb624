/**
 * Metrics as OTLP: OtlpMetricsExport's requests, decoded independently of
 * the encoder with protobufjs and the official OTLP schema
 * (fixtures/otlp-schema.ts), cumulative and delta; its
 * configuration from options and OTEL_* variables; and the `otlp` sink in a
 * dispatcher's worker posting them to a real HTTP receiver.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { ValueType, type MetricAttributes } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { allocateMetricRegion } from '../src/metric-region/layout.js';
import { MetricRegionReader } from '../src/metric-region/region-reader.js';
import { RingMeterProvider } from '../src/metrics/ring-meter-provider.js';
import { TraceDispatcher } from '../src/index.js';
import { OtlpSink } from '../src/sinks/otlp-sink.js';
import { resolveOtlpMetricsConfig } from '../src/sinks/otlp-config.js';
import { isDelta, OtlpMetricsExport, SDK_ENUM_VALUES } from '../src/sinks/otlp-metrics.js';
import { otlpReceiver } from './fixtures/otlp-receiver.js';
import { MetricsRequest } from './fixtures/otlp-schema.js';

const CUMULATIVE = 2;
const DELTA = 1;

/* eslint-disable @typescript-eslint/no-explicit-any */
function decode(body: Uint8Array): any {
  return MetricsRequest.toObject(MetricsRequest.decode(body), { longs: Number, enums: Number, defaults: false, oneofs: false });
}

function attrs(list: { key: string; value: Record<string, unknown> }[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of list ?? []) out[kv.key] = Object.values(kv.value)[0];
  return out;
}

function findMetric(req: any, name: string): any {
  for (const rm of req.resourceMetrics) for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.name === name) return { ...m, scope: sm.scope };
  throw new Error(`no metric ${name}`);
}

function setup() {
  const region = allocateMetricRegion(64 * 1024, 64 * 1024, Date.now() - 5000);
  const provider = new RingMeterProvider(region, { cardinalityLimit: 100, exportIntervalMs: 60_000 });
  const reader = new MetricRegionReader([region]);
  return { meter: provider.getMeter('shop', '1.0.0'), reader, provider };
}

t.test("the enum values spelled in otlp-metrics.ts are the SDK's", async (t) => {
  t.same(SDK_ENUM_VALUES, {
    DELTA: AggregationTemporality.DELTA,
    CUMULATIVE: AggregationTemporality.CUMULATIVE,
    HISTOGRAM: DataPointType.HISTOGRAM,
    GAUGE: DataPointType.GAUGE,
    SUM: DataPointType.SUM,
  });
});

t.test('a cumulative protobuf request decodes to exactly what was recorded', async (t) => {
  const { meter, reader } = setup();
  const orders = meter.createCounter('orders', { description: 'Orders', unit: '{order}', valueType: 0 });
  const latency = meter.createHistogram('latency', { unit: 's', advice: { explicitBucketBoundaries: [0.1, 1] } });
  const depth = meter.createUpDownCounter('depth');
  const temp = meter.createGauge('temp');
  const N = 100_000;
  const a = { region: 'eu', n: 3, ok: true, tags: ['x', 'y'] };
  for (let i = 0; i < N; i++) orders.add(1, a);
  for (const v of [0.05, 0.5, 5]) latency.record(v);
  depth.add(4);
  depth.add(-6);
  temp.record(21.5, { room: 'a' });
  const snapshot = reader.snapshot();
  const exporter = new OtlpMetricsExport(resolveOtlpMetricsConfig({}, {}), { 'service.name': 'shop' });
  t.ok(exporter.due(), 'due before the first export');
  const req = exporter.encode(snapshot)!;
  t.equal(req.contentType, 'application/x-protobuf');
  const decoded = decode(req.body);
  t.same(attrs(decoded.resourceMetrics[0].resource.attributes), { 'service.name': 'shop' });
  const o = findMetric(decoded, 'orders');
  t.match(o, { description: 'Orders', unit: '{order}', scope: { name: 'shop', version: '1.0.0' } });
  t.equal(o.sum.aggregationTemporality, CUMULATIVE);
  t.equal(o.sum.isMonotonic, true);
  t.equal(o.sum.dataPoints.length, 1);
  t.equal(o.sum.dataPoints[0].asInt, N, 'an int counter is as_int, exactly N');
  t.same(attrs(o.sum.dataPoints[0].attributes), { n: 3, ok: true, region: 'eu', tags: { values: [{ stringValue: 'x' }, { stringValue: 'y' }] } });
  t.equal(o.sum.dataPoints[0].startTimeUnixNano, snapshot.startTimeUnixMs * 1e6, 'cumulative from the start of recording');
  t.equal(o.sum.dataPoints[0].timeUnixNano, snapshot.timeUnixMs * 1e6);
  const h = findMetric(decoded, 'latency').histogram;
  t.equal(h.aggregationTemporality, CUMULATIVE);
  t.match(h.dataPoints[0], { count: 3, sum: 5.55, min: 0.05, max: 5, bucketCounts: [1, 1, 1], explicitBounds: [0.1, 1] });
  const d = findMetric(decoded, 'depth').sum;
  t.equal(d.isMonotonic ?? false, false, 'an up-down counter is a non-monotonic sum');
  t.equal(d.dataPoints[0].asDouble, -2);
  const g = findMetric(decoded, 'temp').gauge;
  t.equal(g.dataPoints[0].asDouble, 21.5);
  t.same(attrs(g.dataPoints[0].attributes), { room: 'a' });
});

t.test('delta temporality reports what changed since the last export; up-down counters stay cumulative', async (t) => {
  const { meter, reader, provider } = setup();
  const c = meter.createCounter('c');
  const h = meter.createHistogram('h', { advice: { explicitBucketBoundaries: [10] } });
  const u = meter.createUpDownCounter('u');
  const oc = meter.createObservableCounter('oc');
  let observed = 100;
  oc.addCallback((r) => r.observe(observed));
  const exporter = new OtlpMetricsExport(resolveOtlpMetricsConfig({ temporality: 'delta' }, {}), {});
  c.add(5);
  h.record(1);
  u.add(3);
  await provider.collect();
  const first = reader.snapshot();
  let decoded = decode(exporter.encode(first)!.body);
  t.equal(findMetric(decoded, 'c').sum.aggregationTemporality, DELTA);
  t.equal(findMetric(decoded, 'c').sum.dataPoints[0].asDouble, 5, 'the first delta is everything so far');
  c.add(2);
  h.record(20);
  h.record(30);
  u.add(1);
  observed = 160;
  await provider.collect();
  await new Promise((resolve) => setTimeout(resolve, 5));
  const second = reader.snapshot();
  decoded = decode(exporter.encode(second)!.body);
  const cp = findMetric(decoded, 'c').sum.dataPoints[0];
  t.equal(cp.asDouble, 2, 'only the new adds');
  t.equal(cp.startTimeUnixNano, first.timeUnixMs * 1e6, 'the interval starts at the previous export');
  const hp = findMetric(decoded, 'h').histogram.dataPoints[0];
  t.match(hp, { count: 2, sum: 50, bucketCounts: [0, 2] });
  t.notOk('min' in hp, 'no all-time min in a later delta');
  t.equal(findMetric(decoded, 'oc').sum.dataPoints[0].asDouble, 60, 'an observable counter as the change of its observed total');
  const up = findMetric(decoded, 'u').sum;
  t.equal(up.aggregationTemporality, CUMULATIVE);
  t.equal(up.dataPoints[0].asDouble, 4);
  provider.close();
  t.equal(isDelta('observableCounter', 'lowmemory'), false, 'lowmemory: observable counters cumulative');
  t.equal(isDelta('counter', 'lowmemory'), true);
  t.equal(isDelta('upDownCounter', 'delta'), false);
  t.equal(isDelta('histogram', 'cumulative'), false);
});

t.test('http/json: the same request as OTLP/JSON', async (t) => {
  const { meter, reader } = setup();
  meter.createCounter('c').add(7, { k: 'v' });
  const req = new OtlpMetricsExport(resolveOtlpMetricsConfig({ protocol: 'http/json' }, {}), {}).encode(reader.snapshot())!;
  t.equal(req.contentType, 'application/json');
  const json = JSON.parse(Buffer.from(req.body).toString('utf8'));
  const m = json.resourceMetrics[0].scopeMetrics[0].metrics[0];
  t.equal(m.name, 'c');
  t.equal(m.sum.dataPoints[0].asDouble, 7);
  t.equal(m.sum.aggregationTemporality, CUMULATIVE);
  t.equal(new OtlpMetricsExport(resolveOtlpMetricsConfig({}, {}), {}).encode(new MetricRegionReader([allocateMetricRegion(1024, 64)]).snapshot()), undefined, 'nothing to send');
});

t.test('configuration: options over OTEL_EXPORTER_OTLP_METRICS_* over OTEL_EXPORTER_OTLP_*, errors name the option', async (t) => {
  const d = resolveOtlpMetricsConfig(undefined, {});
  t.equal(d.url.href, 'http://localhost:4318/v1/metrics');
  t.match(d, { protocol: 'http/protobuf', compression: 'none', temporality: 'cumulative', exportIntervalMs: 60_000, exportTimeoutMs: 30_000, timeoutMs: 10_000 });
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
    OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=2',
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'b=3',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Delta',
    OTEL_METRIC_EXPORT_INTERVAL: '15000',
    OTEL_METRIC_EXPORT_TIMEOUT: '5000',
    OTEL_EXPORTER_OTLP_TIMEOUT: '2000',
    OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'gzip',
  };
  const e = resolveOtlpMetricsConfig({}, env);
  t.equal(e.url.href, 'http://collector:4318/v1/metrics', 'the generic endpoint gets /v1/metrics');
  t.same(e.headers, { a: '1', b: '3' });
  t.match(e, { protocol: 'http/json', temporality: 'delta', exportIntervalMs: 15_000, exportTimeoutMs: 5000, timeoutMs: 2000, compression: 'gzip' });
  t.equal(resolveOtlpMetricsConfig({}, { ...env, OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:1/custom' }).url.href, 'http://m:1/custom', 'the specific endpoint as is');
  t.match(resolveOtlpMetricsConfig({}, { ...env, OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '700', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf' }), { timeoutMs: 700, protocol: 'http/protobuf' }, 'the metrics timeout and protocol over the generic ones');
  t.equal(resolveOtlpMetricsConfig({}, { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'LOWMEMORY' }).temporality, 'lowmemory', 'case-insensitive, as the SDK');
  t.throws(() => resolveOtlpMetricsConfig({}, { OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'often' }), { name: 'RangeError', message: /OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE.*"often"/ });
  t.throws(() => resolveOtlpMetricsConfig({}, { OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: 'soon' }), { name: 'RangeError', message: /OTEL_EXPORTER_OTLP_METRICS_TIMEOUT.*"soon"/ });
  t.throws(() => resolveOtlpMetricsConfig({}, { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc' }), { message: /OTEL_EXPORTER_OTLP_METRICS_PROTOCOL.*grpc is not supported/ });
  const o = resolveOtlpMetricsConfig({ endpoint: 'https://x/v1/metrics', temporality: 'lowmemory', exportIntervalMs: 10, headers: { b: '9' }, protocol: 'http/protobuf' }, env);
  t.match(o, { temporality: 'lowmemory', exportIntervalMs: 10, protocol: 'http/protobuf' });
  t.equal(o.url.href, 'https://x/v1/metrics');
  t.equal(o.headers.b, '9');
  t.throws(() => resolveOtlpMetricsConfig({ temporality: 'sometimes' }, {}), { name: 'RangeError', message: /otlp\.metrics\.temporality.*"sometimes"/ });
  t.throws(() => resolveOtlpMetricsConfig({}, { OTEL_METRIC_EXPORT_INTERVAL: '-5' }), { name: 'RangeError', message: /OTEL_METRIC_EXPORT_INTERVAL.*"-5"/ });
  t.throws(() => resolveOtlpMetricsConfig({ endpoint: 'ftp://x' }, {}), { name: 'RangeError', message: /otlp\.metrics\.endpoint/ });
  t.throws(() => resolveOtlpMetricsConfig({ endpoint: 'not a url' }, {}), { name: 'RangeError' });
  t.throws(() => resolveOtlpMetricsConfig({ protocol: 'grpc' }, {}), { message: /grpc is not supported/ });
  t.throws(() => resolveOtlpMetricsConfig({ compression: 'br' }, {}), { message: /otlp\.metrics\.compression.*"br"/ });
  t.throws(() => resolveOtlpMetricsConfig({ bogus: 1 }, {}), { message: /otlp\.metrics must be one of the options.*"bogus"/ });
  t.throws(() => resolveOtlpMetricsConfig({ headers: { a: 1 } }, {}), { name: 'TypeError', message: /otlp\.metrics\.headers\.a/ });
  t.throws(() => resolveOtlpMetricsConfig('x', {}), { name: 'TypeError' });
  t.throws(() => resolveOtlpMetricsConfig({ timeoutMs: 'soon' }, {}), { name: 'TypeError', message: /otlp\.metrics\.timeoutMs/ });
  const exporter = new OtlpMetricsExport(resolveOtlpMetricsConfig({ exportIntervalMs: 1000 }, {}), {});
  exporter.toResourceMetrics({ startTimeUnixMs: 0, timeUnixMs: 5000, metrics: [], overflowed: 0, invalid: 0, seriesDropped: 0 });
  t.notOk(exporter.due(5500), 'not before the interval has passed');
  t.ok(exporter.due(6000));
});

t.test('the otlp sink honours OTEL_EXPORTER_OTLP_METRICS_* and OTEL_METRIC_EXPORT_INTERVAL over the generic variables', async (t) => {
  const seen: { url: string; headers: Record<string, unknown> }[] = [];
  const r = await otlpReceiver({ answer: (req) => (seen.push({ url: req.url ?? '', headers: { ...req.headers } }), { status: 200 }) });
  t.teardown(() => r.close());
  const { meter, reader } = setup();
  const c = meter.createCounter('c');
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
    OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${r.url}/custom/v1/metrics`,
    OTEL_EXPORTER_OTLP_HEADERS: 'x-a=generic,x-b=generic',
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-b=metrics',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta',
    OTEL_METRIC_EXPORT_INTERVAL: '3600000',
  };
  const sink = new OtlpSink({ metrics: true }, { metrics: () => reader.snapshot() }, env);
  c.add(5);
  await sink.flush();
  c.add(2);
  await sink.flush();
  t.equal(seen.length, 1, 'the second flush is inside the hour OTEL_METRIC_EXPORT_INTERVAL asks for');
  await sink.close();
  t.equal(seen.length, 2, 'close exports once more');
  t.same(seen.map((s) => s.url), ['/custom/v1/metrics', '/custom/v1/metrics'], 'the metrics endpoint as is, not the generic one');
  t.match(seen[0]!.headers, { 'x-a': 'generic', 'x-b': 'metrics', 'content-type': 'application/json' }, 'headers merged, the metrics protocol');
  const bodies = r.metrics() as any[];
  t.equal(findMetric(bodies[0], 'c').sum.aggregationTemporality, DELTA);
  t.same(bodies.map((b) => findMetric(b, 'c').sum.dataPoints[0].asDouble), [5, 2], 'deltas, as the temporality preference says');
});

t.test('the otlp sink honours OTEL_EXPORTER_OTLP_METRICS_TIMEOUT over OTEL_EXPORTER_OTLP_TIMEOUT', async (t) => {
  // The receiver never answers: only the timeout ends the request.
  const r = await otlpReceiver({ answer: () => new Promise<never>(() => undefined) });
  t.teardown(() => r.close());
  const { meter, reader } = setup();
  meter.createCounter('c').add(1);
  const env = { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${r.url}/v1/metrics`, OTEL_EXPORTER_OTLP_TIMEOUT: '3600000', OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '200' };
  const sink = new OtlpSink({ metrics: true, maxAttempts: 1 }, { metrics: () => reader.snapshot() }, env);
  await sink.flush();
  t.match(sink.inspect().metrics, { queued: 1, exported: 0, failed: 1, pending: 0 }, 'the request timed out after 200 ms, not an hour');
  await sink.close();
});

t.test('every instrument kind as its OTLP data type, int and double values as as_int and as_double', async (t) => {
  const { meter, reader, provider } = setup();
  meter.createCounter('c.int', { valueType: ValueType.INT }).add(3);
  meter.createCounter('c.double').add(2.5);
  meter.createUpDownCounter('u').add(-4);
  meter.createGauge('g', { valueType: ValueType.INT }).record(-7);
  meter.createHistogram('h', { advice: { explicitBucketBoundaries: [1] } }).record(2);
  meter.createObservableCounter('oc').addCallback((r) => r.observe(11));
  meter.createObservableUpDownCounter('ou').addCallback((r) => r.observe(-12));
  meter.createObservableGauge('og').addCallback((r) => r.observe(13.5));
  await provider.collect();
  const decoded = decode(new OtlpMetricsExport(resolveOtlpMetricsConfig({}, {}), {}).encode(reader.snapshot())!.body);
  const sum = (name: string) => findMetric(decoded, name).sum;
  t.match(sum('c.int'), { aggregationTemporality: CUMULATIVE, isMonotonic: true, dataPoints: [{ asInt: 3 }] });
  t.notOk('asDouble' in sum('c.int').dataPoints[0]);
  t.match(sum('c.double'), { isMonotonic: true, dataPoints: [{ asDouble: 2.5 }] });
  t.notOk('asInt' in sum('c.double').dataPoints[0]);
  t.match(sum('u'), { aggregationTemporality: CUMULATIVE, dataPoints: [{ asDouble: -4 }] });
  t.notOk(sum('u').isMonotonic, 'an up-down counter is not monotonic');
  t.match(findMetric(decoded, 'g'), { gauge: { dataPoints: [{ asInt: -7 }] } });
  t.match(findMetric(decoded, 'h'), { histogram: { aggregationTemporality: CUMULATIVE, dataPoints: [{ count: 1, sum: 2, bucketCounts: [0, 1], explicitBounds: [1] }] } });
  t.match(sum('oc'), { aggregationTemporality: CUMULATIVE, isMonotonic: true, dataPoints: [{ asDouble: 11 }] });
  t.match(sum('ou'), { aggregationTemporality: CUMULATIVE, dataPoints: [{ asDouble: -12 }] });
  t.notOk(sum('ou').isMonotonic);
  t.match(findMetric(decoded, 'og'), { gauge: { dataPoints: [{ asDouble: 13.5 }] } });
  for (const name of ['c.int', 'u', 'h', 'oc', 'g']) {
    const m = findMetric(decoded, name);
    t.same(Object.keys(m).filter((k) => ['sum', 'gauge', 'histogram', 'exponentialHistogram', 'summary'].includes(k)).length, 1, `${name}: one data field`);
  }
  provider.close();
});

t.test('each attribute type as its OTLP AnyValue', async (t) => {
  const { meter, reader } = setup();
  const attributes = { s: 'x', i: 42, f: 1.5, b: false, ss: ['a', 'b'], is: [1, 2], fs: [0.5, 2], bs: [true, false], holes: ['a', null], nan: Number.NaN, empty: '' };
  meter.createCounter('typed').add(1, attributes as MetricAttributes);
  const raw = MetricsRequest.toObject(MetricsRequest.decode(new OtlpMetricsExport(resolveOtlpMetricsConfig({}, {}), {}).encode(reader.snapshot())!.body), { longs: Number, defaults: false, oneofs: false });
  const kvs = findMetric(raw, 'typed').sum.dataPoints[0].attributes as { key: string; value: Record<string, unknown> }[];
  const byKey = Object.fromEntries(kvs.map((kv) => [kv.key, kv.value]));
  t.same(byKey, {
    s: { stringValue: 'x' },
    i: { intValue: 42 },
    f: { doubleValue: 1.5 },
    b: { boolValue: false },
    ss: { arrayValue: { values: [{ stringValue: 'a' }, { stringValue: 'b' }] } },
    is: { arrayValue: { values: [{ intValue: 1 }, { intValue: 2 }] } },
    fs: { arrayValue: { values: [{ doubleValue: 0.5 }, { intValue: 2 }] } },
    bs: { arrayValue: { values: [{ boolValue: true }, { boolValue: false }] } },
    holes: { arrayValue: { values: [{ stringValue: 'a' }, {}] } },
    nan: { stringValue: 'NaN' },
    empty: { stringValue: '' },
  });
});

t.test('the overflow series is exported with otel.metric.overflow=true, counting every measurement past the limit', async (t) => {
  const region = allocateMetricRegion(64 * 1024, 64 * 1024);
  const provider = new RingMeterProvider(region, { cardinalityLimit: 3, exportIntervalMs: 60_000 });
  const meter = provider.getMeter('shop');
  const c = meter.createCounter('capped');
  const h = meter.createHistogram('capped.h', { advice: { explicitBucketBoundaries: [10] } });
  for (let i = 0; i < 6; i++) {
    c.add(1, { id: i });
    h.record(i, { id: i });
  }
  c.add(5, { id: 5 });
  const decoded = decode(new OtlpMetricsExport(resolveOtlpMetricsConfig({}, {}), {}).encode(new MetricRegionReader([region]).snapshot())!.body);
  const points = findMetric(decoded, 'capped').sum.dataPoints as { attributes: { key: string; value: Record<string, unknown> }[]; asDouble: number }[];
  t.equal(points.length, 3, 'limit − 1 sets and the overflow series');
  const overflow = points.find((p) => p.attributes.some((kv) => kv.key === 'otel.metric.overflow'))!;
  t.same(overflow.attributes, [{ key: 'otel.metric.overflow', value: { boolValue: true } }]);
  t.equal(overflow.asDouble, 4 + 5, 'ids 2..5, and 5 again with 5');
  t.equal(points.reduce((n, p) => n + p.asDouble, 0), 11, 'nothing lost');
  const ho = (findMetric(decoded, 'capped.h').histogram.dataPoints as { attributes: { key: string }[]; count: number; sum: number }[]).find((p) => p.attributes[0]?.key === 'otel.metric.overflow')!;
  t.match(ho, { count: 4, sum: 2 + 3 + 4 + 5 });
  provider.close();
});

t.test('the otlp sink in a dispatcher: N adds and N records from a tight loop are N in the OTLP export, exactly', async (t) => {
  const r = await otlpReceiver();
  t.teardown(() => r.close());
  const d = await TraceDispatcher.start({
    serviceName: 'shop',
    sinks: [{ name: 'otlp', sink: 'otlp', options: { endpoint: `${r.url}/v1/traces`, metrics: { endpoint: `${r.url}/v1/metrics`, exportIntervalMs: 60_000 }, ignoreEnvironment: true } }],
  });
  const meter = d.meterProvider.getMeter('shop');
  const c = meter.createCounter('ticks', { valueType: ValueType.INT });
  const route = { route: '/a' };
  const h = meter.createHistogram('latency', { advice: { explicitBucketBoundaries: [1] } });
  const N = 1_000_000;
  for (let i = 0; i < N; i++) c.add(1, route);
  for (let i = 0; i < N; i++) h.record(i & 1);
  await d.shutdown();
  const last: any = r.metrics().at(-1);
  t.ok(last, 'the receiver got the final export');
  const ticks = findMetric(last, 'ticks').sum.dataPoints[0];
  t.equal(Number(ticks.asInt), N, 'every add, as an int');
  t.same(attrs(ticks.attributes), { route: '/a' });
  const lat = findMetric(last, 'latency').histogram.dataPoints[0];
  t.equal(Number(lat.count), N, 'every record');
  t.same(lat.bucketCounts.map(Number), [N, 0], '0 and 1 are both in le=1');
  t.equal(lat.sum, N / 2);
  t.equal(attrs(last.resourceMetrics[0].resource.attributes)['service.name'], 'shop');
});

t.test('a worker respawn does not reset the OTLP counts: the next export continues them, from the same start time', async (t) => {
  const r = await otlpReceiver();
  t.teardown(() => r.close());
  const marker = join(t.testdir(), 'died');
  const d = await TraceDispatcher.start({
    sinks: [
      { name: 'otlp', sink: 'otlp', options: { endpoint: `${r.url}/v1/traces`, exportSpans: false, exportEvents: false, metrics: { endpoint: `${r.url}/v1/metrics`, exportIntervalMs: 1 }, ignoreEnvironment: true } },
      { name: 'die', module: new URL('./fixtures/die-once-sink.ts', import.meta.url), options: { marker } },
    ],
  });
  t.teardown(() => d.shutdown());
  const c = d.meterProvider.getMeter('app').createCounter('survivor');
  for (let i = 0; i < 100; i++) c.add(1);
  await d.flush();
  const before = findMetric(r.metrics().at(-1)!, 'survivor').sum.dataPoints[0];
  t.equal(before.asDouble, 100);
  d.logger('app').info('die');
  let restarted = false;
  for (let i = 0; i < 200 && !restarted; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      await d.flush();
      restarted = (await d.stats()).restarts === 1;
    } catch {
      // the worker is being replaced
    }
  }
  t.ok(existsSync(marker) && restarted, 'the worker died and was respawned');
  for (let i = 0; i < 50; i++) c.add(1);
  await d.shutdown();
  const after = findMetric(r.metrics().at(-1)!, 'survivor').sum.dataPoints[0];
  t.equal(after.asDouble, 150, 'the new worker reads the same region: 100 + 50');
  t.equal(after.startTimeUnixNano, before.startTimeUnixNano, 'cumulative from the same start: no reset');
});

