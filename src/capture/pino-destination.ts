/**
 * A pino destination that writes each log line into the ring:
 * `pino(options, dispatcher.pinoDestination())`. The line is copied as it
 * is, with the active span's ids; the worker parses it (level mapped, target
 * from the logger's `name`, `msg` as the message, other keys as fields), so
 * the application thread does no JSON parsing and no I/O.
 *
 * With `pino.metadata` pino tells the destination each line's level before
 * writing it, so lines no sink accepts at any target are skipped unrecorded.
 */
import { LEVEL_OFF, pinoLevel } from '../filter/levels.js';
import type { LevelHint } from '../filter/level-hint.js';
import type { RecordEncoder } from '../encoder/record-encoder.js';
import { nowMs } from './clock.js';
import { activeIdWords } from './span-ids.js';

/** The stream pino writes to (pino's `DestinationStream` with metadata). */
export interface PinoDestination {
  write(line: string): void;
  /** pino sets this before each write when the stream asks for metadata. */
  lastLevel: number;
  readonly [metadata: symbol]: boolean;
}

export function createPinoDestination(encoder: RecordEncoder, hint: LevelHint): PinoDestination {
  return {
    [Symbol.for('pino.metadata')]: true,
    lastLevel: 30,
    write(line: string): void {
      // Skipped only when no sink wants this level for any target (the target is inside the line).
      if (hint.minLevel >= LEVEL_OFF || pinoLevel(this.lastLevel) < hint.minLevel) return;
      encoder.logLine(nowMs(), typeof line === 'string' ? line : String(line), activeIdWords());
    },
  };
}
