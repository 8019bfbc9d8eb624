/**
 * `prometheus`: serves `/metrics` in the Prometheus text format from the
 * dispatcher worker, using prom-client with a registry of its own (never the
 * global one, so an application's own prom-client metrics are untouched).
 *
 * Three kinds of metrics:
 * - the application's own OpenTelemetry metrics (counters, gauges,
 *   histograms recorded through `dispatcher.meterProvider`), read from shared
 *   memory at each scrape through `SinkContext.metrics()` and named by the
 *   OpenTelemetry-to-Prometheus rules (see prometheus-metrics.ts), with
 *   `target_info` for the resource and `<prefix>metrics_*_total` counting
 *   overflowed, invalid and dropped measurements;
 * - the dispatcher's health, read at each scrape through
 *   `SinkContext.stats()`: records offered/written/dropped/oversize/decoded,
 *   queue depth and high-water mark, per-sink delivered/filtered/failed and
 *   flushes, worker restarts;
 * - from the records this sink's filter accepts: a span duration histogram by
 *   span name, target and status, and event counts by level and target.
 *
 * Label cardinality is bounded: each record-derived metric keeps at most
 * `maxSeries` label combinations; a new one past the cap is counted under
 * the label value `__overflow__` (for the unbounded labels: span name and
 * target) and in `ringtrace_metrics_label_overflow_total{metric}`.
 *
 * Options (all optional): `host` (default 127.0.0.1: only this machine),
 * `port` (default 9464, 0 = any free port), `path` (default `/metrics`),
 * `prefix` (default `ringtrace_`), `maxSeries` (default 1000), `buckets`
 * (span duration buckets in seconds), `defaultMetrics` (also export
 * prom-client's process metrics; default false). `inspect()` returns
 * `{ url }`, the address actually bound.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { invalidOptionRange, invalidOptionType } from '../errors.js';
import type { SpanInfo, TraceRecord } from '../record/trace-record.js';
import type { DispatcherHealth } from './dispatcher-health.js';
import type { MetricsSnapshot } from '../metric-region/metrics-snapshot.js';
import { PrometheusApplicationMetrics } from './prometheus-metrics.js';
import type { SinkContext, SinkFactory, TraceSink } from './trace-sink.js';

export interface PrometheusSinkOptions {
  /** Interface to listen on. Default `127.0.0.1`; `0.0.0.0` or `::` to expose it to the network. */
  host?: string;
  /** TCP port. Default 9464 (the OpenTelemetry Prometheus exporter's); 0 picks a free one. */
  port?: number;
  /** HTTP path of the metrics. Default `/metrics`. */
  path?: string;
  /** Prefix of every metric name. Default `ringtrace_`. */
  prefix?: string;
  /** Label combinations kept per record-derived metric before `__overflow__`. Default 1000. */
  maxSeries?: number;
  /** Span duration histogram buckets, in seconds, increasing. */
  buckets?: number[];
  /** Also export prom-client's default process metrics. Default false. */
  defaultMetrics?: boolean;
}

/** What `dispatcher.inspectSink(name)` returns for this sink. */
export interface PrometheusSinkInspection {
  /** The metrics URL, with the port actually bound. */
  url: string;
}

export const DEFAULT_PROMETHEUS_HOST = '127.0.0.1';
export const DEFAULT_PROMETHEUS_PORT = 9464;
export const DEFAULT_PROMETHEUS_PATH = '/metrics';
export const DEFAULT_PROMETHEUS_PREFIX = 'ringtrace_';
export const DEFAULT_PROMETHEUS_MAX_SERIES = 1000;
export const DEFAULT_SPAN_DURATION_BUCKETS: readonly number[] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** The label value that stands for every label combination past `maxSeries`. */
export const OVERFLOW_LABEL_VALUE = '__overflow__';

const STATUS_NAMES = ['unset', 'ok', 'error'] as const;

interface ResolvedPrometheusOptions {
  host: string;
  port: number;
  path: string;
  prefix: string;
  maxSeries: number;
  buckets: number[];
  defaultMetrics: boolean;
}

