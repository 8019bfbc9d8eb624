/**
 * What the worker hands a sink when it reads the metrics regions
 * (`SinkContext.metrics()`): every instrument with its series' cumulative
 * values, as of one read.
 */
import type { MetricKind } from './layout.js';

export type { MetricKind };

/** An attribute value: a primitive or a homogeneous array. */
export type MetricAttributeValue = string | number | boolean | (string | number | boolean | null)[];

/** The instrumentation scope (meter) an instrument was made by. */
export interface MetricScope {
  name: string;
  version: string | undefined;
  schemaUrl: string | undefined;
}

/** A counter's, up-down counter's or gauge's series: its attributes and value. */
export interface NumberPoint {
  attributes: Readonly<Record<string, MetricAttributeValue>>;
  value: number;
}

/** A histogram's series. `buckets[i]` counts values in (boundaries[i-1], boundaries[i]]; the last is (last bound, +Inf). */
export interface HistogramPoint {
  attributes: Readonly<Record<string, MetricAttributeValue>>;
  /** Always the sum of `buckets`. */
  count: number;
  sum: number;
  /** Undefined while `count` is 0. */
  min: number | undefined;
  max: number | undefined;
  buckets: number[];
}

interface MetricBase {
  scope: MetricScope;
  name: string;
  description: string;
  unit: string;
  /** As the API's ValueType: `int` or `double`. */
  valueType: 'int' | 'double';
}

export interface NumberMetric extends MetricBase {
  kind: Exclude<MetricKind, 'histogram'>;
  points: NumberPoint[];
}

export interface HistogramMetric extends MetricBase {
  kind: 'histogram';
  boundaries: number[];
  points: HistogramPoint[];
}

export type MetricSnapshotEntry = NumberMetric | HistogramMetric;

export interface MetricsSnapshot {
  /** When recording began (ms since the epoch): the start of every cumulative series. */
  startTimeUnixMs: number;
  /** When the regions were read. */
  timeUnixMs: number;
  metrics: MetricSnapshotEntry[];
  /** Measurements routed to an overflow series (`otel.metric.overflow=true`) past an instrument's cardinality limit. */
  overflowed: number;
  /** Measurements ignored as bad input. */
  invalid: number;
  /** New series that found the region full and went to overflow instead. */
  seriesDropped: number;
}

/**
 * How often observable callbacks run and metrics are exported, in ms, unless
 * `OTEL_METRIC_EXPORT_INTERVAL` says otherwise: the SDK's default. Shared by
 * the recording side and the OTLP export.
 */
export const DEFAULT_METRIC_EXPORT_INTERVAL_MS = 60_000;

/** The attribute that marks an overflow series, as the OpenTelemetry SDK specification names it. */
export const OVERFLOW_ATTRIBUTE = 'otel.metric.overflow';
