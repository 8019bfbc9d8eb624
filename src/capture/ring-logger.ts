/**
 * RingLogger: the OpenTelemetry Logs API `Logger` a `RingLoggerProvider`
 * hands out. `emit(record)` writes one event record (KIND_EVENT with the
 * Logs API's own fields, see src/record/format.ts); `enabled()` answers from
 * the level hint, so a log no sink would accept costs one comparison, as a
 * disabled structured event does.
 *
 * The logger's name is the records' target; SeverityNumber ranges map to
 * ringtrace's levels (1–4 trace, 5–8 debug, 9–12 info, 13–16 warn, 17–24
 * error; unset is info). Trace context comes from `record.context`, else the
 * active context. Nothing the application passes can make `emit` throw.
 */
import { ROOT_CONTEXT, context as contextApi, isSpanContextValid, trace, type Context, type Logger, type LogRecord } from '@opentelemetry/api';
import { LEVEL_DEBUG, LEVEL_ERROR, LEVEL_INFO, LEVEL_TRACE, LEVEL_WARN } from '../filter/levels.js';
import type { LevelHint } from '../filter/level-hint.js';
import type { IdWords, RecordEncoder } from '../encoder/record-encoder.js';
import { nowMs, timeInputMs } from './clock.js';
import { logBodyJson } from './log-body.js';
import { RingSpan } from './ring-span.js';
import { wordsFromContext } from './span-ids.js';

/** ringtrace's numeric level for an OpenTelemetry `SeverityNumber` (unset, 0 or not a number: info). */
export function severityLevel(severityNumber: unknown): number {
  if (typeof severityNumber !== 'number' || !(severityNumber >= 1)) return LEVEL_INFO;
  if (severityNumber < 5) return LEVEL_TRACE;
  if (severityNumber < 9) return LEVEL_DEBUG;
  if (severityNumber < 13) return LEVEL_INFO;
  if (severityNumber < 17) return LEVEL_WARN;
  return LEVEL_ERROR;
}

/** What emit reads of a record, each field read once. */
interface RecordFields {
  timestamp: unknown;
  observedTimestamp: unknown;
  severityNumber: unknown;
  severityText: unknown;
  eventName: unknown;
  body: unknown;
  attributes: unknown;
  exception: unknown;
  context: unknown;
}

const FIELD_NAMES = ['timestamp', 'observedTimestamp', 'severityNumber', 'severityText', 'eventName', 'body', 'attributes', 'exception', 'context'] as const;

/** Each field in its own guard: a record whose getters throw (or a proxy) still gives what it can. */
function readGuarded(record: unknown): RecordFields {
  const out = {} as Record<(typeof FIELD_NAMES)[number], unknown>;
  for (const name of FIELD_NAMES) {
    try {
      out[name] = (record as Record<string, unknown>)[name];
    } catch {
      out[name] = undefined;
    }
  }
  return out;
}

function readFields(record: LogRecord): RecordFields {
  try {
    const { timestamp, observedTimestamp, severityNumber, severityText, eventName, body, attributes, exception, context } = record;
    return { timestamp, observedTimestamp, severityNumber, severityText, eventName, body, attributes, exception, context };
  } catch {
    return readGuarded(record);
  }
}

