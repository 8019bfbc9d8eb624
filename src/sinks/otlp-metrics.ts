/**
 * The application's metrics as an OTLP `ExportMetricsServiceRequest`, for
 * an exporter posting to `/v1/metrics` (the `otlp` sink). It turns a
 * MetricsSnapshot into the SDK's ResourceMetrics shape and encodes it with
 * OpenTelemetry's own serializers (`ProtobufMetricsSerializer`,
 * `JsonMetricsSerializer`), so the bytes are the SDK exporter's bytes.
 *
 *   SinkContext.metrics() ─► MetricsSnapshot ─► OtlpMetricsExport.encode()
 *                         (cumulative, or delta against the last export) ─► body for POST /v1/metrics
 *
 * Temporality, as `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE` names
 * it: `cumulative` (default) for everything; `delta` for counters,
 * observable counters and histograms (up-down counters stay cumulative);
 * `lowmemory` for counters and histograms only. A delta point covers the
 * time since the previous `encode()`; the state behind it lives in this
 * object, so a respawned worker starts its deltas from a full cumulative
 * value once (reported as a delta from the process start).
 *
 * Its configuration (options and `OTEL_*` variables) is resolved by
 * `resolveOtlpMetricsConfig` in otlp-config.ts.
 */
import { createRequire } from 'node:module';
import type { HrTime } from '@opentelemetry/api';
import type { Resource } from '@opentelemetry/resources';
import type { AggregationTemporality, DataPointType, MetricData, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import type { HistogramPoint, MetricSnapshotEntry, MetricsSnapshot, NumberPoint } from '../metric-region/metrics-snapshot.js';
import type { MetricsTemporalityPreference, OtlpMetricsConfig } from './otlp-config.js';

// The SDK's enum values, spelled here so that this module needs sdk-metrics for its types only (test/otlp-metrics checks them).
const DELTA = 0 as AggregationTemporality.DELTA;
const CUMULATIVE = 1 as AggregationTemporality.CUMULATIVE;
const HISTOGRAM = 0 as DataPointType.HISTOGRAM;
const GAUGE = 2 as DataPointType.GAUGE;
const SUM = 3 as DataPointType.SUM;
/** @internal for the test that checks them against the SDK. */
export const SDK_ENUM_VALUES = { DELTA, CUMULATIVE, HISTOGRAM, GAUGE, SUM };

/** Whether an instrument kind exports as delta under a temporality preference (the SDK's selectors). */
export function isDelta(kind: MetricSnapshotEntry['kind'], preference: MetricsTemporalityPreference): boolean {
  if (preference === 'cumulative') return false;
  if (kind === 'counter' || kind === 'histogram') return true;
  return preference === 'delta' && kind === 'observableCounter';
}

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  return [seconds, Math.round((ms - seconds * 1000) * 1e6)];
}

interface Previous {
  timeMs: number;
  value: number;
  count: number;
  sum: number;
  buckets: number[];
}

/** The request body and its content type. */
export interface OtlpMetricsRequest {
  body: Uint8Array;
  contentType: 'application/x-protobuf' | 'application/json';
}

interface MetricsSdk {
  api: typeof import('@opentelemetry/api');
  transformer: typeof import('@opentelemetry/otlp-transformer');
  resources: typeof import('@opentelemetry/resources');
}

let sdk: MetricsSdk | undefined;

/**
 * The SDK modules the metrics export uses, loaded by the first one: a worker
 * that exports no metrics does not hold them (~5 MiB of its memory). They are
 * CommonJS, so `require` loads them synchronously.
 */
function metricsSdk(): MetricsSdk {
  if (sdk === undefined) {
    const load = createRequire(import.meta.url);
    sdk = { api: load('@opentelemetry/api'), transformer: load('@opentelemetry/otlp-transformer'), resources: load('@opentelemetry/resources') };
  }
  return sdk;
}

/** The collector's answer to a metrics export: the data points it rejected and its message. */
export function metricsPartialSuccess(body: Uint8Array, protocol: OtlpMetricsConfig['protocol']): { rejectedDataPoints: number; errorMessage: string } {
  const { JsonMetricsSerializer, ProtobufMetricsSerializer } = metricsSdk().transformer;
  const serializer = protocol === 'http/json' ? JsonMetricsSerializer : ProtobufMetricsSerializer;
  const partial = (serializer.deserializeResponse(body) as { partialSuccess?: Record<string, unknown> } | undefined)?.partialSuccess;
  return { rejectedDataPoints: Number(partial?.rejectedDataPoints ?? 0), errorMessage: typeof partial?.errorMessage === 'string' ? partial.errorMessage : '' };
}

export class OtlpMetricsExport {
  readonly config: OtlpMetricsConfig;
  readonly #resource: Resource;
  /** Per series, what the last export reported (delta temporality only). */
  readonly #previous = new Map<string, Previous>();
  #lastExportMs: number | undefined;

  constructor(config: OtlpMetricsConfig, resource: Readonly<Record<string, string | number | boolean>>) {
    this.config = config;
    this.#resource = metricsSdk().resources.resourceFromAttributes({ ...resource });
  }

