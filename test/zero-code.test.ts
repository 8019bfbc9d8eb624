/**
 * `ringtrace/register`: applications started with only
 * `node --import ringtrace/register` (or `--require`) and OTEL_* variables,
 * as child processes against dist/ (`npm run build` first). Each runs from a
 * fixture application folder outside the checkout, whose node_modules holds
 * a `ringtrace` symlink to the checkout and the packages that application
 * has, so the entry must find them from the application, not from itself.
 */
import t, { type Test } from 'tap';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attr, otlpReceiver, type Receiver } from './fixtures/otlp-receiver.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const fixtures = join(root, 'test', 'fixtures', 'zero-code');
const built = existsSync(join(root, 'dist', 'src', 'zero-code', 'register.js')) && existsSync(join(root, 'dist', 'src', 'zero-code', 'register.cjs'));
const skip = built ? false : 'dist/ not built (npm run build)';

/** Packages every fixture application has. */
const BASE_PACKAGES = ['@opentelemetry/api', '@opentelemetry/auto-instrumentations-node', 'pino'];

/** A fixture application folder outside the checkout, with `files` copied in and `packages` linked into its node_modules. */
function makeApp(t: Test, files: string[], packages: string[] = BASE_PACKAGES, extra: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'ringtrace-app-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'node_modules', '@opentelemetry'), { recursive: true });
  symlinkSync(root, join(dir, 'node_modules', 'ringtrace'), 'dir');
  for (const p of packages) symlinkSync(realpathSync(join(root, 'node_modules', p)), join(dir, 'node_modules', p), 'dir');
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'fixture-app', private: true }));
  for (const f of files) copyFileSync(join(fixtures, f), join(dir, f));
  for (const [name, text] of Object.entries(extra)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  /** The app's JSON line. */
  result: Record<string, unknown>;
}

/** Only the flag and the variables: a clean environment but for PATH and what is given. */
function run(cwd: string, args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, args, { cwd, timeout: 60_000, env: { PATH: process.env['PATH'] ?? '', ...env } }, (error, stdout, stderr) => {
      // The app's line, among the console sink's.
      const line = stdout.trim().split('\n').filter((l) => l.startsWith('{"serverSpan"')).pop();
      resolve({ code: error === null ? 0 : ((error as { code?: number }).code ?? null), stdout, stderr, result: line === undefined ? {} : (JSON.parse(line) as Record<string, unknown>) });
    });
  });
}

/** OTLP variables pointing both signals at `r`. */
function otlpEnv(r: Receiver, more: Record<string, string> = {}): Record<string, string> {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: r.url, ...more };
}

async function receiver(t: Test): Promise<Receiver> {
  const r = await otlpReceiver();
  t.teardown(() => r.close());
  return r;
}

function checkHttpTrace(t: Test, r: Receiver, serviceName: string, serverSpan: { traceId: string; spanId: string }): void {
  const spans = r.spans();
  const server = spans.find((s) => s.item.kind === 2);
  const client = spans.find((s) => s.item.kind === 3);
  t.ok(server, 'a SERVER span arrived over OTLP');
  t.ok(client, 'a CLIENT span arrived over OTLP');
  if (server === undefined || client === undefined) return;
  t.equal(server.scope.name, '@opentelemetry/instrumentation-http');
  t.equal(server.item.traceId, client.item.traceId, 'one trace');
  t.equal(server.item.parentSpanId, client.item.spanId, 'the SERVER span is the child of the CLIENT span');
  t.equal(server.item.spanId, serverSpan.spanId, 'the span the handler saw active is the SERVER span');
  t.equal(attr(server.resource, 'service.name'), serviceName, 'service.name from OTEL_SERVICE_NAME');
  t.equal(attr(server.item.attributes, 'http.response.status_code') ?? attr(server.item.attributes, 'http.status_code'), 200);
}