function resolvePrometheusOptions(options: PrometheusSinkOptions | undefined): ResolvedPrometheusOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null) throw invalidOptionType('prometheus options', 'an object', o);
  const host = o.host ?? DEFAULT_PROMETHEUS_HOST;
  if (typeof host !== 'string' || host === '') throw invalidOptionType('prometheus.host', 'a non-empty host name or address', host);
  const port = o.port ?? DEFAULT_PROMETHEUS_PORT;
  if (typeof port !== 'number') throw invalidOptionType('prometheus.port', 'a number', port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw invalidOptionRange('prometheus.port', 'an integer from 0 to 65535', port);
  const path = o.path ?? DEFAULT_PROMETHEUS_PATH;
  if (typeof path !== 'string' || !path.startsWith('/')) throw invalidOptionType('prometheus.path', "a path starting with '/'", path);
  const prefix = o.prefix ?? DEFAULT_PROMETHEUS_PREFIX;
  if (typeof prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix)) {
    throw invalidOptionType('prometheus.prefix', 'a metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)', prefix);
  }
  const maxSeries = o.maxSeries ?? DEFAULT_PROMETHEUS_MAX_SERIES;
  if (typeof maxSeries !== 'number') throw invalidOptionType('prometheus.maxSeries', 'an integer', maxSeries);
  if (!Number.isSafeInteger(maxSeries) || maxSeries < 1) throw invalidOptionRange('prometheus.maxSeries', 'an integer >= 1', maxSeries);
  const buckets = o.buckets ?? [...DEFAULT_SPAN_DURATION_BUCKETS];
  if (!Array.isArray(buckets) || buckets.length === 0 || !buckets.every((b) => typeof b === 'number' && Number.isFinite(b) && b > 0)) {
    throw invalidOptionType('prometheus.buckets', 'a non-empty array of positive finite numbers (seconds)', buckets);
  }
  if (!buckets.every((b, i) => i === 0 || b > buckets[i - 1]!)) throw invalidOptionRange('prometheus.buckets', 'strictly increasing bucket bounds', buckets);
  const defaultMetrics = o.defaultMetrics ?? false;
  if (typeof defaultMetrics !== 'boolean') throw invalidOptionType('prometheus.defaultMetrics', 'a boolean', defaultMetrics);
  return { host, port, path, prefix, maxSeries, buckets: [...buckets], defaultMetrics };
}

/**
 * Keeps a metric's label combinations under a cap: past it, the unbounded
 * labels of a new combination become `__overflow__` and the overflow is counted.
 */
class SeriesLimiter {
  readonly #seen = new Set<string>();

  constructor(
    readonly metric: string,
    readonly max: number,
    readonly overflow: Counter<'metric'>,
  ) {}

  /** `bounded` labels keep their value (a closed set); `unbounded` ones may overflow. */
  labels<B extends Record<string, string>, U extends Record<string, string>>(bounded: B, unbounded: U): B & U {
    const key = JSON.stringify([bounded, unbounded]);
    if (this.#seen.has(key)) return { ...bounded, ...unbounded };
    if (this.#seen.size < this.max) {
      this.#seen.add(key);
      return { ...bounded, ...unbounded };
    }
    this.overflow.inc({ metric: this.metric });
    const folded = {} as Record<string, string>;
    for (const k of Object.keys(unbounded)) folded[k] = OVERFLOW_LABEL_VALUE;
    return { ...bounded, ...(folded as U) };
  }
}

export class PrometheusSink implements TraceSink {
  readonly registry = new Registry();
  readonly options: ResolvedPrometheusOptions;
  readonly #server: Server;
  readonly #stats: (() => DispatcherHealth) | undefined;
  readonly #spanDuration: Histogram<'span_name' | 'target' | 'status'>;
  readonly #events: Counter<'level' | 'target'>;
  readonly #spanLimiter: SeriesLimiter;
  readonly #eventLimiter: SeriesLimiter;
  /** Status codes of open spans, keyed by the worker's shared SpanInfo. */
  readonly #status = new WeakMap<SpanInfo, number>();
  #url = '';
  readonly #app: PrometheusApplicationMetrics | undefined;
  #lastMetrics: MetricsSnapshot | undefined;

