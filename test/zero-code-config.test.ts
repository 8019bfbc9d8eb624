/**
 * What `ringtrace/register` reads from the environment (env-config.ts), the
 * sinks it makes of it, RINGTRACE_CONFIG files, and resolving packages from
 * the application (app-packages.ts). In-process; the child-process scenarios
 * are in zero-code.test.ts.
 */
import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiagLogLevel } from '@opentelemetry/api';
import { readZeroCodeConfig, DEFAULT_ENV_SINK_FILTER, type ZeroCodeConfig } from '../src/zero-code/env-config.js';
import { configFileSinks, environmentSinks } from '../src/zero-code/zero-code-start.js';
import { applicationRoots, requireFromApp, resolveFromApp } from '../src/zero-code/app-packages.js';
import type { OtlpSinkOptions } from '../src/sinks/otlp-config.js';
import { TraceDispatcher } from '../src/index.js';
import { otlpReceiver } from './fixtures/otlp-receiver.js';

function read(env: Record<string, string>): { config: ZeroCodeConfig; warnings: string[] } {
  const warnings: string[] = [];
  const config = readZeroCodeConfig(env, (m) => warnings.push(m));
  return { config, warnings };
}

t.test('defaults: the SDK\'s', async (t) => {
  const { config, warnings } = read({});
  t.same(warnings, []);
  t.equal(config.disabled, false);
  t.same(config.traceExporters, ['otlp']);
  t.same(config.logExporters, ['otlp']);
  t.same(config.propagators, ['tracecontext', 'baggage']);
  t.equal(config.sampler, 'parentbased_always_on');
  t.equal(config.samplerArg, 1);
  t.equal(config.logLevel, undefined);
  t.equal(config.otlp.traces.url.href, 'http://localhost:4318/v1/traces');
  t.equal(config.otlp.logs.url.href, 'http://localhost:4318/v1/logs');
  t.equal(config.otlp.traces.protocol, 'http/protobuf');
  t.same(config.metricExporters, ['otlp']);
  t.equal(config.metricExportIntervalMs, 60_000);
  t.same(config.otlp.metrics, {
    endpoint: 'http://localhost:4318/v1/metrics', protocol: 'http/protobuf', headers: {}, timeoutMs: 10_000, compression: 'none',
    temporality: 'cumulative', exportIntervalMs: 60_000, exportTimeoutMs: 30_000,
  });
  t.same(config.spanLimits, {
    attributeCountLimit: 128, attributeValueLengthLimit: Infinity, eventCountLimit: 128, linkCountLimit: 128,
    attributePerEventCountLimit: 128, attributePerLinkCountLimit: 128,
  });
  t.equal(config.queueCapacity, undefined);
  t.equal(config.flushIntervalMs, 100);
  t.equal(config.filter, DEFAULT_ENV_SINK_FILTER);
  t.equal(config.configPath, undefined);
});

