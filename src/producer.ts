/**
 * Producer: one recording thread's side of ringtrace. It owns the thread's
 * ring writer, record encoder (with its string table), level hint, and the
 * OpenTelemetry providers, loggers and pino destination writing through them.
 * The main thread's TraceDispatcher and an attached worker thread
 * (`TraceDispatcher.attach()`) each make one.
 */
import { LevelHint } from './filter/level-hint.js';
import type { TargetFilter } from './filter/target-filter.js';
import { RecordEncoder } from './encoder/record-encoder.js';
import { safeString } from './encoder/safe-string.js';
import { StringTable } from './encoder/string-table.js';
import { RingWriter, type RingWriterCounts } from './ring/ring-writer.js';
import { EventLogger } from './capture/event-logger.js';
import { installGlobals, uninstallGlobals, type Installation, type InstallOptions } from './capture/install.js';
import { createPinoDestination, type PinoDestination } from './capture/pino-destination.js';
import { RingTracerProvider } from './capture/ring-tracer-provider.js';
import { RingLoggerProvider } from './capture/ring-logger-provider.js';
import { RingMeterProvider } from './metrics/ring-meter-provider.js';
import { getEnvironmentData, setEnvironmentData } from 'node:worker_threads';
import type { ResolvedOptions } from './options.js';

/** Loggers (and, in the provider, tracers) cached per target; past this they are made per call. */
export const MAX_CACHED_LOGGERS = 1024;

/** What a producer is made with: the thread's ring and metrics region, and the resolved options it reads. */
/** What a producer takes from the dispatcher's options: plain data, so it can cross to worker threads. */
export type ProducerSettings = Pick<ResolvedOptions, 'maxStringLength' | 'maxArrayLength' | 'maxInternedStrings' | 'spanLimits' | 'sampler' | 'spanLevel' | 'flushIntervalMs' | 'metrics'>;

export interface ProducerOptions {
  ring: SharedArrayBuffer;
  metricRegion: SharedArrayBuffer;
  options: ProducerSettings;
}

const SETTINGS_KEY = 'ringtrace.producer-settings';

/**
 * Hand the main thread's producer settings to the worker threads created from
 * now on (`worker_threads` environment data is copied into each new worker),
 * so an attached thread samples, limits and cuts as `start()`'s options say
 * rather than re-reading the environment on its own.
 */
export function shareProducerSettings(options: ProducerSettings): void {
  const { maxStringLength, maxArrayLength, maxInternedStrings, spanLimits, sampler, spanLevel, flushIntervalMs, metrics } = options;
  setEnvironmentData(SETTINGS_KEY, { maxStringLength, maxArrayLength, maxInternedStrings, spanLimits, sampler, spanLevel, flushIntervalMs, metrics });
}

/** The settings the main thread shared before this thread was created, if it did. */
export function sharedProducerSettings(): ProducerSettings | undefined {
  return getEnvironmentData(SETTINGS_KEY) as ProducerSettings | undefined;
}

/** @internal */
export class Producer {
  readonly ring: SharedArrayBuffer;
  readonly writer: RingWriter;
  readonly encoder: RecordEncoder;
  readonly levelHint = new LevelHint();
  readonly tracerProvider: RingTracerProvider;
  readonly loggerProvider: RingLoggerProvider;
  readonly meterProvider: RingMeterProvider;
  readonly #loggers = new Map<string, EventLogger>();
  #installation: Installation | undefined;

  constructor({ ring, metricRegion, options }: ProducerOptions) {
    this.ring = ring;
    this.writer = new RingWriter(ring);
    this.encoder = new RecordEncoder(this.writer, {
      maxStringLength: options.maxStringLength,
      maxArrayLength: options.maxArrayLength,
      strings: new StringTable(options.maxInternedStrings),
    });
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
  }

  /** Make this producer's providers this thread's OpenTelemetry globals (see `installGlobals`). */
  install(options?: InstallOptions): void {
    const installation = installGlobals(this, options);
    if (installation !== undefined) this.#installation = installation;
  }

  /** Remove the globals `install()` registered. */
  uninstall(): void {
    if (this.#installation === undefined) return;
    uninstallGlobals(this, this.#installation);
    this.#installation = undefined;
  }

  get installed(): boolean {
    return this.#installation !== undefined;
  }

  pinoDestination(): PinoDestination {
    return createPinoDestination(this.encoder, this.levelHint);
  }

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

  /** The sinks' filters changed: what no sink wants is skipped from now on. */
  setFilters(filters: readonly TargetFilter[]): void {
    this.levelHint.update(filters);
  }

  counts(): RingWriterCounts {
    return this.writer.counts();
  }
}
