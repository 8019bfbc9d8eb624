/**
 * `TraceDispatcher.attach()`: a worker thread's connection to the dispatcher
 * of its process. The ring, encoder and providers are made here at once (so
 * the thread records from the first call); the thread channel carries the
 * ring to the main thread's hub (see thread-channel.ts) and the answers back.
 */
import { BroadcastChannel, isMainThread, threadId, type Worker } from 'node:worker_threads';
import * as workerThreads from 'node:worker_threads';
import { AttachError, invalidOptionRange, invalidOptionType } from '../errors.js';
import { TargetFilter } from '../filter/target-filter.js';
import { allocateRing } from '../ring/layout.js';
import { allocateMetricRegion } from '../metric-region/layout.js';
import { DEFAULT_ATTACHED_QUEUE_CAPACITY, DEFAULT_ATTACH_TIMEOUT_MS } from '../defaults.js';
import { resolveOptions, validateQueueCapacity } from '../options.js';
import { Producer, sharedProducerSettings } from '../producer.js';
import { isDispatcherWorker } from '../worker-identity.js';
import type { RingWriterCounts } from '../ring/ring-writer.js';
import type { EventLogger } from '../capture/event-logger.js';
import type { InstallOptions } from '../capture/install.js';
import type { PinoDestination } from '../capture/pino-destination.js';
import type { RingTracerProvider } from '../capture/ring-tracer-provider.js';
import type { RingLoggerProvider } from '../capture/ring-logger-provider.js';
import type { RingMeterProvider } from '../metrics/ring-meter-provider.js';
import type { ThreadInfo } from '../record/trace-record.js';
import { THREAD_CHANNEL, type ChannelMessage, type FromHub, type ToHub } from './thread-channel.js';
import { watchWorkers } from './thread-hub.js';

/** Options of `TraceDispatcher.attach()`. */
export interface AttachOptions {
  /** This thread's ring capacity in bytes: a power of two from 64 KiB to 1 GiB. Default 1 MiB (`DEFAULT_ATTACHED_QUEUE_CAPACITY`). */
  queueCapacity?: number;
  /** How long to wait for the dispatcher to answer, in ms (also bounds `flush()` and `detach()`). Default 5000. */
  timeoutMs?: number;
  /** `thread.name` of this thread's records. Default: the worker's name where Node tells it, else `worker-<threadId>`. */
  name?: string;
}

/** The metrics region of an attached thread: smaller than the main thread's default. */
const ATTACHED_METRIC_DESCRIPTOR_BYTES = 64 * 1024;
const ATTACHED_METRIC_CELLS = 4096;

/** A worker thread attached to the dispatcher: its producer API, as the main thread's dispatcher has it. */
export class AttachedThread {
  /** This thread, as its records name it (`thread.id`, `thread.name`). */
  readonly thread: ThreadInfo;
  /** The OpenTelemetry tracer provider writing to this thread's ring. */
  readonly tracerProvider: RingTracerProvider;
  /** The Logs API logger provider writing to this thread's ring. */
  readonly loggerProvider: RingLoggerProvider;
  /** The meter provider recording into this thread's metrics region (summed with the other threads' by the worker). */
  readonly meterProvider: RingMeterProvider;
  readonly #producer: Producer;
  readonly #channel: BroadcastChannel;
  readonly #timeoutMs: number;
  readonly #pending = new Map<number, { resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout }>();
  readonly #unwatch: () => void;
  readonly #onExit: () => void;
  #detached: Promise<void> | undefined;

