/**
 * The `otlp` sink's options: defaults as named constants, the standard
 * `OTEL_EXPORTER_OTLP_*` environment variables, and validation that names
 * the bad option and value. The resource normally comes from the dispatcher
 * (`SinkContext.resource`); the sink's `serviceName`/`resourceAttributes`
 * options override it for this sink's exports.
 *
 * Precedence, per the OpenTelemetry exporter specification: an explicit
 * option, then the signal-specific variable (`..._TRACES_...`, `..._LOGS_...`),
 * then the generic one, then the default. A signal-specific endpoint is used
 * as is; the generic `OTEL_EXPORTER_OTLP_ENDPOINT` gets `/v1/traces` or
 * `/v1/logs` appended.
 *
 * The `metrics` option (`resolveOtlpMetricsConfig`) follows the same rules
 * with `OTEL_EXPORTER_OTLP_METRICS_*`, `/v1/metrics`, and adds
 * `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`,
 * `OTEL_METRIC_EXPORT_INTERVAL` (default 60000 ms) and
 * `OTEL_METRIC_EXPORT_TIMEOUT` (default 30000 ms). It lives here, not with
 * the exporter, so that `ringtrace/register` can check the variables on the
 * application thread without loading the worker's serializers.
 */
import { invalidOptionRange, invalidOptionType } from '../errors.js';
import { DEFAULT_METRIC_EXPORT_INTERVAL_MS } from '../metric-region/metrics-snapshot.js';
import type { SpanAssemblerOptions } from './span-assembler.js';

export type OtlpProtocol = 'http/protobuf' | 'http/json';
export type OtlpCompression = 'gzip' | 'none';
export type ResourceAttributeValue = string | number | boolean;

