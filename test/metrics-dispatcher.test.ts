/**
 * Metrics end to end through a dispatcher: `install()` makes the meter
 * provider global, what the application records reaches the worker's
 * `prometheus` sink exactly, observable callbacks run on the application
 * thread at the export interval, and a worker that dies and is respawned
 * continues the counts (the region outlives it).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { metrics, createNoopMeter, type MeterProvider } from '@opentelemetry/api';
import { TraceDispatcher } from '../src/index.js';
import type { PrometheusSinkInspection } from '../src/sinks/prometheus-sink.js';
import { parseExposition, sampleValue, samplesOf, type Exposition } from './fixtures/prometheus-text.js';

async function scrape(d: TraceDispatcher): Promise<Exposition> {
  const { url } = await d.inspectSink<PrometheusSinkInspection>('prom');
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return parseExposition(await res.text());
}

function start(options: Parameters<typeof TraceDispatcher.start>[0] = {}): Promise<TraceDispatcher> {
  return TraceDispatcher.start({ ...options, sinks: [{ name: 'prom', sink: 'prometheus', options: { port: 0 } }, ...(options.sinks ?? [])] });
}

t.test('install() registers the global meter provider; uninstall() removes it', async (t) => {
  const d = await start();
  t.teardown(() => d.shutdown());
  d.install();
  t.teardown(() => d.uninstall());
  t.equal(metrics.getMeterProvider(), d.meterProvider, 'the global meter provider');
  const counter = metrics.getMeter('shop').createCounter('orders');
  counter.add(3, { shop: 'main' });
  const m = await scrape(d);
  t.equal(sampleValue(m, 'orders_total', { shop: 'main', otel_scope_name: 'shop' }), 3);
  d.uninstall();
  t.not(metrics.getMeterProvider(), d.meterProvider, 'removed');
});

t.test('install() keeps a meter provider another SDK registered, with a warning; { replace: true } takes its place', async (t) => {
  const other: MeterProvider = { getMeter: () => createNoopMeter() };
  metrics.setGlobalMeterProvider(other);
  t.teardown(() => metrics.disable());
  const d = await start();
  t.teardown(() => d.shutdown());
  const seen: string[] = [];
  const onWarning = (w: Error & { code?: string }): void => {
    if (w.code === 'RINGTRACE_INSTALL') seen.push(w.message);
  };
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  d.install();
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(metrics.getMeterProvider(), other, 'kept');
  t.ok(seen.some((m) => /another global meter provider is already registered/.test(m)));
  d.uninstall();
  t.equal(metrics.getMeterProvider(), other, 'uninstall leaves what it did not install');
  d.install({ replace: true });
  t.equal(metrics.getMeterProvider(), d.meterProvider, 'replaced');
  d.uninstall();
});

t.test('exactness: N adds from a tight loop are N in the Prometheus text, and every instrument kind is served', async (t) => {
  const d = await start();
  t.teardown(() => d.shutdown());
  const meter = d.meterProvider.getMeter('app', '2.0.0');
  const hits = meter.createCounter('cache.hits', { description: 'Cache hits', unit: '{hit}' });
  const bytes = meter.createCounter('io.read', { unit: 'By' });
  const depth = meter.createUpDownCounter('queue.depth');
  const temp = meter.createGauge('cpu.utilization', { unit: '1' });
  const latency = meter.createHistogram('http.server.duration', { unit: 's', advice: { explicitBucketBoundaries: [0.01, 0.1, 1] } });
  const attrs = { cache: 'users' };
  const N = 1_000_000;
  for (let i = 0; i < N; i++) hits.add(1, attrs);
  for (let i = 0; i < N; i++) bytes.add(1);
  depth.add(10);
  depth.add(-3);
  temp.record(0.75);
  for (let i = 0; i < 1000; i++) latency.record((i % 4) * 0.05, { route: '/x' });
  const m = await scrape(d);
  t.equal(m.types.get('cache_hits_total'), 'counter');
  t.equal(sampleValue(m, 'cache_hits_total', { cache: 'users' }), N, 'exactly N, not approximately');
  t.equal(sampleValue(m, 'io_read_bytes_total'), N, 'the unit in the name, then _total');
  t.equal(m.types.get('queue_depth'), 'gauge', 'an up-down counter is a gauge');
  t.equal(sampleValue(m, 'queue_depth'), 7);
  t.equal(sampleValue(m, 'cpu_utilization_ratio'), 0.75, "unit '1' on a gauge is _ratio");
  t.equal(m.types.get('http_server_duration_seconds'), 'histogram');
  const route = { route: '/x', otel_scope_name: 'app', otel_scope_version: '2.0.0' };
  t.equal(sampleValue(m, 'http_server_duration_seconds_bucket', { ...route, le: '0.01' }), 250, 'the zeros');
  t.equal(sampleValue(m, 'http_server_duration_seconds_bucket', { ...route, le: '0.1' }), 750, 'cumulative, and 0.1 itself is in le=0.1');
  t.equal(sampleValue(m, 'http_server_duration_seconds_bucket', { ...route, le: '1' }), 1000);
  t.equal(sampleValue(m, 'http_server_duration_seconds_bucket', { ...route, le: '+Inf' }), 1000);
  t.equal(sampleValue(m, 'http_server_duration_seconds_count', route), 1000);
  t.ok(Math.abs(sampleValue(m, 'http_server_duration_seconds_sum', route)! - 250 * (0.05 + 0.1 + 0.15)) < 1e-9);
  t.equal(sampleValue(m, 'target_info', { service_name: d.resource['service.name'] as string }), 1, 'the resource as target_info');
  t.equal(sampleValue(m, 'ringtrace_metrics_overflow_total'), 0);
});

t.test('the observable kinds in the Prometheus text: a counter with _total, up-down counters and gauges as gauges', async (t) => {
  const d = await start();
  t.teardown(() => d.shutdown());
  const meter = d.meterProvider.getMeter('app');
  meter.createObservableCounter('cpu.time', { unit: 's' }).addCallback((r) => r.observe(12.5));
  meter.createObservableUpDownCounter('connections').addCallback((r) => r.observe(-3));
  meter.createObservableGauge('heap.used', { unit: 'By' }).addCallback((r) => r.observe(4096));
  await d.flush();
  const m = await scrape(d);
  t.equal(m.types.get('cpu_time_seconds_total'), 'counter');
  t.equal(sampleValue(m, 'cpu_time_seconds_total'), 12.5);
  t.equal(m.types.get('connections'), 'gauge');
  t.equal(sampleValue(m, 'connections'), -3);
  t.equal(m.types.get('heap_used_bytes'), 'gauge');
  t.equal(sampleValue(m, 'heap_used_bytes'), 4096);
});

t.test('each attribute type reaches the Prometheus text as a label', async (t) => {
  const d = await start();
  t.teardown(() => d.shutdown());
  const c = d.meterProvider.getMeter('app').createCounter('typed');
  c.add(3, { s: 'x', i: 42, f: 1.5, b: false, ss: ['a', 'b'], ns: [1, 2.5], bs: [true, false], holes: ['a', null], nan: Number.NaN, 'http.route': '/a"b' });
  const samples = samplesOf(await scrape(d), 'typed_total');
  t.equal(samples.length, 1);
  t.same(samples[0]!.labels, {
    s: 'x', i: '42', f: '1.5', b: 'false', ss: '["a","b"]', ns: '[1,2.5]', bs: '[true,false]', holes: '["a",null]', nan: 'NaN', http_route: '/a"b',
    otel_scope_name: 'app',
  });
  t.equal(samples[0]!.value, 3);
});

t.test('observable callbacks run on the application thread at the export interval, and at flush()', async (t) => {
  const d = await start({ metrics: { exportIntervalMs: 50 } });
  t.teardown(() => d.shutdown());
  const meter = d.meterProvider.getMeter('app');
  let calls = 0;
  meter.createObservableGauge('ticks').addCallback((r) => r.observe(++calls));
  let seen: number | undefined;
  for (let i = 0; i < 100 && !(seen !== undefined && seen >= 2); i++) {
    await new Promise((resolve) => setTimeout(resolve, 30));
    seen = sampleValue(await scrape(d), 'ticks');
  }
  t.ok(seen !== undefined && seen >= 2, `the timer ran the callback (${seen})`);
  const before = calls;
  await d.flush();
  t.ok(calls > before, 'flush() collects');
});

t.test('OTEL_METRIC_EXPORT_INTERVAL sets the observable callbacks\' interval when the option does not', async (t) => {
  const saved = process.env.OTEL_METRIC_EXPORT_INTERVAL;
  process.env.OTEL_METRIC_EXPORT_INTERVAL = '40';
  let d: TraceDispatcher;
  try {
    d = await start();
  } finally {
    if (saved === undefined) delete process.env.OTEL_METRIC_EXPORT_INTERVAL;
    else process.env.OTEL_METRIC_EXPORT_INTERVAL = saved;
  }
  t.teardown(() => d.shutdown());
  let calls = 0;
  d.meterProvider.getMeter('app').createObservableCounter('polled').addCallback((r) => r.observe(++calls));
  // Against the default of a minute, two calls without a flush can only come from the variable.
  for (let i = 0; i < 250 && calls < 2; i++) await new Promise((resolve) => setTimeout(resolve, 40));
  t.ok(calls >= 2, `the callback ran ${calls} times on a 40 ms interval`);
});

t.test('a worker respawn does not reset counters: the region outlives the worker', async (t) => {
  const marker = join(t.testdir(), 'died');
  const d = await start({ sinks: [{ name: 'die', module: new URL('./fixtures/die-once-sink.ts', import.meta.url), options: { marker } }] });
  t.teardown(() => d.shutdown());
  const c = d.meterProvider.getMeter('app').createCounter('survivor');
  const h = d.meterProvider.getMeter('app').createHistogram('survivor.h');
  for (let i = 0; i < 100; i++) {
    c.add(1);
    h.record(i);
  }
  t.equal(sampleValue(await scrape(d), 'survivor_total'), 100);
  d.logger('app').info('die');
  let restarted = false;
  for (let i = 0; i < 100 && !restarted; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      await d.flush();
      restarted = (await d.stats()).restarts === 1;
    } catch {
      // the worker is being replaced
    }
  }
  t.ok(existsSync(marker), 'the worker really died');
  t.ok(restarted, 'and was respawned');
  for (let i = 0; i < 50; i++) c.add(1);
  const m = await scrape(d);
  t.equal(sampleValue(m, 'survivor_total'), 150, 'the new worker reads the same region: 100 + 50');
  t.equal(sampleValue(m, 'survivor_h_count'), 100);
  t.equal(sampleValue(m, 'survivor_h_sum'), 4950);
  t.equal(sampleValue(m, 'ringtrace_worker_restarts_total'), 1);
});

t.test('dispatcher.meterProvider.stats() and the sink count overflow and bad input', async (t) => {
  const d = await start({ metrics: { cardinalityLimit: 3 } });
  t.teardown(() => d.shutdown());
  const c = d.meterProvider.getMeter('app').createCounter('capped');
  for (let i = 0; i < 5; i++) c.add(1, { i });
  const onWarning = (): void => undefined;
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  c.add(-1);
  t.match(d.meterProvider.stats(), { overflowed: 3, invalid: 1, seriesDropped: 0 });
  const m = await scrape(d);
  t.equal(sampleValue(m, 'capped_total', { otel_metric_overflow: 'true' }), 3);
  t.equal(sampleValue(m, 'ringtrace_metrics_overflow_total'), 3);
  t.equal(sampleValue(m, 'ringtrace_metrics_invalid_total'), 1);
});