t.test('CommonJS app, --import: SERVER and CLIENT spans over OTLP, parented, pino log sending with trace ids', { skip }, async (t) => {
  const r = await receiver(t);
  const app = makeApp(t, ['http-app.cjs']);
  const out = await run(app, ['--import', 'ringtrace/register', 'http-app.cjs'], otlpEnv(r, {
    OTEL_SERVICE_NAME: 'orders',
    OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment.name=test,team=checkout%20team',
    APP_PINO: '1',
  }));
  t.equal(out.code, 0, out.stderr);
  t.equal(out.stderr, '', 'no warning');
  t.equal(out.result['started'], true);
  const serverSpan = out.result['serverSpan'] as { traceId: string; spanId: string };
  checkHttpTrace(t, r, 'orders', serverSpan);
  t.equal(attr(r.spans()[0]!.resource, 'team'), 'checkout team', 'OTEL_RESOURCE_ATTRIBUTES, percent-decoded');
  const headers = out.result['headers'] as Record<string, string>;
  t.match(headers['traceparent'], /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/, 'the client propagated W3C trace context');
  // instrumentation-pino's log sending, through the Logs API, to the otlp sink's /v1/logs.
  const pinoLogs = r.logs().filter((l) => l.scope.name === '@opentelemetry/instrumentation-pino');
  t.equal(pinoLogs.length, 1, 'the pino line arrived as an OTLP log record');
  const log = pinoLogs[0]!.item;
  t.equal(anyText(log.body), 'order handled');
  t.equal(log.severityNumber, 9);
  t.equal(log.severityText, 'info');
  t.equal(log.traceId, serverSpan.traceId, 'with the trace id of the span it was logged in');
  t.equal(log.spanId, serverSpan.spanId, 'and its span id');
  t.equal(log.flags, 1, 'and its sampled flag');
  t.equal(attr(log.attributes, 'orderId'), 7);
  t.ok(r.paths.includes('/v1/traces') && r.paths.includes('/v1/logs'), 'OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces and /v1/logs');
});

function anyText(v: Record<string, unknown> | undefined): unknown {
  return v?.['stringValue'];
}

t.test('CommonJS app, --require: spans over OTLP once the asynchronous start is done', { skip }, async (t) => {
  const r = await receiver(t);
  const app = makeApp(t, ['http-app.cjs']);
  const out = await run(app, ['--require', 'ringtrace/register', 'http-app.cjs'], otlpEnv(r, { OTEL_SERVICE_NAME: 'orders-cjs', APP_WAIT: '1' }));
  t.equal(out.code, 0, out.stderr);
  t.equal(out.stderr, '', 'no warning (require(esm) included)');
  checkHttpTrace(t, r, 'orders-cjs', out.result['serverSpan'] as { traceId: string; spanId: string });
});

t.test('CommonJS app, --require, on a Node.js that cannot require() an ES module: the start is asynchronous, and still starts', { skip }, async (t) => {
  const app = makeApp(t, ['http-app.cjs']);
  const out = await run(app, ['--no-experimental-require-module', '--require', 'ringtrace/register', 'http-app.cjs'], { OTEL_TRACES_EXPORTER: 'console', OTEL_LOGS_EXPORTER: 'none', APP_WAIT: '1' });
  t.equal(out.code, 0, out.stderr);
  t.equal(out.stderr, '');
  t.equal(out.result['started'], true, 'zeroCodeDispatcher() waited for the asynchronous start');
  // http was required before the instrumentations were registered: as docs/configuration.md says, not instrumented.
  t.equal(out.result['serverSpan'], null);
});

