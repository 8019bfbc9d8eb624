/**
 * Error factories, so that every message names the bad option or value the
 * same way and tests can match them.
 */

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return value.toString();
  if (value === null || typeof value !== 'object') return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/** An option of the wrong type: `TypeError` naming the option and the value. */
export function invalidOptionType(option: string, expected: string, value: unknown): TypeError {
  return new TypeError(`ringtrace: option ${option} must be ${expected}, got ${show(value)}`);
}

/** An option outside its allowed range: `RangeError` naming the option and the value. */
export function invalidOptionRange(option: string, expected: string, value: unknown): RangeError {
  return new RangeError(`ringtrace: option ${option} must be ${expected}, got ${show(value)}`);
}

/** A filter directive string that does not parse. */
export class FilterSyntaxError extends SyntaxError {
  override name = 'FilterSyntaxError';
  constructor(
    /** The whole directive string. */
    readonly directives: string,
    /** The directive that failed. */
    readonly directive: string,
    reason: string,
  ) {
    super(`ringtrace: bad filter directive ${JSON.stringify(directive)} in ${JSON.stringify(directives)}: ${reason}`);
  }
}

/** A sink that could not be loaded, constructed, or found. */
export class SinkError extends Error {
  override name = 'SinkError';
  constructor(
    /** The sink's name as given in its spec. */
    readonly sinkName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`ringtrace: sink ${JSON.stringify(sinkName)}: ${message}`, options);
  }
}

/** An operation on a dispatcher that has been shut down or whose worker is gone. */
export class DispatcherStateError extends Error {
  override name = 'DispatcherStateError';
}

