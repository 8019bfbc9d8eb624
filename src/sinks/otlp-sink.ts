/**
 * `otlp`: exports whole spans, standalone events as log records, and (with
 * the `metrics` option) the application's metrics, over OTLP/HTTP (protobuf
 * or JSON) to a collector.
 *
 *   consume ─> SpanAssembler ─> spans  SignalExporter ──┐  batches encoded at once, bounded in bytes,
 *          └─> (event) ───────> logs   SignalExporter ──┼─> up to maxConcurrentRequests each, retried
 *   flush (when due) ─> metrics snapshot ─> metrics SignalExporter ─┘   over one OtlpTransport
 *
 * The encoding is OpenTelemetry's own (`ProtobufTraceSerializer`,
 * `JsonTraceSerializer`, and the logs ones), fed with ReadableSpan- and
 * ReadableLogRecord-shaped objects, behind each exporter's SignalCodec; this
 * module builds those objects. Batching, the queue, retries and accounting:
 * otlp-signal-exporter.ts; the wire: otlp-transport.ts; options and
 * environment variables: otlp-config.ts and docs/sinks.md.
 *
 * Accounting, per signal (`inspect().spans` / `.logs` / `.metrics`): every
 * item taken in is exactly one of `exported`, `rejected` (the collector's
 * partial success), `failed` (non-retryable answer or attempts used up),
 * `dropped` (queue full) or still `pending`. A request is retried only when
 * it failed, so a collector that answered never gets it twice; a timeout is
 * the exception OTLP itself has (the collector may have taken it).
 */
import { createTraceState, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import {
  JsonLogsSerializer,
  JsonMetricsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufMetricsSerializer,
  ProtobufTraceSerializer,
  type ISerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { MetricsSnapshot } from '../metric-region/metrics-snapshot.js';
import type { EventRecord, FieldValue, Fields, TraceRecord } from '../record/trace-record.js';
import { resolveOtlpConfig, resourceFromEnvironment, type OtlpConfig, type OtlpProtocol, type OtlpSinkOptions } from './otlp-config.js';
import { OtlpMetricsExport, resolveOtlpMetricsConfig } from './otlp-metrics.js';
import { SignalExporter, type ExportLimits, type OtlpSignalStats, type SignalCodec } from './otlp-signal-exporter.js';
import { OtlpTransport } from './otlp-transport.js';
import { SpanAssembler, type AssembledSpan, type SpanAssemblerStats } from './span-assembler.js';
import type { SinkContext, SinkFactory, TraceSink } from './trace-sink.js';

export type { OtlpSinkOptions } from './otlp-config.js';
export type { OtlpSignalStats } from './otlp-signal-exporter.js';

/** `dispatcher.inspectSink(name)` for an `otlp` sink. */
export interface OtlpSinkContents {
  /** The traces endpoint: its URL, or `unix:///path/to/socket`. */
  tracesUrl: string;
  logsUrl: string;
  /** The Unix socket of each signal's requests, if any. */
  tracesSocketPath: string | undefined;
  logsSocketPath: string | undefined;
  protocol: string;
  spans: OtlpSignalStats;
  logs: OtlpSignalStats;
  /** Metrics exports (one item per export), when the `metrics` option is on. */
  metrics: OtlpSignalStats | undefined;
  assembler: SpanAssemblerStats;
  openSpans: number;
}

/** `ringtrace.incomplete` marks a span whose end record never arrived (evicted, or open at close). */
export const INCOMPLETE_ATTRIBUTE = 'ringtrace.incomplete';
export const INCOMPLETE_REASON_ATTRIBUTE = 'ringtrace.incomplete_reason';

const SEVERITY_NUMBER = { trace: 1, debug: 5, info: 9, warn: 13, error: 17 } as const;
const SEVERITY_TEXT = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const;

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6));
  return [seconds, nanos];
}

function attributeValue(v: FieldValue): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'bigint' ? attributeValue(x) : x));
  return v;
}

/** Fields as OpenTelemetry attributes: bigints become numbers when exact, else decimal strings. */
function toAttributes(fields: Fields, extra?: Attributes): Attributes {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    Object.defineProperty(out, key, { value: attributeValue(fields[key]!), enumerable: true, writable: true, configurable: true });
  }
  if (extra !== undefined) Object.assign(out, extra);
  return out as Attributes;
}

/** A codec from one of otlp-transformer's serializers: the body, and the partial-success count of the answer. */
function serializerCodec<Item>(
  serializers: { protobuf: ISerializer<Item[], unknown>; json: ISerializer<Item[], unknown> },
  protocol: OtlpProtocol,
  rejectedField: 'rejectedSpans' | 'rejectedLogRecords',
): SignalCodec<Item> {
  const serializer = protocol === 'http/json' ? serializers.json : serializers.protobuf;
  return {
    encode(batch) {
      const body = serializer.serializeRequest(batch);
      if (body === undefined) throw new Error('serializer returned nothing');
      return body;
    },
    rejected(body) {
      const partial = (serializer.deserializeResponse(body) as { partialSuccess?: Record<string, unknown> } | undefined)?.partialSuccess;
      if (partial === undefined || partial === null) return { rejected: 0, errorMessage: '' };
      return { rejected: Number(partial[rejectedField] ?? 0), errorMessage: typeof partial.errorMessage === 'string' ? partial.errorMessage : '' };
    },
  };
}

