/**
 * SpanAssembler: rebuilds whole spans from the span records a sink receives,
 * for sinks that export complete spans (OTLP) rather than a record stream.
 *
 *   spanStart ─> open span ─┬─ spanAttributes / spanEvent / spanLink / spanStatus / spanName
 *                           └─ spanEnd ─> AssembledSpan ─> onSpan()
 *
 * Memory is bounded twice: at most `maxOpenSpans` spans are held open (a
 * start past the limit evicts the oldest open span, which is delivered at
 * once marked incomplete), and each span keeps at most `maxAttributes`
 * attributes, `maxEvents` events and `maxLinks` links (the rest are counted
 * in the span's dropped counts and in `stats`). `closeOpen()` delivers every
 * span still open, marked incomplete, so a shutdown loses none silently.
 *
 * Open spans are keyed by the record's `span` object, which the worker shares
 * across every record of one span; records of a span the assembler does not
 * hold (started before the sink was added, or evicted) are counted as orphans.
 */
import type { Fields, SpanInfo, ThreadInfo, TraceRecord } from '../record/trace-record.js';
import { DecodedSpanInfo } from '../decoder/decoded-span-info.js';
import { emptyFields } from '../record/fields.js';
import { invalidOptionRange, invalidOptionType } from '../errors.js';

/** Default cap on spans held open at once. */
export const DEFAULT_ASSEMBLER_MAX_OPEN_SPANS = 10_000;
/** Default caps per span, the OpenTelemetry SDK's span limits. */
export const DEFAULT_ASSEMBLER_MAX_ATTRIBUTES = 128;
export const DEFAULT_ASSEMBLER_MAX_EVENTS = 128;
export const DEFAULT_ASSEMBLER_MAX_LINKS = 128;

export interface SpanAssemblerOptions {
  /** Spans held open at once; past it the oldest is delivered incomplete. Default 10,000. */
  maxOpenSpans?: number;
  /** Attributes kept per span, and per event and link. Default 128. */
  maxAttributes?: number;
  /** Events kept per span. Default 128. */
  maxEvents?: number;
  /** Links kept per span. Default 128. */
  maxLinks?: number;
}

export interface AssembledEvent {
  readonly time: number;
  readonly name: string;
  readonly attributes: Fields;
  readonly droppedAttributesCount: number;
}

export interface AssembledLink {
  readonly traceId: string;
  readonly spanId: string;
  readonly traceFlags: number;
  readonly attributes: Fields;
  readonly droppedAttributesCount: number;
}

/** Why a span was delivered without its end record. */
export type IncompleteReason = 'evicted' | 'closed';

/** One whole span. Times are Unix epoch milliseconds with a fraction, as in records. */
export interface AssembledSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly parentIsRemote: boolean;
  readonly traceFlags: number;
  readonly traceState: string;
  /** The last name the span had. */
  readonly name: string;
  /** Instrumentation scope (tracer) name. */
  readonly target: string;
  readonly spanKind: number;
  readonly startTime: number;
  /** The end record's time; for an incomplete span, when the assembler gave up on it. */
  readonly endTime: number;
  readonly attributes: Fields;
  readonly events: readonly AssembledEvent[];
  readonly links: readonly AssembledLink[];
  /** `SpanStatusCode`: 0 unset, 1 ok, 2 error. */
  readonly statusCode: number;
  readonly statusMessage: string;
  /** The thread that made the span (`thread.id`, `thread.name`); undefined for a span not read from a ring. */
  readonly thread?: ThreadInfo | undefined;
  /** Cut by the producer's span limits plus by this assembler's. */
  readonly droppedAttributesCount: number;
  readonly droppedEventsCount: number;
  readonly droppedLinksCount: number;
  /** True when the span's end record never arrived. */
  readonly incomplete: boolean;
  readonly incompleteReason: IncompleteReason | undefined;
}

