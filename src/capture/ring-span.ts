/**
 * RingSpan: an OpenTelemetry `Span` that writes its life to the ring as
 * records (start, attributes, events, links, status, name, end). It follows
 * the SDK's rules: limits on attributes, events and links with counts of
 * what was cut, `OK` status is final, calls after `end()` are ignored with a
 * diagnostic.
 *
 * Most spans are short and only get attributes and a status. Such a span is
 * held: its attributes and status stay on the span object (as the SDK keeps
 * them) and nothing is written until `end()`, which writes its opening,
 * status and closing records as one reservation: one claim and one
 * publishing store instead of one per call. The span is published (its
 * opening record written, every later call then written as it happens)
 * when it gets an event or a link, when it has been open for the flush
 * interval, and at `flush()`, `shutdown()` and process exit (see
 * OpenSpans), so sinks still see long and unfinished spans, and see
 * everything at the points where they are asked to.
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
import type { AttributeList, EndedSpan, IdWords, RecordEncoder } from '../encoder/record-encoder.js';
import { bag, eachAttribute, isTimeInput, readException, text, validValue } from './attribute-values.js';
import type { ResolvedSpanLimits } from './span-config.js';
import { timeInputMs } from './clock.js';
import type { HeldSpan, OpenSpans } from './open-spans.js';
import { spanIdHex, traceIdHex, wordsFromContext, type HasIdWords } from './span-ids.js';

/** What the spans of one provider share. */
export interface SpanHost {
  readonly encoder: RecordEncoder;
  readonly limits: ResolvedSpanLimits;
  readonly open: OpenSpans;
  /** Numeric level of every span. */
  readonly spanLevel: number;
}

/** @internal What a new span is made from (RingTracer.startSpan makes one per span; see there). */
export interface SpanInit extends IdWords {
  handle: number;
  hasParent: boolean;
  parentS0: number;
  parentS1: number;
  parentRemote: boolean;
  name: string;
  startTime: number;
  traceFlags: number;
  traceState: SpanContext['traceState'];
  spanKind: number;
  target: string;
}

/** State bits of a RingSpan. */
const PUBLISHED = 1;
const ENDED = 2;
/** An OK status was set: it is final. */
const OK_STATUS = 4;

/**
 * What few spans need (limits reached, events, links): kept apart so the
 * common span is a smaller object to make.
 */
interface SpanCounts {
  /** The keys set since publication, while no Set counts them (see #attributeSets). */
  keyLog: string[] | undefined;
  keys: Set<string> | undefined;
  droppedAttributes: number;
  events: number;
  droppedEvents: number;
  links: number;
  droppedLinks: number;
}

// The record-path interfaces it meets (HasIdWords, EndedSpan, HeldSpan) are
// checked where the span is handed over, not declared here: their members are
// internal and left out of the published types.
export class RingSpan implements Span {
  // The record fields (SpanSource), read by the encoder; the ids are words
  // on the span itself, so a span is one object. `declare`d: set once, in
  // the constructor, rather than also defined as undefined before it runs.
  /** @internal */
  declare readonly handle: number;
  /** @internal */
  declare readonly t0: number;
  /** @internal */
  declare readonly t1: number;
  /** @internal */
  declare readonly t2: number;
  /** @internal */
  declare readonly t3: number;
  /** @internal */
  declare readonly s0: number;
  /** @internal */
  declare readonly s1: number;
  /** @internal */
  declare readonly hasParent: boolean;
  /** @internal the parent's span id (its trace id is this span's). */
  declare readonly parentS0: number;
  /** @internal */
  declare readonly parentS1: number;
  /** @internal */
  declare readonly parentRemote: boolean;
  /** @internal */
  declare readonly startTime: number;
  /** @internal */
  declare readonly traceFlags: number;
  /** @internal */
  declare readonly spanKind: number;
  /** @internal */
  declare readonly level: number;
  /** @internal the tracer's name. */
  declare readonly target: string;
  /** @internal */
  declare readonly traceStateText: string;
  /** @internal the current name. */
  declare name: string;
  /** @internal attributes not yet written, as key, value pairs. */
  attributeList: AttributeList = [];
  /** @internal index in OpenSpans while held, else -1. */
  heldAt = -1;
  /** @internal the end time, once ended (epoch ms). */
  endTime = 0;
  /** @internal the W3C trace state, inherited by children. */
  declare readonly traceState: SpanContext['traceState'];
  readonly #host: SpanHost;
  #context: SpanContext | undefined;
  /** PUBLISHED, ENDED, OK_STATUS. */
  #state = 0;
  /** @internal the status set while held (0: none), written with the span (EndedSpan). */
  statusCode = 0;
  /** @internal */
  statusMessage = '';
  /**
   * The attribute count limit counts distinct keys. While fewer attributes
   * have been set than the limit (overwrites included) no key can be over
   * it, so keys are only logged (while held, the attribute list is the log;
   * once published, `keyLog`); past that they go into a Set.
   */
  #attributeSets = 0;
  #counts: SpanCounts | undefined;