function read(obj: object, key: string): unknown {
  try {
    return (obj as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

function hasOwn(obj: object | undefined, key: string): boolean {
  if (obj === undefined) return false;
  try {
    return Object.prototype.hasOwnProperty.call(obj, key);
  } catch {
    return false;
  }
}

/**
 * The attributes with the exception's, as the SDK's LogRecord sets them:
 * `exception.type` (its `code`, else `name`), `exception.message`,
 * `exception.stacktrace`, each unless the attributes already have it.
 */
function withException(attributes: object | undefined, exception: unknown, maxString: number): object | undefined {
  const extra: Record<string, string> = {};
  if (typeof exception === 'string' || typeof exception === 'number') {
    extra['exception.message'] = String(exception);
  } else if (exception !== null && typeof exception === 'object') {
    const code = read(exception, 'code');
    const name = read(exception, 'name');
    const message = read(exception, 'message');
    const stack = read(exception, 'stack');
    if (code !== undefined && code !== null && code !== '' && code !== 0) extra['exception.type'] = typeof code === 'string' ? code : safeText(code, maxString);
    else if (typeof name === 'string' && name !== '') extra['exception.type'] = name;
    if (typeof message === 'string' && message !== '') extra['exception.message'] = message;
    if (typeof stack === 'string' && stack !== '') extra['exception.stacktrace'] = stack;
  } else {
    return attributes;
  }
  const out: Record<string, unknown> = {};
  if (attributes !== undefined) {
    try {
      for (const key of Object.keys(attributes)) {
        Object.defineProperty(out, key, { value: read(attributes, key), enumerable: true, writable: true, configurable: true });
      }
    } catch {
      // A proxy whose keys throw: the exception's attributes alone.
    }
  }
  for (const key of Object.keys(extra)) if (!hasOwn(attributes, key)) out[key] = extra[key];
  return out;
}

function safeText(value: unknown, max: number): string {
  try {
    const s = String(value);
    return s.length > max ? s.slice(0, max) : s;
  } catch {
    return '[Throws]';
  }
}

function isContext(value: unknown): value is Context {
  return value !== null && typeof value === 'object' && typeof read(value, 'getValue') === 'function';
}

/** A Logs API logger bound to one target. Get one from `RingLoggerProvider.getLogger(name)`. */
export class RingLogger implements Logger {
  /** The logger's name: the records' target. */
  readonly target: string;
  readonly version: string;
  readonly schemaUrl: string;
  readonly #encoder: RecordEncoder;
  readonly #hint: LevelHint;
  #generation = -1;
  #minLevel = 0;
  /** The trace flags of the context `#ids` read last. */
  #flags = 0;

  /** @internal made by RingLoggerProvider. */
  constructor(target: string, version: string, schemaUrl: string, encoder: RecordEncoder, hint: LevelHint) {
    this.target = target;
    this.version = version;
    this.schemaUrl = schemaUrl;
    this.#encoder = encoder;
    this.#hint = hint;
  }

  /** Whether a sink would accept a record of this severity on this logger's target. */
  enabled(options?: { context?: Context; severityNumber?: number; eventName?: string }): boolean {
    const severity = options === undefined || options === null || typeof options !== 'object' ? undefined : read(options, 'severityNumber');
    return severityLevel(severity) >= this.#min();
  }

  emit(record: LogRecord): void {
    try {
      // The level alone first: a record no sink wants costs one read and one comparison.
      if (severityLevel(record.severityNumber) < this.#min()) return;
    } catch {
      // null, or a hostile getter: #emit reads it again, guarded.
    }
    try {
      this.#emit(record);
    } catch {
      // Every read above is guarded and the encoder never throws; this is the
      // last line that keeps a bug of ours out of the application.
    }
  }

  #emit(record: LogRecord): void {
    if (record === null || typeof record !== 'object') return;
    const f = readFields(record);
    const level = severityLevel(f.severityNumber);
    if (level < this.#min()) return;
    const encoder = this.#encoder;
    const max = encoder.maxStringLength;
    const time = f.timestamp === undefined ? nowMs() : timeInputMs(f.timestamp as Parameters<typeof timeInputMs>[0]);
    const observedTime = f.observedTimestamp === undefined ? nowMs() : timeInputMs(f.observedTimestamp as Parameters<typeof timeInputMs>[0]);
    const body = f.body;
    const isString = typeof body === 'string';
    const attrs = f.attributes !== null && typeof f.attributes === 'object' ? (f.attributes as object) : undefined;
    const sev = f.severityNumber;
    const ctx = this.#ids(isContext(f.context) ? f.context : undefined);
    encoder.logRecord({
      level,
      time,
      observedTime,
      target: this.target,
      message: isString ? body : '',
      bodyJson: isString || body === undefined ? undefined : logBodyJson(body, max),
      hasBody: body !== undefined,
      attributes: f.exception === undefined || f.exception === null ? attrs : withException(attrs, f.exception, max),
      ctx,
      traceFlags: ctx === null ? 0 : this.#flags,
      severityNumber: typeof sev === 'number' && Number.isInteger(sev) && sev >= 0 && sev <= 255 ? sev : 0,
      severityText: typeof f.severityText === 'string' ? f.severityText : '',
      eventName: typeof f.eventName === 'string' ? f.eventName : '',
      scopeVersion: this.version,
      schemaUrl: this.schemaUrl,
    });
  }

  /** The ids of the span in `given` (else the active context), setting `#flags`; null outside any valid span. */
  #ids(given: Context | undefined): IdWords | null {
    const ctx = given ?? contextApi.active();
    if (ctx === ROOT_CONTEXT) return null;
    const span = trace.getSpan(ctx);
    if (span === undefined) return null;
    if (span instanceof RingSpan) {
      this.#flags = span.traceFlags;
      return span.idWords;
    }
    const sc = span.spanContext();
    if (!isSpanContextValid(sc)) return null;
    this.#flags = sc.traceFlags;
    return wordsFromContext(sc);
  }

  #min(): number {
    if (this.#generation !== this.#hint.generation) {
      this.#generation = this.#hint.generation;
      this.#minLevel = this.#hint.levelFor(this.target);
    }
    return this.#minLevel;
  }
}