  /** Whether `exportIntervalMs` has passed since the last `encode()` (true before the first). */
  due(now = Date.now()): boolean {
    return this.#lastExportMs === undefined || now - this.#lastExportMs >= this.config.exportIntervalMs;
  }

  /** The snapshot as an OTLP request body, or undefined when there is no metric to send. */
  encode(snapshot: MetricsSnapshot): OtlpMetricsRequest | undefined {
    const request = this.toResourceMetrics(snapshot);
    if (request.scopeMetrics.length === 0) return undefined;
    const { JsonMetricsSerializer, ProtobufMetricsSerializer } = metricsSdk().transformer;
    if (this.config.protocol === 'http/json') return { body: JsonMetricsSerializer.serializeRequest(request)!, contentType: 'application/json' };
    return { body: ProtobufMetricsSerializer.serializeRequest(request)!, contentType: 'application/x-protobuf' };
  }

  /** The snapshot in the SDK's ResourceMetrics shape (advancing the delta state). */
  toResourceMetrics(snapshot: MetricsSnapshot): ResourceMetrics {
    const now = snapshot.timeUnixMs;
    const start = snapshot.startTimeUnixMs;
    const scopes = new Map<string, ScopeMetrics>();
    for (const metric of snapshot.metrics) {
      if (metric.points.length === 0) continue;
      const scopeKey = JSON.stringify([metric.scope.name, metric.scope.version ?? '', metric.scope.schemaUrl ?? '']);
      let scope = scopes.get(scopeKey);
      if (scope === undefined) {
        scope = { scope: { name: metric.scope.name, version: metric.scope.version, schemaUrl: metric.scope.schemaUrl }, metrics: [] };
        scopes.set(scopeKey, scope);
      }
      scope.metrics.push(this.#metric(metric, start, now, scopeKey));
    }
    this.#lastExportMs = now;
    return { resource: this.#resource, scopeMetrics: [...scopes.values()] };
  }

  #metric(metric: MetricSnapshotEntry, start: number, now: number, scopeKey: string): MetricData {
    const { ValueType } = metricsSdk().api;
    const descriptor = { name: metric.name, description: metric.description, unit: metric.unit, valueType: metric.valueType === 'int' ? ValueType.INT : ValueType.DOUBLE };
    const delta = isDelta(metric.kind, this.config.temporality);
    const temporality = delta ? DELTA : CUMULATIVE;
    const endTime = hrTime(now);
    const seriesKey = (attributes: object): string => `${scopeKey}\u0000${metric.name}\u0000${metric.kind}\u0000${JSON.stringify(attributes)}`;
    if (metric.kind === 'histogram') {
      return {
        descriptor,
        aggregationTemporality: temporality,
        dataPointType: HISTOGRAM,
        dataPoints: metric.points.map((p: HistogramPoint) => {
          let { count, sum, buckets } = p;
          let from = start;
          let min = p.min;
          let max = p.max;
          if (delta) {
            const key = seriesKey(p.attributes);
            const prev = this.#previous.get(key);
            this.#previous.set(key, { timeMs: now, value: 0, count: p.count, sum: p.sum, buckets: [...p.buckets] });
            if (prev !== undefined && prev.count <= p.count) {
              count = p.count - prev.count;
              sum = p.sum - prev.sum;
              buckets = p.buckets.map((b, i) => b - (prev.buckets[i] ?? 0));
              from = prev.timeMs;
              // Min and max are over all time, not this interval: left out of a later delta.
              min = undefined;
              max = undefined;
            }
          }
          return {
            startTime: hrTime(from),
            endTime,
            attributes: { ...p.attributes },
            value: { buckets: { boundaries: [...metric.boundaries], counts: buckets }, count, sum, min, max },
          };
        }),
      };
    }
    const number = (p: NumberPoint): number => (metric.valueType === 'int' ? Math.trunc(p.value) : p.value);
    if (metric.kind === 'gauge' || metric.kind === 'observableGauge') {
      return { descriptor, aggregationTemporality: CUMULATIVE, dataPointType: GAUGE, dataPoints: metric.points.map((p) => ({ startTime: hrTime(start), endTime, attributes: { ...p.attributes }, value: number(p) })) };
    }
    return {
      descriptor,
      aggregationTemporality: temporality,
      dataPointType: SUM,
      isMonotonic: metric.kind === 'counter' || metric.kind === 'observableCounter',
      dataPoints: metric.points.map((p) => {
        let value = number(p);
        let from = start;
        if (delta) {
          const key = seriesKey(p.attributes);
          const prev = this.#previous.get(key);
          this.#previous.set(key, { timeMs: now, value, count: 0, sum: 0, buckets: [] });
          if (prev !== undefined && prev.value <= value) {
            value -= prev.value;
            from = prev.timeMs;
          }
        }
        return { startTime: hrTime(from), endTime, attributes: { ...p.attributes }, value };
      }),
    };
  }
}
