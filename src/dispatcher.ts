/**
 * TraceDispatcher: the application thread's handle on ringtrace. It owns the
 * ring and its writer, the record encoder and the level hint; its
 * WorkerSupervisor runs the dispatcher worker (piscina, respawn, exit drain)
 * and carries the control requests (add or remove a sink, flush, stats, shutdown).
 */
import { TargetFilter } from './filter/target-filter.js';
import type { LevelHint } from './filter/level-hint.js';
import { DispatcherStateError, ERROR_CODES, SinkError } from './errors.js';
import type { RecordEncoder } from './encoder/record-encoder.js';
import { MIN_CAPACITY, allocateRing } from './ring/layout.js';
import type { RingWriter, RingWriterCounts } from './ring/ring-writer.js';
import type { EventLogger } from './capture/event-logger.js';
import type { InstallOptions } from './capture/install.js';
import type { PinoDestination } from './capture/pino-destination.js';
import type { RingTracerProvider } from './capture/ring-tracer-provider.js';
import type { RingMeterProvider } from './metrics/ring-meter-provider.js';
import { allocateMetricRegion } from './metric-region/layout.js';
import type { RingLoggerProvider } from './capture/ring-logger-provider.js';
import type { ResourceAttributes } from './capture/resource.js';
import { resolveOptions, resolveSinkSpec, type DispatcherOptions, type ResolvedOptions } from './options.js';
import type { SinkSpec } from './sinks/trace-sink.js';
import type { SinkStats } from '../workers/sink-slot.js';
import {
  MAIN_THREAD,
  emptyThreadStats,
  emptyWorkerStats,
  type ControlReplies,
  type ControlRequestBody,
  type ResolvedSinkSpec,
  type ThreadStats,
  type WorkerStats,
} from './control/control-protocol.js';
import { WorkerSupervisor, type SupervisorStats } from './worker-supervisor.js';
import { Producer, shareProducerSettings } from './producer.js';
import { ThreadHub } from './threads/thread-hub.js';
import { attachThread, type AttachOptions, type AttachedThread } from './threads/attach.js';
import { inertReason } from './worker-identity.js';

export { MAX_CACHED_LOGGERS } from './producer.js';

