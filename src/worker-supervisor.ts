/**
 * WorkerSupervisor: keeps the dispatcher worker running, on the application
 * thread. It owns the piscina pool, the control port and the requests in
 * flight, the exit drain, and the respawn of a worker that dies.
 *
 *   start ─► pool.run(seed) ─► 'ready' ─► running ──── worker exits ────┐
 *                                           ▲                           ▼
 *                                           └── respawn after backoff ◄─ dead
 *                                               (re-seed: strings, sinks)  │ too many
 *                                                                          ▼
 *                                                                       given up
 *
 * - The piscina task resolves as soon as the worker is up (the drain loop
 *   keeps running in the worker): a task in flight refs piscina's port, and
 *   the dispatcher must never keep the application alive by itself. The
 *   worker thread is unref'd by piscina; our control port is ref'd only
 *   while a request waits for its reply.
 * - A respawned worker resumes just after the last record the dead one
 *   handed to the sinks (the ring's TAKEN_INDEX), so no sink gets a record
 *   twice, and everything after it is delivered. What the dead worker had
 *   handed out but not seen flushed by every sink is counted in
 *   `lostInFlight` (exact for sinks that write in `flush`; an upper bound
 *   for sinks that write some records earlier), and the new worker reports
 *   the restart as an `error` event on target `ringtrace`. Requests in
 *   flight are sent again to the new worker.
 * - After `maxWorkerRestarts` consecutive failures (a worker that stays up
 *   for `WORKER_STABLE_MS` resets the count) it stops respawning and says so
 *   once on stderr. The producer keeps writing until the ring is full and
 *   then counts drops; `flush()` resolves at once, `stats()` answers from the
 *   last counts; nothing throws into application code.
 */
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { pino } from 'pino';
import { DispatcherStateError, ERROR_CODES, deserializeError } from './errors.js';
import { registerExitDrain } from './exit-drain.js';
import { ExitHandshake } from './ring/exit-handshake.js';
import { workerExecArgv } from './worker-exec-argv.js';
import { DISPATCHER_WORKER_DATA } from './worker-identity.js';
import { RingControl } from './ring/ring-control.js';
import {
  emptyWorkerStats,
  type ControlReplies,
  type ControlReply,
  type ControlRequest,
  type ControlRequestBody,
  type WorkerSeed, type WorkerStartMessage, type WorkerStats } from './control/control-protocol.js';

/** A respawned worker that stays up this long resets the consecutive failure count. */
export const WORKER_STABLE_MS = 10_000;
/** Backoff before respawn number n (1-based): `RESPAWN_BASE_MS × 2^(n−1)`, at most `RESPAWN_MAX_MS`. */
export const RESPAWN_BASE_MS = 50;
export const RESPAWN_MAX_MS = 5_000;

/** Worker-health counts the supervisor adds to `dispatcher.stats()`. */
export interface SupervisorStats {
  /** Times the worker died and was replaced (or, past the limit, not). */
  restarts: number;
  /** Records a dead worker had handed to the sinks but not seen flushed by every sink: at most this many were lost. */
  lostInFlight: number;
  /** Whether the dispatcher stopped respawning its worker after too many failures. */
  workerGivenUp: boolean;
}

/** What a (re)spawned worker is seeded with, apart from the control port. */
export type SeedWithoutPort = Omit<WorkerSeed, 'port'>;

export interface WorkerSupervisorOptions {
  ring: SharedArrayBuffer;
  workerUrl: string;
  /** The seed for each spawn, built fresh (string table, current sinks). */
  seed: () => SeedWithoutPort;
  exitDrainTimeoutMs: number;
  /** Runs on the exiting thread just before the exit drain (to write what the producer still holds). */
  beforeExitDrain?: () => void;
  maxWorkerRestarts: number;
  resourceLimits: WorkerResourceLimits | undefined;
}

