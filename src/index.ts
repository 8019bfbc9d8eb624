/**
 * ringtrace: a worker-thread trace dispatcher for Node.js.
 *
 * Spans (OpenTelemetry API), pino lines and structured events become compact
 * binary records in a SharedArrayBuffer ring (metrics: counters and histograms
 * updated in place in a shared-memory region); a worker thread drains the ring
 * and fans records out to sinks, each with its own target/level filter.
 * The producing thread never blocks: a full ring drops and counts.
 *
 * @packageDocumentation
 */
export { TraceDispatcher, type DispatcherStats } from './dispatcher.js';
export type { AttachedThread, AttachOptions } from './threads/attach.js';
export type { ThreadStats } from './control/control-protocol.js';
export { type DispatcherOptions, BUILTIN_SINKS } from './options.js';
export {
  DEFAULT_QUEUE_CAPACITY,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_FLUSH_EVERY_RECORDS,
  DEFAULT_SINK_TIMEOUT_MS,
  DEFAULT_EXIT_DRAIN_TIMEOUT_MS,
  DEFAULT_MAX_WORKER_RESTARTS,
  DEFAULT_SINK_FILTER,
  DEFAULT_MAX_STRING_LENGTH,
  DEFAULT_MAX_ARRAY_LENGTH,
  DEFAULT_MAX_INTERNED_STRINGS,
  DEFAULT_MAX_OPEN_SPANS,
  DEFAULT_SPAN_COUNT_LIMIT,
  DEFAULT_ATTACHED_QUEUE_CAPACITY,
  DEFAULT_ATTACH_TIMEOUT_MS,
} from './defaults.js';
// Made by the dispatcher (their constructors are internal): published as types.
export type { EventLogger, EventFields } from './capture/event-logger.js';
export type { RingTracerProvider } from './capture/ring-tracer-provider.js';
export type { RingTracer } from './capture/ring-tracer.js';
export type { RingSpan } from './capture/ring-span.js';
export type { RingMeterProvider, MeterProviderStats } from './metrics/ring-meter-provider.js';
export {
  type MetricsOptions,
  DEFAULT_CARDINALITY_LIMIT,
  DEFAULT_HISTOGRAM_BOUNDARIES,
  DEFAULT_METRIC_EXPORT_INTERVAL_MS,
  METRICS_WARNING_CODE,
} from './metrics/metrics-config.js';
export {
  OVERFLOW_ATTRIBUTE,
  type MetricsSnapshot,
  type MetricSnapshotEntry,
  type NumberMetric,
  type HistogramMetric,
  type NumberPoint,
  type HistogramPoint,
  type MetricScope,
  type MetricKind,
  type MetricAttributeValue,
} from './metric-region/metrics-snapshot.js';
export type { OtlpMetricsOptions, MetricsTemporalityPreference } from './sinks/otlp-config.js';
export type { RingLoggerProvider } from './capture/ring-logger-provider.js';
export type { RingLogger } from './capture/ring-logger.js';
export { severityLevel } from './capture/ring-logger.js';
export { StrictTraceContextPropagator, parseTraceState, traceStateViolation, MAX_TRACESTATE_MEMBERS } from './capture/strict-trace-context-propagator.js';
export { INSTALL_WARNING_CODE, defaultPropagator, type InstallOptions } from './capture/install.js';
export { tracedPool, tracedTask, type RunnablePool, type PoolRunOptions } from './capture/piscina-context.js';
export type { PinoDestination } from './capture/pino-destination.js';
export type { ResourceAttributes } from './capture/resource.js';
export { SAMPLER_NAMES, DEFAULT_SAMPLER, type SamplerName, type SpanLimits } from './capture/span-config.js';
export { TargetFilter, type TargetDirective } from './filter/target-filter.js';
export type { LevelName, FilterLevelName } from './filter/levels.js';
export { FilterSyntaxError, SinkError, DispatcherStateError, AttachError, ERROR_CODES, type RingtraceErrorCode } from './errors.js';
export type {
  TraceSink,
  SinkFactory,
  SinkContext,
  SinkSpec,
  BuiltinSinkSpec,
  ModuleSinkSpec,
  BuiltinSinkName,
} from './sinks/trace-sink.js';
export type {
  TraceRecord,
  SpanRecord,
  EventRecord,
  LogBody,
  SpanStartRecord,
  SpanAttributesRecord,
  SpanEventRecord,
  SpanLinkRecord,
  SpanStatusRecord,
  SpanNameRecord,
  SpanEndRecord,
  SpanInfo,
  ThreadInfo,
  Fields,
  FieldValue,
  FieldPrimitive,
} from './record/trace-record.js';
export { MIN_QUEUE_CAPACITY, MAX_QUEUE_CAPACITY } from './defaults.js';
export type { MemorySinkContents, MemorySinkOptions } from './sinks/memory-sink.js';
export type { NdjsonSinkOptions } from './sinks/ndjson-sink.js';
export type { PrometheusSinkOptions, PrometheusSinkInspection } from './sinks/prometheus-sink.js';
export type { ChromeTraceSinkOptions, ChromeTraceSinkInspection, ChromeTraceLanes } from './sinks/chrome-trace-sink.js';
export type { PinoSinkOptions } from './sinks/pino-sink.js';
export type { DispatcherHealth, SinkHealth } from './sinks/dispatcher-health.js';
export type { SinkStats } from '../workers/sink-slot.js';
export type { DrainStats } from '../workers/drain-loop.js';