t.test('ES module app: spans, Logs API records with every field, a worker thread attached', { skip }, async (t) => {
  const r = await receiver(t);
  const app = makeApp(t, ['esm-app.mjs', 'worker.mjs']);
  const out = await run(app, ['--import', 'ringtrace/register', 'esm-app.mjs'], otlpEnv(r, {
    OTEL_SERVICE_NAME: 'esm-orders',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    RINGTRACE_FILTER: 'info',
  }));
  t.equal(out.code, 0, out.stderr);
  t.equal(out.stderr, '');
  const serverSpan = out.result['serverSpan'] as { traceId: string; spanId: string };
  checkHttpTrace(t, r, 'esm-orders', serverSpan);
  const worker = out.result['worker'] as { threadId: number; attached: boolean; started: boolean };
  t.equal(worker.attached, true, 'the preload attached the worker thread');
  t.equal(worker.started, false, 'and started no dispatcher there');
  t.equal(out.result['mainStarted'], true);
  const inWorker = r.spans().filter((s) => s.item.name === 'in-worker');
  t.equal(inWorker.length, 1, 'the worker thread\'s span arrived over OTLP');
  t.equal(inWorker[0]?.scope.name, 'worker-thread');
  t.equal(attr(inWorker[0]?.item.attributes, 'thread.id'), worker.threadId, 'with the worker\'s thread.id');
  t.equal(out.result['debugEnabled'], false, 'enabled() answers from the sinks\' filter (RINGTRACE_FILTER=info)');
  const logs = r.logs().filter((l) => l.scope.name === 'app-logs');
  t.equal(logs.length, 3);
  const [late, explicit, outside] = logs.map((l) => l);
  t.equal(late!.scope.version, '2.0.0', 'the logger version is the scope version');
  t.equal(late!.schemaUrl, 'https://opentelemetry.io/schemas/1.30.0', 'and its schema URL the scope schema URL');
  const l = late!.item;
  t.equal(l.severityNumber, 14);
  t.equal(l.severityText, 'WARN2');
  t.equal(l.eventName, 'order.late');
  t.same(kvlist(l.body), { order: 7, items: ['a', 'b'] }, 'a structured body stays structured');
  t.equal(attr(l.attributes, 'order.id'), 7);
  t.equal(attr(l.attributes, 'exception.type'), 'RangeError');
  t.equal(attr(l.attributes, 'exception.message'), 'too late');
  t.match(attr(l.attributes, 'exception.stacktrace'), /RangeError: too late/);
  t.equal(String(l.observedTimeUnixNano), '1700000000000000000');
  t.equal(l.traceId, serverSpan.traceId, 'trace context from the active span');
  t.equal(l.spanId, serverSpan.spanId);
  t.equal(l.flags, 1);
  t.equal(explicit!.item.traceId, '0af7651916cd43dd8448eb211c80319c', 'trace context from an explicit context');
  t.equal(explicit!.item.spanId, 'b7ad6b7169203331');
  t.equal(outside!.item.traceId ?? '', '', 'no trace context outside any span');
  const esmPino = r.logs().find((x) => x.scope.name === '@opentelemetry/instrumentation-pino');
  t.equal(esmPino?.item.body?.['stringValue'], 'from an ES module import', 'the loader hook instrumented pino imported as an ES module');
  t.equal(esmPino?.item.spanId, serverSpan.spanId);
});

function kvlist(v: Record<string, unknown> | undefined): unknown {
  const kv = v?.['kvlistValue'] as { values: { key: string; value: Record<string, unknown> }[] } | undefined;
  if (kv === undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const { key, value } of kv.values) out[key] = value['arrayValue'] !== undefined ? (value['arrayValue'] as { values: Record<string, unknown>[] }).values.map((x) => x['stringValue']) : Number(value['intValue'] ?? value['doubleValue']);
  return out;
}

