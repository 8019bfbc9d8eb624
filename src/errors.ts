/**
 * ringtrace's errors: small factories and classes, so that every message
 * names the bad option or value the same way, every error carries a stable
 * `code` (as Node's own errors do) that applications and tests can match, and
 * an error made in the dispatcher worker arrives on the application's thread
 * as the same class with its code, stack and cause.
 */

/** Every `code` a ringtrace error (or warning) can carry. */
export const ERROR_CODES = {
  /** An option of the wrong type or out of range (a `TypeError` or `RangeError`). */
  INVALID_OPTION: 'RINGTRACE_INVALID_OPTION',
  /** A filter directive string that does not parse. */
  FILTER_SYNTAX: 'RINGTRACE_FILTER_SYNTAX',
  /** A sink that could not be loaded, constructed, or found. */
  SINK: 'RINGTRACE_SINK',
  /** The dispatcher has been shut down. */
  SHUT_DOWN: 'RINGTRACE_SHUT_DOWN',
  /** The dispatcher worker failed to start, or kept dying and was given up. */
  WORKER_GONE: 'RINGTRACE_WORKER_GONE',
  /** An operation an inert dispatcher (one started off the main thread) cannot do. */
  INERT: 'RINGTRACE_INERT',
  /** A record in the ring the worker could not read (reported, never thrown to the application). */
  CORRUPT_RECORD: 'RINGTRACE_CORRUPT_RECORD',
  /** An error from the worker that is none of ringtrace's own (a sink's, say). */
  WORKER_ERROR: 'RINGTRACE_WORKER_ERROR',
  /** The warning `install()` emits when it keeps another SDK's globals. */
  INSTALL: 'RINGTRACE_INSTALL',
  /** The warning `ringtrace/register` emits for a bad environment variable (then uses the default). */
  ENV: 'RINGTRACE_ENV',
  /**
   * `TraceDispatcher.attach()` found no dispatcher: called on the main thread
   * or in ringtrace's own worker, or no dispatcher answered in time.
   */
  NO_DISPATCHER: 'RINGTRACE_NO_DISPATCHER',
  /** The warning a bad metric instrument or value gets (once per instrument; the value is ignored). */
  METRICS: 'RINGTRACE_METRICS',
} as const;

/** One of the values of `ERROR_CODES`. */
export type RingtraceErrorCode = (typeof ERROR_CODES)[keyof typeof ERROR_CODES];

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

function withCode<E extends Error>(error: E, code: RingtraceErrorCode): E & { code: RingtraceErrorCode } {
  return Object.assign(error, { code });
}

/** An option of the wrong type: `TypeError` naming the option and the value, code `RINGTRACE_INVALID_OPTION`. */
export function invalidOptionType(option: string, expected: string, value: unknown): TypeError & { code: RingtraceErrorCode } {
  return withCode(new TypeError(`ringtrace: option ${option} must be ${expected}, got ${show(value)}`), ERROR_CODES.INVALID_OPTION);
}

/** An option outside its allowed range: `RangeError` naming the option and the value, code `RINGTRACE_INVALID_OPTION`. */
export function invalidOptionRange(option: string, expected: string, value: unknown): RangeError & { code: RingtraceErrorCode } {
  return withCode(new RangeError(`ringtrace: option ${option} must be ${expected}, got ${show(value)}`), ERROR_CODES.INVALID_OPTION);
}

/** A filter directive string that does not parse. */
export class FilterSyntaxError extends SyntaxError {
  override name = 'FilterSyntaxError';
  readonly code: RingtraceErrorCode = ERROR_CODES.FILTER_SYNTAX;
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
  readonly code: RingtraceErrorCode = ERROR_CODES.SINK;
  constructor(
    /** The sink's name as given in its spec. */
    readonly sinkName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`ringtrace: sink ${JSON.stringify(sinkName)}: ${message}`, options);
  }
}

/** An operation on a dispatcher that has been shut down, whose worker is gone, or that is inert. */
export class DispatcherStateError extends Error {
  override name = 'DispatcherStateError';
  constructor(
    message: string,
    /** `RINGTRACE_SHUT_DOWN`, `RINGTRACE_WORKER_GONE` or `RINGTRACE_INERT`. */
    readonly code: RingtraceErrorCode = ERROR_CODES.SHUT_DOWN,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * `TraceDispatcher.attach()` could not connect this thread to a dispatcher
 * (code `RINGTRACE_NO_DISPATCHER`), or an attached thread's `flush()` or
 * `detach()` got no answer in time.
 */
export class AttachError extends Error {
  override name = 'AttachError';
  readonly code: RingtraceErrorCode = ERROR_CODES.NO_DISPATCHER;
}

/**
 * A record the worker could not decode. Internal to the worker: the drain
 * loop catches it, counts the record as corrupt and reports it.
 * @internal
 */
export class CorruptRecordError extends Error {
  override name = 'CorruptRecordError';
  readonly code: RingtraceErrorCode = ERROR_CODES.CORRUPT_RECORD;
}

/** An error as it crosses the control port (structured-cloneable). */
export interface SerializedError {
  name: string;
  message: string;
  stack: string | undefined;
  code: string | undefined;
  sinkName?: string;
  cause?: SerializedError;
}

/** How deep a chain of causes is carried across the port. */
const MAX_CAUSE_DEPTH = 8;

/** An error as plain data, its causes included, for the control port. */
export function serializeError(error: unknown, depth = 0): SerializedError {
  if (!(error instanceof Error)) {
    return { name: 'Error', message: safeText(error), stack: undefined, code: ERROR_CODES.WORKER_ERROR };
  }
  const code = (error as { code?: unknown }).code;
  const out: SerializedError = {
    name: error.name,
    message: error.message,
    stack: error.stack,
    code: typeof code === 'string' ? code : undefined,
  };
  if (error instanceof SinkError) out.sinkName = error.sinkName;
  if (error.cause !== undefined && depth < MAX_CAUSE_DEPTH) out.cause = serializeError(error.cause, depth + 1);
  return out;
}

/**
 * Rebuild an error sent across the port: the same class for ringtrace's own
 * and the built-in ones, its message, code, cause and the worker's stack.
 */
export function deserializeError(error: SerializedError): Error {
  const cause = error.cause === undefined ? undefined : deserializeError(error.cause);
  const options = cause === undefined ? undefined : { cause };
  let out: Error;
  if (error.sinkName !== undefined) {
    const prefix = `ringtrace: sink ${JSON.stringify(error.sinkName)}: `;
    const message = error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message;
    out = new SinkError(error.sinkName, message, options);
  } else if (error.name === 'DispatcherStateError') {
    out = new DispatcherStateError(error.message, (error.code ?? ERROR_CODES.WORKER_GONE) as RingtraceErrorCode, options);
  } else {
    const Make = BUILTIN_ERRORS[error.name] ?? Error;
    out = new Make(error.message, options);
    if (Make === Error && error.name !== 'Error') Object.defineProperty(out, 'name', { value: error.name, configurable: true, writable: true });
    Object.defineProperty(out, 'code', { value: error.code ?? ERROR_CODES.WORKER_ERROR, enumerable: true, configurable: true, writable: true });
  }
  if (error.stack !== undefined) out.stack = error.stack;
  return out;
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

function safeText(value: unknown): string {
  try {
    return String(value);
  } catch {
    return '[unprintable error]';
  }
}