/** `{ sink: 'otlp', options }`. Every field is optional. */
export interface OtlpSinkOptions extends SpanAssemblerOptions {
  /** Wire encoding. Env `OTEL_EXPORTER_OTLP_TRACES_PROTOCOL`, `OTEL_EXPORTER_OTLP_PROTOCOL`. Default `http/protobuf`. */
  protocol?: OtlpProtocol;
  /**
   * Full URL spans are POSTed to, or `unix:///path/to/socket`: POST `/v1/traces`
   * over that Unix domain socket. Env `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or
   * `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (a `unix://` one names the
   * socket, nothing is appended to it). Default `http://localhost:4318/v1/traces`.
   */
  endpoint?: string;
  /** As `endpoint`, for log records: a full URL, or `unix:///path/to/socket` for `/v1/logs` over it. Env `OTEL_EXPORTER_OTLP_LOGS_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/logs`. Default `http://localhost:4318/v1/logs`. */
  logsEndpoint?: string;
  /**
   * A Unix domain socket (Node's http `socketPath`) every request of this
   * sink travels over whose endpoint is an http(s) URL; the URL then gives
   * only the request path and the Host header. A `unix://` endpoint names
   * its own socket. Default: none, TCP.
   */
  socketPath?: string;
  /** Extra request headers, merged over `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_EXPORTER_OTLP_{TRACES,LOGS}_HEADERS`. */
  headers?: Record<string, string>;
  /** Per-request timeout in ms. Env `OTEL_EXPORTER_OTLP_{TRACES_,}TIMEOUT`. Default 10000. */
  timeoutMs?: number;
  /** Request body compression. Env `OTEL_EXPORTER_OTLP_{TRACES_,}COMPRESSION`. Default `none`. */
  compression?: OtlpCompression;
  /** `service.name` for this sink's exports, over the dispatcher's resource (its `serviceName` option, `OTEL_SERVICE_NAME`). */
  serviceName?: string;
  /** More resource attributes for this sink's exports, over the dispatcher's resource. */
  resourceAttributes?: Record<string, ResourceAttributeValue>;
  /** Export standalone events as OTLP log records. Default true. */
  exportEvents?: boolean;
  /** Export spans. Default true (false: a logs-only sink, as `OTEL_TRACES_EXPORTER=none` makes one). */
  exportSpans?: boolean;
  /**
   * Read no `OTEL_*` variable: the options say everything. `ringtrace/register`
   * reads the variables itself (a bad one is a warning there, not an error).
   * Default false.
   */
  ignoreEnvironment?: boolean;
  /**
   * Most spans (or log records) in one request. Default 512, the SDK's
   * (`OTEL_BSP_MAX_EXPORT_BATCH_SIZE`'s default; the variable itself is not
   * read, see docs/configuration.md). Larger requests buy little: a request
   * costs the worker some 15 µs of its own besides its bytes, and 1024, 2048
   * or 4096 measured within 0.05 µs a span of 512 (about 1.3 µs), while a
   * request of 512 spans (some 100 KiB) keeps each retry, and what a
   * collector's request size limit sees, small.
   */
  maxExportBatchSize?: number;
  /**
   * Most spans (and, separately, log records) waiting to be sent: not yet in
   * a batch, or in an encoded batch waiting for a request slot. Past it new
   * ones are dropped and counted. Requests in flight do not count here (they
   * count in `maxQueueBytes`). Default 16384 (`maxQueueBytes` bounds the
   * memory; see `DEFAULT_OTLP_MAX_QUEUE_SIZE`).
   */
  maxQueueSize?: number;
  /**
   * Most bytes of encoded request bodies per signal, waiting for a request
   * slot, in flight, or held for a retry. A batch whose body does not fit is
   * dropped and its items counted `dropped`. Default 8 MiB (8388608).
   */
  maxQueueBytes?: number;
  /** Most requests in flight at once, per signal (a retry waiting out its backoff keeps its slot). Default 4. */
  maxConcurrentRequests?: number;
  /**
   * Export the application's metrics (`SinkContext.metrics`) to `/v1/metrics`
   * every `exportIntervalMs` and at close: `true` for the defaults and the
   * `OTEL_EXPORTER_OTLP_METRICS_*` variables, or their options. Default off.
   */
  metrics?: boolean | OtlpMetricsOptions;
  /** Attempts per request, the first included, for retryable failures (429, 502, 503, 504, network errors, timeouts). Default 5. */
  maxAttempts?: number;
  /** First retry delay in ms; doubled each retry, with jitter, up to `maxBackoffMs`. Default 1000. */
  initialBackoffMs?: number;
  /** Longest retry delay in ms, `Retry-After` included. Default 5000. */
  maxBackoffMs?: number;
}

export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4318';
export const DEFAULT_OTLP_PROTOCOL: OtlpProtocol = 'http/protobuf';
export const DEFAULT_OTLP_TIMEOUT_MS = 10_000;
/**
 * The SDK's. Measured (bench/export-capacity.js, the worker's CPU a span at
 * 512 / 1024 / 2048 / 4096 spans a request): 1.32 / 1.30 / 1.28 / 1.29 µs,
 * the differences within the noise; see `maxExportBatchSize`.
 */
export const DEFAULT_OTLP_MAX_EXPORT_BATCH_SIZE = 512;
/**
 * Spans (or log records) waiting to be sent, not counting requests in flight.
 * The SDK's 2048 is its only memory bound; here `maxQueueBytes` bounds memory
 * (a waiting batch is already an encoded body of some 100 KiB), so the count
 * can be larger: at 2048, a pause of some 10 ms at 200,000 spans/s (a GC, a
 * slow answer) already dropped spans while the byte bound was far off.
 */
export const DEFAULT_OTLP_MAX_QUEUE_SIZE = 16_384;
/**
 * Per signal. Four requests of 512 spans of a few hundred bytes are well under
 * 1 MiB, so 8 MiB rides out a collector's pause of some seconds at ordinary
 * rates, while the worker's worst case (traces, logs, metrics) stays a few
 * tens of MiB however long the collector is away.
 */
