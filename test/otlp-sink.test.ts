/**
 * The `otlp` sink against a real HTTP peer on loopback. The receiver decodes
 * what arrives on its own: protobuf with protobufjs and the official OTLP
 * schema (fixtures/otlp-schema.ts, not the exporter's generated code), JSON
 * by the OTLP/JSON rules (hex ids, integer enums, camelCase, int64 as strings).
 */
import t, { type Test } from 'tap';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { TraceDispatcher } from '../src/index.js';
import { resolveOtlpConfig } from '../src/sinks/otlp-config.js';
import { OtlpSink, type OtlpSinkContents, type OtlpSinkOptions } from '../src/sinks/otlp-sink.js';
import type { Fields, SpanInfo } from '../src/record/trace-record.js';
import { LogsRequest, otlpJsonShape, TraceRequest, TraceResponse } from './fixtures/otlp-schema.js';

// ── the receiver ─────────────────────────────────────────────────────────

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  /** The request as plain JSON-ish objects, in the OTLP/JSON shape (camelCase, hex ids). */
  body: Record<string, unknown>;
}

type Answer = (req: IncomingMessage, index: number) => { status: number; body?: Uint8Array; headers?: Record<string, string> };

const hex = (b: Uint8Array | string | undefined): string => (b === undefined ? '' : typeof b === 'string' ? b : Buffer.from(b).toString('hex'));