/** What the assembler did, for a sink's `inspect()` and stats. */
export interface SpanAssemblerStats {
  /** Start records taken in. */
  started: number;
  /** Spans delivered with their end record. */
  completed: number;
  /** Spans delivered without one: evicted plus closed. */
  incomplete: number;
  /** Open spans pushed out by `maxOpenSpans`. */
  evicted: number;
  /** Open spans delivered by `closeOpen()`. */
  closedOpen: number;
  /** Attributes, events and links this assembler cut (not the producer's). */
  droppedAttributes: number;
  droppedEvents: number;
  droppedLinks: number;
  /** Span records whose span was not open here. */
  orphanRecords: number;
}

/** No events or links yet: shared until a span gets its first (never pushed to). */
const NONE: readonly never[] = Object.freeze([]);

/**
 * A span being assembled, and, once delivered, the AssembledSpan itself: the
 * assembler lets go of it before handing it out and never changes it after.
 */
class OpenSpan implements AssembledSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly parentIsRemote: boolean;
  readonly traceFlags: number;
  readonly traceState: string;
  name: string;
  readonly target: string;
  readonly spanKind: number;
  readonly startTime: number;
  endTime = 0;
  /** The start record's own object while `ownsAttributes` is false: copied before the first change, since every sink sees that record. */
  attributes: Fields;
  ownsAttributes = false;
  attributeCount = 0;
  events: readonly AssembledEvent[] = NONE;
  links: readonly AssembledLink[] = NONE;
  statusCode = 0;
  statusMessage = '';
  droppedAttributesCount = 0;
  droppedEventsCount = 0;
  droppedLinksCount = 0;
  incomplete = false;
  incompleteReason: IncompleteReason | undefined = undefined;
  readonly thread: ThreadInfo | undefined;
  /** The span's info when the worker decoded it (it has the ids' bytes), for {@link decodedIds}. */
  readonly #decoded: DecodedSpanInfo | undefined;

  constructor(info: SpanInfo, time: number, attributes: Fields) {
    this.#decoded = DecodedSpanInfo.of(info);
    this.traceId = info.traceId;
    this.spanId = info.spanId;
    this.parentSpanId = info.parentSpanId;
    this.parentIsRemote = info.parentIsRemote;
    this.traceFlags = info.traceFlags;
    this.traceState = info.traceState;
    this.name = info.name;
    this.target = info.target;
    this.spanKind = info.spanKind;
    this.startTime = time;
    this.attributes = attributes;
    this.thread = info.thread;
  }

  static decoded(span: OpenSpan): DecodedSpanInfo | undefined {
    return span.#decoded;
  }
}

/**
 * The ids' bytes of a span this assembler delivered from records the worker
 * decoded; undefined for any other AssembledSpan (the hex is all there is).
 *
 * @internal
 */
export function decodedIds(span: AssembledSpan): DecodedSpanInfo | undefined {
  return span instanceof OpenSpan ? OpenSpan.decoded(span) : undefined;
}

function limit(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number') throw invalidOptionType(name, 'an integer', value);
  if (!Number.isSafeInteger(value) || value < min) throw invalidOptionRange(name, `an integer >= ${min}`, value);
  return value;
}

/** Copy up to `max` fields into a new fields object (see fields.ts); returns the count cut. */
function copyFields(from: Fields, max: number): { fields: Fields; dropped: number } {
  const fields = emptyFields();
  let n = 0;
  let dropped = 0;
  for (const key of Object.keys(from)) {
    if (n < max) {
      fields[key] = from[key]!;
      n++;
    } else {
      dropped++;
    }
  }
  return { fields, dropped };
}

