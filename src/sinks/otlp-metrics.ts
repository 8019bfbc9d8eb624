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
 * Configuration: an option, else the metrics-specific variable, else the
 * generic one, else the default (OpenTelemetry exporter specification):
 * `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT` (used as is) or
 * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/metrics`; `..._HEADERS`, `..._TIMEOUT`,
 * `..._COMPRESSION`, `..._PROTOCOL`; `OTEL_METRIC_EXPORT_INTERVAL` (default
 * 60000 ms) and `OTEL_METRIC_EXPORT_TIMEOUT` (default 30000 ms).
 */
import type { HrTime } from '@opentelemetry/api';
import { ValueType } from '@opentelemetry/api';
import { JsonMetricsSerializer, ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { AggregationTemporality, DataPointType, MetricData, ResourceMetrics, ScopeMetrics } from '@opentelemetry/sdk-metrics';
import { invalidOptionRange, invalidOptionType } from '../errors.js';
import { DEFAULT_METRIC_EXPORT_INTERVAL_MS, type HistogramPoint, type MetricSnapshotEntry, type MetricsSnapshot, type NumberPoint } from '../metric-region/metrics-snapshot.js';
import { DEFAULT_OTLP_ENDPOINT, parseEndpoint, parseKeyValueList, type OtlpCompression, type OtlpProtocol } from './otlp-config.js';

// The SDK's enum values, spelled here so that this module needs sdk-metrics for its types only (test/otlp-metrics checks them).
const DELTA = 0 as AggregationTemporality.DELTA;
const CUMULATIVE = 1 as AggregationTemporality.CUMULATIVE;
const HISTOGRAM = 0 as DataPointType.HISTOGRAM;
const GAUGE = 2 as DataPointType.GAUGE;
const SUM = 3 as DataPointType.SUM;
/** @internal for the test that checks them against the SDK. */
export const SDK_ENUM_VALUES = { DELTA, CUMULATIVE, HISTOGRAM, GAUGE, SUM };

export type MetricsTemporalityPreference = 'cumulative' | 'delta' | 'lowmemory';

/** Options of the metrics export (for the `otlp` sink's `metrics` option). Every field is optional. */
export interface OtlpMetricsOptions {
  /** Full URL, or `unix:///path/to/socket` for `/v1/metrics` over it. Env `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/metrics`. Default `http://localhost:4318/v1/metrics`. */
  endpoint?: string;
  /** Env `OTEL_EXPORTER_OTLP_METRICS_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL`. Default `http/protobuf`. */
  protocol?: OtlpProtocol;
  /** Merged over `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_METRICS_HEADERS`. */
  headers?: Record<string, string>;
  /** Per-request timeout in ms. Env `OTEL_EXPORTER_OTLP_METRICS_TIMEOUT`, `OTEL_EXPORTER_OTLP_TIMEOUT`. Default 10000. */
  timeoutMs?: number;
  /** Env `OTEL_EXPORTER_OTLP_METRICS_COMPRESSION`, `OTEL_EXPORTER_OTLP_COMPRESSION`. Default `none`. */
  compression?: OtlpCompression;
  /** Env `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`. Default `cumulative`. */
  temporality?: MetricsTemporalityPreference;
  /** How often to export, in ms. Env `OTEL_METRIC_EXPORT_INTERVAL`. Default 60000. */
  exportIntervalMs?: number;
  /** How long one export may take, in ms. Env `OTEL_METRIC_EXPORT_TIMEOUT`. Default 30000. */
  exportTimeoutMs?: number;
}

export interface OtlpMetricsConfig {
  url: URL;
  /** The Unix domain socket requests travel over, if any. */
  socketPath: string | undefined;
  endpoint: string;
  headers: Record<string, string>;
  timeoutMs: number;
  compression: OtlpCompression;
  protocol: OtlpProtocol;
  temporality: MetricsTemporalityPreference;
  exportIntervalMs: number;
  exportTimeoutMs: number;
}

export const DEFAULT_OTLP_METRICS_ENDPOINT = 'http://localhost:4318/v1/metrics';
export const DEFAULT_METRIC_EXPORT_TIMEOUT_MS = 30_000;
const DEFAULT_TIMEOUT_MS = 10_000;

type Env = Readonly<Record<string, string | undefined>>;

const KNOWN = new Set(['endpoint', 'protocol', 'headers', 'timeoutMs', 'compression', 'temporality', 'exportIntervalMs', 'exportTimeoutMs']);