export const DEFAULT_OTLP_MAX_QUEUE_BYTES = 8 * 1024 * 1024;
/**
 * The SDK's exporter also lets requests overlap (otlp-exporter-base's
 * `concurrencyLimit`, default 30, failing an export past it); four suffice
 * to hide a loopback or LAN round trip behind encoding, and queue instead of failing.
 */
export const DEFAULT_OTLP_MAX_CONCURRENT_REQUESTS = 4;
export const DEFAULT_OTLP_MAX_ATTEMPTS = 5;
export const DEFAULT_OTLP_INITIAL_BACKOFF_MS = 1000;
export const DEFAULT_OTLP_MAX_BACKOFF_MS = 5000;

export interface OtlpSignalConfig {
  /** The request URL (for a Unix socket: `http://localhost` and the signal's path). */
  url: URL;
  /** The Unix domain socket requests travel over, if any. */
  socketPath: string | undefined;
  /** The endpoint as an option would say it: the URL, or `unix:///path/to/socket`. */
  endpoint: string;
  headers: Record<string, string>;
  timeoutMs: number;
  compression: OtlpCompression;
  protocol: OtlpProtocol;
}

export interface OtlpConfig {
  traces: OtlpSignalConfig;
  logs: OtlpSignalConfig;
  /** The `serviceName` option, if given. */
  serviceName: string | undefined;
  /** The `resourceAttributes` option (empty if not given). */
  resourceAttributes: Record<string, ResourceAttributeValue>;
  exportEvents: boolean;
  exportSpans: boolean;
  maxExportBatchSize: number;
  maxQueueSize: number;
  maxQueueBytes: number;
  maxConcurrentRequests: number;
  maxAttempts: number;
  initialBackoffMs: number;
  maxBackoffMs: number;
  assembler: SpanAssemblerOptions;
  /** The `socketPath` option. */
  socketPath: string | undefined;
  /** The `metrics` option: undefined when off, `{}` for `true`. */
  metrics: OtlpMetricsOptions | undefined;
  ignoreEnvironment: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

const KNOWN_OPTIONS = new Set([
  'protocol', 'endpoint', 'logsEndpoint', 'headers', 'timeoutMs', 'compression', 'serviceName', 'resourceAttributes',
  'exportEvents', 'exportSpans', 'ignoreEnvironment', 'maxExportBatchSize', 'maxQueueSize', 'maxQueueBytes', 'maxConcurrentRequests', 'maxAttempts', 'initialBackoffMs', 'maxBackoffMs',
  'maxOpenSpans', 'maxAttributes', 'maxEvents', 'maxLinks', 'socketPath', 'metrics',
]);

function envValue(env: Env, name: string): string | undefined {
  const v = env[name]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

const ENDPOINT_EXPECTED = 'an http(s) URL or unix:///absolute/path/to/socket';
/** sun_path holds 108 bytes on Linux, 104 on the BSDs and macOS, the terminating NUL included. */
const MAX_SOCKET_PATH_BYTES = process.platform === 'linux' ? 107 : 103;

/** Where one signal's requests go. */
export interface OtlpEndpoint {
  url: URL;
  socketPath: string | undefined;
  endpoint: string;
}

/** A Unix socket path: a non-empty string that fits in `sun_path` (a Windows pipe name is not measured). */
export function socketPathValue(option: string, value: unknown): string {
  if (typeof value !== 'string' || value === '') throw invalidOptionType(option, 'a socket path string', value);
  if (value.includes('\u0000', 1)) throw invalidOptionRange(option, 'a socket path without NUL bytes', value);
  if (process.platform !== 'win32' && Buffer.byteLength(value) > MAX_SOCKET_PATH_BYTES) {
    throw invalidOptionRange(option, `a socket path of at most ${MAX_SOCKET_PATH_BYTES} bytes`, value);
  }
  return value;
}

/**
 * An endpoint option or variable: an http(s) URL (a base one gets the
 * signal's path appended), or `unix:///path/to/socket`, which always POSTs
 * the signal's path over that socket.
 */
export function parseEndpoint(option: string, value: unknown, signalPath: string, base: boolean): OtlpEndpoint {
  if (typeof value !== 'string' || value === '') throw invalidOptionType(option, `${ENDPOINT_EXPECTED} string`, value);
  if (/^unix:/i.test(value)) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(value);
    } catch {
      parsed = undefined;
    }
    // unix://host/… and unix:relative have no meaning here: the path is the socket.
    if (parsed === undefined || !/^unix:\/\/\//i.test(value) || parsed.host !== '' || parsed.search !== '' || parsed.hash !== '') {
      throw invalidOptionRange(option, ENDPOINT_EXPECTED, value);
    }
    const pathname = parsed.pathname.replace(/\/+$/, '');
    if (pathname === '') throw invalidOptionRange(option, ENDPOINT_EXPECTED, value);
    let socketPath: string;
    try {
      socketPath = decodeURIComponent(pathname);
    } catch {
      throw invalidOptionRange(option, `${ENDPOINT_EXPECTED} (percent-encoded)`, value);
    }
    try {
      socketPathValue(option, socketPath);
    } catch (error) {
      throw invalidOptionRange(option, `${ENDPOINT_EXPECTED} (${(error as Error).message.replace(/^.* must be /, '').replace(/, got .*$/, '')})`, value);
    }
    return { url: new URL(`http://localhost${signalPath}`), socketPath, endpoint: `unix://${pathname}` };
  }
  let parsed: URL;
  try {
    parsed = new URL(base ? appendPath(value, signalPath) : value);
  } catch {
    throw invalidOptionRange(option, ENDPOINT_EXPECTED, value);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalidOptionRange(option, ENDPOINT_EXPECTED, value);
  return { url: parsed, socketPath: undefined, endpoint: parsed.href };
}

/** `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`, without doubling the slash. */
function appendPath(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

function protocol(option: string, value: unknown): OtlpProtocol {
  if (value === 'http/protobuf' || value === 'http/json') return value;
  throw invalidOptionRange(option, "'http/protobuf' or 'http/json' (grpc is not supported)", value);
}

function compression(option: string, value: unknown): OtlpCompression {
  if (value === 'gzip' || value === 'none') return value;
  throw invalidOptionRange(option, "'gzip' or 'none'", value);
}

function positive(option: string, value: unknown, integer: boolean, min = 1): number {
  if (typeof value !== 'number') throw invalidOptionType(option, integer ? 'an integer' : 'a number', value);
  if ((integer ? !Number.isSafeInteger(value) : !Number.isFinite(value)) || value < min) {
    throw invalidOptionRange(option, integer ? `an integer >= ${min}` : `a finite number >= ${min}`, value);
  }
  return value;
}

function envNumber(env: Env, name: string): number | undefined {
  const raw = envValue(env, name);
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw invalidOptionRange(`environment variable ${name}`, 'a positive number of milliseconds', raw);
  return n;
}

/**
 * `k1=v1,k2=v2` as in `OTEL_EXPORTER_OTLP_HEADERS` and `OTEL_RESOURCE_ATTRIBUTES`:
 * keys and values trimmed, values percent-decoded.
 */
export function parseKeyValueList(name: string, raw: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of raw.split(',')) {
    if (part.trim() === '') continue;
    const eq = part.indexOf('=');
    const key = eq < 0 ? '' : part.slice(0, eq).trim();
    if (key === '') throw invalidOptionRange(`environment variable ${name}`, 'a list of key=value pairs', raw);
    let value = part.slice(eq + 1).trim();
    try {
      value = decodeURIComponent(value);
    } catch {
      throw invalidOptionRange(`environment variable ${name}`, 'percent-encoded values', raw);
    }
    out[key] = value;
  }
  return out;
}

function headers(option: string, value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw invalidOptionType(option, 'an object of header strings', value);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (typeof v !== 'string') throw invalidOptionType(`${option}.${k}`, 'a string', v);
    out[k] = v;
  }
  return out;
}

