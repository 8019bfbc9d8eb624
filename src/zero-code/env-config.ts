/**
 * The configuration `ringtrace/register` reads from the environment: the
 * OpenTelemetry SDK's variables, with the SDK's names, defaults and
 * meanings, and ringtrace's own `RINGTRACE_*`. The table of every variable
 * is docs/configuration.md.
 *
 * Unlike `TraceDispatcher.start()`, which throws for a bad option, nothing
 * here throws: a bad variable is one warning (code `RINGTRACE_ENV`) naming
 * the variable and its value, and the default is used, as the SDK does.
 * Everything read is turned into explicit options, so the dispatcher and its
 * sinks, which also read some of these variables, never see a bad one.
 */
import { DiagLogLevel } from '@opentelemetry/api';
import { SAMPLER_NAMES, DEFAULT_SAMPLER, type SamplerName, type SpanLimits } from '../capture/span-config.js';
import { DEFAULT_FLUSH_INTERVAL_MS, DEFAULT_SPAN_COUNT_LIMIT } from '../defaults.js';
import { ERROR_CODES } from '../errors.js';
import { validateQueueCapacity } from '../options.js';
import { TargetFilter } from '../filter/target-filter.js';
import { DEFAULT_METRIC_EXPORT_INTERVAL_MS } from '../metric-region/metrics-snapshot.js';
import { resolveMetricsOptions } from '../metrics/metrics-config.js';
import { parseKeyValueList, resolveOtlpConfig, resolveOtlpMetricsConfig, type OtlpMetricsOptions, type OtlpSignalConfig } from '../sinks/otlp-config.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The warning code of a bad environment variable (`process.on('warning')`). */
export const ENV_WARNING_CODE = ERROR_CODES.ENV;

/** The exporters `OTEL_TRACES_EXPORTER` and `OTEL_LOGS_EXPORTER` name. */
export type ExporterName = 'otlp' | 'console';
/** The exporters `OTEL_METRICS_EXPORTER` names. */
export type MetricExporterName = 'otlp';
/** The propagators `OTEL_PROPAGATORS` names. */
export type PropagatorName = 'tracecontext' | 'baggage' | 'b3' | 'b3multi' | 'jaeger';

const EXPORTERS = ['otlp', 'console', 'none'] as const;
const METRIC_EXPORTERS = ['otlp', 'none'] as const;
const PROPAGATORS = ['tracecontext', 'baggage', 'b3', 'b3multi', 'jaeger', 'none'] as const;
export const DEFAULT_PROPAGATORS: readonly PropagatorName[] = ['tracecontext', 'baggage'];
/** Records of every level reach the sinks the variables make, as the SDK exports every span and log. */
export const DEFAULT_ENV_SINK_FILTER = 'trace';

const LOG_LEVELS: Readonly<Record<string, DiagLogLevel>> = {
  NONE: DiagLogLevel.NONE,
  ERROR: DiagLogLevel.ERROR,
  WARN: DiagLogLevel.WARN,
  INFO: DiagLogLevel.INFO,
  DEBUG: DiagLogLevel.DEBUG,
  VERBOSE: DiagLogLevel.VERBOSE,
  ALL: DiagLogLevel.ALL,
};

/** The span limits, each with its variables in the order they are read (as the SDK). */
const SPAN_LIMIT_VARIABLES: readonly [keyof SpanLimits, readonly string[]][] = [
  ['attributeCountLimit', ['OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', 'OTEL_ATTRIBUTE_COUNT_LIMIT']],
  ['attributeValueLengthLimit', ['OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT', 'OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT']],
  ['eventCountLimit', ['OTEL_SPAN_EVENT_COUNT_LIMIT']],
  ['linkCountLimit', ['OTEL_SPAN_LINK_COUNT_LIMIT']],
  ['attributePerEventCountLimit', ['OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT']],
  ['attributePerLinkCountLimit', ['OTEL_LINK_ATTRIBUTE_COUNT_LIMIT']],
];

const OTLP_SETTINGS = ['ENDPOINT', 'PROTOCOL', 'HEADERS', 'TIMEOUT', 'COMPRESSION'] as const;
/** The metrics export's own variables, besides the generic `OTEL_EXPORTER_OTLP_*` and `OTEL_METRIC_EXPORT_INTERVAL`. */
const OTLP_METRICS_VARIABLES = [
  ...OTLP_SETTINGS.map((setting) => `OTEL_EXPORTER_OTLP_METRICS_${setting}`),
  'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
  'OTEL_METRIC_EXPORT_TIMEOUT',
] as const;