t.test('a piscina pool under --import: every worker thread attached, its spans children of the main thread\'s', { skip }, async (t) => {
  const r = await receiver(t);
  const app = makeApp(t, ['piscina-app.mjs', 'piscina-task.mjs'], [...BASE_PACKAGES, 'piscina']);
  const out = await run(app, ['--import', 'ringtrace/register', 'piscina-app.mjs'], otlpEnv(r, { OTEL_SERVICE_NAME: 'pool-app', TASKS: '40', RINGTRACE_FLUSH_INTERVAL_MS: 'soon' }));
  t.equal(out.code, 0, out.stderr);
  const warnings = out.stderr.split('\n').filter((l) => l.includes('Warning:'));
  t.equal(warnings.length, 1, `a bad variable warned about once, by the main thread, not by each worker:\n${out.stderr}`);
  t.match(warnings[0], /RINGTRACE_FLUSH_INTERVAL_MS="soon"/);
  const batch = out.result['batch'] as { traceId: string; spanId: string };
  const results = out.result['results'] as { threadId: number; attached: boolean }[];
  t.equal(results.length, 40);
  t.ok(results.every((x) => x.attached), 'every pool thread was attached by the preload');
  const poolThreads = new Set(results.map((x) => x.threadId));
  const spans = r.spans();
  const tasks = spans.filter((s) => s.item.name === 'task');
  const children = spans.filter((s) => s.item.name === 'child');
  t.equal(tasks.length, 40, 'every task span arrived over OTLP');
  t.equal(children.length, 40, 'every child span arrived');
  t.ok(tasks.every((s) => s.item.traceId === batch.traceId && s.item.parentSpanId === batch.spanId), 'each task span a child of batch');
  const taskIds = new Set(tasks.map((s) => s.item.spanId));
  t.ok(children.every((s) => taskIds.has(s.item.parentSpanId ?? '')), 'each child a child of a task span');
  t.ok(tasks.every((s) => s.scope.name === 'pool-task' && attr(s.resource, 'service.name') === 'pool-app'), 'the worker\'s tracer, the process\'s resource');
  t.equal(spans.filter((s) => s.item.name === 'batch').length, 1);
  t.ok(poolThreads.size >= 1 && !poolThreads.has(0), `from the pool's threads (${[...poolThreads].join(', ')})`);
  const exported = new Set(tasks.map((s) => attr(s.item.attributes, 'thread.id')));
  t.same([...exported].sort(), [...poolThreads].sort(), 'thread.id: the threads that ran them');
  t.ok(children.every((s) => poolThreads.has(attr(s.item.attributes, 'thread.id') as number)));
  t.equal(attr(spans.find((s) => s.item.name === 'batch')!.item.attributes, 'thread.id'), 0, 'batch from the main thread');
});

t.test('a worker thread under --require: attached once it waits for zeroCodeThread(); disabled: left alone, at once', { skip }, async (t) => {
  const r = await receiver(t);
  const app = makeApp(t, ['worker-app.cjs', 'worker-thread.cjs']);
  const out = await run(app, ['--require', 'ringtrace/register', 'worker-app.cjs'], otlpEnv(r, { OTEL_SERVICE_NAME: 'cjs-workers' }));
  t.equal(out.code, 0, out.stderr);
  t.equal(out.stderr, '');
  t.equal(out.result['started'], true);
  t.match(out.result['worker'], { attached: true, tried: true });
  const spans = r.spans().filter((s) => s.item.name === 'in-cjs-worker');
  t.equal(spans.length, 1, 'the worker thread\'s span arrived over OTLP');
  t.equal(spans[0]?.scope.name, 'cjs-worker');

  const off = await run(app, ['--require', 'ringtrace/register', 'worker-app.cjs'], otlpEnv(r, { OTEL_SDK_DISABLED: 'true' }));
  t.equal(off.code, 0, off.stderr);
  t.equal(off.stderr, '', 'no warning from the worker either');
  t.equal(off.result['started'], false);
  t.match(off.result['worker'], { attached: false, tried: false }, 'nothing to attach to: no attach begun (none to wait for), the worker runs without ringtrace');
});

t.test('OTEL_SDK_DISABLED=true starts nothing', { skip }, async (t) => {
  const r = await receiver(t);
  const app = makeApp(t, ['http-app.cjs']);
  const out = await run(app, ['--import', 'ringtrace/register', 'http-app.cjs'], otlpEnv(r, { OTEL_SDK_DISABLED: 'TRUE' }));
  t.equal(out.code, 0, out.stderr);
  t.equal(out.result['started'], false, 'no dispatcher');
  t.equal(out.result['serverSpan'], null, 'no instrumentation: no active span in the handler');
  t.equal((out.result['headers'] as Record<string, string>)['traceparent'], undefined, 'no propagation');
  t.same(r.paths, [], 'nothing exported');
});