/**
 * One metrics snapshot per request, encoded by OtlpMetricsExport (which
 * keeps the delta state). Rejected data points are not exports, so only the
 * collector's message is kept.
 */
function metricsCodec(metricsExport: OtlpMetricsExport): SignalCodec<MetricsSnapshot> {
  const serializer = metricsExport.config.protocol === 'http/json' ? JsonMetricsSerializer : ProtobufMetricsSerializer;
  return {
    encode(batch) {
      const request = metricsExport.encode(batch[0]!);
      if (request === undefined) throw new Error('no metric to send');
      return request.body;
    },
    rejected(body) {
      const partial = (serializer.deserializeResponse(body) as { partialSuccess?: Record<string, unknown> } | undefined)?.partialSuccess;
      const errorMessage = typeof partial?.errorMessage === 'string' ? partial.errorMessage : '';
      const points = Number(partial?.rejectedDataPoints ?? 0);
      return { rejected: 0, errorMessage: points > 0 ? `${points} data points rejected${errorMessage === '' ? '' : `: ${errorMessage}`}` : errorMessage };
    },
  };
}

export class OtlpSink implements TraceSink {
  readonly config: OtlpConfig;
  readonly resource: Resource;
  readonly #assembler: SpanAssembler;
  readonly #transport = new OtlpTransport();
  readonly #spans: SignalExporter<ReadableSpan>;
  readonly #logs: SignalExporter<ReadableLogRecord>;
  readonly #metrics: { export: OtlpMetricsExport; exporter: SignalExporter<MetricsSnapshot>; snapshot: () => MetricsSnapshot } | undefined;
  // One InstrumentationScope object per target: the logs serializer groups by identity.
  readonly #scopes = new Map<string, { name: string; version?: string; schemaUrl?: string }>();
  #closed = false;

