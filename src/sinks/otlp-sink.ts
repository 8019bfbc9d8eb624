/**
 * `otlp`: exports whole spans, and standalone events as log records, over
 * OTLP/HTTP (protobuf or JSON) to a collector.
 *
 *   consume ─> SpanAssembler ─> span queue ──┐  flush: batches of maxExportBatchSize,
 *          └─> (event) ───────> log queue ───┴─> serialised by @opentelemetry/otlp-transformer,
 *                                                POSTed one request at a time, retried with backoff
 *
 * The encoding is OpenTelemetry's own (`ProtobufTraceSerializer`,
 * `JsonTraceSerializer`, and the logs ones), fed with ReadableSpan- and
 * ReadableLogRecord-shaped objects; this module only builds those objects and
 * moves the bytes. Options and environment variables: see otlp-config.ts and
 * docs/sinks.md.
 *
 * Accounting, per signal (`inspect().spans` / `.logs`): every item taken in is
 * exactly one of `exported`, `rejected` (the collector's partial success),
 * `failed` (non-retryable answer or attempts used up), `dropped` (queue full)
 * or still `pending`. `retried` counts retry requests. A request is retried
 * only when it failed, so a collector that answered never gets it twice; a
 * timeout is the exception OTLP itself has (the collector may have taken it).
 */
import { request as httpRequest, Agent as HttpAgent, type IncomingMessage } from 'node:http';
import { request as httpsRequest, Agent as HttpsAgent } from 'node:https';
import { gzipSync } from 'node:zlib';
import { createTraceState, type Attributes, type HrTime, type SpanContext } from '@opentelemetry/api';
import {
  JsonLogsSerializer,
  JsonTraceSerializer,
  ProtobufLogsSerializer,
  ProtobufTraceSerializer,
  type ISerializer,
} from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { EventRecord, FieldValue, Fields, TraceRecord } from '../record/trace-record.js';
import { resolveOtlpConfig, resourceFromEnvironment, type OtlpConfig, type OtlpSignalConfig, type OtlpSinkOptions } from './otlp-config.js';
import { SpanAssembler, type AssembledSpan, type SpanAssemblerStats } from './span-assembler.js';
import type { SinkContext, SinkFactory, TraceSink } from './trace-sink.js';

export type { OtlpSinkOptions } from './otlp-config.js';

/** Counts for one signal (spans or log records). */
export interface OtlpSignalStats {
  /** Items taken into the queue. */
  queued: number;
  /** Items the collector accepted. */
  exported: number;
  /** Items the collector answered as rejected (OTLP partial success). */
  rejected: number;
  /** Items given up: a non-retryable answer, attempts used up, or a body that would not serialise. */
  failed: number;
  /** Items not queued because the queue was full. */
  dropped: number;
  /** Items queued or in flight now. */
  pending: number;
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Requests repeated after a retryable failure. */
  retried: number;
  /** The last failure, for diagnosis. */
  lastError: string | undefined;
}

/** `dispatcher.inspectSink(name)` for an `otlp` sink. */
export interface OtlpSinkContents {
  tracesUrl: string;
  logsUrl: string;
  protocol: string;
  spans: OtlpSignalStats;
  logs: OtlpSignalStats;
  assembler: SpanAssemblerStats;
  openSpans: number;
}

/** Statuses the OTLP/HTTP specification calls retryable. */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/** `ringtrace.incomplete` marks a span whose end record never arrived (evicted, or open at close). */
export const INCOMPLETE_ATTRIBUTE = 'ringtrace.incomplete';
export const INCOMPLETE_REASON_ATTRIBUTE = 'ringtrace.incomplete_reason';

const SEVERITY_NUMBER = { trace: 1, debug: 5, info: 9, warn: 13, error: 17 } as const;
const SEVERITY_TEXT = { trace: 'TRACE', debug: 'DEBUG', info: 'INFO', warn: 'WARN', error: 'ERROR' } as const;

function hrTime(ms: number): HrTime {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6));
  return [seconds, nanos];
}

function attributeValue(v: FieldValue): unknown {
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) ? Number(v) : v.toString();
  if (Array.isArray(v)) return v.map((x) => (typeof x === 'bigint' ? attributeValue(x) : x));
  return v;
}

