/**
 * FanOut: hands each decoded record to every sink slot that accepts it.
 *
 *   event ──────────► each slot: filter(target, level) ? consume : filtered
 *   spanStart ──────► each slot: filter(span.target, span.level) ? consume, set bit : filtered
 *   later span rec ─► each slot: bit set at start ? consume : filtered
 *   orphan ─────────► every slot: filtered (its span's start never arrived)
 *
 * The bit per sink in each open span's mask is what keeps a sink from
 * seeing half a span, even when sinks are added or removed mid-span.
 */
import { levelValue } from '../src/filter/levels.js';
import type { TargetFilter } from '../src/filter/target-filter.js';
import { ORPHAN, type RecordDecoder } from '../src/decoder/record-decoder.js';
import type { TraceRecord } from '../src/record/trace-record.js';
import type { TraceSink } from '../src/sinks/trace-sink.js';
import type { Diagnostics } from './diagnostics.js';
import { DEFAULT_SINK_READY_WAIT_MS } from '../src/defaults.js';
import { SinkSlot, type SinkStats } from './sink-slot.js';

/** Sinks per dispatcher: one bit each in a span's 31-bit mask. */
export const MAX_SINKS = 31;

export class FanOut {
  #slots: SinkSlot[] = [];
  #freeBits = 0x7fffffff;
  /** One decoder per ring (per recording thread): each keeps its own open spans and their sink bits. */
  readonly #decoders = new Set<RecordDecoder>();

  constructor(
    readonly decoder: RecordDecoder,
    readonly diagnostics: Diagnostics,
    /** The longest `ready()` waits for one sink. */
    readonly readyWaitMs: number = DEFAULT_SINK_READY_WAIT_MS,
  ) {
    this.#decoders.add(decoder);
  }

  /** A ring was attached: its decoder's open spans carry sink bits too. */
  addDecoder(decoder: RecordDecoder): void {
    this.#decoders.add(decoder);
  }

  removeDecoder(decoder: RecordDecoder): void {
    this.#decoders.delete(decoder);
  }

  get slots(): readonly SinkSlot[] {
    return this.#slots;
  }

  has(name: string): boolean {
    return this.#slots.some((s) => s.name === name);
  }

  /** Register a sink; it receives records decoded from now on. */
  add(name: string, filter: TargetFilter, sink: TraceSink, timeoutMs?: number): SinkSlot {
    if (this.has(name)) throw new Error(`a sink named ${JSON.stringify(name)} is already registered`);
    if (this.#freeBits === 0) throw new RangeError(`at most ${MAX_SINKS} sinks can be registered`);
    const bit = this.#freeBits & -this.#freeBits;
    this.#freeBits &= ~bit;
    const slot = new SinkSlot(name, filter, sink, bit, this.diagnostics, timeoutMs);
    this.#slots = [...this.#slots, slot];
    return slot;
  }

  /** Unregister a sink (the caller closes it). Its bit is cleared from every open span before reuse. */
  remove(name: string): SinkSlot | undefined {
    const slot = this.#slots.find((s) => s.name === name);
    if (slot === undefined) return undefined;
    this.#slots = this.#slots.filter((s) => s !== slot);
    for (const decoder of this.#decoders) for (const entry of decoder.spans()) entry.sinkMask &= ~slot.bit;
    this.#freeBits |= slot.bit;
    return slot;
  }

  /** Deliver one decoded record (or an orphan) from the ring `decoder` reads. */
  deliver(record: TraceRecord | typeof ORPHAN, decoder: RecordDecoder = this.decoder): void {
    const slots = this.#slots;
    const n = slots.length;
    if (record === ORPHAN) {
      for (let i = 0; i < n; i++) slots[i]!.stats.filtered++;
    } else if (record.kind === 'event') {
      const level = levelValue(record.level);
      for (let i = 0; i < n; i++) {
        const slot = slots[i]!;
        if (slot.filter.accepts(record.target, level)) slot.consume(record);
        else slot.stats.filtered++;
      }
    } else if (record.kind === 'spanStart') {
      const entry = decoder.lastSpan!;
      const span = record.span;
      const level = levelValue(span.level);
      let mask = 0;
      for (let i = 0; i < n; i++) {
        const slot = slots[i]!;
        if (slot.filter.accepts(span.target, level)) {
          mask |= slot.bit;
          slot.consume(record);
        } else {
          slot.stats.filtered++;
        }
      }
      entry.sinkMask = mask;
    } else {
      const mask = decoder.lastSpan!.sinkMask;
      for (let i = 0; i < n; i++) {
        const slot = slots[i]!;
        if ((mask & slot.bit) !== 0) slot.consume(record);
        else slot.stats.filtered++;
      }
    }
    if (this.diagnostics.pending.length !== 0) this.deliverDiagnostics();
  }

  /** Offer the dispatcher's own pending events to every sink whose filter accepts them. */
  deliverDiagnostics(): void {
    const pending = this.diagnostics.pending.splice(0);
    for (const record of pending) {
      const level = levelValue(record.level);
      for (const slot of this.#slots) {
        if (slot.filter.accepts(record.target, level)) slot.consumeDiagnostic(record);
      }
    }
  }

  /**
   * Backpressure, for the drain loop to call before each batch: null when
   * every sink can take records; else a promise that resolves once every
   * sink that said it was full is ready again, or its bounded wait
   * (`DEFAULT_SINK_READY_WAIT_MS`) ran out. Never rejects. While it is
   * pending the records stay in the ring (which drops, counted, only when
   * full); a sink whose wait ran out is not waited for again until it
   * reports ready, so a stuck sink cannot hold the other sinks back for
   * longer than one wait.
   */
  ready(): Promise<void> | null {
    const slots = this.#slots;
    let waits: Promise<void>[] | null = null;
    for (let i = 0; i < slots.length; i++) {
      const wait = slots[i]!.ready(this.readyWaitMs);
      if (wait !== null) (waits ??= []).push(wait);
    }
    if (waits === null) return null;
    return waits.length === 1 ? waits[0]! : Promise.all(waits).then(() => undefined);
  }

  /** Start a flush on every sink that is not already flushing (periodic). */
  flushIdle(): void {
    for (const slot of this.#slots) slot.flushIfIdle();
  }

  /** Flush every sink and wait for all of them; resolves to whether every one flushed (none was skipped). */
  async flushAll(): Promise<boolean> {
    return (await Promise.all(this.#slots.map((s) => s.flush()))).every(Boolean);
  }

  /** Flush and close every sink. */
  async closeAll(): Promise<void> {
    await Promise.all(this.#slots.map((s) => s.close()));
  }

  stats(): SinkStats[] {
    return this.#slots.map((s) => ({ ...s.stats }));
  }
}
