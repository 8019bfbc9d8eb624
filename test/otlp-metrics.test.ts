/**
 * Metrics as OTLP: OtlpMetricsExport's requests, decoded independently of
 * the encoder with protobufjs and the official OTLP schema
 * (fixtures/otlp-schema.ts), cumulative and delta; its
 * configuration from options and OTEL_* variables; and a dispatcher whose
 * worker posts them to a real HTTP receiver.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import t from 'tap';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import { allocateMetricRegion } from '../src/metric-region/layout.js';
import { MetricRegionReader } from '../src/metric-region/region-reader.js';
import { RingMeterProvider } from '../src/metrics/ring-meter-provider.js';
import { TraceDispatcher } from '../src/index.js';
import { isDelta, OtlpMetricsExport, resolveOtlpMetricsConfig, SDK_ENUM_VALUES } from '../src/sinks/otlp-metrics.js';
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

t.test('a dispatcher worker posts the metrics to a real OTLP/HTTP receiver, exactly', async (t) => {
  const bodies: Buffer[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.url === '/v1/metrics' && req.headers['content-type'] === 'application/x-protobuf') bodies.push(Buffer.concat(chunks));
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/metrics`;
  const d = await TraceDispatcher.start({
    serviceName: 'shop',
    sinks: [{ name: 'metrics', module: new URL('./fixtures/otlp-metrics-sink.ts', import.meta.url), options: { endpoint, exportIntervalMs: 60_000 } }],
  });
  const c = d.meterProvider.getMeter('shop').createCounter('ticks');
  const N = 250_000;
  for (let i = 0; i < N; i++) c.add(1);
  await d.shutdown();
  t.ok(bodies.length >= 1, 'the receiver got requests');
  const last = decode(bodies[bodies.length - 1]!);
  t.equal(findMetric(last, 'ticks').sum.dataPoints[0].asDouble, N, 'the final export has every add');
  t.equal(attrs(last.resourceMetrics[0].resource.attributes)['service.name'], 'shop');
});
