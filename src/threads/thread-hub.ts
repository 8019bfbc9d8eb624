/**
 * ThreadHub: the main thread's side of `TraceDispatcher.attach()`. It
 * answers attach requests on the thread channel, hands each ring to the
 * dispatcher worker over the control port, and tells the worker when a
 * thread has ended so that its ring is drained to the end and dropped.
 *
 * How a thread's end is seen:
 * - a worker the main thread started: its `exit` event here (after a normal
 *   end, `process.exit()` inside it, or `terminate()`), watched from the
 *   moment ringtrace is imported;
 * - a worker an attached thread started: that thread watches it the same way
 *   and says so on the channel (`child`, then `ended`); when the parent
 *   ends, its children have ended with it;
 * - otherwise (a worker started before ringtrace was imported, or by a
 *   thread that is not attached): the thread's own `exit` handlers say so
 *   (`exiting`), which a `terminate()` never runs.
 * Thread ids are never reused within a process, so an end seen before the
 * thread's attach arrives is kept (bounded) and applied when it does.
 */
import { BroadcastChannel, isMainThread, type Worker } from 'node:worker_threads';
import type { AttachedRing, ControlReplies, ControlRequestBody } from '../control/control-protocol.js';
import { THREAD_CHANNEL, type ChannelMessage, type FromHub, type ToHub } from './thread-channel.js';

/** Thread ends remembered for an attach that has not arrived yet. */
const MAX_EARLY_ENDS = 4096;

/** Threads whose end a parent reports: their own `exiting` is not trusted (more exit handlers may still write). */
const watched = new Set<number>();
const earlyEnds = new Set<number>();
let primary: ThreadHub | undefined;

function rememberEnd(threadId: number): void {
  if (earlyEnds.size >= MAX_EARLY_ENDS) earlyEnds.delete(earlyEnds.values().next().value!);
  earlyEnds.add(threadId);
}

function threadEnded(threadId: number): void {
  watched.delete(threadId);
  if (primary === undefined || !primary.end(threadId)) rememberEnd(threadId);
}

/** Watch the end of every worker this thread starts (on the main thread: from import; on an attached thread: from attach). */
export function watchWorkers(onStart: (worker: Worker) => void, onEnd: (threadId: number) => void): () => void {
  const listener = (worker: Worker): void => {
    const id = worker.threadId;
    onStart(worker);
    worker.once('exit', () => onEnd(id));
  };
  process.on('worker', listener);
  return () => process.removeListener('worker', listener);
}

if (isMainThread) {
  watchWorkers(
    (worker) => watched.add(worker.threadId),
    (threadId) => threadEnded(threadId),
  );
}

export interface ThreadHubOptions {
  /** Send a control request to the dispatcher worker. */
  request: <B extends ControlRequestBody>(body: B) => Promise<ControlReplies[B['type']]>;
  /** The sinks' filters now, for the attached threads' level hints. */
  filters: () => string[];
}

interface Entry {
  ring: AttachedRing;
  /** Settles once the worker has the ring. */
  attached: Promise<boolean>;
  /** Set once the worker was told to drop the ring. */
  ending: Promise<unknown> | undefined;
}

export class ThreadHub {
  readonly #options: ThreadHubOptions;
  readonly #threads = new Map<number, Entry>();
  /** Children each attached thread reported, ended with it. */
  readonly #children = new Map<number, Set<number>>();
  readonly #parentOf = new Map<number, number>();
  #channel: BroadcastChannel | undefined;
  #closed = false;
  #seeded = false;

  constructor(options: ThreadHubOptions) {
    this.#options = options;
  }

  /** Attached threads whose ring the worker drains now. */
  get size(): number {
    return this.#threads.size;
  }

