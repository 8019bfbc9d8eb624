import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import t from 'tap';
import { TraceDispatcher } from '../src/index.js';
import createPrometheusSink, { OVERFLOW_LABEL_VALUE, type PrometheusSinkInspection } from '../src/sinks/prometheus-sink.js';
import { writeSpan } from './fixtures/span-writer.js';

/**
 * A small parser of the Prometheus text exposition format (version 0.0.4),
 * written here from the format's description so that the test does not trust
 * prom-client to read its own output: `# TYPE` lines, then samples
 * `name{label="value",...} value`, label values escaped with \\, \" and \n.
 */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Scrape {
  types: Map<string, string>;
  samples: Sample[];
}

function parseExposition(text: string): Scrape {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
      if (m !== null) types.set(m[1]!, m[2]!);
      else if (!line.startsWith('# HELP ')) throw new Error(`bad comment line: ${line}`);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (m === null) throw new Error(`bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    let rest = m[2] === undefined ? '' : m[2].slice(1, -1);
    while (rest !== '') {
      const l = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/.exec(rest);
      if (l === null) throw new Error(`bad labels in: ${line}`);
      labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      rest = rest.slice(l[0].length);
    }
    const v = m[3]!;
    samples.push({ name: m[1]!, labels, value: v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v) });
  }
  return { types, samples };
}

async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`scrape ${url}: HTTP ${res.status}`);
  if (!res.headers.get('content-type')?.startsWith('text/plain; version=0.0.4')) throw new Error(`content-type ${res.headers.get('content-type')}`);
  return parseExposition(await res.text());
}

function find(m: Scrape, name: string, labels: Record<string, string> = {}): Sample | undefined {
  return m.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function value(m: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  return find(m, name, labels)?.value;
}

/** One histogram series: its count, sum and cumulative buckets by `le`. */
function histogram(m: Scrape, name: string, labels: Record<string, string>): { count?: number; sum?: number; le: (bound: string) => number | undefined } {
  return {
    count: value(m, `${name}_count`, labels),
    sum: value(m, `${name}_sum`, labels),
    le: (bound) => value(m, `${name}_bucket`, { ...labels, le: bound }),
  };
}

t.test('serves span histograms, event counts and dispatcher health on /metrics', async (t) => {
  const d = await TraceDispatcher.start({
    sinks: [
      { name: 'prom', sink: 'prometheus', filter: 'trace', options: { port: 0, maxSeries: 4 } },
      { name: 'mem', sink: 'memory', filter: 'warn' },
    ],
  });
  t.teardown(() => d.shutdown());
  const { url } = await d.inspectSink<PrometheusSinkInspection>('prom');
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/, 'listens on loopback by default, on the port it reports');

  const checkout = d.logger('checkout');
  for (let i = 0; i < 3; i++) checkout.info('charged', { amount: i });
  d.logger('db').warn('slow query');
  const t0 = Date.now();
  writeSpan(d.encoder, { name: 'GET /cart', target: 'http', start: t0, end: t0 + 3, status: { code: 1 } });
  writeSpan(d.encoder, { name: 'GET /cart', target: 'http', start: t0, end: t0 + 30 });
  writeSpan(d.encoder, { name: 'GET /cart', target: 'http', start: t0, end: t0 + 700, status: { code: 2, message: 'boom' } });
  // Three span series exist (ok, unset, error); the cap is 4, so 'a' fits and b, c, d overflow.
  for (const name of ['a', 'b', 'c', 'd']) writeSpan(d.encoder, { name, target: 'jobs', start: t0, end: t0 + 1 });
  await d.flush();

  const m = await scrape(url);
  t.equal(value(m, 'ringtrace_events_total', { level: 'info', target: 'checkout' }), 3, 'info events by target');
  t.equal(value(m, 'ringtrace_events_total', { level: 'warn', target: 'db' }), 1, 'warn events by target');

  t.equal(m.types.get('ringtrace_span_duration_seconds'), 'histogram');
  t.equal(m.types.get('ringtrace_events_total'), 'counter');
  const ok = histogram(m, 'ringtrace_span_duration_seconds', { span_name: 'GET /cart', target: 'http', status: 'ok' });
  t.equal(ok.count, 1, 'one ok span');
  t.equal(ok.sum, 0.003, 'its duration in seconds');
  t.equal(ok.le('0.0025'), 0, 'not in the 2.5 ms bucket');
  t.equal(ok.le('0.005'), 1, 'in the 5 ms bucket');
  t.equal(ok.le('+Inf'), 1);
  t.equal(histogram(m, 'ringtrace_span_duration_seconds', { span_name: 'GET /cart', status: 'unset' }).count, 1, 'unset status');
  const err = histogram(m, 'ringtrace_span_duration_seconds', { span_name: 'GET /cart', status: 'error' });
  t.equal(err.count, 1, 'error status');
  t.equal(err.le('0.5'), 0);
  t.equal(err.le('1'), 1);

  const overflow = histogram(m, 'ringtrace_span_duration_seconds', { span_name: OVERFLOW_LABEL_VALUE, target: OVERFLOW_LABEL_VALUE, status: 'unset' });
  t.equal(overflow.count, 3, 'spans past the series cap are folded into __overflow__');
  t.equal(value(m, 'ringtrace_metrics_label_overflow_total', { metric: 'ringtrace_span_duration_seconds' }), 3, 'and counted');
  t.equal(find(m, 'ringtrace_span_duration_seconds_count', { span_name: 'a' })?.value, 1, 'the last name under the cap has its series');
  t.notOk(find(m, 'ringtrace_span_duration_seconds_count', { span_name: 'b' }), 'no series for an overflowed name');

  const producer = d.producerStats();
  t.equal(value(m, 'ringtrace_records_offered_total'), producer.offered, 'offered matches the producer');
  t.equal(value(m, 'ringtrace_records_written_total'), producer.written, 'written matches the producer');
  t.equal(value(m, 'ringtrace_records_decoded_total'), producer.written, 'all decoded after flush');
  t.equal(value(m, 'ringtrace_records_dropped_total'), 0);
  t.equal(value(m, 'ringtrace_records_oversize_total'), 0);
  t.equal(value(m, 'ringtrace_queue_records'), 0, 'queue empty after flush');
  t.equal(value(m, 'ringtrace_queue_bytes'), 0);
  t.ok(value(m, 'ringtrace_queue_high_water_bytes')! > 0, 'high-water mark saw the records');
  t.equal(value(m, 'ringtrace_queue_capacity_bytes'), d.options.queueCapacity);
  t.equal(value(m, 'ringtrace_worker_restarts_total'), 0);
  t.equal(value(m, 'ringtrace_records_corrupt_total'), 0);

  // A record no encoder writes (kind 77): skipped by the worker and counted here.
  const bad = new Uint8Array(16);
  new DataView(bad.buffer).setUint32(0, 16, true);
  bad[4] = 77;
  t.ok(d.writer.write(bad, 16));
  await d.flush();
  // Past the sink's 50 ms snapshot of the health counts.
  await new Promise((resolve) => setTimeout(resolve, 60));
  const after = await scrape(url);
  t.equal(value(after, 'ringtrace_records_corrupt_total'), 1, 'the corrupt record is counted');
  t.equal(value(after, 'ringtrace_corrupt_bytes_total'), 0, 'its framing was sound');
  t.equal(value(after, 'ringtrace_records_decoded_total')! + 1, value(after, 'ringtrace_records_written_total'), 'decoded + corrupt == written');

  const stats = await d.stats();
  const mem = stats.sinks.find((s) => s.name === 'mem')!;
  t.equal(value(m, 'ringtrace_sink_delivered_total', { sink: 'mem' }), mem.delivered, 'per-sink delivered');
  t.equal(value(m, 'ringtrace_sink_filtered_total', { sink: 'mem' }), mem.filtered, 'per-sink filtered');
  t.equal(mem.delivered, 1, 'the memory sink took only the warn event');
  t.equal(value(m, 'ringtrace_sink_failed_total', { sink: 'prom' }), 0);
  t.ok(value(m, 'ringtrace_sink_flushes_total', { sink: 'mem' })! >= 1, 'flush count');
  t.equal(m.types.get('ringtrace_sink_flush_seconds_total'), 'counter', 'flush duration');
  t.ok(find(m, 'ringtrace_sink_flush_seconds_total', { sink: 'mem' }));

  const missing = await fetch(url.replace('/metrics', '/other'));
  t.equal(missing.status, 404, 'other paths are 404');
  await missing.body?.cancel();
});

t.test('dropped records read from the ring header match the producer', async (t) => {
  const d = await TraceDispatcher.start({
    queueCapacity: 64 * 1024,
    sinks: [{ name: 'prom', sink: 'prometheus', filter: 'info', options: { port: 0 } }],
  });
  t.teardown(() => d.shutdown());
  const log = d.logger('burst');
  // A synchronous burst far larger than 64 KiB: the ring fills and drops.
  for (let i = 0; i < 20_000; i++) log.info('burst event with some text to take room', { i });
  await d.flush();
  const { url } = await d.inspectSink<PrometheusSinkInspection>('prom');
  const m = await scrape(url);
  const producer = d.producerStats();
  t.ok(producer.dropped > 0, 'the burst dropped records');
  t.equal(value(m, 'ringtrace_records_dropped_total'), producer.dropped, 'dropped');
  t.equal(value(m, 'ringtrace_records_offered_total'), producer.offered, 'offered');
  t.equal(value(m, 'ringtrace_records_written_total'), producer.written, 'written');
  t.ok(value(m, 'ringtrace_queue_high_water_bytes')! > 32 * 1024, 'the high-water mark saw a full-ish ring');
});

t.test('options are validated, naming the option and the value', async (t) => {
  await t.rejects(createPrometheusSink({ port: 70000 }, { name: 'p' }), { name: 'RangeError', message: /prometheus\.port.*70000/ });
  await t.rejects(createPrometheusSink({ host: '' }, { name: 'p' }), { name: 'TypeError', message: /prometheus\.host/ });
  await t.rejects(createPrometheusSink({ path: 'metrics' }, { name: 'p' }), { message: /prometheus\.path.*"metrics"/ });
  await t.rejects(createPrometheusSink({ maxSeries: 0 }, { name: 'p' }), { message: /prometheus\.maxSeries.*0/ });
  await t.rejects(createPrometheusSink({ buckets: [1, 0.5] }, { name: 'p' }), { message: /prometheus\.buckets/ });
  await t.rejects(createPrometheusSink({ prefix: '9x' }, { name: 'p' }), { message: /prometheus\.prefix/ });
  await t.rejects(
    TraceDispatcher.start({ sinks: [{ name: 'prom', sink: 'prometheus', options: { port: -1 } }] }),
    { name: 'SinkError', message: /sink "prom".*prometheus\.port.*-1/ },
    'start() rejects with a SinkError naming the sink',
  );
});

t.test('a port already in use fails start() with a SinkError', async (t) => {
  const blocker = createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const port = (blocker.address() as { port: number }).port;
  await t.rejects(TraceDispatcher.start({ sinks: [{ name: 'prom', sink: 'prometheus', options: { port } }] }), {
    name: 'SinkError',
    message: /EADDRINUSE/,
  });
});

t.test('the server stops at shutdown', async (t) => {
  const d = await TraceDispatcher.start({ sinks: [{ name: 'prom', sink: 'prometheus', options: { port: 0 } }] });
  const { url } = await d.inspectSink<PrometheusSinkInspection>('prom');
  await d.shutdown();
  await t.rejects(fetch(url), 'connection refused after shutdown');
});

t.test('worker restarts are counted after a respawn', async (t) => {
  const marker = join(t.testdir(), 'died');
  const d = await TraceDispatcher.start({
    sinks: [
      { name: 'prom', sink: 'prometheus', options: { port: 0 } },
      { name: 'die', module: new URL('./fixtures/die-once-sink.ts', import.meta.url), options: { marker } },
    ],
  });
  t.teardown(() => d.shutdown());
  const before = await scrape((await d.inspectSink<PrometheusSinkInspection>('prom')).url);
  t.equal(value(before, 'ringtrace_worker_restarts_total'), 0, 'none yet');
  d.logger('app').info('die');
  // The respawned worker answers once it is up; the sink listens again on a new port.
  let restarts: number | undefined;
  for (let i = 0; i < 100 && restarts !== 1; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    try {
      await d.flush();
      restarts = value(await scrape((await d.inspectSink<PrometheusSinkInspection>('prom')).url), 'ringtrace_worker_restarts_total');
    } catch {
      // the worker is being replaced
    }
  }
  t.ok(existsSync(marker), 'the worker really died');
  t.equal(restarts, 1, 'one restart, as the new worker reports it');
});
