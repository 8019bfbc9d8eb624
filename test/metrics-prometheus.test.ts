/**
 * The application's metrics in Prometheus: the OpenTelemetry-to-Prometheus
 * naming rules, and a real scrape by Debian's `prometheus` server, whose
 * HTTP API must return the recorded values, with `promtool check metrics`
 * accepting the exposition. The real-server tests are skipped when
 * /usr/bin/prometheus (or promtool) is absent.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { TraceDispatcher } from '../src/index.js';
import type { PrometheusSinkInspection } from '../src/sinks/prometheus-sink.js';
import { prometheusLabels, prometheusName, sanitizeLabelName, sanitizeMetricName, unitSuffix } from '../src/sinks/prometheus-metrics.js';
import { parseExposition, sampleValue } from './fixtures/prometheus-text.js';

const PROMETHEUS = '/usr/bin/prometheus';
const PROMTOOL = '/usr/bin/promtool';
const haveServer = existsSync(PROMETHEUS) && existsSync(PROMTOOL);

t.test('names: sanitised, the unit spelled out unless present, _total on monotonic sums', async (t) => {
  t.equal(sanitizeMetricName('http.server.request-duration'), 'http_server_request_duration');
  t.equal(sanitizeMetricName('a..b__c'), 'a_b_c', 'runs of _ become one');
  t.equal(sanitizeMetricName('9lives'), '_9lives');
  t.equal(unitSuffix('ms', 'histogram'), 'milliseconds');
  t.equal(unitSuffix('By', 'counter'), 'bytes');
  t.equal(unitSuffix('{request}', 'counter'), '', 'annotations are dropped');
  t.equal(unitSuffix('m/s', 'gauge'), 'meters_per_second');
  t.equal(unitSuffix('{packet}/s', 'counter'), 'per_second');
  t.equal(unitSuffix('1', 'gauge'), 'ratio');
  t.equal(unitSuffix('1', 'counter'), '');
  t.equal(unitSuffix('widgets', 'gauge'), 'widgets', 'an unknown unit as it is');
  t.equal(prometheusName({ name: 'http.server.duration', unit: 's', kind: 'histogram' }), 'http_server_duration_seconds');
  t.equal(prometheusName({ name: 'requests', unit: '{request}', kind: 'counter' }), 'requests_total');
  t.equal(prometheusName({ name: 'requests_total', unit: '', kind: 'counter' }), 'requests_total', 'no second _total');
  t.equal(prometheusName({ name: 'io.read.bytes', unit: 'By', kind: 'observableCounter' }), 'io_read_bytes_total', 'the unit is already there');
  t.equal(prometheusName({ name: 'io_bytes_total', unit: 'By', kind: 'counter' }), 'io_bytes_total');
  t.equal(prometheusName({ name: 'queue', unit: '', kind: 'upDownCounter' }), 'queue', 'an up-down counter has no _total');
});

t.test('labels: keys sanitised, colliding keys joined in key order, scope labels added', async (t) => {
  t.equal(sanitizeLabelName('http.method'), 'http_method');
  t.equal(sanitizeLabelName('0day'), 'key_0day');
  t.same(prometheusLabels({ 'a.b': 'x', a_b: 'y', n: 1, f: false, list: ['p', 'q'] }, { name: 'scope', version: '1', schemaUrl: undefined }), {
    a_b: 'x;y',
    n: '1',
    f: 'false',
    list: '["p","q"]',
    otel_scope_name: 'scope',
    otel_scope_version: '1',
  });
});

t.test('an instrument whose Prometheus name is taken by another kind is skipped; same kind from another scope shares the family', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'prom', sink: 'prometheus', options: { port: 0 } }] });
  t.teardown(() => d.shutdown());
  d.meterProvider.getMeter('one').createCounter('shared').add(1);
  d.meterProvider.getMeter('two').createCounter('shared').add(2);
  d.meterProvider.getMeter('three').createGauge('shared_total').record(5);
  d.meterProvider.getMeter('four').createGauge('ringtrace_queue_bytes').record(5);
  const { url } = await d.inspectSink<PrometheusSinkInspection>('prom');
  const text = await (await fetch(url)).text();
  const m = parseExposition(text);
  t.equal(sampleValue(m, 'shared_total', { otel_scope_name: 'one' }), 1);
  t.equal(sampleValue(m, 'shared_total', { otel_scope_name: 'two' }), 2);
  t.notOk(sampleValue(m, 'shared_total', { otel_scope_name: 'three' }), 'the gauge is not mixed into a counter family');
  t.equal(text.match(/^# TYPE ringtrace_queue_bytes /gm)?.length, 1, "the sink's own metric keeps its name");
  t.notOk(sampleValue(m, 'ringtrace_queue_bytes', { otel_scope_name: 'four' }));
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface QueryResult {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}

t.test('a real Prometheus server scrapes the sink; its HTTP API returns the recorded values', { skip: haveServer ? false : `${PROMETHEUS} or ${PROMTOOL} not installed (apt-get install prometheus)` }, async (t) => {
  const d = await TraceDispatcher.start({ serviceName: 'shop', sinks: [{ name: 'prom', sink: 'prometheus', options: { port: 0 } }] });
  t.teardown(() => d.shutdown());
  const meter = d.meterProvider.getMeter('shop', '1.0.0');
  const orders = meter.createCounter('shop.orders', { description: 'Orders placed', unit: '{order}' });
  const latency = meter.createHistogram('shop.checkout.duration', { description: 'Checkout time', unit: 's', advice: { explicitBucketBoundaries: [0.1, 0.5, 1] } });
  const stock = meter.createUpDownCounter('shop.stock', { description: 'Items in stock' });
  const attrs = { region: 'eu', 'payment.method': 'card' };
  const N = 123_457;
  for (let i = 0; i < N; i++) orders.add(1, attrs);
  for (const v of [0.05, 0.2, 0.7, 3]) latency.record(v, attrs);
  stock.add(40);
  stock.add(-2);
  const { url } = await d.inspectSink<PrometheusSinkInspection>('prom');
  const target = new URL(url);

  const exposition = await (await fetch(url)).text();
  const check = spawnSync(PROMTOOL, ['check', 'metrics'], { input: exposition, encoding: 'utf8' });
  t.equal(check.status, 0, `promtool check metrics accepts the exposition: ${check.stdout}${check.stderr}`);
  t.equal(`${check.stdout}${check.stderr}`.trim(), '', 'with no lint complaint');

  const dir = t.testdir();
  const port = await freePort();
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: ringtrace\n    metrics_path: ${target.pathname}\n    static_configs:\n      - targets: ['${target.host}']\n`,
  );
  const server = spawn(PROMETHEUS, [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.setEncoding('utf8').on('data', (c: string) => (log = (log + c).slice(-4000)));
  t.teardown(() => {
    server.kill('SIGKILL');
  });
  const query = async (q: string): Promise<QueryResult['data']['result']> => {
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as QueryResult;
    return body.status === 'success' ? body.data.result : [];
  };
  let orderResult: QueryResult['data']['result'] = [];
  for (let i = 0; i < 120 && orderResult.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    try {
      orderResult = await query('shop_orders_total');
    } catch {
      // not listening yet
    }
  }
  t.equal(orderResult.length, 1, `Prometheus has the counter (its log: ${orderResult.length === 0 ? log : 'ok'})`);
  t.equal(orderResult[0]?.value[1], String(N), 'exactly N');
  t.match(orderResult[0]?.metric, { region: 'eu', payment_method: 'card', otel_scope_name: 'shop', otel_scope_version: '1.0.0', job: 'ringtrace' });
  t.equal((await query('up{job="ringtrace"}'))[0]?.value[1], '1', 'the scrape is healthy');
  t.equal((await query('shop_checkout_duration_seconds_count'))[0]?.value[1], '4');
  t.equal((await query('shop_checkout_duration_seconds_sum'))[0]?.value[1], String(0.05 + 0.2 + 0.7 + 3));
  t.equal((await query('shop_checkout_duration_seconds_bucket{le="0.5"}'))[0]?.value[1], '2');
  t.equal((await query('histogram_quantile(0.5, shop_checkout_duration_seconds_bucket)')).length, 1, 'PromQL reads it as a histogram');
  t.equal((await query('shop_stock'))[0]?.value[1], '38');
  t.equal((await query('target_info'))[0]?.metric.service_name, 'shop');
  // A value recorded now reaches Prometheus on a later scrape.
  orders.add(10, attrs);
  let later: string | undefined;
  for (let i = 0; i < 40 && later !== String(N + 10); i++) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    later = (await query('shop_orders_total'))[0]?.value[1];
  }
  t.equal(later, String(N + 10), 'the next scrape sees the new count');
});
