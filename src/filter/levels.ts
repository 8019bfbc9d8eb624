/**
 * Severity levels shared by records, filters and the producer's level hint.
 *
 * Levels are small integers so that a filter check is one comparison:
 * `trace < debug < info < warn < error`, and `off` above all of them.
 */

/** A level's name as it appears in filter directives and in delivered records. */
export type LevelName = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/** A filter level: a record level or `off`. */
export type FilterLevelName = LevelName | 'off';

export const LEVEL_TRACE = 1;
export const LEVEL_DEBUG = 2;
export const LEVEL_INFO = 3;
export const LEVEL_WARN = 4;
export const LEVEL_ERROR = 5;
/** Above every record level: a filter at `off` accepts nothing. */
export const LEVEL_OFF = 6;

/** Index by numeric level; index 0 and 6 are not record levels. */
export const LEVEL_NAMES: readonly (LevelName | undefined)[] = [
  undefined,
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  undefined,
];

const FILTER_LEVELS: ReadonlyMap<string, number> = new Map([
  ['trace', LEVEL_TRACE],
  ['debug', LEVEL_DEBUG],
  ['info', LEVEL_INFO],
  ['warn', LEVEL_WARN],
  ['error', LEVEL_ERROR],
  ['off', LEVEL_OFF],
]);

/** The numeric level of a filter level name, or `undefined` if it is not one. */
export function parseFilterLevel(name: string): number | undefined {
  return FILTER_LEVELS.get(name);
}

/** The name of a numeric filter level (`off` included). */
export function filterLevelName(level: number): FilterLevelName {
  return level >= LEVEL_OFF ? 'off' : (LEVEL_NAMES[level] as LevelName);
}

const LEVEL_VALUES: Readonly<Record<LevelName, number>> = {
  trace: LEVEL_TRACE,
  debug: LEVEL_DEBUG,
  info: LEVEL_INFO,
  warn: LEVEL_WARN,
  error: LEVEL_ERROR,
};

/** The numeric level of a record level name. */
export function levelValue(name: LevelName): number {
  return LEVEL_VALUES[name];
}

/** pino's numeric levels to ours: 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal (error); anything else info. */
export function pinoLevel(level: unknown): number {
  if (typeof level !== 'number') return LEVEL_INFO;
  if (level >= 50) return LEVEL_ERROR;
  if (level >= 40) return LEVEL_WARN;
  if (level >= 30) return LEVEL_INFO;
  if (level >= 20) return LEVEL_DEBUG;
  return LEVEL_TRACE;
}
