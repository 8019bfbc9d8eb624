/**
 * Target/level filters: parsed from a directive string, printed back to the
 * same string, matched by longest target prefix. One module serves the
 * worker's per-sink filtering and the producer's level hint, so a filter means
 * the same on both sides.
 *
 * Grammar: comma-separated directives; each is either a bare level (the
 * default for targets no other directive matches) or `target=level`. Targets
 * match by plain string prefix (`http` matches `http` and `http.client`, and
 * also `https`), as tracing-subscriber's targets do; the longest matching
 * prefix wins. Levels: `trace < debug < info < warn < error`, and `off`.
 *
 *   info,http=debug,db.pool=off
 */
import { FilterSyntaxError } from '../errors.js';
import { LEVEL_INFO, LEVEL_OFF, filterLevelName, parseFilterLevel, type FilterLevelName } from './levels.js';

/** One `target=level` directive. */
export interface TargetDirective {
  readonly target: string;
  /** Numeric minimum level accepted, `LEVEL_OFF` for none. */
  readonly level: number;
}

/** The default level when a filter string has no bare level directive. */
export const DEFAULT_FILTER_LEVEL = LEVEL_INFO;

const TARGET_PATTERN = /^[^\s,=]+$/;

export class TargetFilter {
  /** Directives sorted longest target first, so the first match is the longest. */
  readonly directives: readonly TargetDirective[];
  /** Level for targets no directive matches. */
  readonly defaultLevel: number;
  /** The least severe level any target can pass: below it nothing passes. */
  readonly minLevel: number;
  readonly #text: string;

  private constructor(defaultLevel: number, directives: TargetDirective[], text: string) {
    this.defaultLevel = defaultLevel;
    this.directives = directives.sort((a, b) => b.target.length - a.target.length || (a.target < b.target ? -1 : 1));
    let min = defaultLevel;
    for (const d of directives) if (d.level < min) min = d.level;
    this.minLevel = min;
    this.#text = text;
  }

  /**
   * Parse a directive string such as `info,http=debug,db.pool=off`.
   * An empty string means the default level, `info`.
   * @throws {FilterSyntaxError} quoting the bad directive.
   */
  static parse(directives: string): TargetFilter {
    if (typeof directives !== 'string') {
      throw new FilterSyntaxError(String(directives), String(directives), 'a filter must be a string');
    }
    let defaultLevel: number | undefined;
    const parsed: TargetDirective[] = [];
    const seen = new Set<string>();
    // Normalised directives in the order given, so printing gives the input back.
    const printed: string[] = [];
    const parts = directives.trim() === '' ? [] : directives.split(',');
    for (const raw of parts) {
      const part = raw.trim();
      if (part === '') throw new FilterSyntaxError(directives, raw, 'empty directive');
      const eq = part.indexOf('=');
      if (eq < 0) {
        const level = parseFilterLevel(part);
        if (level === undefined) throw new FilterSyntaxError(directives, part, 'unknown level (expected trace, debug, info, warn, error or off)');
        if (defaultLevel !== undefined) throw new FilterSyntaxError(directives, part, 'the default level is given twice');
        defaultLevel = level;
        printed.push(part);
        continue;
      }
      const target = part.slice(0, eq).trim();
      const levelText = part.slice(eq + 1).trim();
      if (!TARGET_PATTERN.test(target)) throw new FilterSyntaxError(directives, part, 'bad or empty target');
      const level = parseFilterLevel(levelText);
      if (level === undefined) throw new FilterSyntaxError(directives, part, 'unknown level (expected trace, debug, info, warn, error or off)');
      if (seen.has(target)) throw new FilterSyntaxError(directives, part, 'target given twice');
      seen.add(target);
      parsed.push({ target, level });
      printed.push(`${target}=${levelText}`);
    }
    return new TargetFilter(defaultLevel ?? DEFAULT_FILTER_LEVEL, parsed, printed.join(','));
  }

  /** A filter that accepts every record. */
  static all(): TargetFilter {
    return TargetFilter.parse('trace');
  }

  /** The minimum numeric level accepted for `target` (`LEVEL_OFF` if none). */
  levelFor(target: string): number {
    const ds = this.directives;
    for (let i = 0; i < ds.length; i++) {
      const d = ds[i]!;
      if (target.startsWith(d.target)) return d.level;
    }
    return this.defaultLevel;
  }

  /** Whether a record at numeric `level` on `target` passes. */
  accepts(target: string, level: number): boolean {
    return level >= this.levelFor(target);
  }

  /** Whether this filter accepts nothing at all. */
  get acceptsNothing(): boolean {
    return this.minLevel >= LEVEL_OFF;
  }

  /** The level name a target gets, for diagnostics. */
  levelNameFor(target: string): FilterLevelName {
    return filterLevelName(this.levelFor(target));
  }

  /** Prints the directives back in the order given: `parse(f.toString())` is the same filter. */
  toString(): string {
    return this.#text;
  }
}