function envValue(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** The option, else the first environment variable set: with where it came from, for error messages. */
function pick(option: string, value: unknown, env: Env, names: string[]): { where: string; value: unknown } | undefined {
  if (value !== undefined) return { where: `otlp.metrics.${option}`, value };
  for (const name of names) {
    const v = envValue(env, name);
    if (v !== undefined) return { where: `environment variable ${name}`, value: v };
  }
  return undefined;
}

function milliseconds(p: { where: string; value: unknown } | undefined, fallback: number): number {
  if (p === undefined) return fallback;
  // Environment variables are strings; an option must be a number.
  const n = typeof p.value === 'string' && p.where.startsWith('environment') ? Number(p.value) : p.value;
  if (typeof n !== 'number') throw invalidOptionType(p.where, 'a number of milliseconds', p.value);
  if (!Number.isFinite(n) || n <= 0) throw invalidOptionRange(p.where, 'a positive number of milliseconds', p.value);
  return n;
}

/** Validate the options, read the environment, fill in defaults. */
/** @param socketPath the `otlp` sink's `socketPath` option, for an http(s) endpoint. */
export function resolveOtlpMetricsConfig(options?: unknown, env: Env = process.env, socketPath?: string): OtlpMetricsConfig {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidOptionType('otlp.metrics', 'an options object', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw invalidOptionRange('otlp.metrics', `one of the options ${[...KNOWN].join(', ')}`, key);
  }
  const o = options as OtlpMetricsOptions;
  const given = pick('endpoint', o.endpoint, env, ['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT']);
  const generic = envValue(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  let endpoint =
    given !== undefined
      ? parseEndpoint(given.where, given.value, '/v1/metrics', false)
      : parseEndpoint('environment variable OTEL_EXPORTER_OTLP_ENDPOINT', generic ?? DEFAULT_OTLP_ENDPOINT, '/v1/metrics', true);
  if (endpoint.socketPath === undefined && socketPath !== undefined) endpoint = { ...endpoint, socketPath };

  const headers: Record<string, string> = {};
  for (const name of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_METRICS_HEADERS']) {
    const v = envValue(env, name);
    if (v !== undefined) Object.assign(headers, parseKeyValueList(name, v));
  }
  if (o.headers !== undefined) {
    if (o.headers === null || typeof o.headers !== 'object' || Array.isArray(o.headers)) throw invalidOptionType('otlp.metrics.headers', 'an object of header strings', o.headers);
    for (const [k, v] of Object.entries(o.headers)) {
      if (typeof v !== 'string') throw invalidOptionType(`otlp.metrics.headers.${k}`, 'a string', v);
      headers[k] = v;
    }
  }

  const protocol = pick('protocol', o.protocol, env, ['OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', 'OTEL_EXPORTER_OTLP_PROTOCOL']);
  if (protocol !== undefined && protocol.value !== 'http/protobuf' && protocol.value !== 'http/json') {
    throw invalidOptionRange(protocol.where, "'http/protobuf' or 'http/json' (grpc is not supported)", protocol.value);
  }
  const compression = pick('compression', o.compression, env, ['OTEL_EXPORTER_OTLP_METRICS_COMPRESSION', 'OTEL_EXPORTER_OTLP_COMPRESSION']);
  if (compression !== undefined && compression.value !== 'gzip' && compression.value !== 'none') throw invalidOptionRange(compression.where, "'gzip' or 'none'", compression.value);
  const temporality = pick('temporality', o.temporality, env, ['OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE']);
  const t = typeof temporality?.value === 'string' ? temporality.value.toLowerCase() : temporality?.value;
  if (temporality !== undefined && t !== 'cumulative' && t !== 'delta' && t !== 'lowmemory') {
    throw invalidOptionRange(temporality.where, "'cumulative', 'delta' or 'lowmemory'", temporality.value);
  }
  return {
    ...endpoint,
    headers,
    timeoutMs: milliseconds(pick('timeoutMs', o.timeoutMs, env, ['OTEL_EXPORTER_OTLP_METRICS_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT']), DEFAULT_TIMEOUT_MS),
    compression: (compression?.value as OtlpCompression | undefined) ?? 'none',
    protocol: (protocol?.value as OtlpProtocol | undefined) ?? 'http/protobuf',
    temporality: (t as MetricsTemporalityPreference | undefined) ?? 'cumulative',
    exportIntervalMs: milliseconds(pick('exportIntervalMs', o.exportIntervalMs, env, ['OTEL_METRIC_EXPORT_INTERVAL']), DEFAULT_METRIC_EXPORT_INTERVAL_MS),
    exportTimeoutMs: milliseconds(pick('exportTimeoutMs', o.exportTimeoutMs, env, ['OTEL_METRIC_EXPORT_TIMEOUT']), DEFAULT_METRIC_EXPORT_TIMEOUT_MS),
  };
}

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

export class OtlpMetricsExport {
  readonly config: OtlpMetricsConfig;
  readonly #resource: ReturnType<typeof resourceFromAttributes>;
  /** Per series, what the last export reported (delta temporality only). */
  readonly #previous = new Map<string, Previous>();
  #lastExportMs: number | undefined;

  constructor(config: OtlpMetricsConfig, resource: Readonly<Record<string, string | number | boolean>>) {
    this.config = config;
    this.#resource = resourceFromAttributes({ ...resource });
  }

  /** Whether `exportIntervalMs` has passed since the last `encode()` (true before the first). */
  due(now = Date.now()): boolean {
    return this.#lastExportMs === undefined || now - this.#lastExportMs >= this.config.exportIntervalMs;
  }

  /** The snapshot as an OTLP request body, or undefined when there is no metric to send. */
  encode(snapshot: MetricsSnapshot): OtlpMetricsRequest | undefined {
    const request = this.toResourceMetrics(snapshot);
    if (request.scopeMetrics.length === 0) return undefined;
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
