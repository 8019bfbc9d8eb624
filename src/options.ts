/**
 * Dispatcher options: defaults as named constants in one place, and the
 * validation that turns a bad value into a TypeError or RangeError naming
 * the option and the value.
 */
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { invalidOptionRange, invalidOptionType } from './errors.js';
import { TargetFilter } from './filter/target-filter.js';
import { LEVEL_INFO, LEVEL_OFF, parseFilterLevel, type LevelName } from './filter/levels.js';
import { buildResource, type ResourceAttributes } from './capture/resource.js';
import {
  resolveSampler,
  resolveSpanLimits,
  type ResolvedSpanLimits,
  type SamplerConfig,
  type SamplerName,
  type SpanLimits,
} from './capture/span-config.js';
import {
  DEFAULT_EXIT_DRAIN_TIMEOUT_MS,
  DEFAULT_FLUSH_EVERY_RECORDS,
  DEFAULT_FLUSH_INTERVAL_MS,
  DEFAULT_MAX_ARRAY_LENGTH,
  DEFAULT_MAX_INTERNED_STRINGS,
  DEFAULT_MAX_OPEN_SPANS,
  DEFAULT_MAX_STRING_LENGTH,
  DEFAULT_MAX_WORKER_RESTARTS,
  DEFAULT_QUEUE_CAPACITY as DEFAULT_CAPACITY,
  DEFAULT_SINK_FILTER,
  DEFAULT_SINK_TIMEOUT_MS,
  MAX_QUEUE_CAPACITY as MAX_CAPACITY,
  MIN_QUEUE_CAPACITY as MIN_CAPACITY,
} from './defaults.js';
import type { SinkSpec } from './sinks/trace-sink.js';
import { BUILTIN_SINKS } from './sinks/builtin-sinks.js';
import type { ResolvedSinkSpec } from './control/control-protocol.js';
import type { WorkerResourceLimits } from './worker-supervisor.js';
import { resolveMetricsOptions, type MetricsOptions, type ResolvedMetricsOptions } from './metrics/metrics-config.js';


export { BUILTIN_SINKS };

/** Options of `TraceDispatcher.start()`. */
export interface DispatcherOptions {
  /** Sinks to start with. More can be added with `addSink`. */
  sinks?: SinkSpec[];
  /**
   * Ring capacity in bytes: a power of two from 64 KiB to 1 GiB. Default
   * 16 MiB, which holds well over 100,000 typical records.
   */
  queueCapacity?: number;
  /** Flush every sink at least this often, in milliseconds. Default 100. */
  flushIntervalMs?: number;
  /** Flush every sink after this many records. Default 1000. */
  flushEveryRecords?: number;
  /** Longer string values are truncated with a `…[truncated N]` marker. Default 16384. */
  maxStringLength?: number;
  /** Array values are cut to this many elements. Default 1024. */
  maxArrayLength?: number;
  /** Cap on interned strings; past it strings travel inline. Default 16384. */
  maxInternedStrings?: number;
  /** Cap on spans open at once in the worker; the oldest is evicted. Default 100,000. */
  maxOpenSpans?: number;
  /** A sink flush or close slower than this is abandoned and counted failed. Default 5000 ms. */
  sinkTimeoutMs?: number;
  /**
   * At process exit (`process.exit()`, an uncaught exception, SIGTERM/SIGINT
   * with no listener of the application's, or a natural end) the main thread
   * blocks until the worker has drained the ring and flushed every sink, for
   * at most this many milliseconds. 0 skips the exit drain. Default 2000.
   */
  exitDrainTimeoutMs?: number;
  /**
   * A worker that dies (a sink throwing asynchronously, calling
   * `process.exit()`, running out of memory) is respawned with backoff; after
   * this many consecutive deaths the dispatcher gives up and counts drops.
   * Default 5.
   */
  maxWorkerRestarts?: number;
  /** Memory limits of the worker thread (`worker_threads` `resourceLimits`, in MB). Default: Node's. */
  workerResourceLimits?: WorkerResourceLimits;
  /** `service.name` of the resource; else `OTEL_SERVICE_NAME`. See src/capture/resource.ts. */
  serviceName?: string;
  /** More resource attributes (over `OTEL_RESOURCE_ATTRIBUTES`). */
  resourceAttributes?: Record<string, string | number | boolean>;
  /** Sampler, as `OTEL_TRACES_SAMPLER` names them. Default `parentbased_always_on`. */
  sampler?: SamplerName;
  /** Ratio for the `traceidratio` samplers, 0 to 1; else `OTEL_TRACES_SAMPLER_ARG`. Default 1. */
  samplerArg?: number;
  /** Span limits; defaults and environment variables as the OpenTelemetry SDK. See src/capture/span-config.ts. */
  spanLimits?: SpanLimits;
  /** The level of every span, for sink filters and the level hint. Default `info`. */
  spanLevel?: LevelName;
  /** The meter provider's limits and observable interval. See src/metrics/metrics-config.ts and docs/metrics.md. */
  metrics?: MetricsOptions;
}