  private constructor(options: ResolvedPrometheusOptions, context: SinkContext) {
    this.options = options;
    this.#stats = context.stats;
    const p = options.prefix;
    const registers = [this.registry];
    const overflow = new Counter({
      name: `${p}metrics_label_overflow_total`,
      help: 'Label combinations folded into __overflow__ because a metric reached its series cap',
      labelNames: ['metric'],
      registers,
    });
    this.#spanDuration = new Histogram({
      name: `${p}span_duration_seconds`,
      help: 'Duration of ended spans',
      labelNames: ['span_name', 'target', 'status'],
      buckets: options.buckets,
      registers,
    });
    this.#events = new Counter({ name: `${p}events_total`, help: 'Standalone events by level and target', labelNames: ['level', 'target'], registers });
    this.#spanLimiter = new SeriesLimiter(`${p}span_duration_seconds`, options.maxSeries, overflow);
    this.#eventLimiter = new SeriesLimiter(`${p}events_total`, options.maxSeries, overflow);
    if (this.#stats !== undefined) this.#registerHealth(this.#stats);
    this.#app = context.metrics === undefined ? undefined : new PrometheusApplicationMetrics(this.registry, context.metrics, context.resource);
    if (this.#app !== undefined) this.#registerMetricsHealth();
    if (options.defaultMetrics) collectDefaultMetrics({ register: this.registry });
    this.#server = createServer((req, res) => void this.#serve(req, res));
  }

  /** Build the sink and start listening; rejects when the port cannot be bound. */
  static async create(options: PrometheusSinkOptions | undefined, context: SinkContext): Promise<PrometheusSink> {
    const sink = new PrometheusSink(resolvePrometheusOptions(options), context);
    await sink.#listen();
    return sink;
  }

  #listen(): Promise<void> {
    const { host, port, path } = this.options;
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      this.#server.once('error', onError);
      this.#server.listen(port, host, () => {
        this.#server.off('error', onError);
        const address = this.#server.address() as AddressInfo;
        const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
        this.#url = `http://${shown}:${address.port}${path}`;
        resolve();
      });
    });
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== this.options.path) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    try {
      const body = await this.exposition();
      res.writeHead(200, { 'content-type': this.registry.contentType });
      res.end(req.method === 'HEAD' ? undefined : body);
    } catch (error) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`${error instanceof Error ? error.message : String(error)}\n`);
    }
  }

  /** The exposition text a scrape gets: the application's metrics read now, then every family formatted. */
  exposition(): Promise<string> {
    if (this.#app !== undefined) this.#lastMetrics = this.#app.update();
    return this.registry.metrics();
  }

  /** Counts of the metrics recording side, from the snapshot this scrape read. */
  #registerMetricsHealth(): void {
    const p = this.options.prefix;
    const sink = this;
    const total = (name: string, help: string, pick: (s: MetricsSnapshot) => number): void => {
      new Counter({
        name: `${p}${name}`,
        help,
        registers: [this.registry],
        collect() {
          this.reset();
          if (sink.#lastMetrics !== undefined) this.inc(pick(sink.#lastMetrics));
        },
      });
    };
    total('metrics_overflow_total', 'Measurements routed to an otel.metric.overflow series past an instrument\'s cardinality limit', (s) => s.overflowed);
    total('metrics_invalid_total', 'Measurements and instruments ignored as bad input', (s) => s.invalid);
    total('metrics_series_dropped_total', 'New series refused because the metrics region was full', (s) => s.seriesDropped);
  }

  /** Health metrics, read from the dispatcher at each scrape. */
  #registerHealth(stats: () => DispatcherHealth): void {
    const p = this.options.prefix;
    const registers = [this.registry];
    // One read per scrape, shared by every health metric's collect().
    let snapshot: DispatcherHealth | null = null;
    let snapshotAt = -1;
    const read = (): DispatcherHealth => {
      const now = performance.now();
      if (snapshot === null || now - snapshotAt > 50) {
        snapshot = stats();
        snapshotAt = now;
      }
      return snapshot;
    };
    const total = (name: string, help: string, pick: (h: DispatcherHealth) => number): void => {
      new Counter({
        name: `${p}${name}`,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(pick(read()));
        },
      });
    };
    const gauge = (name: string, help: string, pick: (h: DispatcherHealth) => number): void => {
      new Gauge({
        name: `${p}${name}`,
        help,
        registers,
        collect() {
          this.set(pick(read()));
        },
      });
    };
    total('records_offered_total', 'Records the application tried to record', (h) => h.offered);
    total('records_written_total', 'Records written into the ring', (h) => h.written);
    total('records_dropped_total', 'Records dropped because the ring was full', (h) => h.dropped);
    total('records_oversize_total', 'Records dropped because they could never fit in the ring', (h) => h.oversize);
    total('records_decoded_total', 'Records decoded and fanned out by the worker', (h) => h.decoded);
    total('records_corrupt_total', 'Records the worker could not decode: skipped and reported (decoded + corrupt == written)', (h) => h.corrupt);
    total('corrupt_bytes_total', 'Bytes skipped where the ring framing was unsound', (h) => h.corruptBytes);
    gauge('queue_records', 'Records waiting in the ring', (h) => h.queueRecords);
    gauge('queue_bytes', 'Bytes waiting in the ring', (h) => h.queueBytes);
    gauge('queue_high_water_bytes', 'Most bytes seen waiting in the ring', (h) => h.queueHighWaterBytes);
    gauge('queue_capacity_bytes', 'Ring data capacity in bytes', (h) => h.queueCapacityBytes);
    total('worker_restarts_total', 'Times the dispatcher worker was replaced after dying', (h) => h.workerRestarts);
    const perSink = (name: string, help: string, kind: 'counter' | 'gauge', pick: (s: DispatcherHealth['sinks'][number]) => number): void => {
      const collect = function (this: Counter<'sink'> | Gauge<'sink'>): void {
        this.reset();
        for (const s of read().sinks) {
          if (this instanceof Counter) this.inc({ sink: s.name }, pick(s));
          else this.set({ sink: s.name }, pick(s));
        }
      };
      const config = { name: `${p}${name}`, help, labelNames: ['sink'] as const, registers, collect };
      if (kind === 'counter') new Counter<'sink'>(config);
      else new Gauge<'sink'>(config);
    };
    perSink('sink_delivered_total', 'Records delivered to the sink', 'counter', (s) => s.delivered);
    perSink('sink_filtered_total', "Records the sink's filter kept from it", 'counter', (s) => s.filtered);
    perSink('sink_failed_total', "Records whose delivery threw in the sink's consume()", 'counter', (s) => s.failed);
    perSink('sink_flushes_total', 'Sink flushes', 'counter', (s) => s.flushes);
    perSink('sink_flush_failures_total', 'Sink flushes that threw, rejected or timed out', 'counter', (s) => s.flushFailures);
    perSink('sink_flush_seconds_total', 'Time spent in sink flushes', 'counter', (s) => s.totalFlushMs / 1000);
    perSink('sink_last_flush_seconds', "Duration of the sink's last flush", 'gauge', (s) => s.lastFlushMs / 1000);
  }

  consume(record: TraceRecord): void {
    switch (record.kind) {
      case 'spanStatus':
        this.#status.set(record.span, record.code);
        return;
      case 'spanEnd': {
        const span = record.span;
        const code = this.#status.get(span) ?? 0;
        const labels = this.#spanLimiter.labels({ status: STATUS_NAMES[code] ?? 'unset' }, { span_name: span.name, target: span.target });
        this.#spanDuration.observe(labels, Math.max(0, record.time - span.startTime) / 1000);
        return;
      }
      case 'event':
        this.#events.inc(this.#eventLimiter.labels({ level: record.level }, { target: record.target }));
        return;
      default:
        return;
    }
  }

  flush(): void {
    // Metrics are live; a scrape reads them as they are.
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  inspect(): PrometheusSinkInspection {
    return { url: this.#url };
  }
}

// `satisfies`, not a type annotation, so callers in-process see a PrometheusSink.
const createPrometheusSink = ((options: PrometheusSinkOptions | undefined, context: SinkContext) => PrometheusSink.create(options, context)) satisfies SinkFactory<PrometheusSinkOptions | undefined>;
export default createPrometheusSink;