function signal(o: OtlpSinkOptions, env: Env, sig: 'TRACES' | 'LOGS', socketPath: string | undefined): OtlpSignalConfig {
  const endpointOption = sig === 'TRACES' ? 'endpoint' : 'logsEndpoint';
  const path = sig === 'TRACES' ? '/v1/traces' : '/v1/logs';
  const given = o[endpointOption];
  const specific = envValue(env, `OTEL_EXPORTER_OTLP_${sig}_ENDPOINT`);
  const generic = envValue(env, 'OTEL_EXPORTER_OTLP_ENDPOINT');
  let endpoint: OtlpEndpoint;
  if (given !== undefined) endpoint = parseEndpoint(`otlp.${endpointOption}`, given, path, false);
  else if (specific !== undefined) endpoint = parseEndpoint(`environment variable OTEL_EXPORTER_OTLP_${sig}_ENDPOINT`, specific, path, false);
  else if (generic !== undefined) endpoint = parseEndpoint('environment variable OTEL_EXPORTER_OTLP_ENDPOINT', generic, path, true);
  else endpoint = parseEndpoint('the default endpoint', DEFAULT_OTLP_ENDPOINT, path, true);
  if (endpoint.socketPath === undefined && socketPath !== undefined) endpoint = { ...endpoint, socketPath };

  const envHeaders = (name: string): Record<string, string> => {
    const raw = envValue(env, name);
    return raw === undefined ? {} : parseKeyValueList(name, raw);
  };
  const mergedHeaders = {
    ...envHeaders('OTEL_EXPORTER_OTLP_HEADERS'),
    ...envHeaders(`OTEL_EXPORTER_OTLP_${sig}_HEADERS`),
    ...headers('otlp.headers', o.headers),
  };

  const timeoutMs =
    o.timeoutMs !== undefined
      ? positive('otlp.timeoutMs', o.timeoutMs, false)
      : (envNumber(env, `OTEL_EXPORTER_OTLP_${sig}_TIMEOUT`) ?? envNumber(env, 'OTEL_EXPORTER_OTLP_TIMEOUT') ?? DEFAULT_OTLP_TIMEOUT_MS);

  const pick = (option: 'protocol' | 'compression'): { where: string; value: unknown } | undefined => {
    if (o[option] !== undefined) return { where: `otlp.${option}`, value: o[option] };
    const upper = option.toUpperCase();
    for (const name of [`OTEL_EXPORTER_OTLP_${sig}_${upper}`, `OTEL_EXPORTER_OTLP_${upper}`]) {
      const v = envValue(env, name);
      if (v !== undefined) return { where: `environment variable ${name}`, value: v };
    }
    return undefined;
  };
  const p = pick('protocol');
  const c = pick('compression');
  return {
    ...endpoint,
    headers: mergedHeaders,
    timeoutMs,
    protocol: p === undefined ? DEFAULT_OTLP_PROTOCOL : protocol(p.where, p.value),
    compression: c === undefined ? 'none' : compression(c.where, c.value),
  };
}