/** Worker memory limits, as `worker_threads` takes them (MB). */
export interface WorkerResourceLimits {
  maxOldGenerationSizeMb?: number;
  maxYoungGenerationSizeMb?: number;
  codeRangeSizeMb?: number;
  stackSizeMb?: number;
}

type Pending = { body: ControlRequestBody; resolve: (value: unknown) => void; reject: (error: Error) => void };
type State = 'running' | 'dead' | 'givenUp' | 'stopped';

export class WorkerSupervisor {
  readonly #options: WorkerSupervisorOptions;
  readonly #pool: Piscina;
  readonly #ring: RingControl;
  readonly #exit: ExitHandshake;
  readonly #pending = new Map<number, Pending>();
  #port: MessagePort | null = null;
  #worker: Worker | null = null;
  #state: State = 'dead';
  #nextId = 1;
  #consecutiveFailures = 0;
  #upSince = 0;
  #respawnTimer: NodeJS.Timeout | null = null;
  #keepAlive: NodeJS.Timeout | null = null;
  #lastStats: WorkerStats | null = null;
  #unregisterExit: (() => void) | null = null;
  restarts = 0;
  lostInFlight = 0;

  private constructor(options: WorkerSupervisorOptions) {
    this.#options = options;
    this.#ring = new RingControl(options.ring);
    this.#exit = new ExitHandshake(options.ring);
    const execArgv = workerExecArgv(process.execArgv);
    const explicitExecArgv = execArgv.length === process.execArgv.length ? undefined : execArgv;
    this.#pool = new Piscina({
      filename: options.workerUrl,
      minThreads: 1,
      maxThreads: 1,
      idleTimeout: Infinity,
      // The worker's event loop must stay free for async sinks: no blocking Atomics.wait between tasks.
      atomics: 'disabled',
      // Not the main program's entry options (`--input-type`, `-e`/`-p` and their script): see worker-exec-argv.ts.
      // Only given when something was removed: Node re-parses an explicit execArgv and rejects
      // per-process and V8 flags in it (`--max-old-space-size`, `--expose-gc`, `--stack-size`:
      // ERR_WORKER_INVALID_EXEC_ARGV), which a worker left to inherit takes without complaint.
      ...(explicitExecArgv === undefined ? {} : { execArgv: explicitExecArgv }),
      ...(options.resourceLimits === undefined ? {} : { resourceLimits: options.resourceLimits }),
      // Lets a preload that starts ringtrace see it runs inside ringtrace's own worker (see worker-identity.ts).
      workerData: DISPATCHER_WORKER_DATA,
    });
    // piscina re-emits a worker's uncaught error here when no task is running;
    // without a listener it would be thrown into the application.
    this.#pool.on('error', () => undefined);
  }

  /**
   * Start the first worker. Rejects with the worker's own error when a sink
   * fails to load (start failures are not respawned), or a DispatcherStateError.
   */
  static async start(options: WorkerSupervisorOptions): Promise<WorkerSupervisor> {
    const supervisor = new WorkerSupervisor(options);
    const outcome = await supervisor.#spawn(options.seed());
    if (outcome !== null) {
      await supervisor.#pool.destroy();
      throw outcome;
    }
    supervisor.#unregisterExit = registerExitDrain(() => supervisor.#exitDrain());
    return supervisor;
  }

  /** Counts for `dispatcher.stats()`. */
  stats(): SupervisorStats {
    return { restarts: this.restarts, lostInFlight: this.lostInFlight, workerGivenUp: this.#state === 'givenUp' };
  }

  /**
   * Send a control request; resolves with the worker's reply. While the
   * worker is being replaced the request waits for the new one; once
   * respawning has stopped it is answered from `fallback` (or rejected).
   */
  request<B extends ControlRequestBody>(body: B, fallback?: () => ControlReplies[B['type']]): Promise<ControlReplies[B['type']]> {
    if (this.#state === 'givenUp' || this.#state === 'stopped') {
      if (fallback !== undefined) return Promise.resolve(fallback());
      return Promise.reject(new DispatcherStateError('ringtrace: the dispatcher worker is gone', ERROR_CODES.WORKER_GONE));
    }
    const id = this.#nextId++;
    return new Promise<ControlReplies[B['type']]>((resolve, reject) => {
      // The reply's value is the worker's answer to a request of this type (ControlReplies).
      const settle = resolve as (value: unknown) => void;
      this.#pending.set(id, { body, resolve: settle, reject: fallback === undefined ? reject : () => resolve(fallback()) });
      if (this.#state === 'running') this.#post(id, body);
      else this.#holdWhileWaiting();
    });
  }

  /** The last worker counts seen, with the shared decoded count brought up to date (for fallbacks). */
  lastStats(): WorkerStats {
    const last = this.#lastStats ?? emptyWorkerStats();
    return { ...last, decoded: this.#ring.decoded() };
  }

  /** Stop supervising: no more respawns or exit drain; close the port and the pool. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#state = 'stopped';
    this.#unregisterExit?.();
    if (this.#respawnTimer !== null) clearTimeout(this.#respawnTimer);
    this.#port?.close();
    for (const p of this.#pending.values()) p.reject(new DispatcherStateError('ringtrace: the dispatcher is shut down'));
    this.#pending.clear();
    this.#releaseHold();
    await this.#pool.destroy();
  }

  // ── spawning ───────────────────────────────────────────────────────────

  /** Spawn a worker; null once it is running, else the reason it is not. */
  async #spawn(seed: SeedWithoutPort): Promise<Error | null> {
    const { port1, port2 } = new MessageChannel();
    let first: WorkerStartMessage;
    try {
      first = (await this.#pool.run({ ...seed, port: port2 } satisfies WorkerSeed, { transferList: [port2] })) as WorkerStartMessage;
    } catch (error) {
      // The worker can report a sink that failed to load on the control port and
      // then die (the failed sink left a throwing timer behind) before piscina
      // delivers the task's result: the sink's error, already queued, is the real reason.
      const reported = takeStartMessage(port1);
      port1.close();
      if (reported?.type === 'startFailed') return deserializeError(reported.error);
      return new DispatcherStateError('ringtrace: the dispatcher worker failed to start', ERROR_CODES.WORKER_GONE, { cause: error });
    }
    if (first.type !== 'ready') {
      port1.close();
      return deserializeError(first.error);
    }
    if (this.#state === 'stopped') {
      port1.close();
      return null;
    }
    this.#port = port1;
    port1.on('message', (reply: ControlReply | WorkerStartMessage) => this.#onReply(reply));
    port1.unref();
    // One thread in the pool: the one that ran our task.
    const worker = this.#pool.threads[0] ?? null;
    this.#worker = worker;
    let reason: unknown;
    worker?.on('error', (error) => {
      reason = error;
    });
    worker?.once('exit', (code) => {
      if (this.#worker === worker) this.#onDeath(reason ?? new Error(`worker exited with code ${code}`));
    });
    this.#state = 'running';
    this.#upSince = performance.now();
    for (const [id, p] of this.#pending) this.#post(id, p.body);
    this.#releaseHold();
    return null;
  }

  #onDeath(reason: unknown): void {
    if (this.#state !== 'running') return;
    this.#state = 'dead';
    this.#worker = null;
    const port = this.#port;
    if (port !== null) {
      // Replies the worker posted before it died are still queued: take them, rather than ask the new worker again.
      for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) this.#onReply(m.message as ControlReply);
      port.close();
    }
    this.#port = null;
    this.restarts++;
    // What the dead worker handed to the sinks but had not seen flushed everywhere.
    const lost = this.#ring.settleExitedConsumer();
    this.lostInFlight += lost;
    if (performance.now() - this.#upSince >= WORKER_STABLE_MS) this.#consecutiveFailures = 0;
    this.#consecutiveFailures++;
    const text = describe(reason);
    if (this.#consecutiveFailures > this.#options.maxWorkerRestarts) {
      this.#giveUp(text);
      return;
    }
    const delay = Math.min(RESPAWN_MAX_MS, RESPAWN_BASE_MS * 2 ** (this.#consecutiveFailures - 1));
    this.#respawnTimer = setTimeout(() => {
      this.#respawnTimer = null;
      void this.#respawn(text, lost);
    }, delay);
    // A pending respawn must not keep the application alive by itself (requests waiting for it do: #holdWhileWaiting).
    this.#respawnTimer.unref();
    this.#holdWhileWaiting();
  }

  async #respawn(reason: string, lost: number): Promise<void> {
    if (this.#state !== 'dead') return;
    const seed = { ...this.#options.seed(), restart: { reason, restarts: this.restarts, lostInFlight: lost } };
    const failure = await this.#spawn(seed);
    if (failure === null || this.#state !== 'dead') return;
    // The replacement did not come up (a sink now fails to load, or it died booting).
    this.#state = 'running';
    this.#onDeath(failure);
  }

  #giveUp(reason: string): void {
    this.#state = 'givenUp';
    this.#unregisterExit?.();
    const log = pino({ name: 'ringtrace' }, pino.destination({ fd: 2, sync: true }));
    log.error(
      { restarts: this.restarts, reason, max_worker_restarts: this.#options.maxWorkerRestarts },
      'dispatcher worker keeps dying: no more restarts; records are now dropped and counted',
    );
    for (const p of this.#pending.values()) p.reject(new DispatcherStateError('ringtrace: the dispatcher worker is gone', ERROR_CODES.WORKER_GONE));
    this.#pending.clear();
    this.#releaseHold();
    void this.#pool.destroy().catch(() => undefined);
  }

  /**
   * Requests wait for a replacement worker: keep the process alive until it is
   * up. Nothing else may (the respawn timer is unref'd, and piscina holds no
   * ref for a task queued while its new thread boots), and an application
   * awaiting `flush()` would otherwise just end, its await unsettled.
   */
  #holdWhileWaiting(): void {
    if (this.#pending.size !== 0) this.#keepAlive ??= setInterval(() => undefined, 60_000);
  }

  #releaseHold(): void {
    if (this.#keepAlive !== null) clearInterval(this.#keepAlive);
    this.#keepAlive = null;
  }

  // ── control port ───────────────────────────────────────────────────────

  #post(id: number, body: ControlRequestBody): void {
    // Keep the process alive only while a request is outstanding. The worker
    // too: should it die meanwhile, its unref'd handle would let the process
    // end before its 'exit' event, with the request never answered.
    this.#port!.ref();
    this.#worker?.ref();
    this.#port!.postMessage({ ...body, id } as ControlRequest);
  }

  #onReply(reply: ControlReply | WorkerStartMessage): void {
    if (!('id' in reply)) return;
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) {
      this.#port?.unref();
      this.#worker?.unref();
    }
    if (reply.ok) {
      if (pending.body.type === 'stats' || pending.body.type === 'shutdown') this.#lastStats = reply.value as WorkerStats;
      pending.resolve(reply.value);
    } else {
      pending.reject(deserializeError(reply.error));
    }
  }

  // ── exit ───────────────────────────────────────────────────────────────

  #exitDrain(): void {
    if (this.#state !== 'running') return;
    this.#options.beforeExitDrain?.();
    this.#exit.request(this.#options.exitDrainTimeoutMs);
  }
}

function describe(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}${reason.cause instanceof Error ? ` (${reason.cause.message})` : ''}`;
  return String(reason);
}

/** The start message already queued on the control port, if any (read synchronously). */
function takeStartMessage(port: MessagePort): WorkerStartMessage | undefined {
  for (let m = receiveMessageOnPort(port); m !== undefined; m = receiveMessageOnPort(port)) {
    const message = m.message as ControlReply | WorkerStartMessage;
    if (!('id' in message)) return message;
  }
  return undefined;
}
