/**
 * WorkerRuntime: everything the dispatcher worker does, as a class the tests
 * can drive in-process. It builds the ring reader, decoder, fan-out and drain
 * loop from the seed, loads the first sinks, answers control requests between
 * batches, and on shutdown drains, flushes and closes every sink.
 */
import type { MessagePort } from 'node:worker_threads';
import { SinkError, serializeError } from '../src/errors.js';
import { TargetFilter } from '../src/filter/target-filter.js';
import { RecordDecoder, keepSpanIdBytes } from '../src/decoder/record-decoder.js';
import { ExitHandshake } from '../src/ring/exit-handshake.js';
import { RingReader } from '../src/ring/ring-reader.js';
import { MAIN_THREAD } from '../src/control/control-protocol.js';
import { MetricRegionReader } from '../src/metric-region/region-reader.js';
import type { AttachedRing, ControlReply, ControlRequest, ResolvedSinkSpec, ThreadStats, WorkerSeed, WorkerStartMessage, WorkerStats } from '../src/control/control-protocol.js';
import { DispatcherHealthReader } from './dispatcher-health-reader.js';
import { Diagnostics } from './diagnostics.js';
import { DrainLoop } from './drain-loop.js';
import { FanOut } from './fan-out.js';
import { loadSink } from './sink-loader.js';

export class WorkerRuntime {
  readonly reader: RingReader;
  readonly decoder: RecordDecoder;
  readonly diagnostics: Diagnostics;
  readonly fanOut: FanOut;
  readonly loop: DrainLoop;
  /** Backs `SinkContext.stats()`. */
  readonly health: DispatcherHealthReader;
  /** Backs `SinkContext.metrics()`. */
  readonly metrics: MetricRegionReader;
  readonly #port: MessagePort;
  readonly #sinkTimeoutMs: number;
  readonly #resource: Readonly<Record<string, string | number | boolean>>;
  readonly #maxOpenSpans: number;
  /** Attached threads' metrics regions, by thread id. */
  readonly #regions = new Map<number, SharedArrayBuffer>();
  /** Sinks that write span ids as bytes (otlp): while any is registered, the decoders keep the ids' bytes. */
  readonly #idByteSinks = new Set<string>();
  #finished: Promise<WorkerStats> | null = null;
  #resolveStarted!: (message: WorkerStartMessage) => void;
  /** Resolves with what `run()` reports once its first sinks are ready (or failed). */
  readonly started = new Promise<WorkerStartMessage>((resolve) => {
    this.#resolveStarted = resolve;
  });
  readonly #restart: WorkerSeed['restart'];

  constructor(seed: WorkerSeed, diagnostics: Diagnostics = new Diagnostics()) {
    this.#port = seed.port;
    this.#sinkTimeoutMs = seed.sinkTimeoutMs;
    this.#restart = seed.restart;
    this.#resource = Object.freeze({ ...seed.resource });
    this.#maxOpenSpans = seed.maxOpenSpans;
    this.reader = new RingReader(seed.ring);
    this.decoder = new RecordDecoder(this.reader.bytes, { maxOpenSpans: seed.maxOpenSpans, strings: seed.strings, thread: MAIN_THREAD });
    this.diagnostics = diagnostics;
    this.fanOut = new FanOut(this.decoder, diagnostics);
    this.loop = new DrainLoop(this.reader, this.decoder, this.fanOut, diagnostics, {
      flushIntervalMs: seed.flushIntervalMs,
      flushEveryRecords: seed.flushEveryRecords,
      exit: new ExitHandshake(seed.ring),
    });
    const restarts = seed.restart?.restarts ?? 0;
    this.metrics = new MetricRegionReader(seed.metricRegions ?? []);
    this.health = new DispatcherHealthReader(this.reader, this.loop, this.fanOut, () => restarts);
    for (const ring of seed.rings ?? []) this.attachRing(ring);
  }