/**
 * The resource when the dispatcher gave the sink none (a sink built by hand):
 * process and runtime attributes, `OTEL_RESOURCE_ATTRIBUTES`, and
 * `service.name` from `OTEL_SERVICE_NAME`, that list, or `unknown_service:node`.
 */
export function resourceFromEnvironment(env: Env = process.env): Record<string, ResourceAttributeValue> {
  const raw = envValue(env, 'OTEL_RESOURCE_ATTRIBUTES');
  let fromEnv: Record<string, string> = {};
  try {
    if (raw !== undefined) fromEnv = parseKeyValueList('OTEL_RESOURCE_ATTRIBUTES', raw);
  } catch {
    // A malformed list must not stop the sink: it is the application's environment, not our option.
  }
  return {
    'telemetry.sdk.name': 'ringtrace',
    'telemetry.sdk.language': 'nodejs',
    'process.pid': process.pid,
    'process.executable.name': process.title,
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
    'process.runtime.description': 'Node.js',
    ...fromEnv,
    'service.name': envValue(env, 'OTEL_SERVICE_NAME') ?? fromEnv['service.name'] ?? 'unknown_service:node',
  };
}

function resourceAttributes(o: OtlpSinkOptions): Record<string, ResourceAttributeValue> {
  const out: Record<string, ResourceAttributeValue> = {};
  const given = o.resourceAttributes;
  if (given === undefined) return out;
  if (given === null || typeof given !== 'object' || Array.isArray(given)) throw invalidOptionType('otlp.resourceAttributes', 'an object', given);
  for (const [k, v] of Object.entries(given)) {
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw invalidOptionType(`otlp.resourceAttributes.${k}`, 'a string, number or boolean', v);
    }
    out[k] = v;
  }
  return out;
}

