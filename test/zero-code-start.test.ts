/**
 * `startZeroCode()` in this process (the child-process scenarios are in
 * zero-code.test.ts): once per process, instrumentations of the
 * application's (this checkout's) auto-instrumentations registered, the
 * dispatcher started with the environment's sinks, installed with the
 * OTEL_PROPAGATORS propagators; a RINGTRACE_CONFIG sink that fails to start
 * is warned about and left out.
 */
import t from 'tap';
import { createRequire } from 'node:module';
import type * as Http from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, diag, logs, propagation, trace, SeverityNumber, defaultTextMapSetter } from '@opentelemetry/api';
import { startZeroCode, zeroCodeDispatcher } from '../src/zero-code/zero-code-start.js';
import { otlpReceiver } from './fixtures/otlp-receiver.js';

t.test('start from the environment, install, instrument', async (t) => {
  const r = await otlpReceiver();
  t.teardown(() => r.close());
  const dir = t.testdir({ 'ringtrace.json': JSON.stringify({ sinks: [{ name: 'broken', module: './no-such-sink.mjs' }] }) });
  const warnings: string[] = [];
  const env = {
    OTEL_EXPORTER_OTLP_ENDPOINT: r.url,
    OTEL_SERVICE_NAME: 'in-process',
    OTEL_PROPAGATORS: 'tracecontext,baggage,b3,jaeger',
    OTEL_NODE_ENABLED_INSTRUMENTATIONS: 'http,pino',
    OTEL_LOG_LEVEL: 'error',
    RINGTRACE_CONFIG: `${dir}/ringtrace.json`,
    RINGTRACE_FLUSH_INTERVAL_MS: '20',
  };
  const started = startZeroCode(env, (m) => warnings.push(m));
  t.equal(startZeroCode(env), started, 'once per process: the same start');
  t.equal(zeroCodeDispatcher(), started);
  const d = await started;
  t.ok(d, 'started');
  t.teardown(async () => {
    await d?.shutdown();
    diag.disable();
  });
  if (d === undefined) return;
  t.equal(d.options.flushIntervalMs, 20);
  t.equal(d.resource['service.name'], 'in-process');
  t.equal(logs.getLoggerProvider(), d.loggerProvider, 'installed: the logger provider');
  t.match(warnings.find((w) => w.includes('RINGTRACE_CONFIG')), /its sinks did not start.*starting without them/);
  t.match(warnings.find((w) => w.includes('OTEL_PROPAGATORS')), /jaeger needs @opentelemetry\/propagator-jaeger, which the application does not have/);
  t.equal(warnings.length, 2, warnings.join('\n'));

  // The auto-instrumentations' http instrumentation is registered: a request makes spans.
  const http = createRequire(import.meta.url)('node:http') as typeof Http;
  const server = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve, reject) => {
    http.get(`http://127.0.0.1:${port}/`, (res) => {
      res.resume();
      res.on('end', resolve);
    }).on('error', reject);
  });
  // The propagators of OTEL_PROPAGATORS, b3 from this checkout's node_modules.
  const headers: Record<string, string> = {};
  trace.getTracer('t').startActiveSpan('outer', (span) => {
    propagation.inject(context.active(), headers, defaultTextMapSetter);
    logs.getLogger('t').emit({ severityNumber: SeverityNumber.INFO, body: 'in process' });
    span.end();
  });
  t.match(headers['traceparent'], /^00-/);
  t.match(headers['b3'], /^[0-9a-f]{32}-[0-9a-f]{16}-1$/);
  t.same(propagation.fields().sort(), ['b3', 'baggage', 'traceparent', 'tracestate']);
  await d.flush();
  const spans = r.spans();
  t.ok(spans.some((s) => s.item.kind === 2 && s.scope.name === '@opentelemetry/instrumentation-http'), 'a SERVER span from instrumentation-http');
  t.ok(spans.some((s) => s.item.name === 'outer'));
  t.ok(r.logs().some((l) => l.item.body?.['stringValue'] === 'in process'));
});