export interface ZeroCodeConfig {
  /** `OTEL_SDK_DISABLED=true`: start nothing. */
  disabled: boolean;
  /** `OTEL_SERVICE_NAME`. */
  serviceName: string | undefined;
  /** The well-formed pairs of `OTEL_RESOURCE_ATTRIBUTES`. */
  resourceAttributes: Record<string, string>;
  traceExporters: ExporterName[];
  logExporters: ExporterName[];
  /** `OTEL_METRICS_EXPORTER`: the SDK's default is `otlp`. */
  metricExporters: MetricExporterName[];
  /** `OTEL_METRIC_EXPORT_INTERVAL`: how often observable callbacks run and metrics are exported. */
  metricExportIntervalMs: number;
  /**
   * The OTLP settings per signal, from `OTEL_EXPORTER_OTLP_*` (bad variables
   * left out); for metrics, every option of the otlp sink's `metrics`, explicit.
   */
  otlp: { traces: OtlpSignalConfig; logs: OtlpSignalConfig; metrics: Required<OtlpMetricsOptions> };
  propagators: PropagatorName[];
  /** `OTEL_LOG_LEVEL`, when set: the OpenTelemetry diagnostic logger's level. */
  logLevel: DiagLogLevel | undefined;
  sampler: SamplerName;
  samplerArg: number;
  spanLimits: Required<SpanLimits>;
  queueCapacity: number | undefined;
  flushIntervalMs: number;
  /** The filter of the sinks the variables make (`RINGTRACE_FILTER`). */
  filter: string;
  /** `RINGTRACE_CONFIG`: a JSON file or an ES module adding sinks. */
  configPath: string | undefined;
}

export type Warn = (message: string) => void;

export function warnEnv(message: string): void {
  process.emitWarning(message, { code: ENV_WARNING_CODE });
}

function value(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** The one message every bad variable gets: its name, its value, what it must be, what is used instead. */
export function badVariable(name: string, raw: string, expected: string, fallback: string): string {
  return `ringtrace: environment variable ${name}=${JSON.stringify(raw)} is not valid (${expected}); ${fallback}`;
}

/** A comma list of names from `allowed`; unknown names are warned about and left out. */
function nameList<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: readonly T[], warn: Warn): T[] {
  const raw = value(env, name);
  if (raw === undefined) return [...fallback];
  const out: T[] = [];
  const unknown: string[] = [];
  for (const part of raw.split(',')) {
    const n = part.trim().toLowerCase();
    if (n === '') continue;
    if ((allowed as readonly string[]).includes(n)) {
      if (!out.includes(n as T)) out.push(n as T);
    } else {
      unknown.push(n);
    }
  }
  if (unknown.length > 0) {
    const kept = out.length === 0 ? `using the default ${fallback.join(',') || 'none'}` : `using ${out.join(',')}`;
    warn(badVariable(name, raw, `${unknown.map((u) => JSON.stringify(u)).join(', ')} not among ${allowed.join(', ')}`, kept));
    if (out.length === 0) return [...fallback];
  }
  return out;
}

function exporters(env: Env, name: string, warn: Warn): ExporterName[] {
  const list = nameList(env, name, EXPORTERS, ['otlp'], warn);
  // As the SDK: `none` anywhere in the list means no exporter.
  return list.includes('none') ? [] : (list as ExporterName[]);
}

function metricExporters(env: Env, warn: Warn): MetricExporterName[] {
  const list = nameList(env, 'OTEL_METRICS_EXPORTER', METRIC_EXPORTERS, ['otlp'], warn);
  return list.includes('none') ? [] : (list as MetricExporterName[]);
}

/** `OTEL_METRIC_EXPORT_INTERVAL`, checked as the dispatcher's `metrics` options check it. */
function metricExportInterval(env: Env, warn: Warn): number {
  const raw = value(env, 'OTEL_METRIC_EXPORT_INTERVAL');
  if (raw === undefined) return DEFAULT_METRIC_EXPORT_INTERVAL_MS;
  try {
    return resolveMetricsOptions({}, { OTEL_METRIC_EXPORT_INTERVAL: raw }).exportIntervalMs;
  } catch {
    warn(badVariable('OTEL_METRIC_EXPORT_INTERVAL', raw, 'a positive integer of milliseconds', `using ${DEFAULT_METRIC_EXPORT_INTERVAL_MS}`));
    return DEFAULT_METRIC_EXPORT_INTERVAL_MS;
  }
}