  /**
   * @param context.resource the dispatcher's resource; without one (a sink
   *   built by hand) it is made from the process and `OTEL_SERVICE_NAME` /
   *   `OTEL_RESOURCE_ATTRIBUTES`.
   * @param context.metrics the application's metrics, exported when the `metrics` option is on.
   */
  constructor(
    options: OtlpSinkOptions | undefined,
    context: Pick<SinkContext, 'resource' | 'metrics'> = {},
    env: Readonly<Record<string, string | undefined>> = process.env,
  ) {
    this.config = resolveOtlpConfig(options, env);
    const config = this.config;
    this.#assembler = new SpanAssembler((span) => this.#spans.push(this.#readableSpan(span)), config.assembler, 'otlp');
    const attributes = { ...(context.resource ?? resourceFromEnvironment(env)), ...config.resourceAttributes };
    if (config.serviceName !== undefined) attributes['service.name'] = config.serviceName;
    this.resource = resourceFromAttributes(attributes);
    const limits: ExportLimits = config;
    this.#spans = new SignalExporter<ReadableSpan>(
      config.traces,
      serializerCodec({ protobuf: ProtobufTraceSerializer, json: JsonTraceSerializer }, config.traces.protocol, 'rejectedSpans'),
      limits,
      this.#transport,
    );
    this.#logs = new SignalExporter<ReadableLogRecord>(
      config.logs,
      serializerCodec({ protobuf: ProtobufLogsSerializer, json: JsonLogsSerializer }, config.logs.protocol, 'rejectedLogRecords'),
      limits,
      this.#transport,
    );
    // Resolved (and checked) even without metrics to read, as in a sink built by hand.
    const m = config.metrics === undefined ? undefined : resolveOtlpMetricsConfig(config.metrics, config.ignoreEnvironment ? {} : env, config.socketPath);
    if (m !== undefined && context.metrics !== undefined) {
      // One export at a time, in order: a collector turning deltas into cumulative sums needs them so.
      const metricsLimits: ExportLimits = { ...limits, maxExportBatchSize: 1, maxConcurrentRequests: 1 };
      const metricsExport = new OtlpMetricsExport(m, attributes);
      this.#metrics = {
        export: metricsExport,
        exporter: new SignalExporter<MetricsSnapshot>({ ...m, timeoutMs: Math.min(m.timeoutMs, m.exportTimeoutMs) }, metricsCodec(metricsExport), metricsLimits, this.#transport),
        snapshot: context.metrics,
      };
    }
  }

  consume(record: TraceRecord): void {
    if (!this.config.exportSpans && record.kind !== 'event') return;
    // A full batch is cut and sent from inside push.
    if (!this.#assembler.consume(record)) {
      if (this.config.exportEvents) this.#logs.push(this.#readableLog(record as EventRecord));
    }
  }

  /** Resolves once everything queued when it was called is exported or counted; exports the metrics when their interval has passed. */
  flush(): Promise<void> {
    if (this.#metrics?.export.due()) this.#exportMetrics();
    return this.#settleAll();
  }

  /** Delivers spans still open, marked `ringtrace.incomplete`, the metrics once more, exports everything (no retry waits), and frees the sockets. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#assembler.closeOpen();
    if (this.#metrics !== undefined) this.#exportMetrics();
    this.#transport.close();
    await this.#settleAll();
    this.#transport.destroy();
  }

  inspect(): OtlpSinkContents {
    return {
      tracesUrl: this.config.traces.endpoint,
      logsUrl: this.config.logs.endpoint,
      tracesSocketPath: this.config.traces.socketPath,
      logsSocketPath: this.config.logs.socketPath,
      protocol: this.config.traces.protocol,
      spans: { ...this.#spans.stats },
      logs: { ...this.#logs.stats },
      metrics: this.#metrics === undefined ? undefined : { ...this.#metrics.exporter.stats },
      assembler: { ...this.#assembler.stats },
      openSpans: this.#assembler.openSpans,
    };
  }

  #exportMetrics(): void {
    const snapshot = this.#metrics!.snapshot();
    // Nothing recorded yet: no request (and the interval is not used up).
    if (snapshot.metrics.some((metric) => metric.points.length > 0)) this.#metrics!.exporter.push(snapshot);
  }

  async #settleAll(): Promise<void> {
    await Promise.all([this.#spans.flush(), this.#logs.flush(), this.#metrics?.exporter.flush()]);
  }

  #scope(name: string, version = '', schemaUrl = ''): { name: string; version?: string; schemaUrl?: string } {
    const key = version === '' && schemaUrl === '' ? name : `${name}\u0000${version}\u0000${schemaUrl}`;
    let scope = this.#scopes.get(key);
    if (scope === undefined) {
      scope = { name };
      if (version !== '') scope.version = version;
      if (schemaUrl !== '') scope.schemaUrl = schemaUrl;
      this.#scopes.set(key, scope);
    }
    return scope;
  }

  #readableSpan(s: AssembledSpan): ReadableSpan {
    const traceState = s.traceState === '' ? undefined : createTraceState(s.traceState);
    const ctx: SpanContext = { traceId: s.traceId, spanId: s.spanId, traceFlags: s.traceFlags, traceState };
    const parent: SpanContext | undefined =
      s.parentSpanId === undefined ? undefined : { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: s.traceFlags, isRemote: s.parentIsRemote };
    const extra = s.incomplete ? { [INCOMPLETE_ATTRIBUTE]: true, [INCOMPLETE_REASON_ATTRIBUTE]: s.incompleteReason ?? 'closed' } : undefined;
    return {
      name: s.name,
      kind: s.spanKind,
      spanContext: () => ctx,
      parentSpanContext: parent,
      startTime: hrTime(s.startTime),
      endTime: hrTime(s.endTime),
      duration: hrTime(s.endTime - s.startTime),
      ended: !s.incomplete,
      status: s.statusMessage === '' ? { code: s.statusCode } : { code: s.statusCode, message: s.statusMessage },
      attributes: toAttributes(s.attributes, extra),
      links: s.links.map((l) => ({
        context: { traceId: l.traceId, spanId: l.spanId, traceFlags: l.traceFlags },
        attributes: toAttributes(l.attributes),
        droppedAttributesCount: l.droppedAttributesCount,
      })),
      events: s.events.map((e) => ({ time: hrTime(e.time), name: e.name, attributes: toAttributes(e.attributes), droppedAttributesCount: e.droppedAttributesCount })),
      resource: this.resource,
      instrumentationScope: this.#scope(s.target),
      droppedAttributesCount: s.droppedAttributesCount,
      droppedEventsCount: s.droppedEventsCount,
      droppedLinksCount: s.droppedLinksCount,
    };
  }

  #readableLog(e: EventRecord): ReadableLogRecord {
    const time = hrTime(e.time);
    // A Logs API record (severityNumber set) carries its own severity, body,
    // event name, observed time, trace flags and scope version; other events
    // are described by their level and message.
    const fromLogsApi = e.severityNumber !== undefined;
    return {
      hrTime: time,
      hrTimeObserved: e.observedTime === undefined ? time : hrTime(e.observedTime),
      // Other events do not carry the span's trace flags; 0 says only "not known to be sampled".
      spanContext: e.traceId !== undefined && e.spanId !== undefined ? { traceId: e.traceId, spanId: e.spanId, traceFlags: e.traceFlags ?? 0 } : undefined,
      severityNumber: fromLogsApi ? e.severityNumber : SEVERITY_NUMBER[e.level],
      severityText: fromLogsApi ? (e.severityText === '' ? undefined : e.severityText) : SEVERITY_TEXT[e.level],
      body: fromLogsApi ? (e.body as ReadableLogRecord['body']) : e.message,
      ...(e.eventName ? { eventName: e.eventName } : {}),
      resource: this.resource,
      instrumentationScope: this.#scope(e.target, e.scopeVersion, e.schemaUrl),
      attributes: toAttributes(e.fields),
      droppedAttributesCount: 0,
    };
  }
}

const createOtlpSink: SinkFactory<OtlpSinkOptions | undefined> = (options, context) => new OtlpSink(options, context);
export default createOtlpSink;
