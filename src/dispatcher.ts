/**
 * TraceDispatcher: the application thread's handle on ringtrace. It owns the
 * ring and its writer, the record encoder and the level hint; its
 * WorkerSupervisor runs the dispatcher worker (piscina, respawn, exit drain)
 * and carries the control requests (add or remove a sink, flush, stats, shutdown).
 */
import { LevelHint } from './filter/level-hint.js';
import { TargetFilter } from './filter/target-filter.js';
import { DispatcherStateError, ERROR_CODES, SinkError } from './errors.js';
import { RecordEncoder } from './encoder/record-encoder.js';
import { safeString } from './encoder/safe-string.js';
import { StringTable } from './encoder/string-table.js';
import { MIN_CAPACITY, allocateRing } from './ring/layout.js';
import { RingWriter, type RingWriterCounts } from './ring/ring-writer.js';
import { EventLogger } from './capture/event-logger.js';
import { installGlobals, uninstallGlobals, type Installation, type InstallOptions } from './capture/install.js';
import { createPinoDestination, type PinoDestination } from './capture/pino-destination.js';
import { RingTracerProvider } from './capture/ring-tracer-provider.js';
import { RingMeterProvider } from './metrics/ring-meter-provider.js';
import { allocateMetricRegion } from './metric-region/layout.js';
import { RingLoggerProvider } from './capture/ring-logger-provider.js';
import type { ResourceAttributes } from './capture/resource.js';
import { resolveOptions, resolveSinkSpec, type DispatcherOptions, type ResolvedOptions } from './options.js';
import type { SinkSpec } from './sinks/trace-sink.js';
import type { SinkStats } from '../workers/sink-slot.js';
import {
  emptyWorkerStats,
  type ControlReplies,
  type ControlRequestBody,
  type ResolvedSinkSpec,
  type WorkerStats,
} from './control/control-protocol.js';
import { WorkerSupervisor, type SupervisorStats } from './worker-supervisor.js';
import { inertReason } from './worker-identity.js';

/** Loggers (and, in the provider, tracers) cached per target; past this they are made per call. */
export const MAX_CACHED_LOGGERS = 1024;

