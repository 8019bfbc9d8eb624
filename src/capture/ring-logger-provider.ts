/**
 * RingLoggerProvider: the OpenTelemetry Logs API `LoggerProvider` a
 * dispatcher exposes as `dispatcher.loggerProvider` and installs globally
 * with `dispatcher.install()`, so instrumentations' log sending
 * (instrumentation-pino, -winston, -bunyan) reaches the sinks. One logger per
 * (name, version, schema URL), cached.
 */
import type { Logger, LoggerOptions, LoggerProvider } from '@opentelemetry/api';
import type { LevelHint } from '../filter/level-hint.js';
import type { RecordEncoder } from '../encoder/record-encoder.js';
import { RingLogger } from './ring-logger.js';

/** Loggers cached per (name, version, schema URL); past this they are made per call. */
export const MAX_CACHED_LOGS_LOGGERS = 1024;

export class RingLoggerProvider implements LoggerProvider {
  readonly #encoder: RecordEncoder;
  readonly #hint: LevelHint;
  readonly #loggers = new Map<string, RingLogger>();

  /** @internal made by TraceDispatcher. */
  constructor(encoder: RecordEncoder, hint: LevelHint) {
    this.#encoder = encoder;
    this.#hint = hint;
  }

  getLogger(name: string, version?: string, options?: LoggerOptions): Logger {
    // Checked before use: a symbol or an object with a throwing toString must not throw here.
    const target = typeof name === 'string' && name !== '' ? name : 'unknown';
    const v = typeof version === 'string' ? version : '';
    let schemaUrl = '';
    try {
      const given = options?.schemaUrl;
      if (typeof given === 'string') schemaUrl = given;
    } catch {
      // A hostile options object: no schema URL.
    }
    const key = `${target}\u0000${v}\u0000${schemaUrl}`;
    let logger = this.#loggers.get(key);
    if (logger === undefined) {
      logger = new RingLogger(target, v, schemaUrl, this.#encoder, this.#hint);
      // Bounded: logger names made from ids must not grow this without limit.
      if (this.#loggers.size < MAX_CACHED_LOGS_LOGGERS) this.#loggers.set(key, logger);
    }
    return logger;
  }
}
