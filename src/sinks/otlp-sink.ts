/**
 * `otlp`: exports whole spans, standalone events as log records, and (with
 * the `metrics` option) the application's metrics, over OTLP/HTTP (protobuf
 * or JSON) to a collector.
 *
 *   consume ─> SpanAssembler ─> spans  SignalExporter ──┐  batches encoded at once, bounded in bytes,
 *          └─> (event) ───────> logs   SignalExporter ──┼─> up to maxConcurrentRequests each, retried
 *   flush (when due) ─> metrics snapshot ─> metrics SignalExporter ─┘   over one OtlpTransport
 *
 * Spans and log records are encoded by our own writers (otlp/trace-encoder.ts,
 * otlp/logs-encoder.ts) straight from the assembled spans and event records,
 * behind each exporter's SignalCodec; `@opentelemetry/otlp-transformer` is
 * their oracle in tests (the metrics export still uses its serializer).
 * Batching, the queue, retries and accounting:
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
import type { MetricsSnapshot } from '../metric-region/metrics-snapshot.js';
import type { EventRecord, TraceRecord } from '../record/trace-record.js';
import { decodeExportResponse } from './otlp/export-response.js';
import { OtlpLogsEncoder } from './otlp/logs-encoder.js';
import { OtlpTraceEncoder } from './otlp/trace-encoder.js';
import { resolveOtlpConfig, resolveOtlpMetricsConfig, resourceFromEnvironment, type OtlpConfig, type OtlpProtocol, type OtlpSinkOptions } from './otlp-config.js';
import { metricsPartialSuccess, OtlpMetricsExport } from './otlp-metrics.js';
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

export { INCOMPLETE_ATTRIBUTE, INCOMPLETE_REASON_ATTRIBUTE } from './otlp/trace-encoder.js';

/** A codec from one of our encoders: the body, and the partial success the collector answered. */
function encoderCodec<Item>(
  encoder: { encode(batch: readonly Item[]): Uint8Array; release(body: Uint8Array): void },
  protocol: OtlpProtocol,
  signal: 'traces' | 'logs',
): SignalCodec<Item> {
  return {
    encode: (batch) => encoder.encode(batch),
    release: (body) => encoder.release(body),
    rejected: (body) => decodeExportResponse(body, protocol, signal),
  };
}

/**
 * One metrics snapshot per request, encoded by OtlpMetricsExport (which
 * keeps the delta state). Rejected data points are not exports, so only the
 * collector's message is kept.
 */
function metricsCodec(metricsExport: OtlpMetricsExport): SignalCodec<MetricsSnapshot> {
  return {
    encode(batch) {
      const request = metricsExport.encode(batch[0]!);
      if (request === undefined) throw new Error('no metric to send');
      return request.body;
    },
    rejected(body) {
      const { rejectedDataPoints: points, errorMessage } = metricsPartialSuccess(body, metricsExport.config.protocol);
      return { rejected: 0, errorMessage: points > 0 ? `${points} data points rejected${errorMessage === '' ? '' : `: ${errorMessage}`}` : errorMessage };
    },
  };
}

export class OtlpSink implements TraceSink {
  readonly config: OtlpConfig;
  /** The resource every export carries. */
  readonly resource: { readonly attributes: Readonly<Record<string, string | number | boolean>> };
  readonly #assembler: SpanAssembler;
  readonly #transport = new OtlpTransport();
  readonly #spans: SignalExporter<AssembledSpan>;
  readonly #logs: SignalExporter<EventRecord>;
  readonly #metrics: { export: OtlpMetricsExport; exporter: SignalExporter<MetricsSnapshot>; snapshot: () => MetricsSnapshot } | undefined;
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
    this.#assembler = new SpanAssembler((span) => this.#spans.push(span), config.assembler, 'otlp');
    const attributes = { ...(context.resource ?? resourceFromEnvironment(env)), ...config.resourceAttributes };
    if (config.serviceName !== undefined) attributes['service.name'] = config.serviceName;
    this.resource = { attributes };
    const limits: ExportLimits = config;
    this.#spans = new SignalExporter<AssembledSpan>(
      config.traces,
      encoderCodec(new OtlpTraceEncoder(attributes, config.traces.protocol), config.traces.protocol, 'traces'),
      limits,
      this.#transport,
    );
    this.#logs = new SignalExporter<EventRecord>(
      config.logs,
      encoderCodec(new OtlpLogsEncoder(attributes, config.logs.protocol), config.logs.protocol, 'logs'),
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
      if (this.config.exportEvents) this.#logs.push(record as EventRecord);
    }
  }

  /**
   * Backpressure (see `TraceSink.ready`): null while both the spans' and the
   * log records' queues are under half their bounds; else a promise that
   * resolves once they are.
   */
  ready(): Promise<void> | null {
    const spans = this.#spans.ready();
    const logs = this.#logs.ready();
    if (logs === null) return spans;
    if (spans === null) return logs;
    return Promise.all([spans, logs]).then(() => undefined);
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
}

const createOtlpSink: SinkFactory<OtlpSinkOptions | undefined> = (options, context) => new OtlpSink(options, context);
export default createOtlpSink;