  /** @internal made by RingTracer.startSpan, which then holds it. */
  constructor(host: SpanHost, init: SpanInit) {
    this.#host = host;
    this.level = host.spanLevel;
    this.handle = init.handle;
    this.t0 = init.t0;
    this.t1 = init.t1;
    this.t2 = init.t2;
    this.t3 = init.t3;
    this.s0 = init.s0;
    this.s1 = init.s1;
    this.hasParent = init.hasParent;
    this.parentS0 = init.parentS0;
    this.parentS1 = init.parentS1;
    this.parentRemote = init.parentRemote;
    this.name = init.name;
    this.startTime = init.startTime;
    this.traceFlags = init.traceFlags;
    this.spanKind = init.spanKind;
    this.target = init.target;
    const traceState = (this.traceState = init.traceState);
    this.traceStateText = traceState === undefined ? '' : traceState.serialize();
  }

  /** @internal attributes cut by the count limit. */
  get droppedAttributes(): number {
    return this.#counts === undefined ? 0 : this.#counts.droppedAttributes;
  }

  /** @internal events cut by the count limit. */
  get droppedEvents(): number {
    return this.#counts === undefined ? 0 : this.#counts.droppedEvents;
  }

  /** @internal links cut by the count limit. */
  get droppedLinks(): number {
    return this.#counts === undefined ? 0 : this.#counts.droppedLinks;
  }

  /** @internal the span's ids as words (HasIdWords): the span itself. */
  get idWords(): IdWords {
    return this;
  }

  #more(): SpanCounts {
    return (this.#counts ??= { keyLog: undefined, keys: undefined, droppedAttributes: 0, events: 0, droppedEvents: 0, links: 0, droppedLinks: 0 });
  }

  /** @internal start attributes, counted against the limit. */
  initAttributes(attributes: Attributes | undefined): void {
    if (attributes === undefined || this.#plainAttributes(attributes)) return;
    eachAttribute(attributes, (key, value) => {
      const clean = this.#accept(key, value);
      if (clean !== undefined) this.#put(key, clean);
    });
  }

  /** Add a pair to the attribute list (of a span not yet published). */
  #put(key: string, value: unknown): void {
    this.attributeList.push(key, value);
  }

