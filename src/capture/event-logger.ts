/**
 * The structured-event API: `dispatcher.logger('checkout').info('charged', { amount: 12 })`.
 * An event made inside an active span carries that span's trace and span ids.
 *
 * The level check is one comparison against a number cached from the level
 * hint, refreshed only when sinks change, so a disabled level costs almost
 * nothing.
 */
import { LEVEL_DEBUG, LEVEL_ERROR, LEVEL_INFO, LEVEL_TRACE, LEVEL_WARN, levelValue, type LevelName } from '../filter/levels.js';
import type { LevelHint } from '../filter/level-hint.js';
import type { RecordEncoder } from '../encoder/record-encoder.js';
import { safeString } from '../encoder/safe-string.js';
import { nowMs } from './clock.js';
import { activeIdWords } from './span-ids.js';

/** Event fields: any object. Values that are not primitives or flat arrays are kept as bounded strings. */
export type EventFields = Record<string, unknown>;


/** A logger bound to one target. Get one from `TraceDispatcher.logger(target)`. */
export class EventLogger {
  readonly target: string;
  readonly #encoder: RecordEncoder;
  readonly #hint: LevelHint;
  #generation = -1;
  #minLevel = 0;

  /** @internal use `TraceDispatcher.logger(target)`. */
  constructor(target: string, encoder: RecordEncoder, hint: LevelHint) {
    this.target = target;
    this.#encoder = encoder;
    this.#hint = hint;
  }

  /** Whether any sink would accept an event at `level` on this target. */
  isEnabled(level: LevelName): boolean {
    return levelValue(level) >= this.#min();
  }

  trace(message: string, fields?: EventFields): void {
    if (LEVEL_TRACE >= this.#min()) this.#record(LEVEL_TRACE, message, fields);
  }

  debug(message: string, fields?: EventFields): void {
    if (LEVEL_DEBUG >= this.#min()) this.#record(LEVEL_DEBUG, message, fields);
  }

  info(message: string, fields?: EventFields): void {
    if (LEVEL_INFO >= this.#min()) this.#record(LEVEL_INFO, message, fields);
  }

  warn(message: string, fields?: EventFields): void {
    if (LEVEL_WARN >= this.#min()) this.#record(LEVEL_WARN, message, fields);
  }

  error(message: string, fields?: EventFields): void {
    if (LEVEL_ERROR >= this.#min()) this.#record(LEVEL_ERROR, message, fields);
  }

  #min(): number {
    if (this.#generation !== this.#hint.generation) {
      this.#generation = this.#hint.generation;
      this.#minLevel = this.#hint.levelFor(this.target);
    }
    return this.#minLevel;
  }

  #record(level: number, message: unknown, fields: EventFields | undefined): void {
    const text = typeof message === 'string' ? message : safeString(message, this.#encoder.maxStringLength);
    this.#encoder.event(level, nowMs(), this.target, text, fields, activeIdWords());
  }
}