export interface ResolvedOptions {
  sinks: ResolvedSinkSpec[];
  queueCapacity: number;
  flushIntervalMs: number;
  flushEveryRecords: number;
  maxStringLength: number;
  maxArrayLength: number;
  maxInternedStrings: number;
  maxOpenSpans: number;
  sinkTimeoutMs: number;
  exitDrainTimeoutMs: number;
  maxWorkerRestarts: number;
  workerResourceLimits: WorkerResourceLimits | undefined;
  resource: ResourceAttributes;
  sampler: SamplerConfig;
  spanLimits: ResolvedSpanLimits;
  spanLevel: number;
  metrics: ResolvedMetricsOptions;
}

function positiveNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidOptionType(name, 'a number', value);
  if (!Number.isFinite(value) || value <= 0) throw invalidOptionRange(name, 'a positive finite number', value);
  return value;
}

function integerAtLeast(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidOptionType(name, 'an integer', value);
  if (!Number.isSafeInteger(value) || value < min) throw invalidOptionRange(name, `an integer >= ${min}`, value);
  return value;
}

/** Validate `queueCapacity`: a power of two between 64 KiB and 1 GiB. */
export function validateQueueCapacity(value: unknown, fallback: number = DEFAULT_CAPACITY): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidOptionType('queueCapacity', 'a number of bytes', value);
  if (!Number.isInteger(value) || value < MIN_CAPACITY || value > MAX_CAPACITY || (value & (value - 1)) !== 0) {
    throw invalidOptionRange('queueCapacity', `a power of two from ${MIN_CAPACITY} (64 KiB) to ${MAX_CAPACITY} (1 GiB)`, value);
  }
  return value;
}

const RESOURCE_LIMIT_KEYS = ['maxOldGenerationSizeMb', 'maxYoungGenerationSizeMb', 'codeRangeSizeMb', 'stackSizeMb'] as const;

/** Validate `workerResourceLimits`: an object of positive numbers of megabytes under the keys `worker_threads` knows. */
export function validateResourceLimits(value: unknown): WorkerResourceLimits | undefined {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object') throw invalidOptionType('workerResourceLimits', 'an object', value);
  const out: WorkerResourceLimits = {};
  for (const [key, v] of Object.entries(value)) {
    if (!(RESOURCE_LIMIT_KEYS as readonly string[]).includes(key)) {
      throw invalidOptionRange('workerResourceLimits', `an object with keys among ${RESOURCE_LIMIT_KEYS.join(', ')}`, key);
    }
    out[key as (typeof RESOURCE_LIMIT_KEYS)[number]] = positiveNumber(`workerResourceLimits.${key}`, v, 0);
  }
  return out;
}