  /** Take the attributes as they are if all values are strings (within the length limit), numbers or booleans, and they fit the count limit. */
  #plainAttributes(attributes: Attributes): boolean {
    const list = this.attributeList;
    try {
      // for…in with an own-key test rather than Object.keys (no array made;
      // V8 turns the test into a map check inside the loop), and rather than
      // first asking for the prototype (Object.getPrototypeOf is a runtime
      // call here: 7% of a whole span). A proxy passes too: its answers are read once, here.
      const max = this.#host.limits.attributeValueLengthLimit;
      let n = 0;
      for (const key in attributes) {
        if (!hasOwnProperty.call(attributes, key)) continue;
        const v = attributes[key];
        if (key === '' || !(typeof v === 'string' ? v.length <= max : typeof v === 'number' || typeof v === 'boolean')) {
          list.length = 0;
          return false;
        }
        list.push(key, v);
        n++;
      }
      if (n >= this.#host.limits.attributeCountLimit) {
        list.length = 0;
        return false;
      }
      this.#attributeSets = n;
      return true;
    } catch {
      // A getter that throws: the careful path reads each value again, guarded.
      list.length = 0;
      return false;
    }
  }

  spanContext(): SpanContext {
    // Hex ids are made on first request: most spans never need them.
    return (this.#context ??= {
      traceId: traceIdHex(this),
      spanId: spanIdHex(this),
      traceFlags: this.traceFlags,
      ...(this.traceState === undefined ? {} : { traceState: this.traceState }),
      isRemote: false,
    });
  }

  setAttribute(key: string, value: AttributeValue): this {
    if (this.#endedWarn('setAttribute')) return this;
    // The common case: a string key, a plain value, and room under the count limit.
    if (
      this.#attributeSets < this.#host.limits.attributeCountLimit - 1 &&
      typeof key === 'string' &&
      key !== '' &&
      (typeof value === 'string' ? value.length <= this.#host.limits.attributeValueLengthLimit : typeof value === 'number' || typeof value === 'boolean')
    ) {
      this.#attributeSets++;
      if ((this.#state & PUBLISHED) !== 0) {
        (this.#more().keyLog ??= []).push(key);
        this.#host.encoder.spanAttribute(this.handle, key, value);
      } else {
        this.#put(key, value);
      }
      return this;
    }
    const clean = this.#accept(key, value);
    if (clean === undefined) return this;
    if ((this.#state & PUBLISHED) !== 0) this.#host.encoder.spanAttribute(this.handle, key, clean);
    else this.#put(key, clean);
    return this;
  }

  setAttributes(attributes: Attributes): this {
    if (this.#endedWarn('setAttributes')) return this;
    if (attributes === null || typeof attributes !== 'object') return this;
    if ((this.#state & PUBLISHED) === 0) {
      eachAttribute(attributes, (key, value) => {
        const clean = this.#accept(key, value);
        if (clean !== undefined) this.#put(key, clean);
      });
      return this;
    }
    const out = bag();
    let any = false;
    eachAttribute(attributes, (key, value) => {
      const clean = this.#accept(key, value);
      if (clean === undefined) return;
      out[key] = clean;
      any = true;
    });
    if (any) this.#host.encoder.spanAttributes(this.handle, out, Infinity);
    return this;
  }

  addEvent(name: string, attributesOrStartTime?: Attributes | TimeInput, startTime?: TimeInput): this {
    if (this.#endedWarn('addEvent')) return this;
    const counts = this.#more();
    if (counts.events >= this.#host.limits.eventCountLimit) {
      counts.droppedEvents++;
      return this;
    }
    let attributes: Attributes | undefined;
    if (isTimeInput(attributesOrStartTime)) {
      // As the SDK: a time as the third argument wins over one as the second.
      if (!isTimeInput(startTime)) startTime = attributesOrStartTime;
    } else {
      attributes = attributesOrStartTime;
    }
    counts.events++;
    this.publish();
    this.#host.encoder.spanEvent(this.handle, timeInputMs(startTime), text(name), this.#limitValues(attributes), this.#host.limits.attributePerEventCountLimit);
    return this;
  }

  addLink(link: Link): this {
    if (this.#endedWarn('addLink')) return this;
    const counts = this.#more();
    if (counts.links >= this.#host.limits.linkCountLimit) {
      counts.droppedLinks++;
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
    counts.links++;
    this.publish();
    this.#host.encoder.spanLink(this.handle, ids, traceFlags, this.#limitValues(attributes), this.#host.limits.attributePerLinkCountLimit);
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
    if (status.code === SpanStatusCode.UNSET || (this.#state & OK_STATUS) !== 0) return this;
    if (status.code === SpanStatusCode.OK) this.#state |= OK_STATUS;
    const message = status.code === SpanStatusCode.ERROR && typeof status.message === 'string' ? status.message : '';
    if ((this.#state & PUBLISHED) !== 0) {
      this.#host.encoder.spanStatus(this.handle, status.code, message);
    } else {
      this.statusCode = status.code;
      this.statusMessage = message;
    }
    return this;
  }

  updateName(name: string): this {
    if (this.#endedWarn('updateName')) return this;
    this.name = text(name);
    if ((this.#state & PUBLISHED) !== 0) this.#host.encoder.spanName(this.handle, this.name);
    return this;
  }

  end(endTime?: TimeInput): void {
    const state = this.#state;
    if ((state & ENDED) !== 0) {
      diag.error(`ringtrace: ${this.name} ${spanIdHex(this)}: end() called on an ended span`);
      return;
    }
    this.#state = state | ENDED | PUBLISHED;
    this.endTime = timeInputMs(endTime);
    const host = this.#host;
    // The span hands itself to the encoder, which reads what it writes (SpanEnding, EndedSpan).
    if ((state & PUBLISHED) !== 0) {
      host.encoder.spanEnd(this);
      return;
    }
    host.open.release(this);
    host.encoder.spanComplete(this);
    this.attributeList = EMPTY;
  }

  /** The keys set so far, while no Set counts them. */
  #loggedKeys(): string[] {
    if ((this.#state & PUBLISHED) !== 0) return this.#counts?.keyLog ?? [];
    const list = this.attributeList;
    const keys: string[] = [];
    for (let i = 0; i < list.length; i += 2) keys.push(list[i] as string);
    return keys;
  }

  /**
   * @internal write the opening record (with the attributes set so far)
   * and a status set so far, if not done yet; later calls are then written
   * as they happen.
   */
  publish(): void {
    if ((this.#state & PUBLISHED) !== 0) return;
    const counts = this.#more();
    if (counts.keys === undefined) counts.keyLog = this.#loggedKeys();
    this.#state |= PUBLISHED;
    this.#host.open.release(this);
    this.#host.encoder.spanOpened(this);
    if (this.statusCode !== 0) this.#host.encoder.spanStatus(this.handle, this.statusCode, this.statusMessage);
    this.attributeList = EMPTY;
  }

  isRecording(): boolean {
    return (this.#state & ENDED) === 0;
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
    if ((this.#state & ENDED) === 0) return false;
    diag.warn(`ringtrace: cannot execute ${method} on ended span ${this.name}`);
    return true;
  }

  /** Validate one attribute and apply the count and length limits: the value to record, or undefined. */
  #accept(key: string, value: unknown): AttributeValue | undefined {
    if (typeof key !== 'string' || key.length === 0) {
      diag.warn(`ringtrace: invalid attribute key: ${text(key)}`);
      return undefined;
    }
    const clean = validValue(value, this.#host.limits.attributeValueLengthLimit, this.#host.encoder.maxArrayLength);
    if (clean === undefined) {
      diag.warn(`ringtrace: invalid attribute value set for key: ${key}`);
      return undefined;
    }
    const limit = this.#host.limits.attributeCountLimit;
    if (this.#counts?.keys === undefined && this.#attributeSets + 1 < limit) {
      // Fewer sets than the limit: no key can be over it, just log the key.
      this.#attributeSets++;
      if ((this.#state & PUBLISHED) !== 0) (this.#more().keyLog ??= []).push(key);
    } else {
      const counts = this.#more();
      const keys = (counts.keys ??= new Set(this.#loggedKeys()));
      if (!keys.has(key)) {
        if (keys.size >= limit) {
          counts.droppedAttributes++;
          return undefined;
        }
        keys.add(key);
      }
    }
    return clean;
  }

  /**
   * Event and link attributes: invalid values dropped and the length limit
   * applied, as the SDK's cleanAttributes; the count limit is the encoder's.
   */
  #limitValues(attributes: Attributes | undefined): Attributes | undefined {
    if (attributes === undefined || attributes === null || typeof attributes !== 'object') return undefined;
    const max = this.#host.limits.attributeValueLengthLimit;
    const out = bag();
    eachAttribute(attributes, (key, v) => {
      if (v === undefined) return;
      const clean = validValue(v, max, this.#host.encoder.maxArrayLength);
      if (clean === undefined) diag.warn(`ringtrace: invalid attribute value set for key: ${key}`);
      else out[key] = clean;
    });
    return out;
  }
}

const hasOwnProperty = Object.prototype.hasOwnProperty;

/** The attribute list of a span that has written its attributes: never pushed to. */
const EMPTY: AttributeList = Object.freeze([]) as unknown as AttributeList;

/** `A`, which must extend `B`: a compile-time check. */
type Extending<A extends B, B> = A;
/**
 * @internal RingSpan is what the encoder and the registry take, checked here
 * rather than in an `implements` clause whose members the published types leave out.
 */
export type RingSpanMeets = [Extending<RingSpan, EndedSpan>, Extending<RingSpan, HeldSpan>, Extending<RingSpan, HasIdWords>];