  /** Start answering attach requests (the first dispatcher started answers; others only once it is shut down). */
  open(): void {
    if (this.#closed || primary !== undefined) return;
    primary = this;
    const channel = new BroadcastChannel(THREAD_CHANNEL);
    this.#channel = channel;
    channel.onmessage = (event) => this.#onMessage((event as { data: ChannelMessage }).data);
    // Listening must never keep the application alive.
    channel.unref();
    // Threads that asked before this dispatcher started ask again.
    this.#post({ type: 'hub' });
  }

  /** Stop answering; rings attached stay the worker's until it stops. */
  close(): void {
    this.#closed = true;
    if (primary === this) primary = undefined;
    this.#channel?.close();
    this.#channel = undefined;
  }

  /**
   * The rings attached now, for a (respawned) worker's seed. The attached
   * threads' string tables are theirs alone, so a respawned worker starts
   * their decoders empty and the threads are told to define their strings
   * again: records in their rings from before are counted corrupt, none
   * is decoded with a wrong string.
   */
  seedRings(): AttachedRing[] {
    if (this.#seeded) this.#post({ type: 'restarted' });
    this.#seeded = true;
    return [...this.#threads.values()].map((e) => e.ring);
  }

  filtersChanged(): void {
    this.#post({ type: 'filters', filters: this.#options.filters() });
  }

  /** Thread `threadId` has ended: drain its ring to the end and drop it. False when no such thread is attached. */
  end(threadId: number): boolean {
    const children = this.#children.get(threadId);
    if (children !== undefined) {
      this.#children.delete(threadId);
      // A worker's nested workers are terminated with it.
      for (const child of children) threadEnded(child);
    }
    const parent = this.#parentOf.get(threadId);
    if (parent !== undefined) {
      this.#parentOf.delete(threadId);
      this.#children.get(parent)?.delete(threadId);
    }
    const entry = this.#threads.get(threadId);
    if (entry === undefined) return false;
    entry.ending ??= entry.attached
      .then(() => this.#options.request({ type: 'endRing', threadId }))
      .catch(() => undefined)
      .finally(() => {
        if (this.#threads.get(threadId) === entry) this.#threads.delete(threadId);
      });
    return true;
  }

  #post(message: FromHub): void {
    this.#channel?.postMessage(message);
  }

  #reply(token: number, threadId: number, outcome: Promise<unknown>): void {
    outcome.then(
      () => this.#post({ type: 'reply', token, threadId, ok: true, message: '' }),
      (error: unknown) => this.#post({ type: 'reply', token, threadId, ok: false, message: error instanceof Error ? error.message : String(error) }),
    );
  }

  #onMessage(message: ChannelMessage): void {
    if (this.#closed) return;
    const m = message as ToHub;
    switch (m.type) {
      case 'attach':
        this.#attach(m);
        return;
      case 'flush': {
        const entry = this.#threads.get(m.threadId);
        const done = entry === undefined ? Promise.reject(new Error(`thread ${m.threadId} is not attached`)) : entry.attached.then(() => this.#options.request({ type: 'flush', position: m.position, threadId: m.threadId }));
        this.#reply(m.token, m.threadId, done);
        return;
      }
      case 'detach': {
        this.end(m.threadId);
        this.#reply(m.token, m.threadId, this.#threads.get(m.threadId)?.ending ?? Promise.resolve());
        return;
      }
      case 'exiting':
        if (!watched.has(m.threadId)) this.end(m.threadId);
        return;
      case 'child': {
        watched.add(m.child);
        let set = this.#children.get(m.parent);
        if (set === undefined) this.#children.set(m.parent, (set = new Set()));
        set.add(m.child);
        this.#parentOf.set(m.child, m.parent);
        return;
      }
      case 'ended':
        threadEnded(m.threadId);
        return;
      default:
        // The hub's own broadcasts come back to no one (a BroadcastChannel does not deliver to its sender); other hubs' are ignored.
        return;
    }
  }

  #attach(m: Extract<ToHub, { type: 'attach' }>): void {
    const id = m.thread.id;
    const existing = this.#threads.get(id);
    if (existing !== undefined && existing.ring.ring === m.ring) {
      // The thread asked again (it heard `hub` before our answer): answer again.
      void existing.attached.then((ok) => {
        if (ok) this.#post({ type: 'attached', token: m.token, threadId: id, filters: this.#options.filters() });
      });
      return;
    }
    const ring: AttachedRing = { thread: m.thread, ring: m.ring, metricRegion: m.metricRegion };
    // A thread that detached and attaches again: its old ring is dropped first.
    const before = existing?.ending ?? Promise.resolve();
    const attached = before
      .then(() => this.#options.request({ type: 'attachRing', ring }))
      .then(
        () => {
          this.#post({ type: 'attached', token: m.token, threadId: id, filters: this.#options.filters() });
          return true;
        },
        (error: unknown) => {
          this.#threads.delete(id);
          this.#post({ type: 'reply', token: m.token, threadId: id, ok: false, message: error instanceof Error ? error.message : String(error) });
          return false;
        },
      );
    this.#threads.set(id, { ring, attached, ending: undefined });
    if (earlyEnds.delete(id)) this.end(id);
  }
}
