/**
 * The producer's table of interned strings (span names, targets, attribute
 * keys). A string is given the next id the first time a record uses it, and
 * its definition goes into the same reservation as that record. If the
 * reservation is dropped, `rollback()` forgets the ids it defined, so no
 * later record can refer to a definition that never reached the ring.
 *
 * Bounded: past `maxStrings` entries, or for strings longer than
 * `maxInternedLength`, strings travel inline in each record instead.
 */

import { DEFAULT_MAX_INTERNED_STRINGS } from '../defaults.js';

/** Strings longer than this (in UTF-16 units) are never interned. */
export const MAX_INTERNED_LENGTH = 256;

export class StringTable {
  readonly maxStrings: number;
  readonly #ids = new Map<string, number>();
  readonly #strings: string[] = [];
  #pending = 0;

  constructor(maxStrings: number = DEFAULT_MAX_INTERNED_STRINGS) {
    this.maxStrings = maxStrings;
  }

  /** The id of `s` if it is defined (or pending in the current reservation). */
  lookup(s: string): number | undefined {
    return this.#ids.get(s);
  }

  /** Whether `define(s)` would give `s` an id (rather than -1). */
  canDefine(s: string): boolean {
    return this.#strings.length < this.maxStrings && s.length <= MAX_INTERNED_LENGTH;
  }

  /** Give `s` a new id, pending until commit; -1 when it must travel inline. */
  define(s: string): number {
    if (this.#strings.length >= this.maxStrings || s.length > MAX_INTERNED_LENGTH) return -1;
    const id = this.#strings.length;
    this.#strings.push(s);
    this.#ids.set(s, id);
    this.#pending++;
    return id;
  }

  /** The reservation reached the ring: its definitions are now real. */
  commit(): void {
    this.#pending = 0;
  }

  /** The reservation was dropped: forget the ids it defined. */
  rollback(): void {
    for (; this.#pending > 0; this.#pending--) this.#ids.delete(this.#strings.pop()!);
  }

  /**
   * Forget every string: the next use of each defines it again. For a
   * consumer that starts over without this table's snapshot (an attached
   * thread's ring, read by a respawned worker). Call between reservations.
   */
  reset(): void {
    this.#ids.clear();
    this.#strings.length = 0;
    this.#pending = 0;
  }

  get size(): number {
    return this.#strings.length;
  }

  /** Every committed string in id order, to seed a new worker. */
  snapshot(): string[] {
    return this.#strings.slice(0, this.#strings.length - this.#pending);
  }
}