/** Fields as OpenTelemetry attributes: bigints become numbers when exact, else decimal strings. */
function toAttributes(fields: Fields, extra?: Attributes): Attributes {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) {
    Object.defineProperty(out, key, { value: attributeValue(fields[key]!), enumerable: true, writable: true, configurable: true });
  }
  if (extra !== undefined) Object.assign(out, extra);
  return out as Attributes;
}

function newStats(): OtlpSignalStats {
  return { queued: 0, exported: 0, rejected: 0, failed: 0, dropped: 0, pending: 0, requests: 0, retried: 0, lastError: undefined };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

interface PostResult {
  status: number;
  body: Uint8Array;
  retryAfterMs: number | undefined;
}

/** Retry-After as seconds or an HTTP date, in ms from now. */
function retryAfter(res: IncomingMessage): number | undefined {
  const raw = res.headers['retry-after'];
  if (raw === undefined) return undefined;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

class SignalExporter<Item> {
  readonly stats = newStats();
  readonly #queue: Item[] = [];
  readonly #serializer: ISerializer<Item[], unknown>;
  readonly #headers: Record<string, string>;

  constructor(
    readonly config: OtlpSignalConfig,
    serializers: { protobuf: ISerializer<Item[], unknown>; json: ISerializer<Item[], unknown> },
    readonly sink: OtlpSink,
    readonly rejectedField: 'rejectedSpans' | 'rejectedLogRecords',
  ) {
    this.#serializer = config.protocol === 'http/json' ? serializers.json : serializers.protobuf;
    this.#headers = {
      ...config.headers,
      'Content-Type': config.protocol === 'http/json' ? 'application/json' : 'application/x-protobuf',
      ...(config.compression === 'gzip' ? { 'Content-Encoding': 'gzip' } : {}),
    };
  }

  get queueLength(): number {
    return this.#queue.length;
  }

  push(item: Item): void {
    if (this.#queue.length >= this.sink.config.maxQueueSize) {
      this.stats.dropped++;
      return;
    }
    this.#queue.push(item);
    this.stats.queued++;
    this.stats.pending++;
  }

  /** Export everything queued now, a batch at a time. Never rejects. */
  async drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.splice(0, this.sink.config.maxExportBatchSize);
      await this.#export(batch);
      this.stats.pending -= batch.length;
    }
  }

  async #export(batch: Item[]): Promise<void> {
    const n = batch.length;
    let body: Uint8Array | undefined;
    try {
      body = this.#serializer.serializeRequest(batch);
      if (body === undefined) throw new Error('serializer returned nothing');
      if (this.config.compression === 'gzip') body = gzipSync(body);
    } catch (error) {
      this.stats.failed += n;
      this.stats.lastError = `serialise: ${message(error)}`;
      return;
    }
    const { maxAttempts, initialBackoffMs, maxBackoffMs } = this.sink.config;
    for (let attempt = 1; ; attempt++) {
      let retryable: boolean;
      let waitMs: number | undefined;
      this.stats.requests++;
      try {
        const res = await this.sink.post(this.config, this.#headers, body);
        if (res.status >= 200 && res.status < 300) {
          const rejected = this.#rejected(res.body, n);
          this.stats.rejected += rejected;
          this.stats.exported += n - rejected;
          return;
        }
        this.stats.lastError = `HTTP ${res.status} from ${this.config.url.href}`;
        retryable = RETRYABLE_STATUS.has(res.status);
        waitMs = res.retryAfterMs;
      } catch (error) {
        this.stats.lastError = message(error);
        retryable = true;
      }
      if (!retryable || attempt >= maxAttempts || this.sink.closing) {
        this.stats.failed += n;
        return;
      }
      this.stats.retried++;
      // Exponential backoff with jitter (50–100 % of the step), or what Retry-After asks; never past maxBackoffMs.
      const step = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (attempt - 1));
      await this.sink.sleep(Math.min(maxBackoffMs, waitMs ?? step * (0.5 + Math.random() / 2)));
    }
  }

  /** The partial-success count in a 2xx answer; 0 when there is none or it does not parse. */
  #rejected(body: Uint8Array, n: number): number {
    if (body.length === 0) return 0;
    try {
      const response = this.#serializer.deserializeResponse(body) as { partialSuccess?: Record<string, unknown> } | undefined;
      const partial = response?.partialSuccess;
      if (partial === undefined || partial === null) return 0;
      const count = Number(partial[this.rejectedField] ?? 0);
      if (typeof partial.errorMessage === 'string' && partial.errorMessage !== '') this.stats.lastError = `partial success: ${partial.errorMessage}`;
      return Number.isFinite(count) ? Math.min(n, Math.max(0, count)) : 0;
    } catch {
      return 0;
    }
  }
}