t.test('every variable read with its meaning', async (t) => {
  const { config, warnings } = read({
    OTEL_SDK_DISABLED: 'False',
    OTEL_TRACES_EXPORTER: 'otlp, console',
    OTEL_LOGS_EXPORTER: 'console',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
    OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'https://logs.example/ingest',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_HEADERS: 'api-key=a%20b',
    OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'x=1',
    OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
    OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '500',
    OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    OTEL_EXPORTER_OTLP_LOGS_COMPRESSION: 'none',
    OTEL_TRACES_SAMPLER: 'traceidratio',
    OTEL_TRACES_SAMPLER_ARG: '0.25',
    OTEL_PROPAGATORS: 'b3multi,jaeger,tracecontext,b3',
    OTEL_LOG_LEVEL: 'debug',
    OTEL_ATTRIBUTE_COUNT_LIMIT: '10',
    OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT: '64',
    OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT: '32',
    OTEL_SPAN_EVENT_COUNT_LIMIT: '5',
    OTEL_SPAN_LINK_COUNT_LIMIT: '6',
    OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT: '7',
    OTEL_LINK_ATTRIBUTE_COUNT_LIMIT: '0',
    RINGTRACE_QUEUE_CAPACITY: String(1 << 20),
    RINGTRACE_FLUSH_INTERVAL_MS: '250',
    RINGTRACE_FILTER: 'info,db=off',
    RINGTRACE_CONFIG: 'ringtrace.json',
    OTEL_SERVICE_NAME: 'shop',
    OTEL_RESOURCE_ATTRIBUTES: 'team=a%20b,service.name=ignored',
  });
  t.same(warnings, []);
  t.equal(config.serviceName, 'shop');
  t.same(config.resourceAttributes, { team: 'a b', 'service.name': 'ignored' });
  t.same(config.traceExporters, ['otlp', 'console']);
  t.same(config.logExporters, ['console']);
  const { traces, logs } = config.otlp;
  t.equal(traces.url.href, 'http://collector:4318/v1/traces', 'generic endpoint + /v1/traces, one slash');
  t.equal(logs.url.href, 'https://logs.example/ingest', 'a signal endpoint as is');
  t.equal(traces.protocol, 'http/protobuf', 'the signal variable wins');
  t.equal(logs.protocol, 'http/json');
  t.same(traces.headers, { 'api-key': 'a b' });
  t.same(logs.headers, { 'api-key': 'a b', x: '1' });
  t.equal(traces.timeoutMs, 500);
  t.equal(logs.timeoutMs, 3000);
  t.equal(traces.compression, 'gzip');
  t.equal(logs.compression, 'none');
  t.equal(config.sampler, 'traceidratio');
  t.equal(config.samplerArg, 0.25);
  t.same(config.propagators, ['b3multi', 'jaeger', 'tracecontext', 'b3']);
  t.equal(config.logLevel, DiagLogLevel.DEBUG);
  t.same(config.spanLimits, {
    attributeCountLimit: 10, attributeValueLengthLimit: 64, eventCountLimit: 5, linkCountLimit: 6,
    attributePerEventCountLimit: 7, attributePerLinkCountLimit: 0,
  });
  t.equal(config.queueCapacity, 1 << 20);
  t.equal(config.flushIntervalMs, 250);
  t.equal(config.filter, 'info,db=off');
  t.equal(config.configPath, 'ringtrace.json');
  t.equal(read({ OTEL_SDK_DISABLED: 'true' }).config.disabled, true);
  t.same(read({ OTEL_TRACES_EXPORTER: 'console,none' }).config.traceExporters, [], 'none anywhere: no exporter');
  t.same(read({ OTEL_PROPAGATORS: 'none' }).config.propagators, []);
  t.same(read({ OTEL_TRACES_EXPORTER: ' ' }).config.traceExporters, ['otlp'], 'blank is unset');
});

