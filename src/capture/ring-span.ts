/**
 * RingSpan: an OpenTelemetry `Span` that writes its life to the ring as
 * records (start, attributes, events, links, status, name, end) instead of
 * keeping it in memory. It follows the SDK's rules: limits on attributes,
 * events and links with counts of what was cut, `OK` status is final, calls
 * after `end()` are ignored with a diagnostic.
 */
import {
  SpanStatusCode,
  diag,
  type Attributes,
  type AttributeValue,
  type Exception,
  type Link,
  type Span,
  type SpanContext,
  type SpanStatus,
  type TimeInput,
} from '@opentelemetry/api';
import { isAttributeValue } from '@opentelemetry/core';
import type { IdWords, RecordEncoder } from '../record/record-encoder.js';
import type { ResolvedSpanLimits } from './span-config.js';
import { timeInputMs } from './clock.js';
import { spanIdHex, traceIdHex, wordsFromContext, type HasIdWords } from './span-ids.js';

export class RingSpan implements Span, HasIdWords {
  readonly idWords: IdWords;
  readonly #handle: number;
  readonly #encoder: RecordEncoder;
  readonly #limits: ResolvedSpanLimits;
  readonly #traceFlags: number;
  readonly #traceState: SpanContext['traceState'];
  #context: SpanContext | undefined;
  #name: string;
  #ended = false;
  #okStatus = false;
  /** Keys set so far, for the attribute count limit (overwrites do not count). */
  #keys: Set<string> | undefined;
  #droppedAttributes = 0;
  #events = 0;
  #droppedEvents = 0;
  #links = 0;
  #droppedLinks = 0;

  /** @internal made by RingTracer.startSpan. */
  constructor(
    handle: number,
    ids: IdWords,
    name: string,
    traceFlags: number,
    traceState: SpanContext['traceState'],
    encoder: RecordEncoder,
    limits: ResolvedSpanLimits,
  ) {
    this.#handle = handle;
    this.idWords = ids;
    this.#name = name;
    this.#traceFlags = traceFlags;
    this.#traceState = traceState;
    this.#encoder = encoder;
    this.#limits = limits;
  }

  /** @internal start attributes are counted against the limit. */
  initAttributes(attributes: Attributes | undefined): Attributes | undefined {
    if (attributes === undefined) return undefined;
    const clean: Attributes = {};
    for (const key of Object.keys(attributes)) this.#accept(key, attributes[key], clean);
    return clean;
  }