// The worker runs from source (.ts) under the test runner and from dist (.js) otherwise.
const WORKER_URL = new URL(`../workers/dispatcher-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** Counts from both sides. See README "Accounting". */
export interface DispatcherStats extends WorkerStats, SupervisorStats {
  /** Records offered to the ring: `offered == written + dropped + oversize`. */
  offered: number;
  written: number;
  /** Dropped because the ring was full. */
  dropped: number;
  /** Dropped because one record was larger than half the ring. */
  oversize: number;
  /** Bytes waiting in the ring now. */
  queueBytes: number;
  queueCapacity: number;
}

export class TraceDispatcher {
  /** The resolved options this dispatcher runs with. */
  readonly options: Readonly<Omit<ResolvedOptions, 'sinks'>>;
  /** @internal */ readonly writer: RingWriter;
  /** @internal */ readonly encoder: RecordEncoder;
  /** @internal */ readonly levelHint = new LevelHint();
  /**
   * The OpenTelemetry tracer provider writing to this dispatcher's ring. Use
   * it directly, or make it the global provider with `install()`.
   */
  readonly tracerProvider: RingTracerProvider;
  /**
   * The OpenTelemetry meter provider recording into this dispatcher's metrics
   * region (shared memory the worker reads at each flush and scrape). Use it
   * directly, or make it the global provider with `install()`.
   */
  readonly meterProvider: RingMeterProvider;
  /**
   * The OpenTelemetry Logs API logger provider writing to this dispatcher's
   * ring (`logger.emit()` records are events). `install()` makes it global.
   */
  readonly loggerProvider: RingLoggerProvider;
  /** The resource attributes handed to every sink once (service.name, process, runtime). */
  readonly resource: Readonly<ResourceAttributes>;
  /**
   * Why this dispatcher records nothing, when it was started off the main
   * thread (see `start()`); undefined for a working dispatcher.
   */
  readonly inert: string | undefined;
  #installation: Installation | undefined;
  /** Undefined only for an inert dispatcher. */
  #supervisor: WorkerSupervisor | undefined;
  /** The sinks as registered, to seed a respawned worker. */
  readonly #specs = new Map<string, ResolvedSinkSpec>();
  readonly #filters = new Map<string, TargetFilter>();
  readonly #loggers = new Map<string, EventLogger>();
  #final: Promise<DispatcherStats> | null = null;

  private constructor(options: ResolvedOptions, ring: SharedArrayBuffer, metricRegion: SharedArrayBuffer, inert: string | undefined) {
    const { sinks, ...rest } = options;
    this.options = rest;
    this.inert = inert;
    this.writer = new RingWriter(ring);
    this.encoder = new RecordEncoder(this.writer, {
      maxStringLength: options.maxStringLength,
      maxArrayLength: options.maxArrayLength,
      strings: new StringTable(options.maxInternedStrings),
    });
    this.resource = Object.freeze({ ...options.resource });
    this.tracerProvider = new RingTracerProvider({
      encoder: this.encoder,
      hint: this.levelHint,
      limits: options.spanLimits,
      sampler: options.sampler,
      spanLevel: options.spanLevel,
      publishAfterMs: options.flushIntervalMs,
    });
    this.loggerProvider = new RingLoggerProvider(this.encoder, this.levelHint);
    this.meterProvider = new RingMeterProvider(metricRegion, options.metrics);
    // An inert dispatcher has no sinks, so its level hint turns every record away before it is encoded.
    if (inert === undefined) {
      for (const s of sinks) {
        this.#specs.set(s.name, s);
        this.#filters.set(s.name, TargetFilter.parse(s.filter));
      }
    }
    this.#updateHint();
  }

  /**
   * Start the worker and every sink in `options.sinks`. Resolves once all of
   * them are ready; rejects with a TypeError/RangeError for a bad option, or
   * a SinkError naming a sink that failed to load or construct.
   *
   * Off the main thread it starts nothing and resolves at once with an
   * *inert* dispatcher (`dispatcher.inert` says why): Node runs `--import`
   * preloads in every worker thread, ringtrace's own dispatcher worker
   * included, so a set-up file that starts ringtrace runs there too. An inert
   * dispatcher records nothing, `install()` leaves the thread's globals
   * alone, `flush()`/`stats()`/`shutdown()` resolve with zero counts, and
   * `addSink`, `removeSink` and `inspectSink` reject with code `RINGTRACE_INERT`.
   */
  static async start(options?: DispatcherOptions): Promise<TraceDispatcher> {
    const resolved = resolveOptions(options);
    const inert = inertReason();
    // Inert: the smallest ring and metrics region (nothing reads them), and no worker.
    if (inert !== undefined) return new TraceDispatcher(resolved, allocateRing(MIN_CAPACITY), allocateMetricRegion(1024, 64), inert);
    const ring = allocateRing(resolved.queueCapacity);
    // Made once, here: it outlives every worker, so a respawned one continues the counts.
    const metricRegion = allocateMetricRegion(resolved.metrics.maxDescriptorBytes, resolved.metrics.maxCells);
    const dispatcher = new TraceDispatcher(resolved, ring, metricRegion, undefined);
    dispatcher.#supervisor = await WorkerSupervisor.start({
      ring,
      workerUrl: WORKER_URL.href,
      exitDrainTimeoutMs: resolved.exitDrainTimeoutMs,
      beforeExitDrain: () => dispatcher.tracerProvider.publishOpenSpans(),
      maxWorkerRestarts: resolved.maxWorkerRestarts,
      resourceLimits: resolved.workerResourceLimits,
      // Fresh for each spawn: a respawned worker learns every string interned so far and the current sinks.
      seed: () => ({
        ring,
        sinks: [...dispatcher.#specs.values()],
        strings: dispatcher.encoder.strings.snapshot(),
        flushIntervalMs: resolved.flushIntervalMs,
        flushEveryRecords: resolved.flushEveryRecords,
        maxOpenSpans: resolved.maxOpenSpans,
        sinkTimeoutMs: resolved.sinkTimeoutMs,
        resource: resolved.resource,
        metricRegions: [metricRegion],
      }),
    });
    return dispatcher;
  }

  /**
   * Install as the global OpenTelemetry tracer provider, Logs API logger
   * provider and meter provider, with an AsyncLocalStorage context manager
   * and the W3C trace-context and baggage propagators, as the SDK's
   * `NodeTracerProvider.register()` does. Every library calling
   * `@opentelemetry/api` then records into this dispatcher.
   * Globals another SDK registered are kept, with a warning, unless
   * `{ replace: true }`. Installing twice warns and changes nothing.
   */
  install(options?: InstallOptions): this {
    if (this.inert !== undefined) return this;
    const installation = installGlobals(this, options);
    if (installation !== undefined) this.#installation = installation;
    return this;
  }

  /** Remove the globals `install()` registered (shutdown does this too). */
  uninstall(): void {
    if (this.#installation === undefined) return;
    uninstallGlobals(this, this.#installation);
    this.#installation = undefined;
  }

  /**
   * A pino destination writing each log line into the ring:
   * `pino({ name: 'http' }, dispatcher.pinoDestination())`. The logger's
   * `name` becomes the target; lines inside an active span carry its ids.
   */
  pinoDestination(): PinoDestination {
    return createPinoDestination(this.encoder, this.levelHint);
  }

  /** A structured-event logger for `target` (cached per target). */
  logger(target: string): EventLogger {
    let logger = this.#loggers.get(target);
    if (logger === undefined) {
      // Not String(target): a symbol or an object whose toString throws must not throw here.
      logger = new EventLogger(typeof target === 'string' ? target : safeString(target, 1024), this.encoder, this.levelHint);
      // Bounded: an application making targets from ids must not grow this without limit.
      if (this.#loggers.size < MAX_CACHED_LOGGERS) this.#loggers.set(target, logger);
    }
    return logger;
  }

  /** Register a sink at run time; resolves once it is ready to receive records. */
  async addSink(spec: SinkSpec): Promise<void> {
    const resolved = resolveSinkSpec(spec);
    if (this.#filters.has(resolved.name)) throw new SinkError(resolved.name, 'a sink with this name is already registered');
    await this.#request({ type: 'addSink', spec: resolved });
    this.#specs.set(resolved.name, resolved);
    this.#filters.set(resolved.name, TargetFilter.parse(resolved.filter));
    this.#updateHint();
  }

  /** Unregister a sink, after flushing and closing it. Resolves with its final counts. */
  async removeSink(name: string): Promise<SinkStats> {
    const stats = await this.#request({ type: 'removeSink', name });
    this.#specs.delete(name);
    this.#filters.delete(name);
    this.#updateHint();
    return stats;
  }

  /** Resolves once every record written before the call has reached its sinks and every sink has flushed. */
  async flush(): Promise<void> {
    // With no worker left (it kept dying), there is nothing to wait for.
    // Spans still held are recorded too: write their opening records first.
    this.tracerProvider.publishOpenSpans();
    // Observable instruments report now, so the flush carries their values.
    await this.meterProvider.collect();
    await this.#request({ type: 'flush', position: this.writer.writePosition }, () => undefined);
  }

  /** Counts from the producer and the worker. */
  async stats(): Promise<DispatcherStats> {
    const worker = await this.#request({ type: 'stats' }, () => this.#lastWorkerStats());
    return this.#combine(worker);
  }

  /** The producer's counts alone, read synchronously. */
  producerStats(): RingWriterCounts {
    return this.writer.counts();
  }

  /** What a sink's `inspect()` returns (the memory sink: its records). */
  async inspectSink<T = unknown>(name: string): Promise<T> {
    // What the sink's inspect() returned; the caller names its type.
    return (await this.#request({ type: 'inspect', name })) as T;
  }

  /**
   * Deliver everything written before the call, flush and close every sink,
   * stop the worker, and resolve with the final counts. Records made after
   * the call are not recorded. Safe to call more than once.
   */
  shutdown(): Promise<DispatcherStats> {
    this.#final ??= (async () => {
      this.tracerProvider.close();
      const position = this.writer.writePosition;
      this.uninstall();
      this.#filters.clear();
      this.#updateHint();
      // Last observations into the region (not the ring): the sinks' final flush reads them.
      await this.meterProvider.collect();
      this.meterProvider.close();
      const worker = await this.#request({ type: 'shutdown', position }, () => this.#lastWorkerStats());
      await this.#supervisor?.stop();
      return this.#combine(worker);
    })();
    return this.#final;
  }

  #combine(worker: WorkerStats): DispatcherStats {
    const supervisor = this.#supervisor?.stats() ?? { restarts: 0, lostInFlight: 0, workerGivenUp: false };
    return { ...this.writer.counts(), queueBytes: this.writer.usedBytes, queueCapacity: this.writer.capacity, ...worker, ...supervisor };
  }

  #updateHint(): void {
    this.levelHint.update([...this.#filters.values()]);
  }

  #request<B extends ControlRequestBody>(body: B, fallback?: () => ControlReplies[B['type']]): Promise<ControlReplies[B['type']]> {
    if (this.#final !== null && body.type !== 'shutdown') {
      return Promise.reject(new DispatcherStateError('ringtrace: the dispatcher is shut down', ERROR_CODES.SHUT_DOWN));
    }
    if (this.#supervisor === undefined) {
      if (fallback !== undefined) return Promise.resolve(fallback());
      return Promise.reject(new DispatcherStateError(`ringtrace: this dispatcher is inert (started in ${this.inert}); it has no sinks`, ERROR_CODES.INERT));
    }
    return this.#supervisor.request(body, fallback);
  }

  #lastWorkerStats(): WorkerStats {
    return this.#supervisor?.lastStats() ?? emptyWorkerStats();
  }
}
