/**
 * The otlp sink's transport against real HTTP peers (test/fixtures/otlp-receiver,
 * decoding on its own): several requests in flight and never more than
 * `maxConcurrentRequests`, the queue bounded in bytes, Retry-After under
 * concurrency, gzip off the event loop, Unix domain sockets (options and
 * OTEL_* forms), flush/close with requests in flight, a collector that is
 * down, and the metrics export. Every test checks the accounting identity:
 * queued == exported + rejected + failed + dropped + pending.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TraceDispatcher } from '../src/index.js';
import { allocateMetricRegion } from '../src/metric-region/layout.js';
import { MetricRegionReader } from '../src/metric-region/region-reader.js';
import { RingMeterProvider } from '../src/metrics/ring-meter-provider.js';
import { resolveOtlpConfig } from '../src/sinks/otlp-config.js';
import { OtlpSink, type OtlpSignalStats } from '../src/sinks/otlp-sink.js';
import { SignalExporter } from '../src/sinks/otlp-signal-exporter.js';
import { OtlpTransport, type OtlpTarget } from '../src/sinks/otlp-transport.js';
import { readZeroCodeConfig } from '../src/zero-code/env-config.js';
import { environmentSinks } from '../src/zero-code/zero-code-start.js';
import type { Fields, SpanInfo } from '../src/record/trace-record.js';
import { otlpReceiver, type Answer, type Receiver } from './fixtures/otlp-receiver.js';

// ── helpers ──────────────────────────────────────────────────────────────

let nextId = 1;
function feedSpans(sink: OtlpSink, n: number, name = 'job'): string[] {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const span: SpanInfo = {
      traceId: 'ee'.repeat(16), spanId: (nextId++).toString(16).padStart(16, '0'), parentSpanId: undefined, parentIsRemote: false,
      traceFlags: 1, traceState: '', name: `${name} ${i}`, target: 'jobs', level: 'info', spanKind: 0, startTime: Date.now(),
    };
    ids.push(span.spanId);
    sink.consume({ kind: 'spanStart', span, time: span.startTime, attributes: Object.create(null) as Fields });
    sink.consume({ kind: 'spanEnd', span, time: span.startTime + 1, droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0 });
  }
  return ids;
}

function event(message: string): Parameters<OtlpSink['consume']>[0] {
  return { kind: 'event', time: Date.now(), level: 'info', target: 'app', message, fields: Object.create(null) as Fields, traceId: undefined, spanId: undefined };
}

/** The accounting identity, checked at every call. */
function exact(t: Test, s: OtlpSignalStats, what = 'every item exactly once in the counts'): void {
  t.equal(s.queued, s.exported + s.rejected + s.failed + s.dropped + s.pending, what);
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Answers held until release(); `releaseAll` answers everything held now and later. */
function holding(): { answer: (req: unknown, index: number) => Promise<Answer>; held: number; release(n?: number): void; releaseAll(): void } {
  const queue: (() => void)[] = [];
  let all = false;
  return {
    answer: () => (all ? Promise.resolve({ status: 200 }) : new Promise<Answer>((resolve) => queue.push(() => resolve({ status: 200 })))),
    get held() {
      return queue.length;
    },
    release(n = queue.length) {
      for (const r of queue.splice(0, n)) r();
    },
    releaseAll() {
      all = true;
      for (const r of queue.splice(0)) r();
    },
  };
}

function spanIds(r: Receiver): string[] {
  return r.spans().map((s) => s.item.spanId);
}

function socketDir(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'rt-otlp-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ── concurrency ──────────────────────────────────────────────────────────

t.test('several requests in flight, never more than maxConcurrentRequests (default 4)', async (t) => {
  for (const limit of [1, 3, undefined]) {
    const h = holding();
    const r = await otlpReceiver({ answer: h.answer });
    const sink = new OtlpSink({ endpoint: `${r.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 10, maxQueueSize: 1000, ...(limit === undefined ? {} : { maxConcurrentRequests: limit }) }, {});
    const expected = limit ?? 4;
    const sent = feedSpans(sink, 100);
    await until(() => r.open === expected, `${expected} requests held`);
    await sleep(50);
    t.equal(r.arrivals, expected, `limit ${expected}: no request past the limit while all are held`);
    t.equal(sink.inspect().spans.inFlight, expected, 'inFlight counts them');
    t.equal(sink.inspect().spans.pending, 100);
    exact(t, sink.inspect().spans);
    h.releaseAll();
    await sink.flush();
    const s = sink.inspect().spans;
    await sink.close();
    await r.close();
    t.equal(r.maxOpen, expected, `limit ${expected}: reached and never passed`);
    t.match(s, { queued: 100, exported: 100, pending: 0, inFlight: 0, queueBytes: 0, requests: 10 });
    t.same(spanIds(r).sort(), sent.sort(), 'every span once');
  }
});

// ── the byte bound ───────────────────────────────────────────────────────

t.test('a stalled collector: queueBytes never exceeds maxQueueBytes, whole batches dropped and counted, identities exact', async (t) => {
  // The size of one encoded batch of ten of these spans.
  const probe = new OtlpSink({ endpoint: 'http://127.0.0.1:9/v1/traces', exportEvents: false, maxExportBatchSize: 10, maxConcurrentRequests: 1, maxAttempts: 1 }, {});
  feedSpans(probe, 10);
  const bodyBytes = probe.inspect().spans.queueBytes;
  await probe.close();
  t.ok(bodyBytes > 200, `a batch body is ${bodyBytes} bytes`);

  const h = holding();
  const r = await otlpReceiver({ answer: h.answer });
  t.teardown(() => r.close());
  const maxQueueBytes = Math.floor(bodyBytes * 3.5);
  const sink = new OtlpSink(
    { endpoint: `${r.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 10, maxQueueSize: 100_000, maxQueueBytes, maxConcurrentRequests: 2 },
    {},
  );
  const sent: string[] = [];
  for (let i = 0; i < 50; i++) {
    sent.push(...feedSpans(sink, 10));
    const s = sink.inspect().spans;
    t.ok(s.queueBytes <= maxQueueBytes, 'queueBytes within the bound');
    if (i % 10 === 0) exact(t, s);
  }
  await until(() => r.open === 2, 'two requests held');
  const stalled = sink.inspect().spans;
  t.equal(stalled.peakQueueBytes, 3 * bodyBytes, 'three bodies fit, the fourth does not');
  t.equal(stalled.dropped, 500 - 30, 'every batch past them dropped whole');
  t.match(stalled, { queued: 500, pending: 30, inFlight: 2 });
  t.match(stalled.lastError, /queue full/);
  exact(t, stalled);
  h.releaseAll();
  await sink.flush();
  const s = sink.inspect().spans;
  await sink.close();
  t.match(s, { queued: 500, exported: 30, dropped: 470, pending: 0, queueBytes: 0 });
  exact(t, s);
  const got = spanIds(r);
  t.equal(got.length, 30, 'what is counted exported arrived');
  t.equal(new Set(got).size, 30, 'once each');
  t.same(got.sort(), sent.slice(0, 30).sort(), 'the first three batches: a drop never reaches into the queue');
});

// ── retries ──────────────────────────────────────────────────────────────

t.test('Retry-After under concurrency: the whole signal waits, the refused batch is retried once, nothing lost or doubled', async (t) => {
  const arrivals: number[] = [];
  let refusedAt = 0;
  const r = await otlpReceiver({
    answer: async (_req, index) => {
      arrivals[index] = Date.now();
      if (index === 0) {
        refusedAt = Date.now();
        return { status: 429, headers: { 'retry-after': '0.3' } };
      }
      await sleep(30);
      return { status: 200 };
    },
  });
  t.teardown(() => r.close());
  const sink = new OtlpSink({ endpoint: `${r.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 5, maxConcurrentRequests: 4, initialBackoffMs: 1, maxBackoffMs: 2000 }, {});
  const sent = feedSpans(sink, 40);
  exact(t, sink.inspect().spans);
  await sink.flush();
  const s = sink.inspect().spans;
  await sink.close();
  t.match(s, { queued: 40, exported: 40, failed: 0, retried: 1, requests: 9, pending: 0 });
  exact(t, s);
  t.same(spanIds(r).sort(), sent.sort(), 'every span once');
  // Requests 1-3 left with request 0; every later one (and the retry) waited out the Retry-After.
  const later = arrivals.slice(4);
  t.equal(later.length, 5);
  t.ok(later.every((at) => at - refusedAt >= 290), `no request started within Retry-After (first after ${Math.min(...later) - refusedAt} ms)`);
});

t.test('the old rules hold: 503 then recovery under concurrency, a timeout counted and retried', async (t) => {
  let failures = 0;
  const r = await otlpReceiver({ answer: (_req, index) => (index % 3 === 0 && failures++ < 4 ? { status: 503 } : { status: 200 }) });
  t.teardown(() => r.close());
  const sink = new OtlpSink({ endpoint: `${r.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 4, initialBackoffMs: 1, maxBackoffMs: 5 }, {});
  const sent = feedSpans(sink, 40);
  await sink.flush();
  const s = sink.inspect().spans;
  await sink.close();
  t.match(s, { queued: 40, exported: 40, failed: 0, pending: 0, retried: 4, requests: 14 });
  t.same(spanIds(r).sort(), sent.sort());

  const silent = await otlpReceiver({ answer: () => new Promise<Answer>(() => {}) });
  const slow = new OtlpSink({ endpoint: `${silent.url}/v1/traces`, exportEvents: false, timeoutMs: 50, maxAttempts: 2, initialBackoffMs: 1, maxBackoffMs: 1 }, {});
  feedSpans(slow, 3);
  await slow.flush();
  t.match(slow.inspect().spans, { queued: 3, failed: 3, retried: 1, requests: 2, pending: 0 });
  t.match(slow.inspect().spans.lastError, /no answer from .* within 50 ms/);
  await slow.close();
  await silent.close();
});

// ── gzip ─────────────────────────────────────────────────────────────────

t.test('gzip runs off the event loop: the body is compressed after consume returns, and decodes', async (t) => {
  const r = await otlpReceiver();
  t.teardown(() => r.close());
  const plain = new OtlpSink({ endpoint: `${r.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 50, compression: 'none' }, {});
  const zipped = new OtlpSink({ endpoint: `${r.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 50, compression: 'gzip' }, {});
  feedSpans(plain, 50, 'same name for all, compressible');
  const sent = feedSpans(zipped, 50, 'same name for all, compressible');
  t.equal(plain.inspect().spans.inFlight, 1, 'uncompressed: on its way at once');
  const raw = plain.inspect().spans.queueBytes;
  t.equal(zipped.inspect().spans.inFlight, 0, 'gzip: not yet, the compression is still running');
  t.equal(zipped.inspect().spans.queueBytes, raw, 'meanwhile the uncompressed body is what is held');
  await until(() => zipped.inspect().spans.inFlight === 1 || zipped.inspect().spans.exported === 50, 'the compressed body sent');
  await Promise.all([plain.flush(), zipped.flush()]);
  t.match(zipped.inspect().spans, { exported: 50, failed: 0, pending: 0, queueBytes: 0 });
  const gz = r.raw.find((b) => b.encoding === 'gzip');
  t.ok(gz, 'a gzip request arrived');
  t.equal(gz!.bytes.length, raw, 'it gunzips to the same protobuf size');
  t.ok(spanIds(r).filter((id) => sent.includes(id)).length === 50, 'and decodes to every span');
  await Promise.all([plain.close(), zipped.close()]);

  // zlib refusing its input: counted failed, with the reason.
  const transport = new OtlpTransport();
  const bogus = { byteLength: 3 } as unknown as Uint8Array;
  const exporter = new SignalExporter<number>(
    { url: new URL(`${r.url}/v1/traces`), socketPath: undefined, timeoutMs: 1000, headers: {}, compression: 'gzip', protocol: 'http/protobuf' },
    { encode: () => bogus, rejected: () => ({ rejected: 0, errorMessage: '' }) },
    resolveOtlpConfig({ maxExportBatchSize: 1 }, {}),
    transport,
  );
  exporter.push(1);
  await exporter.flush();
  t.match(exporter.stats, { queued: 1, failed: 1, pending: 0, queueBytes: 0, requests: 0 });
  t.match(exporter.stats.lastError, /^gzip: /);
  transport.close();
});

// ── Unix domain sockets ──────────────────────────────────────────────────

t.test('OTLP over a Unix domain socket: unix:// endpoints, the socketPath option, and OTEL_EXPORTER_OTLP_*ENDPOINT', async (t) => {
  const dir = socketDir(t);
  const path = join(dir, 'otlp.sock');
  const r = await otlpReceiver({ socketPath: path });
  t.teardown(() => r.close());

  const byOption = new OtlpSink({ endpoint: `unix://${path}`, logsEndpoint: `unix://${path}` }, {});
  t.match(byOption.inspect(), { tracesUrl: `unix://${path}`, logsUrl: `unix://${path}`, tracesSocketPath: path, logsSocketPath: path });
  const a = feedSpans(byOption, 3);
  byOption.consume(event('over the socket'));
  await byOption.close();
  t.match(byOption.inspect().spans, { exported: 3, failed: 0 });
  t.match(byOption.inspect().logs, { exported: 1, failed: 0 });
  t.same(r.paths.slice().sort(), ['/v1/logs', '/v1/traces'], 'the signal paths over the socket');

  const byGenericEnv = new OtlpSink({}, {}, { OTEL_EXPORTER_OTLP_ENDPOINT: `unix://${path}/` });
  const b = feedSpans(byGenericEnv, 2);
  byGenericEnv.consume(event('generic'));
  await byGenericEnv.close();
  t.match(byGenericEnv.inspect(), { tracesUrl: `unix://${path}`, spans: { exported: 2 }, logs: { exported: 1 } });

  const bySignalEnv = new OtlpSink({}, {}, { OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `unix://${path}`, OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `unix://${path}` });
  const c = feedSpans(bySignalEnv, 2);
  await bySignalEnv.close();
  t.match(bySignalEnv.inspect().spans, { exported: 2, failed: 0 });

  const bySocketPath = new OtlpSink({ socketPath: path, endpoint: 'http://collector.local/custom/traces', exportEvents: false }, {});
  const d = feedSpans(bySocketPath, 2);
  await bySocketPath.close();
  t.match(bySocketPath.inspect(), { tracesUrl: 'http://collector.local/custom/traces', tracesSocketPath: path, spans: { exported: 2 } });
  t.equal(r.paths.at(-1), '/custom/traces', 'the URL gives the path; the socket carries it');

  t.same(spanIds(r).sort(), [...a, ...b, ...c, ...d].sort(), 'every span once');

  // ringtrace/register: the variables read once, the endpoint passed on in the same form.
  const warnings: string[] = [];
  const sinks = environmentSinks(readZeroCodeConfig({ OTEL_EXPORTER_OTLP_ENDPOINT: `unix://${path}` }, (m) => warnings.push(m)));
  t.same(warnings, []);
  t.match(sinks[0]!.options, { endpoint: `unix://${path}`, logsEndpoint: `unix://${path}`, ignoreEnvironment: true });
  const fromRegister = new OtlpSink(sinks[0]!.options as object, {});
  t.equal(fromRegister.config.traces.socketPath, path);
  await fromRegister.close();
});

t.test('bad socket paths and unix endpoints: the typed error naming the value (options), one warning and the default (variables)', async (t) => {
  const code = 'RINGTRACE_INVALID_OPTION';
  t.throws(() => new OtlpSink({ socketPath: '' }), { name: 'TypeError', code, message: /otlp\.socketPath must be a socket path string, got ""/ });
  t.throws(() => new OtlpSink({ socketPath: 42 } as never), { name: 'TypeError', code, message: /otlp\.socketPath.*got 42/ });
  const long = `/tmp/${'s'.repeat(200)}.sock`;
  t.throws(() => new OtlpSink({ socketPath: long }), { name: 'RangeError', code, message: /otlp\.socketPath must be a socket path of at most 10\d bytes, got "\/tmp\/s+\.sock"/ });
  t.throws(() => new OtlpSink({ socketPath: 'a\u0000b' }), { name: 'RangeError', code, message: /without NUL/ });
  for (const bad of ['unix://host/x.sock', 'unix:/x.sock', 'unix:///', 'unix:///x.sock?q=1', 'unix:///x.sock#f', `unix://${long}`]) {
    t.throws(() => new OtlpSink({ endpoint: bad }), { code, message: new RegExp(`otlp\\.endpoint must be .*got ${JSON.stringify(bad).replace(/[.?*+^$()[\]{}|\\/]/g, '\\$&')}`) }, bad);
  }
  t.throws(() => new OtlpSink({ logsEndpoint: 'unix://h/x' }), { message: /otlp\.logsEndpoint.*"unix:\/\/h\/x"/ });
  t.throws(() => new OtlpSink({}, {}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'unix://h/x' }), { code, message: /environment variable OTEL_EXPORTER_OTLP_ENDPOINT.*"unix:\/\/h\/x"/ });
  t.throws(() => new OtlpSink({ metrics: { endpoint: 'unix://h/x' } }), { code, message: /otlp\.metrics\.endpoint.*"unix:\/\/h\/x"/ });
  t.throws(() => new OtlpSink({ maxConcurrentRequests: 0 }), { code, message: /otlp\.maxConcurrentRequests.*got 0/ });
  t.throws(() => new OtlpSink({ maxQueueBytes: 1.5 }), { code, message: /otlp\.maxQueueBytes.*got 1\.5/ });
  t.throws(() => new OtlpSink({ metrics: 'yes' } as never), { name: 'TypeError', code, message: /otlp\.metrics.*"yes"/ });
  t.throws(() => new OtlpSink({ metrics: { bogus: 1 } } as never), { code, message: /otlp\.metrics must be one of the options/ });
  t.equal(new OtlpSink({ endpoint: 'unix:///run/my%20otel.sock' }).config.traces.socketPath, '/run/my otel.sock', 'percent-decoded');

  for (const [name, value] of [['OTEL_EXPORTER_OTLP_ENDPOINT', 'unix://h/x'], ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', `unix://${long}`], ['OTEL_EXPORTER_OTLP_LOGS_ENDPOINT', 'unix:///']] as const) {
    const warnings: string[] = [];
    const config = readZeroCodeConfig({ [name]: value }, (m) => warnings.push(m));
    t.equal(warnings.length, 1, `${name}: one warning`);
    t.match(warnings[0], `environment variable ${name}=${JSON.stringify(value)} is not valid`);
    t.equal(config.otlp.traces.endpoint, 'http://localhost:4318/v1/traces', `${name}: the default`);
    t.equal(config.otlp.logs.socketPath, undefined);
  }
});

// ── flush and close with requests in flight ──────────────────────────────

t.test('flush waits for what was queued at its call, not for what came after; close waits for requests in flight', async (t) => {
  const h = holding();
  const r = await otlpReceiver({ answer: h.answer });
  t.teardown(() => r.close());
  const sink = new OtlpSink({ endpoint: `${r.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 10, maxConcurrentRequests: 4 }, {});
  const before = feedSpans(sink, 25); // two full batches in flight, five spans in a partial batch
  let flushed = false;
  const flush = sink.flush().then(() => (flushed = true));
  await until(() => r.open === 3, 'the partial batch sent by flush');
  const after = feedSpans(sink, 10); // a fourth request, after the flush was called
  await until(() => r.open === 4, 'the later batch in flight');
  await sleep(30);
  t.notOk(flushed, 'flush waits while its requests are held');
  h.release(3);
  await flush;
  t.pass('flush resolved with the later request still held');
  const mid = sink.inspect().spans;
  t.match(mid, { exported: 25, pending: 10, inFlight: 1 });
  exact(t, mid);
  let closed = false;
  const close = sink.close().then(() => (closed = true));
  await sleep(30);
  t.notOk(closed, 'close waits for the request in flight');
  h.release();
  await close;
  t.match(sink.inspect().spans, { queued: 35, exported: 35, pending: 0, inFlight: 0 });
  t.same(spanIds(r).sort(), [...before, ...after].sort());
});

t.test('close does not wait out retry backoffs: the batch waiting to retry is counted failed, and a pending flush resolves', async (t) => {
  const r = await otlpReceiver({ answer: () => ({ status: 503 }) });
  t.teardown(() => r.close());
  const sink = new OtlpSink({ endpoint: `${r.url}/v1/traces`, exportEvents: false, initialBackoffMs: 60_000, maxBackoffMs: 60_000 }, {});
  feedSpans(sink, 3);
  const flush = sink.flush();
  await until(() => sink.inspect().spans.retried === 1, 'the first attempt answered and its retry scheduled');
  const started = Date.now();
  await sink.close();
  await flush;
  t.ok(Date.now() - started < 1000, 'close did not wait for the minute-long backoff');
  t.match(sink.inspect().spans, { queued: 3, failed: 3, pending: 0, retried: 1 });
});

// ── a collector that is down ─────────────────────────────────────────────

t.test('a collector that is down costs bounded memory: held bytes and pending items stay within their bounds', async (t) => {
  const down = await otlpReceiver();
  const url = down.url;
  await down.close();
  const maxQueueBytes = 64 * 1024;
  const sink = new OtlpSink(
    { endpoint: `${url}/v1/traces`, exportEvents: false, maxExportBatchSize: 100, maxQueueSize: 500, maxQueueBytes, maxAttempts: 1000, initialBackoffMs: 5, maxBackoffMs: 10 },
    {},
  );
  const heapBefore = process.memoryUsage().heapUsed;
  let maxPending = 0;
  for (let round = 0; round < 40; round++) {
    feedSpans(sink, 1000);
    const s = sink.inspect().spans;
    maxPending = Math.max(maxPending, s.pending);
    exact(t, s, `round ${round}: exact`);
    await sleep(5);
  }
  const s = sink.inspect().spans;
  t.ok(s.peakQueueBytes <= maxQueueBytes, `held at most ${s.peakQueueBytes} of ${maxQueueBytes} bytes`);
  t.ok(maxPending <= 500 + 4 * 100, `at most ${maxPending} items pending: maxQueueSize waiting plus four requests`);
  t.ok(s.dropped > 39_000, `the rest dropped (${s.dropped})`);
  t.match(s.lastError, /ECONNREFUSED|queue full/);
  t.ok(s.retried > 0, 'the requests kept retrying');
  t.ok(process.memoryUsage().heapUsed - heapBefore < 64 * 1024 * 1024, 'the heap did not grow with the spans offered');
  await sink.close();
  t.match(sink.inspect().spans, { queued: 40_000, exported: 0, pending: 0, queueBytes: 0, inFlight: 0 });
  exact(t, sink.inspect().spans);
});

// ── metrics ──────────────────────────────────────────────────────────────

interface MetricsBody {
  resourceMetrics: { scopeMetrics: { metrics: { name: string; sum?: { dataPoints: { asDouble?: number }[] } }[] }[] }[];
}
function counterValue(body: Record<string, unknown>, name: string): number | undefined {
  for (const rm of (body as unknown as MetricsBody).resourceMetrics) {
    for (const sm of rm.scopeMetrics) for (const m of sm.metrics) if (m.name === name) return m.sum?.dataPoints[0]?.asDouble;
  }
  return undefined;
}

t.test('the metrics option: exported on its interval at flush and once more at close, over the same transport (a socket too)', async (t) => {
  const region = allocateMetricRegion(64 * 1024, 64 * 1024, Date.now() - 1000);
  const provider = new RingMeterProvider(region, { cardinalityLimit: 100, exportIntervalMs: 60_000 });
  const reader = new MetricRegionReader([region]);
  const ticks = provider.getMeter('shop').createCounter('ticks');
  const dir = socketDir(t);
  const r = await otlpReceiver({ socketPath: join(dir, 'm.sock') });
  t.teardown(() => r.close());
  const off = new OtlpSink({ socketPath: r.socketPath! }, { metrics: () => reader.snapshot() });
  await off.flush();
  t.equal(off.inspect().metrics, undefined, 'off by default');
  await off.close();
  t.equal(r.arrivals, 0, 'and nothing posted');

  const sink = new OtlpSink({ socketPath: r.socketPath!, metrics: { exportIntervalMs: 60_000 }, ignoreEnvironment: true }, { metrics: () => reader.snapshot(), resource: { 'service.name': 'shop' } });
  await sink.flush();
  t.equal(r.arrivals, 0, 'nothing recorded yet: no request');
  ticks.add(5);
  await sink.flush();
  ticks.add(2);
  await sink.flush();
  t.equal(r.metrics().length, 1, 'the second flush is inside the interval');
  t.equal(counterValue(r.metrics()[0]!, 'ticks'), 5);
  await sink.close();
  t.equal(r.metrics().length, 2, 'close exports once more');
  t.equal(counterValue(r.metrics()[1]!, 'ticks'), 7, 'cumulative');
  t.same(r.paths, ['/v1/metrics', '/v1/metrics']);
  t.match(sink.inspect().metrics, { queued: 2, exported: 2, failed: 0, pending: 0, requests: 2 });
  provider.close();
});

t.test('through a dispatcher: the worker gives the otlp sink its metrics, exported exactly at shutdown', async (t) => {
  const r = await otlpReceiver();
  t.teardown(() => r.close());
  const d = await TraceDispatcher.start({
    serviceName: 'shop',
    sinks: [{ name: 'otlp', sink: 'otlp', options: { endpoint: `${r.url}/v1/traces`, logsEndpoint: `${r.url}/v1/logs`, metrics: { endpoint: `${r.url}/v1/metrics` }, ignoreEnvironment: true } }],
  });
  const c = d.meterProvider.getMeter('shop').createCounter('orders');
  for (let i = 0; i < 10_000; i++) c.add(1);
  await d.shutdown();
  const bodies = r.metrics();
  t.ok(bodies.length >= 1);
  t.equal(counterValue(bodies.at(-1)!, 'orders'), 10_000, 'the final export has every add');
});

// ── the HTTP/1.1 client, against peers that answer byte by byte ──────────

interface RawRequest {
  head: string;
  body: Buffer;
}

/**
 * A TCP peer that reads each request (head, then Content-Length bytes) and
 * lets `answer` write whatever bytes it likes back, on the same connection.
 */
async function rawPeer(t: Test, answer: (req: RawRequest, socket: Socket, index: number) => void): Promise<{ url: string; requests: RawRequest[]; connections: number; closed: number }> {
  const requests: RawRequest[] = [];
  const state = { connections: 0, closed: 0 };
  const server = createNetServer((socket) => {
    state.connections++;
    socket.on('close', () => state.closed++);
    let buf = Buffer.alloc(0);
    socket.on('error', () => {});
    socket.on('data', (data) => {
      buf = Buffer.concat([buf, data]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end);
        const length = Number(/\r\ncontent-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        const req = { head, body: buf.subarray(end + 4, end + 4 + length) };
        buf = buf.subarray(end + 4 + length);
        requests.push(req);
        answer(req, socket, requests.length - 1);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`,
    requests,
    get connections() {
      return state.connections;
    },
    get closed() {
      return state.closed;
    },
  };
}

function target(url: string, timeoutMs = 5000): OtlpTarget {
  return { url: new URL(url), socketPath: undefined, timeoutMs };
}

t.test('HTTP client: one connection kept alive, the head checked and sent once per header set, the body whole', async (t) => {
  const peer = await rawPeer(t, (_req, socket) => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
  const transport = new OtlpTransport();
  t.teardown(() => transport.destroy());
  const headers = { 'Content-Type': 'application/x-protobuf', 'X-Tenant': 'a b' };
  for (let i = 0; i < 5; i++) {
    const res = await transport.post(target(peer.url), headers, new Uint8Array(1000 + i).fill(i));
    t.same({ status: res.status, body: res.body.length, retryAfterMs: res.retryAfterMs }, { status: 200, body: 0, retryAfterMs: undefined });
  }
  t.equal(peer.connections, 1, 'every request on the one connection');
  t.match(peer.requests[0]!.head, /^POST \/v1\/traces HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
  t.match(peer.requests[0]!.head, /\r\nX-Tenant: a b\r\nContent-Length: 1000$/);
  t.same(peer.requests.map((r) => [r.body.length, r.body[0]]), [0, 1, 2, 3, 4].map((i) => [1000 + i, i]));
  for (const bad of ['a\r\nInjected: yes', 'a\0b', 'a\x01b', 'a\x7fb', 'caf\u0153', 'snow \u2603']) {
    await t.rejects(transport.post(target(peer.url), { 'X-Bad': bad }, new Uint8Array(1)), new TypeError(`header X-Bad has a value with a control character or one past \\xFF: ${JSON.stringify(bad)}`));
  }
  t.equal((await transport.post(target(peer.url), { 'X-Fine': 'tab\there caf\u00e9' }, new Uint8Array(1))).status, 200, 'a tab and latin-1 are taken, as node:http takes them');
  await t.rejects(transport.post(target(peer.url), { 'Bad Name': 'x' }, new Uint8Array(1)), /"Bad Name" is not a valid HTTP token/);
  t.equal(peer.requests.length, 6, 'a bad header sends nothing');
});

t.test('HTTP client: answers framed every way, split at every byte, a 1xx skipped, Retry-After read', async (t) => {
  const partial = Buffer.from([0x0a, 0x02, 0x08, 0x03]);
  const answers: { bytes: Buffer; status: number; body: Buffer; retryAfterMs?: number; reuse: boolean }[] = [
    { bytes: Buffer.concat([Buffer.from('HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n'), partial]), status: 200, body: partial, reuse: true },
    {
      bytes: Buffer.concat([Buffer.from('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;ext=1\r\n'), partial.subarray(0, 1), Buffer.from('\r\n3\r\n'), partial.subarray(1), Buffer.from('\r\n0\r\nX-Trailer: 1\r\n\r\n')]),
      status: 200, body: partial, reuse: true,
    },
    { bytes: Buffer.from('HTTP/1.1 429 Too Many Requests\r\nRetry-After: 2\r\nContent-Length: 5\r\n\r\nslow!'), status: 429, body: Buffer.from('slow!'), retryAfterMs: 2000, reuse: true },
    { bytes: Buffer.from('HTTP/1.1 204 No Content\r\n\r\n'), status: 204, body: Buffer.alloc(0), reuse: true },
    { bytes: Buffer.from('HTTP/1.1 503 Unavailable\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'), status: 503, body: Buffer.alloc(0), reuse: false },
    { bytes: Buffer.concat([Buffer.from('HTTP/1.0 200 OK\r\n\r\n'), partial]), status: 200, body: partial, reuse: false },
  ];
  /**
   * Writes `parts` each flushed, with two turns of the event loop between
   * them: the client (in this process) polls its socket in between, so it
   * reads them apart. One turn is not enough: the next part would be written
   * in the check phase before the client's poll.
   */
  async function writeApart(socket: Socket, parts: Buffer[]): Promise<void> {
    socket.setNoDelay(true);
    for (const [k, part] of parts.entries()) {
      if (k > 0) for (let turn = 0; turn < 2; turn++) await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => socket.write(part, resolve));
    }
  }
  for (const [i, a] of answers.entries()) {
    // The answer whole, a byte at a time, then cut in two at every byte.
    const splits: (Buffer[] | undefined)[] = [undefined, [...a.bytes].map((b) => Buffer.from([b]))];
    for (let k = 1; k < a.bytes.length; k++) splits.push([a.bytes.subarray(0, k), a.bytes.subarray(k)]);
    let parts: Buffer[] | undefined;
    const peer = await rawPeer(t, (_req, socket) => {
      void (async () => {
        if (parts === undefined) socket.write(a.bytes);
        else await writeApart(socket, parts);
        // An answer framed by the end of the stream ends with it.
        if (!a.reuse) socket.end();
      })();
    });
    const transport = new OtlpTransport();
    t.teardown(() => transport.destroy());
    const wrong: string[] = [];
    for (const split of splits) {
      parts = split;
      const res = await transport.post(target(peer.url), {}, new Uint8Array(3));
      const got = { status: res.status, body: Buffer.from(res.body).toString('hex'), retryAfterMs: res.retryAfterMs };
      const how = split === undefined ? 'whole' : split.length > 2 ? 'a byte at a time' : `cut at ${split[0]!.length}`;
      if (got.status !== a.status || got.body !== a.body.toString('hex') || got.retryAfterMs !== a.retryAfterMs) wrong.push(`${how}: ${JSON.stringify(got)}`);
    }
    t.same(wrong, [], `answer ${i}: read right whole, a byte at a time and cut at each of ${a.bytes.length - 1} bytes`);
    t.equal(peer.connections, a.reuse ? 1 : splits.length, `answer ${i}: ${a.reuse ? 'the connection reused' : 'not reused'}`);
  }
});

t.test('HTTP client: a chunked answer whose first read ends inside a size line or a chunk\'s CRLF is read whole, a size line\'s trailing whitespace taken', async (t) => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  for (const [first, rest] of [[`${head}4`, '\r\nabcd\r\n0\r\n\r\n'], [`${head}4\r\nabcd\r`, '\n0\r\n\r\n'], [`${head}4\r\nabcd\r\n0\r\n`, '\r\n'], [`${head}4 \t\r\nabcd\r\n0 \r\n`, '\r\n']]) {
    const peer = await rawPeer(t, (_req, socket) => {
      socket.write(first!);
      setTimeout(() => socket.write(rest!), 50);
    });
    const transport = new OtlpTransport();
    t.teardown(() => transport.destroy());
    const res = await transport.post(target(peer.url), {}, new Uint8Array(3));
    t.same([res.status, Buffer.from(res.body).toString('latin1')], [200, 'abcd'], JSON.stringify(first!.slice(head.length)));
    t.equal((await transport.post(target(peer.url), {}, new Uint8Array(3))).status, 200, 'the connection reused');
    t.equal(peer.connections, 1);
  }
});

t.test('HTTP client: a peer that closes, answers nonsense or never answers fails the request; the next one gets a new connection', async (t) => {
  let mode = 'close';
  const peer = await rawPeer(t, (_req, socket) => {
    if (mode === 'close') socket.destroy();
    else if (mode === 'nonsense') socket.write('SMTP ready\r\n\r\n');
    else if (mode === 'half') socket.end('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
    else if (mode === 'ok') socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  });
  const transport = new OtlpTransport();
  t.teardown(() => transport.destroy());
  await t.rejects(transport.post(target(peer.url), {}, new Uint8Array(1)), /closed before the answer/);
  mode = 'nonsense';
  await t.rejects(transport.post(target(peer.url), {}, new Uint8Array(1)), /not an HTTP\/1\.x answer/);
  mode = 'half';
  await t.rejects(transport.post(target(peer.url), {}, new Uint8Array(1)), /closed before the answer/);
  mode = 'silent';
  const started = Date.now();
  const results = await Promise.allSettled([transport.post(target(peer.url, 80), {}, new Uint8Array(1)), transport.post(target(peer.url, 40), {}, new Uint8Array(1))]);
  t.match(results, [{ status: 'rejected', reason: { message: /no answer from .* within 80 ms/ } }, { status: 'rejected', reason: { message: /within 40 ms/ } }], 'each request its own deadline, one timer');
  t.ok(Date.now() - started >= 70, 'the later deadline is not cut short by the earlier');
  mode = 'ok';
  t.equal((await transport.post(target(peer.url), {}, new Uint8Array(1))).status, 200);
  t.equal(peer.connections, 6, 'no failed connection reused');
});

t.test('HTTP client: an idle connection is let go before the server\'s Keep-Alive timeout, and one the server closed is not used', async (t) => {
  let keepAlive = 'timeout=1';
  const peer = await rawPeer(t, (_req, socket) => socket.write(`HTTP/1.1 200 OK\r\nKeep-Alive: ${keepAlive}\r\nContent-Length: 0\r\n\r\n`));
  const transport = new OtlpTransport();
  t.teardown(() => transport.destroy());
  await transport.post(target(peer.url), {}, new Uint8Array(1));
  // timeout=1 leaves no idle time once the margin is taken: a new connection.
  await transport.post(target(peer.url), {}, new Uint8Array(1));
  t.equal(peer.connections, 2);
  keepAlive = 'timeout=30';
  await transport.post(target(peer.url), {}, new Uint8Array(1));
  await transport.post(target(peer.url), {}, new Uint8Array(1));
  t.equal(peer.connections, 3, 'kept for timeout=30');

  const closing = await rawPeer(t, (_req, socket) => socket.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
  await transport.post(target(closing.url), {}, new Uint8Array(1));
  // Closed on both ends: the client saw the server's end.
  await until(() => closing.closed === 1, 'the first connection closed');
  t.equal((await transport.post(target(closing.url), {}, new Uint8Array(1))).status, 200, 'the closed idle connection left the pool');
  t.equal(closing.connections, 2);
});

// ── backpressure ─────────────────────────────────────────────────────────

t.test('backpressure: ready() is null under half the queue bounds, else a promise that resolves once requests free room', async (t) => {
  const h = holding();
  const r = await otlpReceiver({ answer: h.answer });
  t.teardown(() => r.close());
  const sink = new OtlpSink({ endpoint: `${r.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 10, maxQueueSize: 100, maxConcurrentRequests: 1 }, {});
  feedSpans(sink, 40);
  await until(() => r.open === 1, 'one request held');
  t.equal(sink.ready(), null, '10 in flight, 30 waiting: under half of maxQueueSize');
  feedSpans(sink, 20);
  const wait = sink.ready();
  t.not(wait, null, '50 waiting: full');
  t.equal(sink.ready(), wait, 'the same promise while full');
  let readied = false;
  void wait!.then(() => {
    readied = true;
  });
  await sleep(20);
  t.equal(readied, false, 'not while every request is held');
  h.release(1);
  await until(() => readied, 'ready once the next batch went out');
  t.equal(sink.ready(), null);
  t.equal(sink.inspect().spans.dropped, 0);
  h.releaseAll();
  await sink.flush();
  exact(t, sink.inspect().spans);
  t.match(sink.inspect().spans, { queued: 60, exported: 60, dropped: 0 });

  // Bytes count too: bodies held past half of maxQueueBytes.
  const byBytes = new OtlpSink({ endpoint: `${r.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 10, maxQueueBytes: 4096 }, {});
  t.equal(byBytes.ready(), null);
  feedSpans(byBytes, 40);
  t.not(byBytes.ready(), null, `${byBytes.inspect().spans.queueBytes} bytes held of 4096`);
  await byBytes.flush();
  t.equal(byBytes.ready(), null, 'nothing held: ready');
  await byBytes.close();
  await sink.close();
});

t.test('backpressure: a batch not yet cut that alone fills the queue is sent by ready(), not left for a flush', async (t) => {
  const r = await otlpReceiver();
  t.teardown(() => r.close());
  const sink = new OtlpSink({ endpoint: `${r.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 512, maxQueueSize: 512 }, {});
  feedSpans(sink, 300);
  // The drain loop does not flush while it waits for ready(): the 300 spans must leave without one.
  const wait = sink.ready();
  await until(() => sink.inspect().spans.exported === 300, 'the batch exported without a flush');
  if (wait !== null) await wait;
  t.equal(sink.ready(), null);
  await sink.close();
});

t.test('request bodies reused only once settled: every span arrives whole with requests held in flight, with and without gzip', async (t) => {
  for (const compression of ['none', 'gzip'] as const) {
    const h = holding();
    const r = await otlpReceiver({ answer: h.answer });
    const sink = new OtlpSink({ endpoint: `${r.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 50, maxConcurrentRequests: 3, compression }, {});
    const ids: string[] = [];
    // Each round encodes two bodies while others are held, after one request settled (its body free for reuse).
    for (let round = 0; round < 6; round++) {
      ids.push(...feedSpans(sink, 100, `round${round}`));
      await until(() => h.held >= 1, 'a request held');
      h.release(1);
      await until(() => sink.inspect().spans.exported >= 50 * (round + 1), 'one request settled');
    }
    h.releaseAll();
    await sink.flush();
    t.same(spanIds(r).sort(), [...ids].sort(), `${compression}: each span once, none overwritten by a later body`);
    t.match(sink.inspect().spans, { exported: 600, dropped: 0, failed: 0 });
    await sink.close();
    await r.close();
  }
});

t.test('HTTP client over TLS: a name and an IP address checked against the certificate, the connection kept alive; an unknown CA refused', async (t) => {
  const fixtures = new URL('./fixtures/tls/', import.meta.url);
  const cert = readFileSync(new URL('localhost-cert.pem', fixtures));
  let connections = 0;
  const server = createHttpsServer({ key: readFileSync(new URL('localhost-key.pem', fixtures)), cert }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/x-protobuf' });
      res.end(Buffer.from([0x0a, 0x02, 0x08, 0x01]));
    });
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as AddressInfo).port;
  const transport = new OtlpTransport({ ca: cert });
  t.teardown(() => transport.destroy());
  for (const host of ['localhost', '127.0.0.1', 'localhost']) {
    const res = await transport.post(target(`https://${host}:${port}/v1/traces`), {}, new Uint8Array(100));
    t.same([res.status, Buffer.from(res.body).toString('hex')], [200, '0a020801'], host);
  }
  t.equal(connections, 2, 'one connection per origin, kept alive');
  const untrusting = new OtlpTransport();
  t.teardown(() => untrusting.destroy());
  await t.rejects(untrusting.post(target(`https://localhost:${port}/v1/traces`), {}, new Uint8Array(1)), /self-signed certificate/);
});

t.test('HTTP client: an https: endpoint over a Unix socket speaks TLS there, checked against the URL\'s host', async (t) => {
  const fixtures = new URL('./fixtures/tls/', import.meta.url);
  const cert = readFileSync(new URL('localhost-cert.pem', fixtures));
  let connections = 0;
  const server = createHttpsServer({ key: readFileSync(new URL('localhost-key.pem', fixtures)), cert }, (req, res) => {
    req.resume();
    req.on('end', () => res.end(Buffer.from([0x0a, 0x02, 0x08, 0x02])));
  });
  server.on('secureConnection', () => connections++);
  const path = join(socketDir(t), 'otlp-tls.sock');
  await new Promise<void>((resolve) => server.listen(path, resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const transport = new OtlpTransport({ ca: cert });
  t.teardown(() => transport.destroy());
  const over = (host: string): OtlpTarget => ({ url: new URL(`https://${host}/v1/traces`), socketPath: path, timeoutMs: 5000 });
  for (let i = 0; i < 2; i++) {
    const res = await transport.post(over('localhost'), {}, new Uint8Array(10));
    t.same([res.status, Buffer.from(res.body).toString('hex')], [200, '0a020802'], `request ${i}`);
  }
  t.equal(connections, 1, 'one TLS connection on the socket, kept alive');
  const other = new OtlpTransport({ ca: cert });
  t.teardown(() => other.destroy());
  await t.rejects(other.post(over('example.com'), {}, new Uint8Array(1)), /altnames|does not match|not in the cert/i, 'a host the certificate does not name is refused');
});

t.test('HTTP client: deadlines and idle times are on a monotonic clock, not moved by a wall-clock step', async (t) => {
  let silent = false;
  const peer = await rawPeer(t, (_req, socket) => {
    if (!silent) socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  });
  const transport = new OtlpTransport();
  t.teardown(() => transport.destroy());
  const realNow = Date.now;
  t.teardown(() => {
    Date.now = realNow;
  });
  await transport.post(target(peer.url), {}, new Uint8Array(1));
  Date.now = () => realNow() + 3_600_000;
  await transport.post(target(peer.url), {}, new Uint8Array(1));
  t.equal(peer.connections, 1, 'the idle connection still used after the wall clock jumped an hour ahead');
  silent = true;
  const post = transport.post(target(peer.url, 50), {}, new Uint8Array(1));
  Date.now = realNow;
  const outcome = await Promise.race([post.then(() => 'answered', (error: Error) => error.message), new Promise<string>((resolve) => setTimeout(resolve, 3000, 'still waiting after 3 s').unref())]);
  t.match(outcome, /no answer from .* within 50 ms/, 'the deadline holds after the wall clock stepped back an hour');
});

t.test('HTTP client: a timeout past setTimeout\'s 2^31-1 ms neither overflows the timer nor fails the request', async (t) => {
  const warnings: string[] = [];
  const onWarning = (w: Error): void => {
    warnings.push(w.name);
  };
  process.on('warning', onWarning);
  t.teardown(() => process.off('warning', onWarning));
  const peer = await rawPeer(t, (_req, socket) => setTimeout(() => socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'), 30));
  const transport = new OtlpTransport();
  t.teardown(() => transport.destroy());
  t.equal((await transport.post(target(peer.url, 2 ** 31 + 10_000), {}, new Uint8Array(1))).status, 200);
  await new Promise((resolve) => setImmediate(resolve));
  t.same(warnings.filter((w) => w === 'TimeoutOverflowWarning'), [], 'no TimeoutOverflowWarning');
});

t.test('HTTP client: an error names the failed request\'s own URL, not the first one its connection pool served', async (t) => {
  let fail = false;
  const peer = await rawPeer(t, (_req, socket) => {
    if (fail) socket.write('SMTP ready\r\n\r\n');
    else socket.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
  });
  const transport = new OtlpTransport();
  t.teardown(() => transport.destroy());
  await transport.post(target(peer.url), {}, new Uint8Array(1));
  fail = true;
  const logs = peer.url.replace('/v1/traces', '/v1/logs');
  await t.rejects(transport.post(target(logs), {}, new Uint8Array(1)), { message: `not an HTTP/1.x answer from ${logs}: "SMTP ready"` });
});

t.test('HTTP client: a connection answered before our body was all written is not reused', async (t) => {
  const sockets: Socket[] = [];
  // Answers at the first bytes of a request and reads no more of that connection.
  const server = createNetServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    socket.once('data', () => {
      socket.write('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n');
      socket.pause();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    // A paused socket holds server.close() without holding the event loop.
    for (const socket of sockets) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/traces`;
  const transport = new OtlpTransport();
  t.teardown(() => transport.destroy());
  // Far more than loopback's socket buffers hold, so some of it is still queued in the client at the answer.
  const big = new Uint8Array(32 * 1024 * 1024);
  t.equal((await transport.post(target(url, 5000), {}, big)).status, 413);
  t.equal((await transport.post(target(url, 5000), {}, new Uint8Array(1))).status, 413, 'the next request answered, on a new connection');
  t.equal(sockets.length, 2);
});