  spanContext(): SpanContext {
    // Hex ids are made on first request: most spans never need them.
    return (this.#context ??= {
      traceId: traceIdHex(this.idWords),
      spanId: spanIdHex(this.idWords),
      traceFlags: this.#traceFlags,
      ...(this.#traceState === undefined ? {} : { traceState: this.#traceState }),
      isRemote: false,
    });
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (this.#endedWarn('setAttribute')) return this;
    const clean: Attributes = {};
    if (this.#accept(key, value, clean)) this.#encoder.spanAttribute(this.#handle, key, clean[key]);
    return this;
  }

  setAttributes(attributes: Attributes): this {
    if (this.#endedWarn('setAttributes')) return this;
    if (attributes === null || typeof attributes !== 'object') return this;
    const clean: Attributes = {};
    let any = false;
    for (const key of Object.keys(attributes)) any = this.#accept(key, attributes[key], clean) || any;
    if (any) this.#encoder.spanAttributes(this.#handle, clean, Infinity);
    return this;
  }

  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, startTime?: TimeInput): this {
    if (this.#endedWarn('addEvent')) return this;
    if (this.#events >= this.#limits.eventCountLimit) {
      this.#droppedEvents++;
      return this;
    }
    let attributes: Attributes | undefined;
    if (isTimeInput(attributesOrStartTime)) {
      // As the SDK: a time as the third argument wins over one as the second.
      if (!isTimeInput(startTime)) startTime = attributesOrStartTime;
    } else {
      attributes = attributesOrStartTime;
    }
    this.#events++;
    this.#encoder.spanEvent(this.#handle, timeInputMs(startTime), String(name), this.#limitValues(attributes), this.#limits.attributePerEventCountLimit);
    return this;
  }

  addLink(link: Link): this {
    if (this.#endedWarn('addLink')) return this;
    if (this.#links >= this.#limits.linkCountLimit) {
      this.#droppedLinks++;
      return this;
    }
    const ctx = link?.context;
    if (ctx === undefined || typeof ctx.traceId !== 'string' || typeof ctx.spanId !== 'string') return this;
    this.#links++;
    this.#encoder.spanLink(this.#handle, wordsFromContext(ctx), ctx.traceFlags, this.#limitValues(link.attributes), this.#limits.attributePerLinkCountLimit);
    return this;
  }

  addLinks(links: Link[]): this {
    for (const link of links) this.addLink(link);
    return this;
  }

  setStatus(status: SpanStatus): this {
    if (this.#endedWarn('setStatus')) return this;
    // As the SDK: UNSET is ignored, OK is final, a message only goes with ERROR.
    if (status.code === SpanStatusCode.UNSET || this.#okStatus) return this;
    if (status.code === SpanStatusCode.OK) this.#okStatus = true;
    const message = status.code === SpanStatusCode.ERROR && typeof status.message === 'string' ? status.message : '';
    this.#encoder.spanStatus(this.#handle, status.code, message);
    return this;
  }

  updateName(name: string): this {
    if (this.#endedWarn('updateName')) return this;
    this.#name = String(name);
    this.#encoder.spanName(this.#handle, this.#name);
    return this;
  }

  end(endTime?: TimeInput): void {
    if (this.#ended) {
      diag.error(`ringtrace: ${this.#name} ${this.idWords.s0.toString(16)}: end() called on an ended span`);
      return;
    }
    this.#ended = true;
    this.#encoder.spanEnd(this.#handle, timeInputMs(endTime), this.#droppedAttributes, this.#droppedEvents, this.#droppedLinks);
  }

  isRecording(): boolean {
    return !this.#ended;
  }

  recordException(exception: Exception, time?: TimeInput): void {
    const attributes: Attributes = {};
    if (typeof exception === 'string') {
      attributes['exception.message'] = exception;
    } else if (exception !== null && typeof exception === 'object') {
      const e = exception as { code?: unknown; name?: unknown; message?: unknown; stack?: unknown };
      if (e.code !== undefined) attributes['exception.type'] = String(e.code);
      else if (typeof e.name === 'string') attributes['exception.type'] = e.name;
      if (typeof e.message === 'string') attributes['exception.message'] = e.message;
      if (typeof e.stack === 'string') attributes['exception.stacktrace'] = e.stack;
    }
    // As the SDK: without a type or a message, the event is not recorded.
    if (attributes['exception.type'] === undefined && attributes['exception.message'] === undefined) {
      diag.warn(`ringtrace: failed to record an exception ${String(exception)}`);
      return;
    }
    this.addEvent('exception', attributes, time);
  }

  /** True (with a diagnostic) when the span has ended: the call is ignored, as the SDK does. */
  #endedWarn(method: string): boolean {
    if (!this.#ended) return false;
    diag.warn(`ringtrace: cannot execute ${method} on ended span ${this.#name}`);
    return true;
  }

  /** Validate one attribute and apply the count and length limits; true if it goes into `out`. */
  #accept(key: string, value: unknown, out: Attributes): boolean {
    if (typeof key !== 'string' || key.length === 0) {
      diag.warn(`ringtrace: invalid attribute key: ${String(key)}`);
      return false;
    }
    if (!isAttributeValue(value)) {
      diag.warn(`ringtrace: invalid attribute value set for key: ${key}`);
      return false;
    }
    const keys = (this.#keys ??= new Set());
    if (!keys.has(key)) {
      if (keys.size >= this.#limits.attributeCountLimit) {
        this.#droppedAttributes++;
        return false;
      }
      keys.add(key);
    }
    out[key] = truncateValue(value as AttributeValue, this.#limits.attributeValueLengthLimit);
    return true;
  }

  /**
   * Event and link attributes: invalid values dropped and the length limit
   * applied, as the SDK's cleanAttributes; the count limit is the encoder's.
   */
  #limitValues(attributes: Attributes | undefined): Attributes | undefined {
    if (attributes === undefined || attributes === null || typeof attributes !== 'object') return undefined;
    const max = this.#limits.attributeValueLengthLimit;
    const out: Attributes = {};
    for (const key of Object.keys(attributes)) {
      const v = attributes[key];
      if (v === undefined) continue;
      if (!isAttributeValue(v)) {
        diag.warn(`ringtrace: invalid attribute value set for key: ${key}`);
        continue;
      }
      out[key] = truncateValue(v, max);
    }
    return out;
  }
}

function truncateValue(value: AttributeValue, max: number): AttributeValue {
  if (max === Infinity) return value;
  if (typeof value === 'string') return value.length > max ? value.slice(0, max) : value;
  if (Array.isArray(value)) {
    return (value as unknown[]).map((v) => (typeof v === 'string' && v.length > max ? v.slice(0, max) : v)) as AttributeValue;
  }
  return value;
}

function isTimeInput(value: unknown): value is TimeInput {
  return typeof value === 'number' || value instanceof Date || (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number');
}