  /** @internal made by `attach()`. */
  constructor(producer: Producer, channel: BroadcastChannel, thread: ThreadInfo, timeoutMs: number) {
    this.#producer = producer;
    this.#channel = channel;
    this.thread = thread;
    this.#timeoutMs = timeoutMs;
    this.tracerProvider = producer.tracerProvider;
    this.loggerProvider = producer.loggerProvider;
    this.meterProvider = producer.meterProvider;
    channel.onmessage = (event) => this.#onMessage((event as { data: ChannelMessage }).data as FromHub);
    channel.unref();
    // Workers this thread starts: their end is reported from here (the main thread does not see it).
    this.#unwatch = watchWorkers(
      (worker: Worker) => this.#post({ type: 'child', parent: thread.id, child: worker.threadId }),
      (child) => this.#post({ type: 'ended', threadId: child }),
    );
    this.#onExit = () => {
      // Spans still held are written, so what this thread made reaches the sinks.
      producer.tracerProvider.publishOpenSpans();
      this.#post({ type: 'exiting', threadId: thread.id });
    };
    process.once('exit', this.#onExit);
  }

  /**
   * Make this thread's OpenTelemetry globals (tracer provider, Logs API
   * logger provider, meter provider, context manager, propagator) write to
   * its ring, as the main thread's `dispatcher.install()` does there.
   */
  install(options?: InstallOptions): this {
    if (this.#detached === undefined) this.#producer.install(options);
    return this;
  }

  /** Remove the globals `install()` registered (`detach()` does this too). */
  uninstall(): void {
    this.#producer.uninstall();
  }

  /** A structured-event logger for `target` (cached per target). */
  logger(target: string): EventLogger {
    return this.#producer.logger(target);
  }

  /** A pino destination writing each log line into this thread's ring. */
  pinoDestination(): PinoDestination {
    return this.#producer.pinoDestination();
  }

  /** This thread's producer counts, read synchronously. */
  producerStats(): RingWriterCounts {
    return this.#producer.counts();
  }

  /**
   * Resolves once every record this thread wrote before the call has reached
   * the sinks and every sink has flushed. Rejects with an `AttachError` when
   * the dispatcher does not answer within `timeoutMs`.
   */
  async flush(): Promise<void> {
    if (this.#detached !== undefined) return;
    this.#producer.tracerProvider.publishOpenSpans();
    await this.#producer.meterProvider.collect();
    await this.#ask((token) => ({ type: 'flush', token, threadId: this.thread.id, position: this.#producer.writer.writePosition }));
  }

  /**
   * Stop recording on this thread and let the dispatcher drain its ring to
   * the end and drop it. Records made afterwards are not recorded; a new
   * `attach()` gives a new handle and ring. Safe to call more than once.
   */
  detach(): Promise<void> {
    this.#detached ??= (async () => {
      current = undefined;
      const producer = this.#producer;
      producer.tracerProvider.close();
      producer.uninstall();
      // Nothing more is wanted from this thread.
      producer.setFilters([]);
      await producer.meterProvider.collect();
      producer.meterProvider.close();
      process.removeListener('exit', this.#onExit);
      this.#unwatch();
      try {
        await this.#ask((token) => ({ type: 'detach', token, threadId: this.thread.id }));
      } finally {
        this.#channel.close();
      }
    })();
    return this.#detached;
  }

  #post(message: ToHub): void {
    this.#channel.postMessage(message);
  }

  #ask(make: (token: number) => ToHub): Promise<void> {
    const token = nextToken++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(token);
        if (this.#pending.size === 0) this.#channel.unref();
        reject(new AttachError(`ringtrace: the dispatcher did not answer within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(token, { resolve, reject, timer });
      // An answer is awaited: keep this thread alive for it.
      this.#channel.ref();
      this.#post(make(token));
    });
  }

  #onMessage(message: FromHub): void {
    if (message.type === 'restarted') {
      this.#producer.encoder.strings.reset();
      return;
    }
    if (message.type === 'filters') {
      if (this.#detached === undefined) this.#producer.setFilters(message.filters.map((f) => TargetFilter.parse(f)));
      return;
    }
    if (message.type !== 'reply' || message.threadId !== this.thread.id) return;
    const pending = this.#pending.get(message.token);
    if (pending === undefined) return;
    this.#pending.delete(message.token);
    clearTimeout(pending.timer);
    if (this.#pending.size === 0) this.#channel.unref();
    if (message.ok) pending.resolve();
    else pending.reject(new AttachError(`ringtrace: ${message.message}`));
  }
}

let nextToken = 1;
let current: Promise<AttachedThread> | undefined;

function resolveAttachOptions(options: unknown): { queueCapacity: number; timeoutMs: number; name: string | undefined } {
  if (options === undefined) options = {};
  if (options === null || typeof options !== 'object') throw invalidOptionType('options', 'an object', options);
  const o = options as AttachOptions;
  const queueCapacity = validateQueueCapacity(o.queueCapacity, DEFAULT_ATTACHED_QUEUE_CAPACITY);
  let timeoutMs = DEFAULT_ATTACH_TIMEOUT_MS;
  if (o.timeoutMs !== undefined) {
    if (typeof o.timeoutMs !== 'number') throw invalidOptionType('timeoutMs', 'a number of milliseconds', o.timeoutMs);
    if (!(o.timeoutMs > 0) || !Number.isFinite(o.timeoutMs)) throw invalidOptionRange('timeoutMs', 'a positive finite number of milliseconds', o.timeoutMs);
    timeoutMs = o.timeoutMs;
  }
  if (o.name !== undefined && typeof o.name !== 'string') throw invalidOptionType('name', 'a string', o.name);
  return { queueCapacity, timeoutMs, name: o.name };
}

/** The worker's name as Node tells it (`threadName`, Node 22.?+), else `worker-<id>`. */
function defaultThreadName(): string {
  const name = (workerThreads as { threadName?: unknown }).threadName;
  return typeof name === 'string' && name !== '' ? name : `worker-${threadId}`;
}

/** See `TraceDispatcher.attach()`. */
export function attachThread(options?: AttachOptions): Promise<AttachedThread> {
  if (isMainThread) return Promise.reject(new AttachError('ringtrace: attach() is for worker threads; on the main thread use TraceDispatcher.start()'));
  if (isDispatcherWorker()) return Promise.reject(new AttachError("ringtrace: attach() cannot be called in ringtrace's own dispatcher worker"));
  if (current !== undefined) return current;
  let resolved;
  try {
    resolved = resolveAttachOptions(options);
  } catch (error) {
    return Promise.reject(error);
  }
  const attempt = connect(resolved.queueCapacity, resolved.timeoutMs, resolved.name ?? defaultThreadName());
  current = attempt;
  attempt.catch(() => {
    if (current === attempt) current = undefined;
  });
  return attempt;
}

function connect(queueCapacity: number, timeoutMs: number, name: string): Promise<AttachedThread> {
  const thread: ThreadInfo = Object.freeze({ id: threadId, name });
  // The main thread's settings when it started before this thread was made;
  // else what it would take from the environment (OTEL_* variables are inherited).
  const settings = sharedProducerSettings() ?? resolveOptions({});
  const ring = allocateRing(queueCapacity);
  const metricRegion = allocateMetricRegion(ATTACHED_METRIC_DESCRIPTOR_BYTES, ATTACHED_METRIC_CELLS);
  const producer = new Producer({ ring, metricRegion, options: settings });
  // Until the dispatcher sends its sinks' filters, record everything: the worker filters per sink anyway.
  producer.setFilters([TargetFilter.parse('trace')]);
  const channel = new BroadcastChannel(THREAD_CHANNEL);
  const token = nextToken++;
  const request: ToHub = { type: 'attach', token, thread, ring, metricRegion };
  return new Promise<AttachedThread>((resolve, reject) => {
    const timer = setTimeout(() => {
      channel.close();
      reject(new AttachError(`ringtrace: no dispatcher answered attach() within ${timeoutMs} ms (is TraceDispatcher.start() called on the main thread?)`));
    }, timeoutMs);
    channel.onmessage = (event) => {
      const m = (event as { data: ChannelMessage }).data as FromHub;
      // A dispatcher started after this request: ask it.
      if (m.type === 'hub') channel.postMessage(request);
      if (m.type === 'filters') producer.setFilters(m.filters.map((f) => TargetFilter.parse(f)));
      if (!('threadId' in m) || m.threadId !== thread.id) return;
      if (m.type === 'reply' && !m.ok) {
        clearTimeout(timer);
        channel.close();
        reject(new AttachError(`ringtrace: attach() failed: ${m.message}`));
      }
      if (m.type === 'attached') {
        clearTimeout(timer);
        producer.setFilters(m.filters.map((f) => TargetFilter.parse(f)));
        resolve(new AttachedThread(producer, channel, thread, timeoutMs));
      }
    };
    channel.postMessage(request);
  });
}
