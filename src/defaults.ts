/**
 * Every default of the dispatcher's options, in one place, each with the
 * environment variable that overrides it (where one does). An option given
 * to `TraceDispatcher.start()` wins over the variable, the variable over
 * the default. A sink's own options keep their defaults with the sink
 * (see docs/sinks.md).
 *
 * | option | default | variable |
 * | --- | --- | --- |
 * | `queueCapacity` | 16 MiB | `RINGTRACE_QUEUE_CAPACITY` (zero-code start) |
 * | `flushIntervalMs` | 100 | `RINGTRACE_FLUSH_INTERVAL_MS` (zero-code start) |
 * | `flushEveryRecords` | 1000 | |
 * | `maxStringLength` | 16384 | |
 * | `maxArrayLength` | 1024 | |
 * | `maxInternedStrings` | 16384 | |
 * | `maxOpenSpans` | 100,000 | |
 * | `sinkTimeoutMs` | 5000 | |
 * | `exitDrainTimeoutMs` | 2000 | |
 * | `maxWorkerRestarts` | 5 | |
 * | a sink's `filter` | `info` | |
 * | `serviceName` | `unknown_service:node` | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` |
 * | `sampler` | `parentbased_always_on` | `OTEL_TRACES_SAMPLER` |
 * | `samplerArg` | 1 | `OTEL_TRACES_SAMPLER_ARG` |
 * | `spanLimits.*CountLimit` | 128 | `OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT` / `OTEL_ATTRIBUTE_COUNT_LIMIT`, `OTEL_SPAN_EVENT_COUNT_LIMIT`, `OTEL_SPAN_LINK_COUNT_LIMIT`, `OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT`, `OTEL_LINK_ATTRIBUTE_COUNT_LIMIT` |
 * | `spanLimits.attributeValueLengthLimit` | unlimited | `OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT` / `OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT` |
 * | `spanLevel` | `info` | |
 */

/** Ring capacity in bytes: a typical record is 64–160 bytes, so this holds well over 100,000. */
export const DEFAULT_QUEUE_CAPACITY = 16 * 1024 * 1024;
/**
 * An attached worker thread's ring (`TraceDispatcher.attach()`): smaller
 * than the main thread's, as a process may run many such threads. 1 MiB
 * holds some 8,000 typical records.
 */
export const DEFAULT_ATTACHED_QUEUE_CAPACITY = 1024 * 1024;
/** How long `attach()` waits for a dispatcher to answer (ms). */
export const DEFAULT_ATTACH_TIMEOUT_MS = 5000;
/** The smallest and largest ring capacity. */
export const MIN_QUEUE_CAPACITY = 64 * 1024;
export const MAX_QUEUE_CAPACITY = 1024 * 1024 * 1024;
/** Flush every sink at least this often (ms); also how long a span is held before it is published. */
export const DEFAULT_FLUSH_INTERVAL_MS = 100;
/** …and after this many records. */
export const DEFAULT_FLUSH_EVERY_RECORDS = 1000;
/** Longest string value, in UTF-16 code units, before it is cut with a marker. */
export const DEFAULT_MAX_STRING_LENGTH = 16 * 1024;
/** Most elements kept of one array value. */
export const DEFAULT_MAX_ARRAY_LENGTH = 1024;
/** Strings interned per ring; past it they travel inline. */
export const DEFAULT_MAX_INTERNED_STRINGS = 16_384;
/** Spans open at once in the worker; the oldest is evicted past it. */
export const DEFAULT_MAX_OPEN_SPANS = 100_000;
/** A sink's flush or close slower than this (ms) is abandoned and counted failed. */
export const DEFAULT_SINK_TIMEOUT_MS = 5000;
/**
 * The longest the worker holds a ring's drain for one sink that says it is
 * full (`TraceSink.ready`) before it goes on without it. Short, because every
 * other sink waits too, and the ring fills meanwhile: at 200,000 spans/s some
 * 5 MiB of a 16 MiB ring in 100 ms.
 */
export const DEFAULT_SINK_READY_WAIT_MS = 100;
/** How long an exiting process waits, at most, for the worker's final drain and flush (ms). */
export const DEFAULT_EXIT_DRAIN_TIMEOUT_MS = 2000;
/** Consecutive worker deaths after which the dispatcher stops respawning it. */
export const DEFAULT_MAX_WORKER_RESTARTS = 5;
/** A sink's filter when its spec gives none. */
export const DEFAULT_SINK_FILTER = 'info';
/** The OpenTelemetry SDK's default for every span count limit. */
export const DEFAULT_SPAN_COUNT_LIMIT = 128;
