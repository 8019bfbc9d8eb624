/**
 * `pino`: writes events and span ends to a pino logger in the worker, as
 * pino JSON lines (to stdout, stderr or a file) or, with `pretty: true`,
 * as pino-pretty's readable console output.
 *
 * - An event becomes a line at its level (trace 10, debug 20, info 30, warn
 *   40, error 50) with its message as `msg`, its fields, `target`, and
 *   inside a span `trace_id` and `span_id` (the names pino's OpenTelemetry
 *   instrumentation uses).
 * - A span end becomes a line at the span's level with `msg` the span name
 *   and `span_name`, `duration_ms`, `status` (`unset`, `ok`, `error`),
 *   `status_message` when there is one, `target`, `trace_id`, `span_id`,
 *   `trace_flags` and `parent_span_id`. Other span records are not logged.
 * - `time` is the record's time (Unix epoch ms), not the time of writing.
 *
 * Lines are buffered and written at each flush (JSON) or written as they
 * come (pretty, which is for people watching a console).
 */
import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';
import sonicBoom from 'sonic-boom';
import type { SonicBoom as SonicBoomStream, SonicBoomOpts } from 'sonic-boom';
import { invalidOptionType } from '../errors.js';
import type { SpanInfo, TraceRecord } from '../record/trace-record.js';
import type { SinkFactory, TraceSink } from './trace-sink.js';
import { copyJsonFields } from './json-fields.js';

export interface PinoSinkOptions {
  /** `'stdout'` (default), `'stderr'`, or a file path (appended to). */
  destination?: string;
  /** Create the file's folder. Default false. */
  mkdir?: boolean;
  /** Human-readable output through pino-pretty instead of JSON lines. Default false. */
  pretty?: boolean;
  /** With `pretty`: colour the output. Default: when the destination is a terminal. */
  colorize?: boolean;
  /** Log span ends. Default true. */
  spans?: boolean;
  /** Added to every line (pino's `base`), e.g. `{ service: 'shop' }`. Default none. */
  base?: Record<string, string | number | boolean>;
}

// sonic-boom's CommonJS default export is the class; its typings say otherwise under NodeNext.
const SonicBoom = sonicBoom as unknown as new (options: SonicBoomOpts) => SonicBoomStream;

const STATUS = ['unset', 'ok', 'error'];
/** Bytes sonic-boom buffers before writing on its own, between flushes. */
const MIN_WRITE_BYTES = 8 * 1024;

function resolvePinoOptions(options: PinoSinkOptions | undefined): Required<Omit<PinoSinkOptions, 'colorize' | 'base'>> & Pick<PinoSinkOptions, 'colorize' | 'base'> {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null) throw invalidOptionType('pino options', 'an object', o);
  const { destination = 'stdout', mkdir = false, pretty = false, colorize, spans = true, base } = o;
  if (typeof destination !== 'string' || destination === '') throw invalidOptionType('pino.destination', "'stdout', 'stderr' or a file path", destination);
  if (typeof mkdir !== 'boolean') throw invalidOptionType('pino.mkdir', 'a boolean', mkdir);
  if (typeof pretty !== 'boolean') throw invalidOptionType('pino.pretty', 'a boolean', pretty);
  if (colorize !== undefined && typeof colorize !== 'boolean') throw invalidOptionType('pino.colorize', 'a boolean', colorize);
  if (typeof spans !== 'boolean') throw invalidOptionType('pino.spans', 'a boolean', spans);
  if (base !== undefined && (base === null || typeof base !== 'object' || Array.isArray(base))) throw invalidOptionType('pino.base', 'an object', base);
  return { destination, mkdir, pretty, colorize, spans, base };
}

export class PinoSink implements TraceSink {
  readonly logger: Logger;
  readonly #out: SonicBoomStream | NodeJS.WritableStream;
  readonly #buffered: boolean;
  readonly #spans: boolean;
  readonly #status = new WeakMap<SpanInfo, { code: number; message: string }>();

  constructor(options?: PinoSinkOptions) {
    const o = resolvePinoOptions(options);
    const fd = o.destination === 'stdout' ? 1 : o.destination === 'stderr' ? 2 : undefined;
    if (o.pretty) {
      this.#out = pinoPretty({
        destination: fd ?? o.destination,
        mkdir: o.mkdir,
        append: true,
        sync: true,
        colorize: o.colorize ?? (fd !== undefined && process.stdout.isTTY === true),
        ignore: 'pid,hostname',
      });
      this.#buffered = false;
    } else {
      this.#out = new SonicBoom(fd !== undefined ? { fd, minLength: MIN_WRITE_BYTES } : { dest: o.destination, mkdir: o.mkdir, append: true, minLength: MIN_WRITE_BYTES });
      this.#buffered = true;
    }
    this.#spans = o.spans;
    // Level 'trace': the sink's filter already chose what reaches it. Times come from the records.
    this.logger = pino({ level: 'trace', base: o.base ?? null, timestamp: false }, this.#out);
  }

  consume(record: TraceRecord): void {
    switch (record.kind) {
      case 'event': {
        const obj: Record<string, unknown> = { time: Math.round(record.time), target: record.target };
        if (record.traceId !== undefined) {
          obj.trace_id = record.traceId;
          obj.span_id = record.spanId;
        }
        copyJsonFields(obj, record.fields);
        this.logger[record.level](obj, record.message);
        return;
      }
      case 'spanStatus':
        if (this.#spans) this.#status.set(record.span, { code: record.code, message: record.message });
        return;
      case 'spanEnd': {
        if (!this.#spans) return;
        const s = record.span;
        const status = this.#status.get(s);
        const obj: Record<string, unknown> = {
          time: Math.round(record.time),
          target: s.target,
          trace_id: s.traceId,
          span_id: s.spanId,
          trace_flags: s.traceFlags.toString(16).padStart(2, '0'),
          parent_span_id: s.parentSpanId,
          span_name: s.name,
          duration_ms: Math.round((record.time - s.startTime) * 1000) / 1000,
          status: STATUS[status?.code ?? 0] ?? 'unset',
        };
        if (status !== undefined && status.message !== '') obj.status_message = status.message;
        this.logger[s.level](obj, s.name);
        return;
      }
      default:
        return;
    }
  }

  flush(): Promise<void> | void {
    if (!this.#buffered) return;
    const out = this.#out as SonicBoomStream;
    // sonic-boom's flush ends with an fsync, which a pipe or a terminal refuses
    // (EINVAL, ENOTSUP) after the bytes were written: stdout piped is not a failure.
    const unsyncable = (error: Error) => (error as NodeJS.ErrnoException).code === 'EINVAL' || (error as NodeJS.ErrnoException).code === 'ENOTSUP';
    return new Promise((resolve, reject) => out.flush((error) => (error && !unsyncable(error) ? reject(error) : resolve())));
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      const out = this.#out;
      // stdout and stderr stay open for the rest of the process; files are closed.
      out.once('close', () => resolve());
      out.once('finish', () => resolve());
      out.end();
    });
  }
}

const createPinoSink: SinkFactory<PinoSinkOptions | undefined> = (options) => new PinoSink(options);
export default createPinoSink;
