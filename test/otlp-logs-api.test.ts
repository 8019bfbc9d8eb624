/**
 * The otlp sink and the Logs API's records: every field of an event made by
 * `logger.emit()` reaches the collector (protobuf, decoded independently
 * with the official schema, fixtures/otlp-schema.ts), scoped by logger name,
 * version and schema URL; `exportSpans: false` makes a logs-only sink, and
 * `ignoreEnvironment` a sink that reads no OTEL_* variable. The sink alone,
 * fed records directly.
 */
import t from 'tap';
import { OtlpSink } from '../src/sinks/otlp-sink.js';
import type { EventRecord, Fields, SpanInfo } from '../src/record/trace-record.js';
import { emptyFields } from '../src/record/fields.js';
import { attr, otlpReceiver } from './fixtures/otlp-receiver.js';

function fields(o: Record<string, string | number>): Fields {
  return Object.assign(emptyFields(), o);
}

const span: SpanInfo = {
  traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), parentSpanId: undefined, parentIsRemote: false, traceFlags: 1, traceState: '',
  name: 'op', target: 'svc', level: 'info', spanKind: 0, startTime: 1_700_000_000_000,
};

const logRecord: EventRecord = {
  kind: 'event', time: 1_700_000_000_123.5, level: 'warn', target: 'app-logs', message: '{"order":7}', fields: fields({ 'order.id': 7 }),
  traceId: 'ab'.repeat(16), spanId: 'cd'.repeat(8), severityNumber: 14, severityText: 'WARN2', eventName: 'order.late',
  observedTime: 1_700_000_001_000, body: { order: 7, tags: ['a'] }, traceFlags: 1, scopeVersion: '2.0.0', schemaUrl: 'https://opentelemetry.io/schemas/1.30.0',
};

t.test('a Logs API record is exported with every field', async (t) => {
  const r = await otlpReceiver();
  t.teardown(() => r.close());
  const sink = new OtlpSink({ endpoint: `${r.url}/v1/traces`, logsEndpoint: `${r.url}/v1/logs` }, { resource: { 'service.name': 'logs-test' } });
  sink.consume(logRecord);
  sink.consume({ ...logRecord, severityText: '', eventName: '', body: undefined, message: '', scopeVersion: '', schemaUrl: '', traceId: undefined, spanId: undefined });
  sink.consume({ kind: 'event', time: 1, level: 'error', target: 'plain', message: 'structured event', fields: fields({}), traceId: undefined, spanId: undefined });
  await sink.close();
  const logs = r.logs();
  t.equal(logs.length, 3);
  const [full, bare, plain] = logs;
  t.equal(full!.scope.name, 'app-logs');
  t.equal(full!.scope.version, '2.0.0');
  t.equal(full!.schemaUrl, 'https://opentelemetry.io/schemas/1.30.0');
  t.equal(attr(full!.resource, 'service.name'), 'logs-test');
  const l = full!.item;
  t.equal(l.severityNumber, 14);
  t.equal(l.severityText, 'WARN2');
  t.equal(l.eventName, 'order.late');
  t.equal(l.timeUnixNano, '1700000000123500000');
  t.equal(l.observedTimeUnixNano, '1700000001000000000');
  t.equal(l.traceId, 'ab'.repeat(16));
  t.equal(l.spanId, 'cd'.repeat(8));
  t.equal(l.flags, 1);
  t.equal(attr(l.attributes, 'order.id'), 7);
  const body = l.body as { kvlistValue: { values: { key: string }[] } };
  t.same(body.kvlistValue.values.map((v) => v.key), ['order', 'tags'], 'the body stays structured');
  t.equal(bare!.scope.version ?? '', '', 'no version: none in the scope');
  t.not(bare!.scope, full!.scope, 'a scope per name, version and schema URL');
  t.equal(bare!.item.body, undefined, 'no body');
  t.equal(bare!.item.severityText ?? '', '');
  t.equal(bare!.item.eventName ?? '', '');
  t.equal(plain!.item.severityNumber, 17, 'other events: severity from their level');
  t.equal(plain!.item.severityText, 'ERROR');
  t.equal(plain!.item.body?.['stringValue'], 'structured event');
});

t.test('exportSpans: false exports log records only; ignoreEnvironment reads no variable', async (t) => {
  const r = await otlpReceiver();
  t.teardown(() => r.close());
  const env = { OTEL_EXPORTER_OTLP_HEADERS: 'not a list', OTEL_EXPORTER_OTLP_TIMEOUT: '-1', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://elsewhere:1' };
  t.throws(() => new OtlpSink({}, {}, env), /OTEL_EXPORTER_OTLP_/, 'these variables are errors for a sink that reads them');
  const sink = new OtlpSink({ ignoreEnvironment: true, exportSpans: false, endpoint: `${r.url}/v1/traces`, logsEndpoint: `${r.url}/v1/logs` }, {}, env);
  t.equal(sink.config.traces.timeoutMs, 10_000, 'the default, not the variable');
  t.same(sink.config.logs.headers, {});
  sink.consume({ kind: 'spanStart', span, time: span.startTime, attributes: fields({}) });
  sink.consume({ kind: 'spanEnd', span, time: span.startTime + 1, droppedAttributesCount: 0, droppedEventsCount: 0, droppedLinksCount: 0 });
  sink.consume(logRecord);
  await sink.close();
  t.same(r.paths, ['/v1/logs'], 'no span request');
  t.equal(r.logs().length, 1);
  t.equal(sink.inspect().spans.queued, 0);
  t.throws(() => new OtlpSink({ exportSpans: 'no' as never }), /otlp.exportSpans must be a boolean/);
  t.throws(() => new OtlpSink({ ignoreEnvironment: 1 as never }), /otlp.ignoreEnvironment must be a boolean/);
});