export class OtlpSink implements TraceSink {
  readonly config: OtlpConfig;
  readonly resource: Resource;
  readonly #assembler: SpanAssembler;
  readonly #spans: SignalExporter<ReadableSpan>;
  readonly #logs: SignalExporter<ReadableLogRecord>;
  // One InstrumentationScope object per target: the logs serializer groups by identity.
  readonly #scopes = new Map<string, { name: string; version?: string; schemaUrl?: string }>();
  readonly #httpAgent = new HttpAgent({ keepAlive: true });
  readonly #httpsAgent = new HttpsAgent({ keepAlive: true });
  readonly #timers = new Set<NodeJS.Timeout>();
  // Exports run one after another; a flush joins the end of the chain.
  #chain: Promise<void> = Promise.resolve();
  #closing = false;

  /**
   * @param context.resource the dispatcher's resource; without one (a sink
   *   built by hand) it is made from the process and `OTEL_SERVICE_NAME` /
   *   `OTEL_RESOURCE_ATTRIBUTES`.
   */
  constructor(
    options: OtlpSinkOptions | undefined,
    context: Pick<SinkContext, 'resource'> = {},
    env: Readonly<Record<string, string | undefined>> = process.env,
  ) {
    this.config = resolveOtlpConfig(options, env);
    this.#assembler = new SpanAssembler((span) => this.#spans.push(this.#readableSpan(span)), this.config.assembler, 'otlp');
    const attributes = { ...(context.resource ?? resourceFromEnvironment(env)), ...this.config.resourceAttributes };
    if (this.config.serviceName !== undefined) attributes['service.name'] = this.config.serviceName;
    this.resource = resourceFromAttributes(attributes);
    this.#spans = new SignalExporter<ReadableSpan>(
      this.config.traces,
      { protobuf: ProtobufTraceSerializer, json: JsonTraceSerializer },
      this,
      'rejectedSpans',
    );
    this.#logs = new SignalExporter<ReadableLogRecord>(
      this.config.logs,
      { protobuf: ProtobufLogsSerializer, json: JsonLogsSerializer },
      this,
      'rejectedLogRecords',
    );
  }

  /** @internal true once close() started: retries stop waiting. */
  get closing(): boolean {
    return this.#closing;
  }

  consume(record: TraceRecord): void {
    if (!this.config.exportSpans && record.kind !== 'event') return;
    if (!this.#assembler.consume(record)) {
      if (this.config.exportEvents) this.#logs.push(this.#readableLog(record as EventRecord));
    }
    // A full batch goes out without waiting for the next flush.
    if (this.#spans.queueLength >= this.config.maxExportBatchSize || this.#logs.queueLength >= this.config.maxExportBatchSize) {
      void this.#exportQueued();
    }
  }

  /** Resolves once everything queued when it was called is exported or counted failed. */
  flush(): Promise<void> {
    return this.#exportQueued();
  }

  /** Delivers spans still open, marked `ringtrace.incomplete`, exports everything, and frees the sockets. */
  async close(): Promise<void> {
    this.#assembler.closeOpen();
    this.#closing = true;
    for (const timer of this.#timers) clearTimeout(timer);
    await this.#exportQueued();
    this.#httpAgent.destroy();
    this.#httpsAgent.destroy();
  }

  inspect(): OtlpSinkContents {
    return {
      tracesUrl: this.config.traces.url.href,
      logsUrl: this.config.logs.url.href,
      protocol: this.config.traces.protocol,
      spans: { ...this.#spans.stats },
      logs: { ...this.#logs.stats },
      assembler: { ...this.#assembler.stats },
      openSpans: this.#assembler.openSpans,
    };
  }

  #exportQueued(): Promise<void> {
    const run = this.#chain.then(async () => {
      await this.#spans.drain();
      await this.#logs.drain();
    });
    this.#chain = run;
    return run;
  }

  /** @internal a retry's wait; cut short when the sink closes. */
  sleep(ms: number): Promise<void> {
    if (this.#closing || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }

  /** @internal one POST with the signal's timeout. Rejects on network errors and timeouts. */
  post(config: OtlpSignalConfig, headers: Record<string, string>, body: Uint8Array): Promise<PostResult> {
    const https = config.url.protocol === 'https:';
    return new Promise((resolve, reject) => {
      const req = (https ? httpsRequest : httpRequest)(config.url, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(body.byteLength) },
        agent: https ? this.#httpsAgent : this.#httpAgent,
      });
      const timer = setTimeout(() => req.destroy(new Error(`no answer from ${config.url.href} within ${config.timeoutMs} ms`)), config.timeoutMs);
      req.on('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), retryAfterMs: retryAfter(res) });
        });
      });
      req.end(body);
    });
  }

  #scope(name: string, version = '', schemaUrl = ''): { name: string; version?: string; schemaUrl?: string } {
    const key = version === '' && schemaUrl === '' ? name : `${name}\u0000${version}\u0000${schemaUrl}`;
    let scope = this.#scopes.get(key);
    if (scope === undefined) {
      scope = { name };
      if (version !== '') scope.version = version;
      if (schemaUrl !== '') scope.schemaUrl = schemaUrl;
      this.#scopes.set(key, scope);
    }
    return scope;
  }

  #readableSpan(s: AssembledSpan): ReadableSpan {
    const traceState = s.traceState === '' ? undefined : createTraceState(s.traceState);
    const ctx: SpanContext = { traceId: s.traceId, spanId: s.spanId, traceFlags: s.traceFlags, traceState };
    const parent: SpanContext | undefined =
      s.parentSpanId === undefined ? undefined : { traceId: s.traceId, spanId: s.parentSpanId, traceFlags: s.traceFlags, isRemote: s.parentIsRemote };
    const extra = s.incomplete ? { [INCOMPLETE_ATTRIBUTE]: true, [INCOMPLETE_REASON_ATTRIBUTE]: s.incompleteReason ?? 'closed' } : undefined;
    return {
      name: s.name,
      kind: s.spanKind,
      spanContext: () => ctx,
      parentSpanContext: parent,
      startTime: hrTime(s.startTime),
      endTime: hrTime(s.endTime),
      duration: hrTime(s.endTime - s.startTime),
      ended: !s.incomplete,
      status: s.statusMessage === '' ? { code: s.statusCode } : { code: s.statusCode, message: s.statusMessage },
      attributes: toAttributes(s.attributes, extra),
      links: s.links.map((l) => ({
        context: { traceId: l.traceId, spanId: l.spanId, traceFlags: l.traceFlags },
        attributes: toAttributes(l.attributes),
        droppedAttributesCount: l.droppedAttributesCount,
      })),
      events: s.events.map((e) => ({ time: hrTime(e.time), name: e.name, attributes: toAttributes(e.attributes), droppedAttributesCount: e.droppedAttributesCount })),
      resource: this.resource,
      instrumentationScope: this.#scope(s.target),
      droppedAttributesCount: s.droppedAttributesCount,
      droppedEventsCount: s.droppedEventsCount,
      droppedLinksCount: s.droppedLinksCount,
    };
  }

  #readableLog(e: EventRecord): ReadableLogRecord {
    const time = hrTime(e.time);
    // A Logs API record (severityNumber set) carries its own severity, body,
    // event name, observed time, trace flags and scope version; other events
    // are described by their level and message.
    const fromLogsApi = e.severityNumber !== undefined;
    return {
      hrTime: time,
      hrTimeObserved: e.observedTime === undefined ? time : hrTime(e.observedTime),
      // Other events do not carry the span's trace flags; 0 says only "not known to be sampled".
      spanContext: e.traceId !== undefined && e.spanId !== undefined ? { traceId: e.traceId, spanId: e.spanId, traceFlags: e.traceFlags ?? 0 } : undefined,
      severityNumber: fromLogsApi ? e.severityNumber : SEVERITY_NUMBER[e.level],
      severityText: fromLogsApi ? (e.severityText === '' ? undefined : e.severityText) : SEVERITY_TEXT[e.level],
      body: fromLogsApi ? (e.body as ReadableLogRecord['body']) : e.message,
      ...(e.eventName ? { eventName: e.eventName } : {}),
      resource: this.resource,
      instrumentationScope: this.#scope(e.target, e.scopeVersion, e.schemaUrl),
      attributes: toAttributes(e.fields),
      droppedAttributesCount: 0,
    };
  }
}

const createOtlpSink: SinkFactory<OtlpSinkOptions | undefined> = (options, context) => new OtlpSink(options, context);
export default createOtlpSink;