/** Validate every option and fill in defaults. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw invalidOptionType('options', 'an object', options);
  const o = options as DispatcherOptions;
  const sinks = o.sinks ?? [];
  if (!Array.isArray(sinks)) throw invalidOptionType('sinks', 'an array of sink specs', sinks);
  const resolved = sinks.map((spec, i) => resolveSinkSpec(spec, `sinks[${i}]`));
  const names = new Set<string>();
  for (const s of resolved) {
    if (names.has(s.name)) throw invalidOptionRange('sinks', 'sink specs with unique names', s.name);
    names.add(s.name);
  }
  return {
    sinks: resolved,
    queueCapacity: validateQueueCapacity(o.queueCapacity),
    flushIntervalMs: positiveNumber('flushIntervalMs', o.flushIntervalMs, DEFAULT_FLUSH_INTERVAL_MS),
    flushEveryRecords: integerAtLeast('flushEveryRecords', o.flushEveryRecords, DEFAULT_FLUSH_EVERY_RECORDS, 1),
    maxStringLength: integerAtLeast('maxStringLength', o.maxStringLength, DEFAULT_MAX_STRING_LENGTH, 16),
    maxArrayLength: integerAtLeast('maxArrayLength', o.maxArrayLength, DEFAULT_MAX_ARRAY_LENGTH, 1),
    maxInternedStrings: integerAtLeast('maxInternedStrings', o.maxInternedStrings, DEFAULT_MAX_INTERNED_STRINGS, 0),
    maxOpenSpans: integerAtLeast('maxOpenSpans', o.maxOpenSpans, DEFAULT_MAX_OPEN_SPANS, 1),
    sinkTimeoutMs: positiveNumber('sinkTimeoutMs', o.sinkTimeoutMs, DEFAULT_SINK_TIMEOUT_MS),
    resource: buildResource(o.serviceName, o.resourceAttributes),
    sampler: resolveSampler(o.sampler, o.samplerArg),
    spanLimits: resolveSpanLimits(o.spanLimits),
    spanLevel: resolveSpanLevel(o.spanLevel),
    exitDrainTimeoutMs: integerAtLeast('exitDrainTimeoutMs', o.exitDrainTimeoutMs, DEFAULT_EXIT_DRAIN_TIMEOUT_MS, 0),
    maxWorkerRestarts: integerAtLeast('maxWorkerRestarts', o.maxWorkerRestarts, DEFAULT_MAX_WORKER_RESTARTS, 0),
    workerResourceLimits: validateResourceLimits(o.workerResourceLimits),
    metrics: resolveMetricsOptions(o.metrics),
  };
}

function resolveSpanLevel(value: unknown): number {
  if (value === undefined) return LEVEL_INFO;
  const level = typeof value === 'string' ? parseFilterLevel(value) : undefined;
  if (level === undefined || level === LEVEL_OFF) throw invalidOptionRange('spanLevel', 'one of trace, debug, info, warn, error', value);
  return level;
}

/** Validate one sink spec; a module path is resolved against `process.cwd()`. */
export function resolveSinkSpec(spec: unknown, where = 'sink'): ResolvedSinkSpec {
  if (spec === null || typeof spec !== 'object') throw invalidOptionType(where, 'a sink spec object', spec);
  const s = spec as Partial<SinkSpec> & { sink?: unknown; module?: unknown };
  if (typeof s.name !== 'string' || s.name === '') throw invalidOptionType(`${where}.name`, 'a non-empty string', s.name);
  const filter = s.filter ?? DEFAULT_SINK_FILTER;
  if (typeof filter !== 'string') throw invalidOptionType(`${where}.filter`, 'a filter directive string', filter);
  TargetFilter.parse(filter);
  const hasSink = s.sink !== undefined;
  const hasModule = s.module !== undefined;
  if (hasSink === hasModule) throw invalidOptionType(where, 'a spec with exactly one of `sink` or `module`', spec);
  let builtin: string | undefined;
  let moduleUrl: string | undefined;
  if (hasSink) {
    if (typeof s.sink !== 'string' || !(BUILTIN_SINKS as readonly string[]).includes(s.sink)) {
      throw invalidOptionRange(`${where}.sink`, `one of ${BUILTIN_SINKS.join(', ')}`, s.sink);
    }
    builtin = s.sink;
  } else if (s.module instanceof URL) {
    moduleUrl = s.module.href;
  } else if (typeof s.module === 'string' && s.module !== '') {
    const m = s.module;
    if (/^[a-z][a-z0-9+.-]*:/i.test(m) && !/^[a-z]:[\\/]/i.test(m)) moduleUrl = m;
    else if (m.startsWith('.') || m.startsWith('/') || /^[a-z]:[\\/]/i.test(m)) moduleUrl = pathToFileURL(resolve(process.cwd(), m)).href;
    else moduleUrl = m; // a bare package name, resolved by the worker
  } else {
    throw invalidOptionType(`${where}.module`, 'a path, URL or package name', s.module);
  }
  return { name: s.name, filter, builtin, moduleUrl, options: s.options };
}