function boolean(env: Env, name: string, warn: Warn): boolean {
  const raw = value(env, name);
  if (raw === undefined) return false;
  const v = raw.toLowerCase();
  if (v === 'true') return true;
  if (v !== 'false') warn(badVariable(name, raw, 'true or false', 'using false'));
  return false;
}

function positiveNumber(env: Env, name: string, fallback: number, warn: Warn): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (Number.isFinite(n) && n > 0) return n;
  warn(badVariable(name, raw, 'a positive number', `using ${fallback}`));
  return fallback;
}

/** Every limit explicit (the SDK's default where no good variable gives one), so the dispatcher reads none of the variables. */
function spanLimits(env: Env, warn: Warn): Required<SpanLimits> {
  const out: Required<SpanLimits> = {
    attributeCountLimit: DEFAULT_SPAN_COUNT_LIMIT,
    attributeValueLengthLimit: Infinity,
    eventCountLimit: DEFAULT_SPAN_COUNT_LIMIT,
    linkCountLimit: DEFAULT_SPAN_COUNT_LIMIT,
    attributePerEventCountLimit: DEFAULT_SPAN_COUNT_LIMIT,
    attributePerLinkCountLimit: DEFAULT_SPAN_COUNT_LIMIT,
  };
  for (const [key, names] of SPAN_LIMIT_VARIABLES) {
    for (const name of names) {
      const raw = value(env, name);
      if (raw === undefined) continue;
      const n = Number(raw);
      if (Number.isInteger(n) && n >= 0) {
        out[key] = n;
        break;
      }
      warn(badVariable(name, raw, 'a non-negative integer', 'using the next variable or the default'));
    }
  }
  return out;
}

function sampler(env: Env, warn: Warn): { sampler: SamplerName; samplerArg: number } {
  const rawName = value(env, 'OTEL_TRACES_SAMPLER');
  let name: SamplerName = DEFAULT_SAMPLER;
  if (rawName !== undefined) {
    if ((SAMPLER_NAMES as readonly string[]).includes(rawName)) name = rawName as SamplerName;
    else warn(badVariable('OTEL_TRACES_SAMPLER', rawName, `one of ${SAMPLER_NAMES.join(', ')}`, `using ${DEFAULT_SAMPLER}`));
  }
  const rawArg = value(env, 'OTEL_TRACES_SAMPLER_ARG');
  let arg = 1;
  if (rawArg !== undefined) {
    const n = Number(rawArg);
    if (n >= 0 && n <= 1) arg = n;
    else warn(badVariable('OTEL_TRACES_SAMPLER_ARG', rawArg, 'a number from 0 to 1', 'using 1'));
  }
  return { sampler: name, samplerArg: arg };
}

/**
 * Each `OTEL_EXPORTER_OTLP_*` variable checked alone by the otlp sink's own
 * reader; the bad ones warned about and left out, the rest resolved together.
 */
function otlp(env: Env, metricExportIntervalMs: number, warn: Warn): ZeroCodeConfig['otlp'] {
  const reason = (error: unknown): string => (error instanceof Error ? error.message.replace(/^ringtrace: /, '') : String(error));
  const good: Record<string, string> = {};
  for (const signal of ['', 'TRACES_', 'LOGS_']) {
    for (const setting of OTLP_SETTINGS) {
      const name = `OTEL_EXPORTER_OTLP_${signal}${setting}`;
      const raw = value(env, name);
      if (raw === undefined) continue;
      try {
        resolveOtlpConfig({}, { [name]: raw });
        good[name] = raw;
      } catch (error) {
        warn(badVariable(name, raw, reason(error), 'using the default'));
      }
    }
  }
  const config = resolveOtlpConfig({}, good);
  // The metrics export reads the generic variables too: those already found good, checked by its own reader.
  const metricsEnv: Record<string, string> = { OTEL_METRIC_EXPORT_INTERVAL: String(metricExportIntervalMs) };
  const generic = OTLP_SETTINGS.map((setting) => `OTEL_EXPORTER_OTLP_${setting}`).filter((name) => good[name] !== undefined);
  for (const name of [...generic, ...OTLP_METRICS_VARIABLES]) {
    const raw = good[name] ?? value(env, name);
    if (raw === undefined) continue;
    try {
      resolveOtlpMetricsConfig({}, { [name]: raw });
      metricsEnv[name] = raw;
    } catch (error) {
      warn(badVariable(name, raw, reason(error), 'using the default'));
    }
  }
  const m = resolveOtlpMetricsConfig({}, metricsEnv);
  const metrics: Required<OtlpMetricsOptions> = {
    endpoint: m.endpoint,
    protocol: m.protocol,
    headers: m.headers,
    timeoutMs: m.timeoutMs,
    compression: m.compression,
    temporality: m.temporality,
    exportIntervalMs: m.exportIntervalMs,
    exportTimeoutMs: m.exportTimeoutMs,
  };
  return { traces: config.traces, logs: config.logs, metrics };
}

