/**
 * ObservableCollector: runs the observable instruments' callbacks (and the
 * meters' batch callbacks) on the recording thread, at the export interval
 * (an unref'd timer, started with the first callback) and when the
 * dispatcher flushes or shuts down. A callback that throws or rejects is
 * counted and warned about once per instrument; a promise is waited for at
 * most OBSERVABLE_CALLBACK_TIMEOUT_MS.
 */
import type { BatchObservableCallback, BatchObservableResult, MetricAttributes, Observable, ObservableCallback } from '@opentelemetry/api';
import { OBSERVABLE_CALLBACK_TIMEOUT_MS, warnMetrics } from './metrics-config.js';
import { BadInput } from './instrument-state.js';
import { RingObservable } from './ring-observable.js';

interface BatchEntry {
  callback: BatchObservableCallback;
  observables: Set<RingObservable>;
}

export class ObservableCollector {
  readonly #intervalMs: number;
  readonly #single = new Map<RingObservable, Set<ObservableCallback>>();
  readonly #batch: BatchEntry[] = [];
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #batchWarned = false;
  /** Collections run so far. */
  collections = 0;

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  add(instrument: RingObservable, callback: ObservableCallback): void {
    let set = this.#single.get(instrument);
    if (set === undefined) this.#single.set(instrument, (set = new Set()));
    set.add(callback);
    this.#start();
  }

  remove(instrument: RingObservable, callback: ObservableCallback): void {
    this.#single.get(instrument)?.delete(callback);
  }

  addBatch(callback: BatchObservableCallback, observables: readonly Observable[]): void {
    if (typeof callback !== 'function' || !Array.isArray(observables)) return;
    const ours = new Set(observables.filter((o): o is RingObservable => o instanceof RingObservable));
    if (this.#batch.some((b) => b.callback === callback && sameSet(b.observables, ours))) return;
    this.#batch.push({ callback, observables: ours });
    this.#start();
  }

  removeBatch(callback: BatchObservableCallback, observables: readonly Observable[]): void {
    if (!Array.isArray(observables)) return;
    const ours = new Set(observables.filter((o): o is RingObservable => o instanceof RingObservable));
    const i = this.#batch.findIndex((b) => b.callback === callback && sameSet(b.observables, ours));
    if (i >= 0) this.#batch.splice(i, 1);
  }

  /** Run every callback now; resolves when they have all settled (or timed out). */
  async collect(): Promise<void> {
    this.collections++;
    const pending: Promise<unknown>[] = [];
    for (const [instrument, callbacks] of this.#single) {
      for (const callback of callbacks) {
        const fail = (error: unknown): void => instrument.state.ignore(BadInput.Callback, error);
        try {
          const out = callback(instrument.result);
          if (isPromise(out)) pending.push(out.then(undefined, fail));
        } catch (error) {
          fail(error);
        }
      }
    }
    for (const entry of this.#batch) {
      const result: BatchObservableResult = {
        observe: (metric: Observable, value: number, attributes?: MetricAttributes) => {
          if (metric instanceof RingObservable && entry.observables.has(metric)) metric.observe(value, attributes);
        },
      };
      const fail = (error: unknown): void => {
        if (this.#batchWarned) return;
        this.#batchWarned = true;
        warnMetrics(`a batch observable callback failed: ${error instanceof Error ? error.message : String(error)}`);
      };
      try {
        const out = entry.callback(result);
        if (isPromise(out)) pending.push(out.then(undefined, fail));
      } catch (error) {
        fail(error);
      }
    }
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, OBSERVABLE_CALLBACK_TIMEOUT_MS);
      timer.unref();
    });
    await Promise.race([Promise.all(pending), timeout]);
    clearTimeout(timer);
  }

  /** Stop the timer; no more collections from it. */
  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
  }

  #start(): void {
    if (this.#timer !== null || this.#closed) return;
    this.#timer = setInterval(() => void this.collect(), this.#intervalMs);
    // Telemetry must never keep the application alive.
    this.#timer.unref();
  }
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as Promise<unknown>).then === 'function';
}

function sameSet<T>(a: ReadonlySet<T>, b: ReadonlySet<T>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
