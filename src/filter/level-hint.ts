/**
 * The producer's level hint: the union of every sink's filter. For a target it
 * answers "what is the least severe level any sink would accept?", so capture
 * can skip a record no sink wants with one comparison on a cached number.
 *
 * Callers cache the answer for their target together with `generation`; when
 * sinks are added or removed the generation moves on and caches refresh.
 */
import { LEVEL_OFF } from './levels.js';
import type { TargetFilter } from './target-filter.js';

export class LevelHint {
  #filters: readonly TargetFilter[] = [];
  #cache = new Map<string, number>();
  /** Bumped on every change of the filter set. */
  generation = 0;
  /** The least severe level any sink accepts for any target. */
  minLevel = LEVEL_OFF;

  /** Replace the set of sink filters (on add or remove of a sink). */
  update(filters: readonly TargetFilter[]): void {
    this.#filters = filters;
    this.#cache = new Map();
    let min = LEVEL_OFF;
    for (const f of filters) if (f.minLevel < min) min = f.minLevel;
    this.minLevel = min;
    this.generation++;
  }

  /** The least severe level any sink accepts for `target` (`LEVEL_OFF` if none). */
  levelFor(target: string): number {
    let level = this.#cache.get(target);
    if (level !== undefined) return level;
    level = LEVEL_OFF;
    for (const f of this.#filters) {
      const l = f.levelFor(target);
      if (l < level) level = l;
    }
    // Bounded: high-cardinality targets must not grow the cache without limit.
    if (this.#cache.size >= 4096) this.#cache.clear();
    this.#cache.set(target, level);
    return level;
  }

  /** Whether any sink would accept a record on `target` at numeric `level`. */
  enabled(target: string, level: number): boolean {
    return level >= this.minLevel && level >= this.levelFor(target);
  }
}