/** Validate the options, read the environment, fill in defaults. */
export function resolveOtlpConfig(options: unknown, env: Env = process.env): OtlpConfig {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidOptionType('otlp', 'an options object', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw invalidOptionRange('otlp', `one of the options ${[...KNOWN_OPTIONS].join(', ')}`, key);
  }
  const o = options as OtlpSinkOptions;
  if (o.ignoreEnvironment !== undefined && typeof o.ignoreEnvironment !== 'boolean') throw invalidOptionType('otlp.ignoreEnvironment', 'a boolean', o.ignoreEnvironment);
  if (o.ignoreEnvironment === true) env = {};
  if (o.exportSpans !== undefined && typeof o.exportSpans !== 'boolean') throw invalidOptionType('otlp.exportSpans', 'a boolean', o.exportSpans);
  if (o.serviceName !== undefined && (typeof o.serviceName !== 'string' || o.serviceName === '')) {
    throw invalidOptionType('otlp.serviceName', 'a non-empty string', o.serviceName);
  }
  if (o.exportEvents !== undefined && typeof o.exportEvents !== 'boolean') throw invalidOptionType('otlp.exportEvents', 'a boolean', o.exportEvents);
  const initialBackoffMs = o.initialBackoffMs === undefined ? DEFAULT_OTLP_INITIAL_BACKOFF_MS : positive('otlp.initialBackoffMs', o.initialBackoffMs, false, 0);
  const maxBackoffMs = o.maxBackoffMs === undefined ? Math.max(DEFAULT_OTLP_MAX_BACKOFF_MS, initialBackoffMs) : positive('otlp.maxBackoffMs', o.maxBackoffMs, false, 0);
  if (maxBackoffMs < initialBackoffMs) throw invalidOptionRange('otlp.maxBackoffMs', `a number >= otlp.initialBackoffMs (${initialBackoffMs})`, maxBackoffMs);
  const maxExportBatchSize = o.maxExportBatchSize === undefined ? DEFAULT_OTLP_MAX_EXPORT_BATCH_SIZE : positive('otlp.maxExportBatchSize', o.maxExportBatchSize, true);
  const maxQueueSize = o.maxQueueSize === undefined ? Math.max(DEFAULT_OTLP_MAX_QUEUE_SIZE, maxExportBatchSize) : positive('otlp.maxQueueSize', o.maxQueueSize, true);
  const socketPath = o.socketPath === undefined ? undefined : socketPathValue('otlp.socketPath', o.socketPath);
  if (o.metrics !== undefined && typeof o.metrics !== 'boolean' && (o.metrics === null || typeof o.metrics !== 'object' || Array.isArray(o.metrics))) {
    throw invalidOptionType('otlp.metrics', 'a boolean or an options object', o.metrics);
  }
  return {
    traces: signal(o, env, 'TRACES', socketPath),
    logs: signal(o, env, 'LOGS', socketPath),
    serviceName: o.serviceName,
    resourceAttributes: resourceAttributes(o),
    exportEvents: o.exportEvents ?? true,
    exportSpans: o.exportSpans ?? true,
    maxExportBatchSize,
    maxQueueSize,
    maxQueueBytes: o.maxQueueBytes === undefined ? DEFAULT_OTLP_MAX_QUEUE_BYTES : positive('otlp.maxQueueBytes', o.maxQueueBytes, true),
    maxConcurrentRequests: o.maxConcurrentRequests === undefined ? DEFAULT_OTLP_MAX_CONCURRENT_REQUESTS : positive('otlp.maxConcurrentRequests', o.maxConcurrentRequests, true),
    maxAttempts: o.maxAttempts === undefined ? DEFAULT_OTLP_MAX_ATTEMPTS : positive('otlp.maxAttempts', o.maxAttempts, true),
    initialBackoffMs,
    maxBackoffMs,
    assembler: { maxOpenSpans: o.maxOpenSpans, maxAttributes: o.maxAttributes, maxEvents: o.maxEvents, maxLinks: o.maxLinks },
    socketPath,
    metrics: o.metrics === true ? {} : o.metrics === false ? undefined : o.metrics,
    ignoreEnvironment: o.ignoreEnvironment === true,
  };
}