t.test('each bad variable is one warning naming it and its value; the app still runs, with the defaults', { skip }, async (t) => {
  const r = await receiver(t);
  const app = makeApp(t, ['http-app.cjs']);
  const bad: Record<string, string> = {
    OTEL_SDK_DISABLED: 'maybe',
    OTEL_TRACES_EXPORTER: 'zipkin',
    OTEL_LOGS_EXPORTER: 'otlp,bogus',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_EXPORTER_OTLP_HEADERS: 'novalue',
    OTEL_EXPORTER_OTLP_TIMEOUT: '-5',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'brotli',
    OTEL_EXPORTER_OTLP_LOGS_TIMEOUT: 'soon',
    OTEL_TRACES_SAMPLER: 'sometimes',
    OTEL_TRACES_SAMPLER_ARG: '2',
    OTEL_PROPAGATORS: 'tracecontext,xray',
    OTEL_LOG_LEVEL: 'loud',
    OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: '-1',
    OTEL_SPAN_EVENT_COUNT_LIMIT: 'many',
    OTEL_RESOURCE_ATTRIBUTES: 'team=x,novalue',
    OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,nosuch',
    RINGTRACE_QUEUE_CAPACITY: '1000',
    RINGTRACE_FLUSH_INTERVAL_MS: '0',
    RINGTRACE_FILTER: 'info,db=loud',
    RINGTRACE_CONFIG: 'missing.json',
  };
  const out = await run(app, ['--import', 'ringtrace/register', 'http-app.cjs'], {
    ...bad,
    // Good per-signal endpoints, so the defaults behind the bad generic ones are seen to work.
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${r.url}/v1/traces`,
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${r.url}/v1/logs`,
    OTEL_SERVICE_NAME: 'despite',
  });
  t.equal(out.code, 0, 'the app ran to its end');
  t.equal(out.result['started'], true, 'ringtrace started, with the defaults');
  for (const [name, value] of Object.entries(bad)) {
    const mentions = out.stderr.split('\n').filter((line) => line.includes(`environment variable ${name}=${JSON.stringify(value)}`));
    t.equal(mentions.length, 1, `one warning for ${name}=${value}`);
  }
  t.match(out.stderr, /\[RINGTRACE_ENV\]/);
  t.match(out.stderr, /OTEL_NODE_ENABLED_INSTRUMENTATIONS="http,nosuch".*"nosuch"/);
  t.match(out.stderr, /OTEL_PROPAGATORS="tracecontext,xray".*"xray"/);
  checkHttpTrace(t, r, 'despite', out.result['serverSpan'] as { traceId: string; spanId: string });
});