export class SpanAssembler {
  readonly maxOpenSpans: number;
  readonly maxAttributes: number;
  readonly maxEvents: number;
  readonly maxLinks: number;
  readonly stats: SpanAssemblerStats = {
    started: 0,
    completed: 0,
    incomplete: 0,
    evicted: 0,
    closedOpen: 0,
    droppedAttributes: 0,
    droppedEvents: 0,
    droppedLinks: 0,
    orphanRecords: 0,
  };
  readonly #onSpan: (span: AssembledSpan) => void;
  /**
   * The newest open span, kept out of #open: the producer writes a span's
   * start and end together when it ends soon after starting (most spans),
   * so its end finds it here. Adding each new SpanInfo to a Map and taking
   * it out (V8 makes the object a hash on first use) cost more than the rest
   * of assembling the span.
   */
  #newest: OpenSpan | undefined = undefined;
  #newestInfo: SpanInfo | undefined = undefined;
  /** The other open spans. Insertion order is start order, so the first key is the oldest. */
  readonly #open = new Map<SpanInfo, OpenSpan>();

  /**
   * @param onSpan called synchronously with each span as it completes, is
   *   evicted, or is closed.
   * @param optionPrefix names options in error messages, e.g. `otlp` gives `otlp.maxOpenSpans`.
   */
  constructor(onSpan: (span: AssembledSpan) => void, options: SpanAssemblerOptions = {}, optionPrefix = 'spanAssembler') {
    if (options === null || typeof options !== 'object') throw invalidOptionType(optionPrefix, 'an object', options);
    this.#onSpan = onSpan;
    this.maxOpenSpans = limit(`${optionPrefix}.maxOpenSpans`, options.maxOpenSpans, DEFAULT_ASSEMBLER_MAX_OPEN_SPANS, 1);
    this.maxAttributes = limit(`${optionPrefix}.maxAttributes`, options.maxAttributes, DEFAULT_ASSEMBLER_MAX_ATTRIBUTES, 0);
    this.maxEvents = limit(`${optionPrefix}.maxEvents`, options.maxEvents, DEFAULT_ASSEMBLER_MAX_EVENTS, 0);
    this.maxLinks = limit(`${optionPrefix}.maxLinks`, options.maxLinks, DEFAULT_ASSEMBLER_MAX_LINKS, 0);
  }

  /** Spans open right now. */
  get openSpans(): number {
    return this.#open.size + (this.#newest === undefined ? 0 : 1);
  }

  /**
   * Take one record. Returns false for records that are not span records
   * (standalone events), which the caller handles itself.
   */
  consume(record: TraceRecord): boolean {
    if (record.kind === 'event') return false;
    if (record.kind === 'spanStart') {
      this.#start(record.span, record.time, record.attributes);
      return true;
    }
    const open = record.span === this.#newestInfo ? this.#newest : this.#open.get(record.span);
    if (open === undefined) {
      this.stats.orphanRecords++;
      return true;
    }
    switch (record.kind) {
      case 'spanAttributes':
        this.#setAttributes(open, record.attributes);
        break;
      case 'spanEvent':
        if (open.events.length < this.maxEvents) {
          const { fields, dropped } = copyFields(record.attributes, this.maxAttributes);
          this.stats.droppedAttributes += dropped;
          const event: AssembledEvent = { time: record.time, name: record.name, attributes: fields, droppedAttributesCount: dropped };
          if (open.events === NONE) open.events = [event];
          else (open.events as AssembledEvent[]).push(event);
        } else {
          open.droppedEventsCount++;
          this.stats.droppedEvents++;
        }
        break;
      case 'spanLink':
        if (open.links.length < this.maxLinks) {
          const { fields, dropped } = copyFields(record.attributes, this.maxAttributes);
          this.stats.droppedAttributes += dropped;
          const link: AssembledLink = { traceId: record.traceId, spanId: record.spanId, traceFlags: record.traceFlags, attributes: fields, droppedAttributesCount: dropped };
          if (open.links === NONE) open.links = [link];
          else (open.links as AssembledLink[]).push(link);
        } else {
          open.droppedLinksCount++;
          this.stats.droppedLinks++;
        }
        break;
      case 'spanStatus':
        open.statusCode = record.code;
        open.statusMessage = record.message;
        break;
      case 'spanName':
        open.name = record.name;
        break;
      case 'spanEnd':
        this.#forget(record.span);
        this.stats.completed++;
        open.droppedAttributesCount += record.droppedAttributesCount;
        open.droppedEventsCount += record.droppedEventsCount;
        open.droppedLinksCount += record.droppedLinksCount;
        this.#deliver(open, record.time, undefined);
        break;
    }
    return true;
  }

