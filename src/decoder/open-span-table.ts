/**
 * The worker's table of open spans, keyed by the producer's span handle.
 *
 * The producer numbers spans in sequence (ring-tracer.ts), and most spans end
 * before many later ones start. So a span lives in the slot of a power-of-two
 * array that its handle's low bits pick, and only a span still open when a
 * handle `slots` later claims its slot moves to an insertion-ordered Map.
 * A Map alone, set and deleted once per span, reallocated its hash table on
 * nearly every delete while few spans were open (V8 shrinks it below a
 * quarter full): 89 ns a span against 10 for a slot (bench/drain.js).
 *
 * Bounded: at `maxOpen` spans, the oldest is
 * evicted (exactly the oldest unless the start records of later spans were
 * dropped, which can leave a span in its slot for longer).
 */

/** Slots at most: spans open across more later span starts go to the Map. */
const MAX_SLOTS = 1024;

export class OpenSpanTable<T> {
  readonly maxOpen: number;
  readonly #mask: number;
  readonly #handles: Uint32Array;
  readonly #values: (T | undefined)[];
  /** Spans pushed out of their slot, oldest first. */
  readonly #overflow = new Map<number, T>();
  /** Spans in slots. */
  #inSlots = 0;

  constructor(maxOpen: number) {
    this.maxOpen = maxOpen;
    // Fewer slots than maxOpen (unless it is 1), so at the bound some span is
    // in the overflow and eviction takes its first instead of scanning slots.
    let slots = 1;
    while (slots * 2 < maxOpen && slots < MAX_SLOTS) slots *= 2;
    this.#mask = slots - 1;
    this.#handles = new Uint32Array(slots);
    this.#values = new Array<T | undefined>(slots).fill(undefined);
  }

  get size(): number {
    return this.#inSlots + this.#overflow.size;
  }

  get(handle: number): T | undefined {
    const i = handle & this.#mask;
    const value = this.#values[i];
    if (value !== undefined && this.#handles[i] === handle) return value;
    return this.#overflow.size === 0 ? undefined : this.#overflow.get(handle);
  }

  /**
   * Add an open span (handle: an unsigned 32-bit number). Returns the span
   * evicted to stay within `maxOpen`, if one was.
   */
  add(handle: number, value: T): T | undefined {
    // A handle used again (after 2^32 spans) replaces the span that had it.
    this.delete(handle);
    const evicted = this.size >= this.maxOpen ? this.#evictOldest() : undefined;
    const i = handle & this.#mask;
    const held = this.#values[i];
    if (held === undefined) {
      this.#inSlots++;
    } else if (this.#handles[i] !== handle) {
      this.#overflow.set(this.#handles[i]!, held);
    }
    this.#handles[i] = handle;
    this.#values[i] = value;
    return evicted;
  }

  delete(handle: number): boolean {
    const i = handle & this.#mask;
    if (this.#values[i] !== undefined && this.#handles[i] === handle) {
      this.#values[i] = undefined;
      this.#inSlots--;
      return true;
    }
    return this.#overflow.size !== 0 && this.#overflow.delete(handle);
  }

  *values(): IterableIterator<T> {
    for (const value of this.#values) if (value !== undefined) yield value;
    yield* this.#overflow.values();
  }

  #evictOldest(): T | undefined {
    for (const [handle, value] of this.#overflow) {
      this.#overflow.delete(handle);
      return value;
    }
    // Only with maxOpen 1 (see the constructor): its one slot is the oldest.
    const value = this.#values[0];
    if (value !== undefined) {
      this.#values[0] = undefined;
      this.#inSlots--;
    }
    return value;
  }
}