t.test('RINGTRACE_CONFIG adds sinks: a JSON file and an ES module', { skip }, async (t) => {
  const json = JSON.stringify({ sinks: [{ name: 'file', sink: 'ndjson', filter: 'info', options: { destination: 'out/json.ndjson', mkdir: true } }] });
  const mjs = `export default { sinks: [{ name: 'mine', module: './sinks/count-sink.mjs', filter: 'info', options: { file: ${JSON.stringify('count.json')} } }] };\n`;
  const sink = `import { writeFileSync } from 'node:fs';
export default function create(options) {
  let spans = 0;
  return { consume(r) { if (r.kind === 'spanEnd') spans++; }, flush() { writeFileSync(options.file, JSON.stringify({ spans })); } };
}
`;
  const app = makeApp(t, ['http-app.cjs'], BASE_PACKAGES, { 'ringtrace.json': json, 'config/ringtrace.mjs': mjs, 'config/sinks/count-sink.mjs': sink });
  const env = { OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' };
  const a = await run(app, ['--import', 'ringtrace/register', 'http-app.cjs'], { ...env, RINGTRACE_CONFIG: 'ringtrace.json' });
  t.equal(a.code, 0, a.stderr);
  t.equal(a.stderr, '');
  const lines = readFileSync(join(app, 'out', 'json.ndjson'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { kind: string; spanKind?: number });
  t.ok(lines.some((l) => l.kind === 'spanEnd'), 'the JSON config\'s ndjson sink got the spans');
  t.equal(lines.filter((l) => l.kind === 'spanStart').length, 2, 'SERVER and CLIENT');
  const b = await run(app, ['--import', 'ringtrace/register', 'http-app.cjs'], { ...env, RINGTRACE_CONFIG: 'config/ringtrace.mjs' });
  t.equal(b.code, 0, b.stderr);
  t.equal(b.stderr, '');
  t.same(JSON.parse(readFileSync(join(app, 'count.json'), 'utf8')), { spans: 2 }, 'the module config\'s sink, its path relative to the config file');
});

t.test('OTEL_PROPAGATORS: b3 from the application\'s @opentelemetry/propagator-b3, or a warning when it has none', { skip }, async (t) => {
  const withB3 = makeApp(t, ['http-app.cjs'], [...BASE_PACKAGES, '@opentelemetry/propagator-b3']);
  // A sink, so spans are recorded and propagated (with none, a span is the no-op API's).
  const env = { OTEL_TRACES_EXPORTER: 'console', OTEL_LOGS_EXPORTER: 'none' };
  const single = await run(withB3, ['--import', 'ringtrace/register', 'http-app.cjs'], { ...env, OTEL_PROPAGATORS: 'b3' });
  t.equal(single.stderr, '', 'no warning, and no flush failure of the console sink writing to a pipe (fsync refused)');
  const h1 = single.result['headers'] as Record<string, string>;
  t.match(h1['b3'], /^[0-9a-f]{32}-[0-9a-f]{16}-1$/, 'single b3 header');
  t.equal(h1['traceparent'], undefined, 'no tracecontext: not asked for');
  const multi = await run(withB3, ['--import', 'ringtrace/register', 'http-app.cjs'], { ...env, OTEL_PROPAGATORS: 'tracecontext,b3multi' });
  const h2 = multi.result['headers'] as Record<string, string>;
  t.match(h2['x-b3-traceid'], /^[0-9a-f]{32}$/, 'multi-header b3');
  t.match(h2['traceparent'], /^00-/);
  // ringtrace's own folder has propagator-b3 (a dev dependency); this application does not.
  const without = makeApp(t, ['http-app.cjs']);
  const missing = await run(without, ['--import', 'ringtrace/register', 'http-app.cjs'], { ...env, OTEL_PROPAGATORS: 'b3,tracecontext' });
  t.equal(missing.code, 0);
  t.match(missing.stderr, /OTEL_PROPAGATORS="b3,tracecontext".*@opentelemetry\/propagator-b3, which the application does not have/);
  const h3 = missing.result['headers'] as Record<string, string>;
  t.equal(h3['b3'], undefined);
  t.match(h3['traceparent'], /^00-/, 'the other propagators still work');
});

t.test('OTEL_NODE_DISABLED_INSTRUMENTATIONS=http: no http spans', { skip }, async (t) => {
  const app = makeApp(t, ['http-app.cjs']);
  const env = { OTEL_TRACES_EXPORTER: 'console', OTEL_LOGS_EXPORTER: 'none' };
  const out = await run(app, ['--import', 'ringtrace/register', 'http-app.cjs'], { ...env, OTEL_NODE_DISABLED_INSTRUMENTATIONS: 'http' });
  t.equal(out.code, 0, out.stderr);
  t.equal(out.result['started'], true);
  t.equal(out.result['serverSpan'], null, 'no span in the handler');
  t.notMatch(out.stdout, /instrumentation-http/, 'no http span on the console');
  const enabled = await run(app, ['--import', 'ringtrace/register', 'http-app.cjs'], { ...env, OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http' });
  t.match(enabled.stdout, /"target":"@opentelemetry\/instrumentation-http"/, 'OTEL_NODE_ENABLED_INSTRUMENTATIONS=http: http spans on the console');
});