function queueCapacity(env: Env, warn: Warn): number | undefined {
  const raw = value(env, 'RINGTRACE_QUEUE_CAPACITY');
  if (raw === undefined) return undefined;
  try {
    return validateQueueCapacity(Number(raw));
  } catch (error) {
    warn(badVariable('RINGTRACE_QUEUE_CAPACITY', raw, (error as Error).message.replace(/^ringtrace: option queueCapacity must be /, '').replace(/, got .*$/, ''), 'using the default'));
    return undefined;
  }
}

function filter(env: Env, warn: Warn): string {
  const raw = value(env, 'RINGTRACE_FILTER');
  if (raw === undefined) return DEFAULT_ENV_SINK_FILTER;
  try {
    TargetFilter.parse(raw);
    return raw;
  } catch (error) {
    warn(badVariable('RINGTRACE_FILTER', raw, (error as Error).message.replace(/^ringtrace: /, ''), `using ${DEFAULT_ENV_SINK_FILTER}`));
    return DEFAULT_ENV_SINK_FILTER;
  }
}

function logLevel(env: Env, warn: Warn): DiagLogLevel | undefined {
  const raw = value(env, 'OTEL_LOG_LEVEL');
  if (raw === undefined) return undefined;
  const level = LOG_LEVELS[raw.toUpperCase()];
  if (level === undefined) warn(badVariable('OTEL_LOG_LEVEL', raw, `one of ${Object.keys(LOG_LEVELS).join(', ')}`, 'leaving the diagnostic logger unset'));
  return level;
}

/** `OTEL_RESOURCE_ATTRIBUTES`: a malformed list is warned about once and its well-formed pairs kept. */
function resource(env: Env, warn: Warn): Record<string, string> {
  const raw = value(env, 'OTEL_RESOURCE_ATTRIBUTES');
  if (raw === undefined) return {};
  try {
    return parseKeyValueList('OTEL_RESOURCE_ATTRIBUTES', raw);
  } catch {
    warn(badVariable('OTEL_RESOURCE_ATTRIBUTES', raw, 'a list of key=value pairs, values percent-encoded', 'keeping the well-formed pairs'));
  }
  const out: Record<string, string> = {};
  for (const pair of raw.split(',')) {
    try {
      Object.assign(out, parseKeyValueList('OTEL_RESOURCE_ATTRIBUTES', pair));
    } catch {
      // This pair is the malformed one.
    }
  }
  return out;
}

/** Read every variable; warn once per bad one. Never throws. */
export function readZeroCodeConfig(env: Env = process.env, warn: Warn = warnEnv): ZeroCodeConfig {
  const disabled = boolean(env, 'OTEL_SDK_DISABLED', warn);
  const resourceAttributes = resource(env, warn);
  const propagators = nameList(env, 'OTEL_PROPAGATORS', PROPAGATORS, DEFAULT_PROPAGATORS, warn);
  const metricExportIntervalMs = metricExportInterval(env, warn);
  return {
    disabled,
    serviceName: value(env, 'OTEL_SERVICE_NAME'),
    resourceAttributes,
    traceExporters: exporters(env, 'OTEL_TRACES_EXPORTER', warn),
    logExporters: exporters(env, 'OTEL_LOGS_EXPORTER', warn),
    metricExporters: metricExporters(env, warn),
    metricExportIntervalMs,
    otlp: otlp(env, metricExportIntervalMs, warn),
    propagators: propagators.includes('none') ? [] : (propagators as PropagatorName[]),
    logLevel: logLevel(env, warn),
    ...sampler(env, warn),
    spanLimits: spanLimits(env, warn),
    queueCapacity: queueCapacity(env, warn),
    flushIntervalMs: positiveNumber(env, 'RINGTRACE_FLUSH_INTERVAL_MS', DEFAULT_FLUSH_INTERVAL_MS, warn),
    filter: filter(env, warn),
    configPath: value(env, 'RINGTRACE_CONFIG'),
  };
}