t.test('the metrics variables: OTEL_METRICS_EXPORTER, OTEL_METRIC_EXPORT_*, OTEL_EXPORTER_OTLP_METRICS_* over the generic ones', async (t) => {
  const { config, warnings } = read({
    OTEL_METRICS_EXPORTER: 'otlp',
    OTEL_METRIC_EXPORT_INTERVAL: '15000',
    OTEL_METRIC_EXPORT_TIMEOUT: '4000',
    OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/',
    OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=2',
    OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'b=3',
    OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/protobuf',
    OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
    OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '700',
    OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'gzip',
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'Delta',
  });
  t.same(warnings, []);
  t.same(config.metricExporters, ['otlp']);
  t.equal(config.metricExportIntervalMs, 15_000);
  t.same(config.otlp.metrics, {
    endpoint: 'http://collector:4318/v1/metrics', protocol: 'http/protobuf', headers: { a: '1', b: '3' }, timeoutMs: 700, compression: 'gzip',
    temporality: 'delta', exportIntervalMs: 15_000, exportTimeoutMs: 4000,
  });
  t.equal(read({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://m.example/ingest' }).config.otlp.metrics.endpoint, 'https://m.example/ingest', 'the metrics endpoint as is');
  t.same(read({ OTEL_METRICS_EXPORTER: 'none' }).config.metricExporters, []);
});

t.test('each bad variable: one warning naming it and its value, and the default', async (t) => {
  const cases: [string, string, (c: ZeroCodeConfig) => unknown, unknown][] = [
    ['OTEL_SDK_DISABLED', 'yes', (c) => c.disabled, false],
    ['OTEL_TRACES_EXPORTER', 'jaeger', (c) => c.traceExporters, ['otlp']],
    ['OTEL_LOGS_EXPORTER', 'console,loki', (c) => c.logExporters, ['console']],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'ftp://x', (c) => c.otlp.traces.url.href, 'http://localhost:4318/v1/traces'],
    ['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', '::', (c) => c.otlp.traces.url.href, 'http://localhost:4318/v1/traces'],
    ['OTEL_EXPORTER_OTLP_PROTOCOL', 'grpc', (c) => c.otlp.logs.protocol, 'http/protobuf'],
    ['OTEL_EXPORTER_OTLP_LOGS_PROTOCOL', 'thrift', (c) => c.otlp.logs.protocol, 'http/protobuf'],
    ['OTEL_EXPORTER_OTLP_HEADERS', '=v', (c) => c.otlp.traces.headers, {}],
    ['OTEL_EXPORTER_OTLP_TRACES_HEADERS', 'k=%zz', (c) => c.otlp.traces.headers, {}],
    ['OTEL_EXPORTER_OTLP_TIMEOUT', '0', (c) => c.otlp.traces.timeoutMs, 10_000],
    ['OTEL_EXPORTER_OTLP_COMPRESSION', 'zstd', (c) => c.otlp.traces.compression, 'none'],
    ['OTEL_TRACES_SAMPLER', 'jaeger_remote', (c) => c.sampler, 'parentbased_always_on'],
    ['OTEL_TRACES_SAMPLER_ARG', '-0.5', (c) => c.samplerArg, 1],
    ['OTEL_PROPAGATORS', 'xray', (c) => c.propagators, ['tracecontext', 'baggage']],
    ['OTEL_LOG_LEVEL', 'chatty', (c) => c.logLevel, undefined],
    ['OTEL_ATTRIBUTE_COUNT_LIMIT', '1.5', (c) => c.spanLimits.attributeCountLimit, 128],
    ['OTEL_LINK_ATTRIBUTE_COUNT_LIMIT', '-2', (c) => c.spanLimits.attributePerLinkCountLimit, 128],
    ['OTEL_RESOURCE_ATTRIBUTES', 'a=1,b,c=%41,d=%zz', (c) => c.resourceAttributes, { a: '1', c: 'A' }],
    ['RINGTRACE_QUEUE_CAPACITY', '3000000', (c) => c.queueCapacity, undefined],
    ['RINGTRACE_FLUSH_INTERVAL_MS', 'often', (c) => c.flushIntervalMs, 100],
    ['RINGTRACE_FILTER', 'info,=warn', (c) => c.filter, 'trace'],
    ['OTEL_METRICS_EXPORTER', 'statsd', (c) => c.metricExporters, ['otlp']],
    ['OTEL_METRIC_EXPORT_INTERVAL', '-5', (c) => [c.metricExportIntervalMs, c.otlp.metrics.exportIntervalMs], [60_000, 60_000]],
    ['OTEL_METRIC_EXPORT_TIMEOUT', 'soon', (c) => c.otlp.metrics.exportTimeoutMs, 30_000],
    ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT', 'ftp://x', (c) => c.otlp.metrics.endpoint, 'http://localhost:4318/v1/metrics'],
    ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'grpc', (c) => c.otlp.metrics.protocol, 'http/protobuf'],
    ['OTEL_EXPORTER_OTLP_METRICS_HEADERS', '=v', (c) => c.otlp.metrics.headers, {}],
    ['OTEL_EXPORTER_OTLP_METRICS_TIMEOUT', '0', (c) => c.otlp.metrics.timeoutMs, 10_000],
    ['OTEL_EXPORTER_OTLP_METRICS_COMPRESSION', 'br', (c) => c.otlp.metrics.compression, 'none'],
    ['OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE', 'sometimes', (c) => c.otlp.metrics.temporality, 'cumulative'],
    // A bad generic variable is warned about once, for every signal.
    ['OTEL_EXPORTER_OTLP_TIMEOUT', 'x', (c) => [c.otlp.traces.timeoutMs, c.otlp.metrics.timeoutMs], [10_000, 10_000]],
  ];
  for (const [name, value, get, fallback] of cases) {
    const { config, warnings } = read({ [name]: value });
    t.equal(warnings.length, 1, `${name}: one warning`);
    t.match(warnings[0], `environment variable ${name}=${JSON.stringify(value)} is not valid`, `${name}: names it and its value`);
    t.same(get(config), fallback, `${name}: the default`);
  }
  // A bad signal-specific limit falls back to the generic variable.
  const { config, warnings } = read({ OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT: 'x', OTEL_ATTRIBUTE_COUNT_LIMIT: '9' });
  t.equal(warnings.length, 1);
  t.equal(config.spanLimits.attributeCountLimit, 9);
});

function otlpOptions(spec: { options?: unknown }): OtlpSinkOptions {
  return spec.options as OtlpSinkOptions;
}

t.test('the sinks the exporters make', async (t) => {
  const one = environmentSinks(read({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).config);
  t.equal(one.length, 1, 'one otlp sink for both signals when their settings agree');
  t.match(one[0], { name: 'otlp', sink: 'otlp', filter: 'trace' });
  t.match(otlpOptions(one[0]!), { ignoreEnvironment: true, endpoint: 'http://c:4318/v1/traces', logsEndpoint: 'http://c:4318/v1/logs', protocol: 'http/protobuf', timeoutMs: 10_000, compression: 'none' });
  const two = environmentSinks(read({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json', RINGTRACE_FILTER: 'warn' }).config);
  t.same(two.map((s) => s.name), ['otlp-traces', 'otlp-logs'], 'one per signal when they differ');
  t.match(otlpOptions(two[0]!), { exportEvents: false, protocol: 'http/protobuf' });
  t.match(otlpOptions(two[1]!), { exportSpans: false, protocol: 'http/json', logsEndpoint: 'http://localhost:4318/v1/logs' });
  t.equal(two[0]!.filter, 'warn');
  const logsOnly = environmentSinks(read({ OTEL_TRACES_EXPORTER: 'none' }).config);
  t.same(logsOnly.map((s) => s.name), ['otlp-logs']);
  const tracesOnly = environmentSinks(read({ OTEL_LOGS_EXPORTER: 'none' }).config);
  t.same(tracesOnly.map((s) => s.name), ['otlp-traces']);
  const console = environmentSinks(read({ OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'console', OTEL_METRICS_EXPORTER: 'none' }).config);
  t.match(console, [{ name: 'console', sink: 'pino', options: { spans: false } }], 'logs to the console: span lines off');
  t.match(environmentSinks(read({ OTEL_TRACES_EXPORTER: 'console', OTEL_LOGS_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' }).config), [{ name: 'console', options: { spans: true } }]);
  t.same(environmentSinks(read({ OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'none' }).config), []);
});

t.test('OTLP metrics ride on the first otlp sink, else on a sink of their own', async (t) => {
  const metrics = read({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:4318/v1/metrics' }).config.otlp.metrics;
  const one = environmentSinks(read({ OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://m:4318/v1/metrics' }).config);
  t.same(one.map((s) => s.name), ['otlp']);
  t.same(otlpOptions(one[0]!).metrics, metrics, 'every metrics setting explicit: the sink reads no variable');
  const two = environmentSinks(read({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json' }).config);
  t.ok(otlpOptions(two[0]!).metrics, 'on otlp-traces');
  t.notOk(otlpOptions(two[1]!).metrics, 'not twice');
  t.ok(otlpOptions(environmentSinks(read({ OTEL_TRACES_EXPORTER: 'none' }).config)[0]!).metrics, 'on otlp-logs');
  const own = environmentSinks(read({ OTEL_TRACES_EXPORTER: 'console', OTEL_LOGS_EXPORTER: 'none' }).config);
  t.same(own.map((s) => s.name), ['otlp-metrics', 'console']);
  t.match(own[0], { sink: 'otlp', filter: 'off', options: { ignoreEnvironment: true, exportSpans: false, exportEvents: false, metrics: { endpoint: 'http://localhost:4318/v1/metrics' } } });
  t.notOk(environmentSinks(read({ OTEL_METRICS_EXPORTER: 'none' }).config).some((s) => otlpOptions(s).metrics), 'OTEL_METRICS_EXPORTER=none: no metrics export');
});

t.test('the metrics-only sink the variables make exports the metrics through a dispatcher', async (t) => {
  const r = await otlpReceiver();
  t.teardown(() => r.close());
  const { config } = read({ OTEL_TRACES_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${r.url}/v1/metrics`, OTEL_METRIC_EXPORT_INTERVAL: '3600000' });
  const d = await TraceDispatcher.start({ sinks: environmentSinks(config), metrics: { exportIntervalMs: config.metricExportIntervalMs } });
  const c = d.meterProvider.getMeter('app').createCounter('orders');
  for (let i = 0; i < 1000; i++) c.add(1);
  d.logger('app').info('not exported');
  await d.shutdown();
  t.ok(r.paths.length >= 1 && r.paths.every((p) => p === '/v1/metrics'), `metrics only: ${r.paths.join(', ')}`);
  const m = (r.metrics().at(-1) as { resourceMetrics: { scopeMetrics: { metrics: { name: string; sum: { dataPoints: { asDouble: number }[] } }[] }[] }[] }).resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!;
  t.match(m, { name: 'orders', sum: { dataPoints: [{ asDouble: 1000 }] } }, 'the export at close has every add');
});

t.test('RINGTRACE_CONFIG: JSON files and ES modules, bad ones warned about', async (t) => {
  const dir = t.testdir({
    'ok.json': JSON.stringify({ sinks: [{ name: 'a', sink: 'memory', filter: 'warn' }, { name: 'b', module: './sinks/b.mjs' }] }),
    'named.mjs': "export const sinks = [{ name: 'n', sink: 'memory' }];\n",
    'default.mjs': "export default { sinks: [{ name: 'd', sink: 'ndjson', options: { destination: 'x.ndjson' } }] };\n",
    'nosinks.json': '{"filters": []}',
    'broken.json': '{',
    'badspec.json': JSON.stringify({ sinks: [{ name: 'ok', sink: 'memory' }, { name: 'bad', sink: 'nope' }, 42] }),
    'throws.mjs': "throw new Error('config module fails');\n",
  });
  const warnings: string[] = [];
  const warn = (m: string) => warnings.push(m);
  const ok = await configFileSinks('ok.json', warn, dir);
  t.same(ok[0], { name: 'a', sink: 'memory', filter: 'warn' });
  t.equal((ok[1] as { module: string }).module, join(dir, 'sinks', 'b.mjs'), 'a relative module path is relative to the config file');
  t.same((await configFileSinks(join(dir, 'named.mjs'), warn)).map((s) => s.name), ['n'], 'an ES module\'s named export, absolute path');
  t.same((await configFileSinks('default.mjs', warn, dir)).map((s) => s.name), ['d'], 'its default export');
  t.same(warnings, []);
  t.same(await configFileSinks('nosinks.json', warn, dir), []);
  t.match(warnings.pop(), /RINGTRACE_CONFIG="nosinks.json".*a `sinks` array/);
  t.same(await configFileSinks('broken.json', warn, dir), []);
  t.match(warnings.pop(), /RINGTRACE_CONFIG="broken.json".*JSON/);
  t.same(await configFileSinks('missing.json', warn, dir), []);
  t.match(warnings.pop(), /RINGTRACE_CONFIG="missing.json".*ENOENT/);
  t.same(await configFileSinks('throws.mjs', warn, dir), []);
  t.match(warnings.pop(), /config module fails/);
  t.same((await configFileSinks('badspec.json', warn, dir)).map((s) => s.name), ['ok']);
  t.equal(warnings.length, 2, 'one warning per bad sink');
  t.match(warnings[0], /sinks\[1\]\.sink must be one of/);
  t.match(warnings[1], /skipping sinks\[2\]/);
});

t.test('packages resolve from the application, not from ringtrace', async (t) => {
  const app = mkdtempSync(join(tmpdir(), 'ringtrace-roots-'));
  t.teardown(() => rmSync(app, { recursive: true, force: true }));
  mkdirSync(join(app, 'node_modules', 'only-here'), { recursive: true });
  writeFileSync(join(app, 'node_modules', 'only-here', 'package.json'), '{"name":"only-here","main":"index.js"}');
  writeFileSync(join(app, 'node_modules', 'only-here', 'index.js'), 'module.exports = { here: true };');
  mkdirSync(join(app, 'src'));
  writeFileSync(join(app, 'src', 'main.js'), '');
  const elsewhere = mkdtempSync(join(tmpdir(), 'ringtrace-link-'));
  t.teardown(() => rmSync(elsewhere, { recursive: true, force: true }));
  symlinkSync(join(app, 'src', 'main.js'), join(elsewhere, 'main.js'));
  t.same(applicationRoots('src/main.js', app), [join(app, 'src'), app]);
  t.same(applicationRoots(join(elsewhere, 'main.js'), '/'), [elsewhere, join(app, 'src'), '/'], 'a symlinked main script: its real folder too');
  t.same(applicationRoots('', app), [app], 'no main script (node -e): the working directory');
  t.same(applicationRoots('nofile.js', app), [app], 'a main script that does not exist: its folder (here the cwd) only');
  const roots = applicationRoots('src/main.js', app);
  t.equal(resolveFromApp('only-here', roots), join(app, 'node_modules', 'only-here', 'index.js'));
  t.same(requireFromApp('only-here', roots)?.exports, { here: true });
  t.equal(resolveFromApp('@opentelemetry/propagator-b3', roots), undefined, 'ringtrace has it; the application does not');
  t.equal(requireFromApp('@opentelemetry/propagator-b3', roots), undefined);
});