// The worker runs from source (.ts) under the test runner and from dist (.js) otherwise.
const WORKER_URL = new URL(`../workers/dispatcher-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

/** Counts from both sides. See README "Accounting". */
export interface DispatcherStats extends Omit<WorkerStats, 'attached'>, SupervisorStats {
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
  /**
   * One entry per recording thread: the main thread (`threadId` 0, first)
   * and every attached worker thread (see `TraceDispatcher.attach()`). The
   * totals above (`offered`, `written`, `decoded`…) are the main thread's
   * producer counts plus the worker's counts over every ring.
   */
  threads: ThreadStats[];
}

export class TraceDispatcher {
  /** The resolved options this dispatcher runs with. */
  readonly options: Readonly<Omit<ResolvedOptions, 'sinks'>>;
  /** @internal */ readonly writer: RingWriter;
  /** @internal */ readonly encoder: RecordEncoder;
  /** @internal */ readonly levelHint: LevelHint;
  /** @internal this thread's ring, encoder and providers. */ readonly producer: Producer;
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
  /** Undefined only for an inert dispatcher. */
  #supervisor: WorkerSupervisor | undefined;
  /** Answers `attach()` from worker threads; undefined for an inert dispatcher. */
  #hub: ThreadHub | undefined;
  /** The sinks as registered, to seed a respawned worker. */
  readonly #specs = new Map<string, ResolvedSinkSpec>();
  readonly #filters = new Map<string, TargetFilter>();
  #final: Promise<DispatcherStats> | null = null;

  private constructor(options: ResolvedOptions, ring: SharedArrayBuffer, metricRegion: SharedArrayBuffer, inert: string | undefined) {
    const { sinks, ...rest } = options;
    this.options = rest;
    this.inert = inert;
    this.producer = new Producer({ ring, metricRegion, options });
    this.writer = this.producer.writer;
    this.encoder = this.producer.encoder;
    this.levelHint = this.producer.levelHint;
    this.resource = Object.freeze({ ...options.resource });
    this.tracerProvider = this.producer.tracerProvider;
    this.loggerProvider = this.producer.loggerProvider;
    this.meterProvider = this.producer.meterProvider;
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
    shareProducerSettings(resolved);
    const hub = new ThreadHub({
      request: (body) => dispatcher.#request(body),
      filters: () => [...dispatcher.#specs.values()].map((s) => s.filter),
    });
    dispatcher.#hub = hub;
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
        rings: hub.seedRings(),
      }),
    });
    // Answer attach() only once the worker is up: a request sent now reaches it.
    hub.open();
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
    this.producer.install(options);
    return this;
  }

  /** Remove the globals `install()` registered (shutdown does this too). */
  uninstall(): void {
    this.producer.uninstall();
  }

  /**
   * A pino destination writing each log line into the ring:
   * `pino({ name: 'http' }, dispatcher.pinoDestination())`. The logger's
   * `name` becomes the target; lines inside an active span carry its ids.
   */
  pinoDestination(): PinoDestination {
    return this.producer.pinoDestination();
  }

  /** A structured-event logger for `target` (cached per target). */
  logger(target: string): EventLogger {
    return this.producer.logger(target);
  }

  /**
   * Connect this worker thread to the dispatcher started on the main thread
   * of this process: the thread gets a ring of its own (`queueCapacity`,
   * default `DEFAULT_ATTACHED_QUEUE_CAPACITY`, 1 MiB), drained by the same
   * dispatcher worker into the same sinks, and its records carry `thread.id`
   * and `thread.name`. It can record at once; the promise resolves once the
   * dispatcher has taken the ring. Works whether the thread was started
   * before or after `start()` (within `timeoutMs` of the call).
   *
   * Rejects with an `AttachError` (code `RINGTRACE_NO_DISPATCHER`) on the
   * main thread, in ringtrace's own worker, or when no dispatcher answers
   * within `timeoutMs` (default 5000). Calling it again returns the same
   * handle until it is detached. See docs/threads.md.
   */
  static attach(options?: AttachOptions): Promise<AttachedThread> {
    return attachThread(options);
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

  /** Worker threads attached to this dispatcher now (rings the worker drains, the main thread's not counted). */
  get attachedThreads(): number {
    return this.#hub?.size ?? 0;
  }

  /** Counts from the producer and the worker. */
  async stats(): Promise<DispatcherStats> {
    const worker = await this.#request({ type: 'stats' }, () => this.#lastWorkerStats());
    return this.#combine(worker);
  }

  /** The producer's counts alone, read synchronously. */
  producerStats(): RingWriterCounts {
    return this.producer.counts();
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
      this.#hub?.close();
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
    const own = this.writer.counts();
    // The main thread's producer counts are exact here (this is its thread); the worker's copy is as of its last read.
    const main: ThreadStats = {
      ...(worker.threads.find((t) => t.threadId === MAIN_THREAD.id) ?? emptyThreadStats(MAIN_THREAD, this.writer.capacity)),
      offered: own.offered,
      written: own.written,
      dropped: own.dropped,
      oversize: own.oversize,
      queueBytes: this.writer.usedBytes,
    };
    const threads = [main, ...worker.threads.filter((t) => t.threadId !== MAIN_THREAD.id)];
    // Totals: this thread's exact counts plus the attached threads' (live and ended) as the worker read them.
    const a = worker.attached;
    const { attached: _attached, threads: _threads, ...rest } = worker;
    return {
      ...own,
      offered: own.offered + a.offered,
      written: own.written + a.written,
      dropped: own.dropped + a.dropped,
      oversize: own.oversize + a.oversize,
      queueBytes: this.writer.usedBytes,
      queueCapacity: this.writer.capacity,
      ...rest,
      ...supervisor,
      threads,
    };
  }

  #updateHint(): void {
    const filters = [...this.#filters.values()];
    this.producer.setFilters(filters);
    this.#hub?.filtersChanged();
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