  /**
   * Deliver every open span now, marked incomplete (`closed`), with `endTime`
   * as its end. Call it when the sink closes. Returns how many were delivered.
   */
  closeOpen(endTime: number = Date.now()): number {
    const spans = [...this.#open.values()];
    if (this.#newest !== undefined) spans.push(this.#newest);
    this.#open.clear();
    this.#newest = undefined;
    this.#newestInfo = undefined;
    for (const open of spans) {
      this.stats.closedOpen++;
      this.stats.incomplete++;
      this.#deliver(open, Math.max(endTime, open.startTime), 'closed');
    }
    return spans.length;
  }

  #start(info: SpanInfo, time: number, attributes: Fields): void {
    this.stats.started++;
    // A repeated start for a span already open replaces it; deliver the old one rather than lose it.
    const previous = info === this.#newestInfo ? this.#newest : this.#open.get(info);
    if (previous !== undefined) {
      this.#forget(info);
      this.#evict(previous, time);
    }
    if (this.#newest !== undefined) {
      this.#open.set(this.#newestInfo!, this.#newest);
      this.#newest = undefined;
      this.#newestInfo = undefined;
    }
    while (this.#open.size >= this.maxOpenSpans) {
      const [oldestKey, oldest] = this.#open.entries().next().value as [SpanInfo, OpenSpan];
      this.#open.delete(oldestKey);
      this.#evict(oldest, time);
    }
    const open = new OpenSpan(info, time, attributes);
    this.#adoptAttributes(open, attributes);
    this.#newest = open;
    this.#newestInfo = info;
  }

  /** The span is no longer open. */
  #forget(info: SpanInfo): void {
    if (info === this.#newestInfo) {
      this.#newest = undefined;
      this.#newestInfo = undefined;
    } else {
      this.#open.delete(info);
    }
  }

  #evict(open: OpenSpan, time: number): void {
    this.stats.evicted++;
    this.stats.incomplete++;
    this.#deliver(open, Math.max(time, open.startTime), 'evicted');
  }

  /**
   * A start's attributes are kept as they are when within `maxAttributes`
   * (most spans get no other attributes: no copy at all); else copied up to it.
   */
  #adoptAttributes(open: OpenSpan, attributes: Fields): void {
    let n = 0;
    for (const _ in attributes) n++;
    if (n <= this.maxAttributes) {
      open.attributeCount = n;
      return;
    }
    open.attributes = emptyFields();
    open.ownsAttributes = true;
    this.#setAttributes(open, attributes);
  }

  #setAttributes(open: OpenSpan, attributes: Fields): void {
    if (!open.ownsAttributes) {
      const copy = emptyFields();
      const from = open.attributes;
      for (const key of Object.keys(from)) copy[key] = from[key]!;
      open.attributes = copy;
      open.ownsAttributes = true;
    }
    const own = open.attributes;
    for (const key of Object.keys(attributes)) {
      // Overwriting a key the span has costs nothing against the limit.
      // `in` is Object.hasOwn here (V8 inlines it; hasOwn is a call): an owned fields object inherits no keys.
      if (key in own) {
        own[key] = attributes[key]!;
      } else if (open.attributeCount < this.maxAttributes) {
        own[key] = attributes[key]!;
        open.attributeCount++;
      } else {
        open.droppedAttributesCount++;
        this.stats.droppedAttributes++;
      }
    }
  }

  /** Hands the span out; it is no longer open here, so nothing changes it after. */
  #deliver(open: OpenSpan, endTime: number, reason: IncompleteReason | undefined): void {
    open.endTime = endTime;
    open.incomplete = reason !== undefined;
    open.incompleteReason = reason;
    this.#onSpan(open);
  }
}
