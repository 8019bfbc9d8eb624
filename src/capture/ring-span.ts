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
import { types } from 'node:util';
import type { IdWords, RecordEncoder } from '../record/record-encoder.js';
import { safeString } from '../record/safe-string.js';
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
  /**
   * The attribute count limit counts distinct keys. While fewer attributes
   * have been set than the limit (overwrites included) no key can be over
   * it, so keys are only logged; past that they go into a Set.
   */
  #attributeSets = 0;
  #keyLog: string[] | undefined;
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

  /**
   * @internal start attributes are counted against the limit. Returns what
   * to encode: the caller's object itself when every value is a plain valid
   * attribute (the common case, no copy), else a cleaned copy.
   */
  initAttributes(attributes: Attributes | undefined): Attributes | undefined {
    if (attributes === undefined) return undefined;
    const fast = this.#plainAttributes(attributes);
    if (fast !== undefined) return fast;
    const clean = bag();
    eachAttribute(attributes, (key, value) => this.#accept(key, value, clean));
    return clean;
  }

  /** The object itself if all its values are strings (within the length limit), numbers or booleans, and they fit the count limit. */
  #plainAttributes(attributes: Attributes): Attributes | undefined {
    try {
      // A plain object (a proxy passes too: whatever it answers the encoder
      // reads again, guarded, and caps at the count limit).
      if (Object.getPrototypeOf(attributes) !== Object.prototype) return undefined;
      const keys = Object.keys(attributes);
      if (keys.length >= this.#limits.attributeCountLimit) return undefined;
      const max = this.#limits.attributeValueLengthLimit;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const v = (attributes as Record<string, unknown>)[key];
        if (key === '' || !(typeof v === 'string' ? v.length <= max : typeof v === 'number' || typeof v === 'boolean')) return undefined;
      }
      this.#attributeSets = keys.length;
      this.#keyLog = keys;
      return attributes;
    } catch {
      // A getter that throws: the careful path reads each value again, guarded.
      return undefined;
    }
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
    // The common case: a string key, a plain value, and room under the count limit.
    if (
      this.#attributeSets < this.#limits.attributeCountLimit - 1 &&
      typeof key === 'string' &&
      key !== '' &&
      (typeof value === 'string' ? value.length <= this.#limits.attributeValueLengthLimit : typeof value === 'number' || typeof value === 'boolean')
    ) {
      this.#attributeSets++;
      (this.#keyLog ??= []).push(key);
      this.#encoder.spanAttribute(this.#handle, key, value);
      return this;
    }
    const clean = bag();
    if (this.#accept(key, value, clean)) this.#encoder.spanAttribute(this.#handle, key, clean[key]);
    return this;
  }

  setAttributes(attributes: Attributes): this {
    if (this.#endedWarn('setAttributes')) return this;
    if (attributes === null || typeof attributes !== 'object') return this;
    const clean = bag();
    let any = false;
    eachAttribute(attributes, (key, value) => {
      any = this.#accept(key, value, clean) || any;
    });
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
    this.#encoder.spanEvent(this.#handle, timeInputMs(startTime), text(name), this.#limitValues(attributes), this.#limits.attributePerEventCountLimit);
    return this;
  }

  addLink(link: Link): this {
    if (this.#endedWarn('addLink')) return this;
    if (this.#links >= this.#limits.linkCountLimit) {
      this.#droppedLinks++;
      return this;
    }
    let ids: IdWords;
    let traceFlags: number;
    let attributes: Attributes | undefined;
    try {
      const ctx = link?.context;
      if (ctx === undefined || typeof ctx.traceId !== 'string' || typeof ctx.spanId !== 'string') return this;
      ids = wordsFromContext(ctx);
      traceFlags = ctx.traceFlags;
      attributes = link.attributes;
    } catch {
      diag.warn('ringtrace: a link that could not be read was ignored');
      return this;
    }
    this.#links++;
    this.#encoder.spanLink(this.#handle, ids, traceFlags, this.#limitValues(attributes), this.#limits.attributePerLinkCountLimit);
    return this;
  }

  addLinks(links: Link[]): this {
    try {
      for (const link of links) this.addLink(link);
    } catch {
      diag.warn('ringtrace: links that could not be iterated were ignored');
    }
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
    this.#name = text(name);
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
    try {
      readException(exception, attributes);
    } catch {
      // A hostile exception object: keep what was read before it threw.
    }
    // As the SDK: without a type or a message, the event is not recorded.
    if (attributes['exception.type'] === undefined && attributes['exception.message'] === undefined) {
      diag.warn(`ringtrace: failed to record an exception ${text(exception)}`);
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
      diag.warn(`ringtrace: invalid attribute key: ${text(key)}`);
      return false;
    }
    const clean = validValue(value, this.#limits.attributeValueLengthLimit, this.#encoder.maxArrayLength);
    if (clean === undefined) {
      diag.warn(`ringtrace: invalid attribute value set for key: ${key}`);
      return false;
    }
    const limit = this.#limits.attributeCountLimit;
    if (this.#keys === undefined && this.#attributeSets + 1 < limit) {
      // Fewer sets than the limit: no key can be over it, just log the key.
      this.#attributeSets++;
      (this.#keyLog ??= []).push(key);
    } else {
      const keys = (this.#keys ??= new Set(this.#keyLog));
      if (!keys.has(key)) {
        if (keys.size >= limit) {
          this.#droppedAttributes++;
          return false;
        }
        keys.add(key);
      }
    }
    out[key] = clean;
    return true;
  }

  /**
   * Event and link attributes: invalid values dropped and the length limit
   * applied, as the SDK's cleanAttributes; the count limit is the encoder's.
   */
  #limitValues(attributes: Attributes | undefined): Attributes | undefined {
    if (attributes === undefined || attributes === null || typeof attributes !== 'object') return undefined;
    const max = this.#limits.attributeValueLengthLimit;
    const out = bag();
    eachAttribute(attributes, (key, v) => {
      if (v === undefined) return;
      const clean = validValue(v, max, this.#encoder.maxArrayLength);
      if (clean === undefined) diag.warn(`ringtrace: invalid attribute value set for key: ${key}`);
      else out[key] = clean;
    });
    return out;
  }
}

/** A null-prototype attribute object: `__proto__` is then an ordinary key, not a prototype change. */
function bag(): Attributes {
  return Object.create(null) as Attributes;
}

/**
 * Visit `attributes`' own enumerable keys. Capture never throws into the
 * application: a proxy whose traps throw yields nothing (or the keys before
 * the throw), a getter that throws skips its key; both with a diagnostic.
 */
function eachAttribute(attributes: object, visit: (key: string, value: unknown) => void): void {
  let keys: string[];
  try {
    keys = Object.keys(attributes);
  } catch {
    diag.warn('ringtrace: attributes whose keys could not be read were ignored');
    return;
  }
  for (const key of keys) {
    let value: unknown;
    try {
      value = (attributes as Record<string, unknown>)[key];
    } catch {
      diag.warn(`ringtrace: attribute ${key} could not be read and was ignored`);
      continue;
    }
    visit(key, value);
  }
}

/**
 * The value as an attribute (length limit applied), or undefined when the SDK
 * would reject it or it cannot be read. The SDK's check (`isAttributeValue`)
 * walks an array with its iterator to the end, so a sparse array of length
 * 2^32 - 1, an own endless `Symbol.iterator` or a proxy claiming 2^40
 * elements hung the application's thread. Here an array is read by index,
 * once, and only as far as the encoder records (`maxItems`): the elements
 * past that are never written, so they are not checked either. A proxy is
 * never read at all (its traps run on every access).
 */
function validValue(value: unknown, max: number, maxItems: number): AttributeValue | undefined {
  switch (typeof value) {
    case 'string':
      return value.length > max ? value.slice(0, max) : value;
    case 'number':
    case 'boolean':
      return value;
    case 'object':
      break;
    default:
      return undefined;
  }
  try {
    if (value === null || !Array.isArray(value) || types.isProxy(value)) return undefined;
    const array = value as unknown[];
    const n = Math.min(array.length, maxItems);
    let type: string | undefined;
    let long = false;
    for (let i = 0; i < n; i++) {
      const item = array[i];
      if (item === null || item === undefined) continue;
      const t = typeof item;
      if (t !== (type ??= t) || (t !== 'string' && t !== 'number' && t !== 'boolean')) return undefined;
      if (t === 'string' && (item as string).length > max) long = true;
    }
    if (n === array.length && !long) return value as AttributeValue;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) {
      const item = array[i];
      out[i] = typeof item === 'string' && item.length > max ? item.slice(0, max) : item;
    }
    return out as AttributeValue;
  } catch {
    // A revoked proxy or an element getter that throws.
    return undefined;
  }
}

/** A name or message the application passed: strings as they are, anything else as a bounded string. */
export function text(value: unknown): string {
  return typeof value === 'string' ? value : safeString(value, 1024);
}

/** The SDK's exception attributes from `recordException`'s argument. */
function readException(exception: unknown, attributes: Attributes): void {
  if (typeof exception === 'string') {
    attributes['exception.message'] = exception;
  } else if (exception !== null && typeof exception === 'object') {
    const e = exception as { code?: unknown; name?: unknown; message?: unknown; stack?: unknown };
    if (e.code !== undefined) attributes['exception.type'] = text(e.code);
    else if (typeof e.name === 'string') attributes['exception.type'] = e.name;
    if (typeof e.message === 'string') attributes['exception.message'] = e.message;
    if (typeof e.stack === 'string') attributes['exception.stacktrace'] = e.stack;
  }
}

function isTimeInput(value: unknown): value is TimeInput {
  try {
    return typeof value === 'number' || value instanceof Date || (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number');
  } catch {
    return false;
  }
}
