/**
 * OpenSpans: the spans the producer is holding back (see RingSpan: a span
 * writes nothing until it ends, unless it lives long or something asks to
 * see it). Held spans are published — their opening record written — when
 *
 *   - they have been open for `publishAfterMs` (checked by an unref'd timer
 *     that runs only while spans are held), so a long request shows up in
 *     the sinks while it runs;
 *   - `dispatcher.flush()` or `shutdown()` is called, or the process exits,
 *     so nothing recorded before those points is missing from the sinks.
 *
 * An array with swap-removal: adding and removing are a few stores, and
 * nothing here grows with spans that never end (a published span leaves).
 */
import { nowMs } from './clock.js';

/** A span as the registry sees it. */
export interface HeldSpan {
  /** Index in the registry, or -1 when not held. */
  heldAt: number;
  /** Start time, epoch ms. */
  readonly startTime: number;
  /** Write the span's opening record now; it must call `release(this)`. */
  publish(): void;
}

export class OpenSpans {
  readonly publishAfterMs: number;
  readonly #spans: HeldSpan[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(publishAfterMs: number) {
    this.publishAfterMs = publishAfterMs;
  }

  /** Spans held now. */
  get size(): number {
    return this.#spans.length;
  }

  hold(span: HeldSpan): void {
    span.heldAt = this.#spans.length;
    this.#spans.push(span);
    if (this.#timer === undefined && !this.#closed) this.#startTimer();
  }

  release(span: HeldSpan): void {
    const i = span.heldAt;
    if (i < 0) return;
    span.heldAt = -1;
    const last = this.#spans.pop()!;
    if (last !== span) {
      this.#spans[i] = last;
      last.heldAt = i;
    }
  }

  /** Publish every held span. */
  publishAll(): void {
    this.publishStartedBy(Infinity);
  }

  /** Publish the spans that started at or before `time` (epoch ms). */
  publishStartedBy(time: number): void {
    // Walk from the end: releasing span i moves the last span, already visited, into its place.
    for (let i = this.#spans.length - 1; i >= 0; i--) {
      const span = this.#spans[i]!;
      if (span.startTime <= time) this.#publish(span);
    }
  }

  /** Publish everything held and stop the timer for good (the dispatcher is shutting down). */
  close(): void {
    this.#closed = true;
    this.#stopTimer();
    this.publishAll();
  }

  #publish(span: HeldSpan): void {
    span.publish();
    // publish() releases it; make sure even if it did not (it must never loop here).
    this.release(span);
  }

  #startTimer(): void {
    this.#timer = setInterval(() => {
      if (this.#spans.length === 0) {
        this.#stopTimer();
        return;
      }
      this.publishStartedBy(nowMs() - this.publishAfterMs);
    }, this.publishAfterMs);
    // Held spans never keep the process alive: exit publishes them anyway.
    this.#timer.unref();
  }

  #stopTimer(): void {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