// ── metrics ──────────────────────────────────────────────────────────────

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

export interface OtlpMetricsConfig extends OtlpSignalConfig {
  temporality: MetricsTemporalityPreference;
  exportIntervalMs: number;
  exportTimeoutMs: number;
}

export const DEFAULT_OTLP_METRICS_ENDPOINT = 'http://localhost:4318/v1/metrics';
export const DEFAULT_METRIC_EXPORT_TIMEOUT_MS = 30_000;

const KNOWN_METRICS_OPTIONS = new Set(['endpoint', 'protocol', 'headers', 'timeoutMs', 'compression', 'temporality', 'exportIntervalMs', 'exportTimeoutMs']);

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

/**
 * The `metrics` option's settings: validate the options, read the
 * environment, fill in defaults.
 * @param socketPath the `otlp` sink's `socketPath` option, for an http(s) endpoint. */
export function resolveOtlpMetricsConfig(options?: unknown, env: Env = process.env, socketPath?: string): OtlpMetricsConfig {
  if (options === undefined || options === null) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) throw invalidOptionType('otlp.metrics', 'an options object', options);
  for (const key of Object.keys(options)) {
    if (!KNOWN_METRICS_OPTIONS.has(key)) throw invalidOptionRange('otlp.metrics', `one of the options ${[...KNOWN_METRICS_OPTIONS].join(', ')}`, key);
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
    timeoutMs: milliseconds(pick('timeoutMs', o.timeoutMs, env, ['OTEL_EXPORTER_OTLP_METRICS_TIMEOUT', 'OTEL_EXPORTER_OTLP_TIMEOUT']), DEFAULT_OTLP_TIMEOUT_MS),
    compression: (compression?.value as OtlpCompression | undefined) ?? 'none',
    protocol: (protocol?.value as OtlpProtocol | undefined) ?? 'http/protobuf',
    temporality: (t as MetricsTemporalityPreference | undefined) ?? 'cumulative',
    exportIntervalMs: milliseconds(pick('exportIntervalMs', o.exportIntervalMs, env, ['OTEL_METRIC_EXPORT_INTERVAL']), DEFAULT_METRIC_EXPORT_INTERVAL_MS),
    exportTimeoutMs: milliseconds(pick('exportTimeoutMs', o.exportTimeoutMs, env, ['OTEL_METRIC_EXPORT_TIMEOUT']), DEFAULT_METRIC_EXPORT_TIMEOUT_MS),
  };
}