async function receiver(answer: Answer = () => ({ status: 200 })): Promise<{ url: string; received: Received[]; attempts: string[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const attempts: string[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = attempts.length;
      attempts.push(req.url ?? '');
      const a = answer(req, index);
      if (a.status === 200) {
        let raw = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        const logs = (req.url ?? '').endsWith('/v1/logs');
        const body =
          req.headers['content-type'] === 'application/json'
            ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>)
            : otlpJsonShape(logs ? LogsRequest : TraceRequest, raw);
        received.push({ path: req.url ?? '', headers: req.headers, body });
      }
      res.writeHead(a.status, { 'content-type': req.headers['content-type'] ?? 'application/x-protobuf', ...a.headers });
      res.end(a.body ?? Buffer.alloc(0));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    attempts,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface KV {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: KV[];
  events?: { name: string; timeUnixNano: string; attributes?: KV[] }[];
  links?: { traceId: string; spanId: string; attributes?: KV[] }[];
  status?: { code?: number; message?: string };
  flags?: number;
  traceState?: string;
}

/** An AnyValue as a JS value. */
function value(v: Record<string, unknown> | undefined): unknown {
  if (v === undefined) return undefined;
  if ('stringValue' in v) return v.stringValue;
  if ('boolValue' in v) return v.boolValue;
  if ('intValue' in v) return Number(v.intValue);
  if ('doubleValue' in v) return v.doubleValue;
  if ('arrayValue' in v) return ((v.arrayValue as { values?: Record<string, unknown>[] }).values ?? []).map((x) => value(x));
  return undefined;
}
const attrs = (list: KV[] | undefined): Record<string, unknown> => Object.fromEntries((list ?? []).map((kv) => [kv.key, value(kv.value)]));

/** Every span received, with its resource and scope. */
function spansOf(received: Received[]): { span: OtlpSpan; resource: Record<string, unknown>; scope: string }[] {
  const out: { span: OtlpSpan; resource: Record<string, unknown>; scope: string }[] = [];
  for (const r of received) {
    for (const rs of (r.body.resourceSpans ?? []) as { resource?: { attributes?: KV[] }; scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[] }[]) {
      for (const ss of rs.scopeSpans ?? []) {
        for (const span of ss.spans ?? []) {
          // OTLP/JSON ids may not be base64: they are hex (the spec's one exception to proto3 JSON mapping).
          t.match(span.traceId, /^[0-9a-f]{32}$/);
          out.push({ span, resource: attrs(rs.resource?.attributes), scope: ss.scope?.name ?? '' });
        }
      }
    }
  }
  return out;
}

function logsOf(received: Received[]): { log: Record<string, unknown>; scope: string }[] {
  const out: { log: Record<string, unknown>; scope: string }[] = [];
  for (const r of received) {
    for (const rl of (r.body.resourceLogs ?? []) as { scopeLogs?: { scope?: { name?: string }; logRecords?: Record<string, unknown>[] }[] }[]) {
      for (const sl of rl.scopeLogs ?? []) for (const log of sl.logRecords ?? []) out.push({ log, scope: sl.scope?.name ?? '' });
    }
  }
  return out;
}

// ── producing spans through the dispatcher ───────────────────────────────

async function produceTrace(d: TraceDispatcher): Promise<{ traceId: string; parentId: string; childId: string }> {
  const tracer = d.tracerProvider.getTracer('checkout');
  const parent = tracer.startSpan('POST /pay', { kind: SpanKind.SERVER, attributes: { 'http.method': 'POST', retries: 2, ratio: 0.5, ok: true, tags: ['a', 'b'] } });
  const ctx = trace.setSpan(context.active(), parent);
  const linked = { traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), traceFlags: 1 };
  const child = d.tracerProvider.getTracer('db').startSpan('query', { kind: SpanKind.CLIENT, links: [{ context: linked, attributes: { why: 'batch' } }] }, ctx);
  child.setAttribute('db.rows', 7);
  child.addEvent('retry', { attempt: 1 });
  child.setStatus({ code: SpanStatusCode.ERROR, message: 'timeout' });
  child.updateName('SELECT orders');
  context.with(trace.setSpan(context.active(), child), () => d.logger('db').warn('slow query', { ms: 120 }));
  child.end();
  parent.end();
  return { traceId: parent.spanContext().traceId, parentId: parent.spanContext().spanId, childId: child.spanContext().spanId };
}

async function checkTrace(t: Test, received: Received[], ids: { traceId: string; parentId: string; childId: string }, service: string): Promise<void> {
  const spans = spansOf(received);
  t.equal(spans.length, 2, 'both spans arrived once');
  const parent = spans.find((s) => s.span.spanId === ids.parentId);
  const child = spans.find((s) => s.span.spanId === ids.childId);
  if (parent === undefined || child === undefined) return void t.fail('spans missing');
  t.equal(parent.span.traceId, ids.traceId);
  t.equal(child.span.traceId, ids.traceId);
  t.notOk(parent.span.parentSpanId, 'the root has no parent');
  t.equal(child.span.parentSpanId, ids.parentId, 'parent/child survives');
  t.equal(parent.span.kind, 2, 'SERVER is 2 in OTLP');
  t.equal(child.span.kind, 3, 'CLIENT is 3 in OTLP');
  t.equal(parent.scope, 'checkout', 'scope is the tracer name');
  t.equal(child.scope, 'db');
  t.equal(parent.resource['service.name'], service);
  t.equal(parent.resource['process.pid'], process.pid);
  t.equal(parent.resource['process.runtime.name'], 'nodejs');
  // thread.id / thread.name: the main thread made them (semantic conventions; docs/threads.md).
  t.same(attrs(parent.span.attributes), { 'http.method': 'POST', retries: 2, ratio: 0.5, ok: true, tags: ['a', 'b'], 'thread.id': 0, 'thread.name': 'main' });
  t.equal(child.span.name, 'SELECT orders', 'the updated name');
  t.same(attrs(child.span.attributes), { 'db.rows': 7, 'thread.id': 0, 'thread.name': 'main' });
  t.same(child.span.events?.map((e) => [e.name, attrs(e.attributes)]), [['retry', { attempt: 1 }]]);
  t.same(child.span.links?.map((l) => [l.traceId, l.spanId, attrs(l.attributes)]), [['ab'.repeat(16), 'cd'.repeat(8), { why: 'batch' }]]);
  t.same(child.span.status, { code: 2, message: 'timeout' });
  const start = BigInt(parent.span.startTimeUnixNano);
  const end = BigInt(parent.span.endTimeUnixNano);
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  t.ok(end >= start, 'end after start');
  t.ok(nowNs - start < 60_000_000_000n && nowNs - start >= 0n, 'start is a real Unix time in ns');
  t.equal((parent.span.flags ?? 0) & 0xff, 1, 'sampled flag');

  const logs = logsOf(received);
  t.equal(logs.length, 1, 'the event arrived as a log record');
  const log = logs[0]!;
  t.equal(log.scope, 'db');
  t.equal(log.log.severityNumber, 13, 'WARN');
  t.equal(log.log.severityText, 'WARN');
  t.same(value(log.log.body as Record<string, unknown>), 'slow query');
  t.same(attrs(log.log.attributes as KV[]), { ms: 120, 'thread.id': 0, 'thread.name': 'main' });
  t.equal(hex(log.log.traceId as string), ids.traceId);
  t.equal(hex(log.log.spanId as string), ids.childId);
}

// ── tests ────────────────────────────────────────────────────────────────

t.test('options and OTEL_EXPORTER_OTLP_* environment variables', async (t) => {
  const base = resolveOtlpConfig({}, {});
  t.equal(base.traces.url.href, 'http://localhost:4318/v1/traces');
  t.equal(base.logs.url.href, 'http://localhost:4318/v1/logs');
  t.equal(base.traces.protocol, 'http/protobuf');
  t.equal(base.traces.timeoutMs, 10000);

  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
    OTEL_EXPORTER_OTLP_HEADERS: 'api-key=secret%20one, x-a = 1',
    OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-a=2',
    OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
    OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: '4000',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://logs.example/ingest',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
  };
  const c = resolveOtlpConfig({}, env);
  t.equal(c.traces.url.href, 'http://collector:4318/v1/traces', 'generic endpoint gets the signal path');
  t.equal(c.logs.url.href, 'https://logs.example/ingest', 'signal endpoint is used as is');
  t.same(c.traces.headers, { 'api-key': 'secret one', 'x-a': '2' }, 'decoded, signal-specific wins');
  t.same(c.logs.headers, { 'api-key': 'secret one', 'x-a': '1' });
  t.equal(c.traces.timeoutMs, 3000);
  t.equal(c.logs.timeoutMs, 4000);
  t.equal(c.traces.protocol, 'http/json');
  t.equal(c.traces.compression, 'gzip');

  const o = resolveOtlpConfig({ endpoint: 'http://127.0.0.1:1/t', headers: { 'x-a': '3' }, timeoutMs: 5, protocol: 'http/protobuf', compression: 'none' }, env);
  t.equal(o.traces.url.href, 'http://127.0.0.1:1/t', 'an option beats the environment');
  t.equal(o.traces.headers['x-a'], '3');
  t.equal(o.traces.timeoutMs, 5);
  t.equal(o.traces.protocol, 'http/protobuf');
  t.equal(o.traces.compression, 'none');

  t.throws(() => resolveOtlpConfig({ protocol: 'grpc' }, {}), { name: 'RangeError', message: /otlp\.protocol.*"grpc"/ });
  t.throws(() => resolveOtlpConfig({}, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), { message: /OTEL_EXPORTER_OTLP_PROTOCOL.*"grpc"/ });
  t.throws(() => resolveOtlpConfig({ endpoint: 'ftp://x' }, {}), { name: 'RangeError', message: /otlp\.endpoint.*"ftp:\/\/x"/ });
  t.throws(() => resolveOtlpConfig({ endpoint: 42 }, {}), { name: 'TypeError', message: /otlp\.endpoint.*42/ });
  t.throws(() => resolveOtlpConfig({ timeoutMs: 0 }, {}), { name: 'RangeError', message: /otlp\.timeoutMs.*got 0/ });
  t.throws(() => resolveOtlpConfig({}, { OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' }), { message: /OTEL_EXPORTER_OTLP_TIMEOUT.*"soon"/ });
  t.throws(() => resolveOtlpConfig({ headers: { a: 1 } }, {}), { name: 'TypeError', message: /otlp\.headers\.a.*got 1/ });
  t.throws(() => resolveOtlpConfig({ maxExportBatchSize: 1.5 }, {}), { message: /otlp\.maxExportBatchSize.*1\.5/ });
  t.throws(() => resolveOtlpConfig({ maxAttempts: 0 }, {}), { message: /otlp\.maxAttempts.*got 0/ });
  t.throws(() => resolveOtlpConfig({ initialBackoffMs: 100, maxBackoffMs: 10 }, {}), { message: /otlp\.maxBackoffMs.*got 10/ });
  t.throws(() => resolveOtlpConfig({ exportEvents: 'yes' }, {}), { message: /otlp\.exportEvents.*"yes"/ });
  t.throws(() => resolveOtlpConfig({ endpiont: 'http://x' }, {}), { message: /option otlp must be one of the options .* got "endpiont"/ });
  t.throws(() => resolveOtlpConfig({ compression: 'br' }, {}), { message: /otlp\.compression.*"br"/ });
});

t.test('end to end through TraceDispatcher, http/protobuf (options) and http/json (OTEL_EXPORTER_OTLP_* env, gzip) side by side', async (t) => {
  const protoPeer = await receiver();
  const jsonPeer = await receiver();
  t.teardown(() => Promise.all([protoPeer.close(), jsonPeer.close()]));
  const saved = { ...process.env };
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = jsonPeer.url;
  process.env.OTEL_EXPORTER_OTLP_HEADERS = 'x-tenant=a%2Cb';
  process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
  process.env.OTEL_EXPORTER_OTLP_COMPRESSION = 'gzip';
  let d: TraceDispatcher;
  try {
    // The worker's environment is a copy taken when it starts; options beat it.
    d = await TraceDispatcher.start({
      serviceName: 'shop',
      sinks: [
        {
          name: 'proto',
          sink: 'otlp',
          options: {
            endpoint: `${protoPeer.url}/v1/traces`,
            logsEndpoint: `${protoPeer.url}/v1/logs`,
            protocol: 'http/protobuf',
            compression: 'none',
            headers: { authorization: 'Bearer t' },
          },
        },
        { name: 'json', sink: 'otlp', options: { serviceName: 'json-svc' } },
      ],
    });
  } finally {
    process.env = saved;
  }
  // The context manager, so that an event inside context.with(span) carries its ids.
  d.install();
  const ids = await produceTrace(d);
  await d.flush();
  const stats = await d.inspectSink<OtlpSinkContents>('proto');
  await d.shutdown();
  t.match(stats.spans, { queued: 2, exported: 2, failed: 0, rejected: 0, dropped: 0, pending: 0, retried: 0 });
  t.match(stats.logs, { queued: 1, exported: 1, failed: 0 });
  t.equal(stats.protocol, 'http/protobuf');

  t.ok(protoPeer.received.every((r) => r.headers['content-type'] === 'application/x-protobuf'));
  t.ok(protoPeer.received.every((r) => r.headers.authorization === 'Bearer t'), 'headers are sent');
  t.ok(protoPeer.received.every((r) => r.headers['content-encoding'] === undefined));
  await checkTrace(t, protoPeer.received, ids, 'shop');

  t.same(jsonPeer.received.map((r) => r.path).sort(), ['/v1/logs', '/v1/traces']);
  t.ok(jsonPeer.received.every((r) => r.headers['content-type'] === 'application/json'));
  t.ok(jsonPeer.received.every((r) => r.headers['content-encoding'] === 'gzip'));
  t.ok(jsonPeer.received.every((r) => r.headers['x-tenant'] === 'a,b'), 'percent-decoded header value');
  await checkTrace(t, jsonPeer.received, ids, 'json-svc');
});

// ── the sink alone, fed records directly (a worker start costs seconds) ──

let nextId = 1;
function spanInfo(name: string): SpanInfo {
  return {
    traceId: 'ee'.repeat(16),
    spanId: (nextId++).toString(16).padStart(16, '0'),
    parentSpanId: undefined,
    parentIsRemote: false,
    traceFlags: 1,
    traceState: '',
    name,
    target: 'jobs',
    level: 'info',
    spanKind: 0,
    startTime: Date.now(),
  };
}
const noFields = (): Fields => Object.create(null) as Fields;
function feedSpans(sink: OtlpSink, n: number, end = true): SpanInfo[] {
  const out: SpanInfo[] = [];
  for (let i = 0; i < n; i++) {
    const span = spanInfo(`job ${i}`);
    out.push(span);
    sink.consume({ kind: 'spanStart', span, time: span.startTime, attributes: noFields() });
    if (end) sink.consume({ kind: 'spanEnd', span, time: span.startTime + 1, droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0 });
  }
  return out;
}

t.test('a collector that answers 503 then recovers: retried with backoff, every span once, counts exact', async (t) => {
  let failuresLeft = 3;
  const peer = await receiver((req) => {
    if (req.url === '/v1/traces' && failuresLeft > 0) {
      failuresLeft--;
      const headers: Record<string, string> = failuresLeft === 0 ? { 'retry-after': '0' } : {};
      return { status: 503, headers };
    }
    return { status: 200 };
  });
  t.teardown(() => peer.close());
  const sink = new OtlpSink({ endpoint: `${peer.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 10, initialBackoffMs: 5, maxBackoffMs: 20 }, {});
  const sent = feedSpans(sink, 35).map((s) => s.spanId);
  await sink.flush();
  const stats = sink.inspect();
  await sink.close();
  const got = spansOf(peer.received).map((s) => s.span.spanId);
  t.equal(got.length, 35, 'nothing lost');
  t.equal(new Set(got).size, 35, 'nothing duplicated');
  t.same(new Set(got), new Set(sent));
  t.match(stats.spans, { queued: 35, exported: 35, failed: 0, retried: 3, pending: 0 });
  t.equal(stats.spans.requests, peer.attempts.length, 'every request counted');
  t.equal(stats.spans.requests - stats.spans.retried, peer.received.length, 'one successful request per batch');
  t.equal(peer.received.length, 4, '35 spans in batches of 10');
});

t.test('a collector that never recovers, one that refuses (400), and one that is down: failures counted, not retried forever', async (t) => {
  const always503 = await receiver(() => ({ status: 503 }));
  const refuses = await receiver(() => ({ status: 400 }));
  const down = await receiver();
  const downUrl = down.url;
  await down.close();
  t.teardown(() => Promise.all([always503.close(), refuses.close()]));
  const opts = { exportEvents: false, maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 5, timeoutMs: 2000 };
  const busy = new OtlpSink({ ...opts, endpoint: `${always503.url}/v1/traces` }, {});
  const bad = new OtlpSink({ ...opts, endpoint: `${refuses.url}/v1/traces` }, {});
  const gone = new OtlpSink({ ...opts, endpoint: `${downUrl}/v1/traces` }, {});
  for (const sink of [busy, bad, gone]) {
    feedSpans(sink, 4);
    await sink.flush();
  }
  t.match(busy.inspect().spans, { queued: 4, exported: 0, failed: 4, retried: 2, requests: 3, pending: 0 });
  t.match(busy.inspect().spans.lastError, /HTTP 503/);
  t.equal(always503.attempts.length, 3, 'maxAttempts requests reached the collector');
  t.match(bad.inspect().spans, { queued: 4, exported: 0, failed: 4, retried: 0, requests: 1 });
  t.match(bad.inspect().spans.lastError, /HTTP 400/);
  t.match(gone.inspect().spans, { queued: 4, exported: 0, failed: 4, retried: 2, requests: 3 });
  t.match(gone.inspect().spans.lastError, /ECONNREFUSED/);
  await Promise.all([busy.close(), bad.close(), gone.close()]);
});

t.test('batching and the queue bound: a full batch leaves without a flush; past maxQueueSize spans waiting to be sent are dropped and counted', async (t) => {
  const peer = await receiver();
  t.teardown(() => peer.close());
  // One request at a time: the first batch is in flight, the next waits, and past 8 waiting the rest are dropped.
  const sink = new OtlpSink({ endpoint: `${peer.url}/v1/traces`, exportEvents: false, maxExportBatchSize: 5, maxQueueSize: 8, maxConcurrentRequests: 1 }, {});
  feedSpans(sink, 20);
  t.equal(peer.attempts.length, 0, 'nothing has reached the collector yet');
  t.equal(sink.inspect().spans.inFlight, 1, 'but a full batch is on its way without a flush');
  await sink.flush();
  const s = sink.inspect().spans;
  await sink.close();
  t.equal(s.queued, 20, 'every span taken in');
  t.equal(s.dropped, 20 - 5 - 8, 'five in flight, eight waiting, the rest dropped');
  t.equal(s.exported + s.dropped, 20);
  t.equal(spansOf(peer.received).length, s.exported, 'what is counted exported arrived');
  t.ok(peer.received.every((r) => spansOf([r]).length <= 5), 'no request over maxExportBatchSize');
});

t.test('partial success: spans the collector rejects are counted rejected, not exported', async (t) => {
  const response = TraceResponse.encode(TraceResponse.fromObject({ partialSuccess: { rejectedSpans: 1, errorMessage: 'too old' } })).finish();
  const peer = await receiver(() => ({ status: 200, body: response }));
  t.teardown(() => peer.close());
  const sink = new OtlpSink({ endpoint: `${peer.url}/v1/traces`, exportEvents: false }, {});
  feedSpans(sink, 3);
  await sink.flush();
  const stats = sink.inspect();
  await sink.close();
  t.match(stats.spans, { queued: 3, exported: 2, rejected: 1, failed: 0 });
  t.match(stats.spans.lastError, /too old/);
});

t.test('spans still open at close are exported marked ringtrace.incomplete', async (t) => {
  const peer = await receiver();
  t.teardown(() => peer.close());
  const sink = new OtlpSink({ endpoint: `${peer.url}/v1/traces`, exportEvents: false }, {});
  const [open] = feedSpans(sink, 1, false);
  feedSpans(sink, 1);
  await sink.flush();
  t.equal(sink.inspect().openSpans, 1);
  t.equal(sink.inspect().spans.exported, 1);
  await sink.close();
  t.equal(sink.inspect().spans.exported, 2);
  t.equal(sink.inspect().assembler.closedOpen, 1);
  const spans = spansOf(peer.received);
  const s = spans.find((x) => x.span.spanId === open!.spanId);
  t.same(attrs(s?.span.attributes), { 'ringtrace.incomplete': true, 'ringtrace.incomplete_reason': 'closed' });
  t.equal(spans.filter((x) => 'ringtrace.incomplete' in attrs(x.span.attributes)).length, 1);
});

t.test('without a resource from the dispatcher, OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES make it', async (t) => {
  const sink = new OtlpSink({}, {}, { OTEL_SERVICE_NAME: 'from-env', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod' });
  t.equal(sink.resource.attributes['service.name'], 'from-env');
  t.equal(sink.resource.attributes['deployment.environment'], 'prod');
  t.equal(sink.resource.attributes['process.pid'], process.pid);
  const given = new OtlpSink({ resourceAttributes: { team: 'pay' } }, { resource: { 'service.name': 'app', 'host.name': 'h' } }, { OTEL_SERVICE_NAME: 'ignored' });
  t.same(given.resource.attributes, { 'service.name': 'app', 'host.name': 'h', team: 'pay' }, "the dispatcher's resource, plus the sink's options");
  await sink.close();
  await given.close();
});

t.test('a bad option fails the sink with an error naming it', async (t) => {
  t.throws(() => new OtlpSink({ protocol: 'grpc' } as unknown as OtlpSinkOptions), { message: /otlp\.protocol.*"grpc"/ });
  t.throws(() => new OtlpSink({ maxOpenSpans: -1 }), { message: /otlp\.maxOpenSpans.*-1/ });
});