  /** Drain an attached thread's ring too, and read its metrics region. */
  attachRing({ thread, ring, metricRegion }: AttachedRing): void {
    const reader = new RingReader(ring);
    // A ring of its own, so strings interned and spans open of its own; a respawned worker learns its strings anew (see docs/threads.md).
    const decoder = new RecordDecoder(reader.bytes, { maxOpenSpans: this.#maxOpenSpans, thread: Object.freeze({ id: thread.id, name: thread.name }) });
    this.loop.addRing(reader, decoder, decoder.thread!);
    if (metricRegion !== undefined) {
      this.metrics.addRegion(metricRegion);
      this.#regions.set(thread.id, metricRegion);
    }
  }

  /** The thread has ended: drain its ring to the end, then drop the ring and its metrics region. */
  async endRing(threadId: number): Promise<ThreadStats | undefined> {
    const stats = await this.loop.endRing(threadId);
    const region = this.#regions.get(threadId);
    if (region !== undefined) {
      this.metrics.removeRegion(region);
      this.#regions.delete(threadId);
    }
    return stats;
  }

  /** Load the first sinks, report ready, and drain until shutdown. Resolves with the final stats. */
  async run(sinks: readonly ResolvedSinkSpec[]): Promise<WorkerStats> {
    try {
      for (const spec of sinks) await this.addSink(spec);
    } catch (error) {
      await this.fanOut.closeAll();
      const failed: WorkerStartMessage = { type: 'startFailed', error: serializeError(error) };
      this.#resolveStarted(failed);
      this.#port.postMessage(failed);
      this.#port.close();
      return this.stats();
    }
    let shutdownRequest: Promise<WorkerStats> | undefined;
    this.#port.on('message', (request: ControlRequest) => {
      const reply = this.handle(request);
      if (request.type === 'shutdown') shutdownRequest = reply.then(() => this.stats());
      reply.then(
        (value) => this.#port.postMessage({ id: request.id, ok: true, value } satisfies ControlReply),
        (error: unknown) => this.#port.postMessage({ id: request.id, ok: false, error: serializeError(error) } satisfies ControlReply),
      );
    });
    if (this.#restart !== undefined) {
      // This worker replaces one that died: say so where the sinks and stderr will see it.
      const { reason, restarts, lostInFlight } = this.#restart;
      this.diagnostics.report('restart', 'dispatcher worker died and was restarted', { reason, restarts, lost_in_flight: lostInFlight });
      this.fanOut.deliverDiagnostics();
    }
    this.#resolveStarted({ type: 'ready' });
    this.#port.postMessage({ type: 'ready' } satisfies WorkerStartMessage);
    await this.loop.run();
    const stats = await (shutdownRequest ?? this.stats());
    this.#port.close();
    return stats;
  }

  /** Apply one control request. */
  async handle(request: ControlRequest): Promise<unknown> {
    switch (request.type) {
      case 'addSink':
        await this.addSink(request.spec);
        return undefined;
      case 'removeSink':
        return this.removeSink(request.name);
      case 'attachRing':
        this.attachRing(request.ring);
        return undefined;
      case 'endRing':
        return this.endRing(request.threadId);
      case 'flush':
        await this.loop.reach(request.position, request.threadId);
        this.loop.checkDrops();
        this.loop.checkCorrupt(true);
        await this.loop.flushAll();
        return undefined;
      case 'stats':
        return this.stats();
      case 'inspect': {
        const slot = this.fanOut.slots.find((s) => s.name === request.name);
        if (slot === undefined) throw new SinkError(request.name, 'no sink with this name');
        if (typeof slot.sink.inspect !== 'function') throw new SinkError(request.name, 'this sink has no inspect()');
        return slot.sink.inspect();
      }
      case 'shutdown':
        return this.shutdown(request.position);
    }
  }

  async addSink(spec: ResolvedSinkSpec): Promise<void> {
    if (this.fanOut.has(spec.name)) throw new SinkError(spec.name, 'a sink with this name is already registered');
    const sink = await loadSink(spec, { stats: () => this.health.read(), resource: this.#resource, metrics: () => this.metrics.snapshot() });
    try {
      this.fanOut.add(spec.name, TargetFilter.parse(spec.filter), sink, this.#sinkTimeoutMs);
    } catch (error) {
      // FanOut.add and TargetFilter.parse throw only Error instances (RangeError, SyntaxError…).
      throw new SinkError(spec.name, (error as Error).message, { cause: error });
    }
    if (spec.builtin === 'otlp') {
      this.#idByteSinks.add(spec.name);
      keepSpanIdBytes(true);
    }
  }

  /** Unregister, flush and close a sink; resolves with its final stats. */
  async removeSink(name: string): Promise<unknown> {
    const slot = this.fanOut.remove(name);
    if (slot === undefined) throw new SinkError(name, 'no sink with this name');
    if (this.#idByteSinks.delete(name)) keepSpanIdBytes(this.#idByteSinks.size > 0);
    await slot.close();
    return slot.stats;
  }

  /** Drain everything up to `position`, deliver pending notices, flush and close every sink. */
  shutdown(position: number): Promise<WorkerStats> {
    this.#finished ??= (async () => {
      await this.loop.reach(position);
      this.loop.stop();
      this.loop.finalNotice();
      await this.fanOut.closeAll();
      return this.stats();
    })();
    return this.#finished;
  }

  stats(): WorkerStats {
    return { ...this.loop.stats(), sinks: this.fanOut.stats() };
  }
}
