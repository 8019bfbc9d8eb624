/**
 * OtlpTraceEncoder: assembled spans straight to an OTLP
 * `ExportTraceServiceRequest`, protobuf or JSON, with the bytes and fields
 * `@opentelemetry/otlp-transformer` writes for the same spans (its
 * serializers are this encoder's oracle in test/otlp-encoder.test.ts).
 *
 *   AssembledSpan[] ─> one Span message each, in order, in a reused writer
 *                  ─> BatchLayout: ResourceSpans { resource (encoded once), ScopeSpans per target }
 *
 * @internal
 */
import type { OtlpProtocol } from '../otlp-config.js';
import { decodedIds, type AssembledSpan } from '../span-assembler.js';
import { jsonAttributes, jsonAttributesWithThread, jsonResource, jsonTime, resourceBytes, AttributeWriter, ThreadAttributes, type AttributesInput } from './any-value.js';
import { BatchLayout } from './batch-layout.js';
import { putTimeMs, type ProtobufWriter } from './protobuf-writer.js';
import { normalizeTraceState } from './trace-state.js';
import type { ThreadInfo } from '../../record/trace-record.js';

/** `ringtrace.incomplete` marks a span whose end record never arrived (evicted, or open at close). */
export const INCOMPLETE_ATTRIBUTE = 'ringtrace.incomplete';
export const INCOMPLETE_REASON_ATTRIBUTE = 'ringtrace.incomplete_reason';

// Span.flags: the W3C trace flags, and that the parent's remoteness is known (and whether it was remote).
const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

const MAX_CACHED = 1024;
/** Longer span names are written as they come. */
const MAX_KEPT_NAME = 256;
const EMPTY = new Uint8Array(0);
const NO_ATTRIBUTES: AttributesInput = Object.freeze({});

export class OtlpTraceEncoder {
  readonly #json: boolean;
  readonly #attributes: AttributesInput;
  readonly #layout = new BatchLayout();
  readonly #resource: Uint8Array;
  readonly #attributeWriter = new AttributeWriter();
  readonly #threadAttributes = new ThreadAttributes(0x4a);
  /** Scope head bytes per target (ScopeSpans field 1 with its tag). */
  readonly #scopeHeads = new Map<string, Uint8Array>();
  /** Span names' fields (they repeat: a route, an operation), and the last one met. */
  readonly #names = new Map<string, Uint8Array>();
  #lastName: string | undefined = undefined;
  #lastNameField: Uint8Array = EMPTY;
  /** Per thread, by status code and flags, its attributes and a span's short tail (see {@link #threadTail}), and the last one used. */
  readonly #threadTails = new Map<ThreadInfo, Map<number, Uint8Array>>();
  #tailThread: ThreadInfo | undefined = undefined;
  #tailKey = -1;
  #tail: Uint8Array = EMPTY;
  /** A trace state as OpenTelemetry's TraceState prints it back. */
  readonly #traceStates = new Map<string, string>();

  constructor(resourceAttributes: AttributesInput, protocol: OtlpProtocol) {
    this.#json = protocol === 'http/json';
    this.#attributes = resourceAttributes;
    this.#resource = resourceBytes(this.#layout.writer, resourceAttributes);
  }

  /** A protobuf body `encode` returned may be reused once its request settled. */
  release(body: Uint8Array): void {
    this.#layout.release(body);
  }

  encode(spans: readonly AssembledSpan[]): Uint8Array {
    return this.#json ? this.#encodeJson(spans) : this.#encodeProtobuf(spans);
  }

  #traceState(raw: string): string {
    let out = this.#traceStates.get(raw);
    if (out === undefined) {
      out = normalizeTraceState(raw);
      if (this.#traceStates.size >= MAX_CACHED) this.#traceStates.clear();
      this.#traceStates.set(raw, out);
    }
    return out;
  }

  #writeTraceState(w: ProtobufWriter, raw: string): void {
    const traceState = this.#traceState(raw);
    if (traceState !== '') {
      w.byte(0x1a);
      w.string(traceState);
    }
  }

  /** A span name's field (tag, length, UTF-8) as kept; undefined for a name too long to keep. */
  #nameField(name: string): Uint8Array | undefined {
    if (name === this.#lastName) return this.#lastNameField;
    let field = this.#names.get(name);
    if (field === undefined) {
      if (name.length > MAX_KEPT_NAME) return undefined;
      const w = this.#layout.writer;
      const at = w.pos;
      w.byte(0x2a);
      w.string(name);
      field = w.copy(at, w.pos);
      w.pos = at;
      if (this.#names.size >= MAX_CACHED) this.#names.clear();
      this.#names.set(name, field);
    }
    this.#lastName = name;
    this.#lastNameField = field;
    return field;
  }

  /** A thread's attributes and a short tail (no drops) with `statusCode` and `flags`, as kept. */
  #threadTail(w: ProtobufWriter, thread: ThreadInfo, statusCode: number, flags: number): Uint8Array {
    const key = statusCode * 0x400 + flags;
    if (thread === this.#tailThread && key === this.#tailKey) return this.#tail;
    let kept = this.#threadTails.get(thread);
    if (kept === undefined) {
      if (this.#threadTails.size >= MAX_CACHED) this.#threadTails.clear();
      this.#threadTails.set(thread, (kept = new Map()));
    }
    let bytes = kept.get(key);
    if (bytes === undefined) {
      // Written at the writer's free end, then taken out of it.
      const at = w.pos;
      this.#threadAttributes.write(w, thread, NO_ATTRIBUTES);
      w.ensure(16);
      putShortTail(w.buf, w.pos, 0, 0, 0, statusCode, flags);
      w.pos += 16;
      bytes = w.copy(at, w.pos);
      w.pos = at;
      kept.set(key, bytes);
    }
    this.#tailThread = thread;
    this.#tailKey = key;
    this.#tail = bytes;
    return bytes;
  }

  #scopeHead(name: string): Uint8Array {
    let head = this.#scopeHeads.get(name);
    if (head === undefined) {
      const w = this.#layout.writer;
      const at = w.pos;
      w.byte(0x0a);
      const body = w.start();
      w.byte(0x0a);
      w.string(name);
      w.finish(body);
      head = w.copy(at, w.pos);
      w.pos = at;
      if (this.#scopeHeads.size >= MAX_CACHED) this.#scopeHeads.clear();
      this.#scopeHeads.set(name, head);
    }
    return head;
  }

  #encodeProtobuf(spans: readonly AssembledSpan[]): Uint8Array {
    const layout = this.#layout;
    layout.reset(this.#resource);
    const w = layout.writer;
    // Spans of one scope mostly come together: its number is looked up when the target changes.
    let target: string | undefined;
    let scope = -1;
    for (let i = 0; i < spans.length; i++) {
      const s = spans[i]!;
      if (s.target !== target) {
        target = s.target;
        scope = layout.scope(target);
        if (scope < 0) scope = layout.addScope(target, this.#scopeHead(target), EMPTY);
      }
      layout.begin(scope);
      // The item's tag and two bytes for its length, after one bounds check.
      const body = w.start(3);
      w.buf[body - 3] = 0x12;
      this.#span(w, s);
      w.finish(body, 2);
    }
    return layout.assemble();
  }

  #span(w: ProtobufWriter, s: AssembledSpan): void {
    const ids = decodedIds(s);
    if (ids === undefined) {
      w.byte(0x0a);
      w.hex(s.traceId);
      w.byte(0x12);
      w.hex(s.spanId);
      if (s.traceState !== '') this.#writeTraceState(w, s.traceState);
      if (s.parentSpanId) {
        w.byte(0x22);
        w.hex(s.parentSpanId);
      }
    } else {
      // The ids' bytes as the record had them: no hex to parse back.
      w.ensure(28);
      const buf = w.buf;
      const p = w.pos;
      buf[p] = 0x0a;
      buf[p + 1] = 16;
      ids.writeTraceId(buf, p + 2);
      buf[p + 18] = 0x12;
      buf[p + 19] = 8;
      ids.writeSpanId(buf, p + 20);
      w.pos = p + 28;
      if (s.traceState !== '') this.#writeTraceState(w, s.traceState);
      if (s.parentSpanId) {
        const q = w.pos;
        w.ensure(10);
        w.buf[q] = 0x22;
        w.buf[q + 1] = 8;
        ids.writeParentSpanId(w.buf, q + 2);
        w.pos = q + 10;
      }
    }
    const kind = s.spanKind + 1;
    const name = this.#nameField(s.name);
    if (name === undefined || kind >>> 0 >= 0x80) {
      w.byte(0x2a);
      w.string(s.name);
      w.byte(0x30);
      w.uint32(kind);
      w.ensure(18);
      const buf = w.buf;
      const p = w.pos;
      buf[p] = 0x39;
      putTimeMs(buf, p + 1, s.startTime);
      buf[p + 9] = 0x41;
      putTimeMs(buf, p + 10, s.endTime);
      w.pos = p + 18;
    } else {
      // The name's field as kept, then the kind and both times, after one bounds check.
      const n = name.length;
      w.ensure(n + 20);
      const buf = w.buf;
      let p = w.pos;
      if (n <= 8) {
        for (let i = 0; i < n; i++) buf[p + i] = name[i]!;
      } else {
        buf.set(name, p);
      }
      p += n;
      buf[p] = 0x30;
      buf[p + 1] = kind;
      buf[p + 2] = 0x39;
      putTimeMs(buf, p + 3, s.startTime);
      buf[p + 11] = 0x41;
      putTimeMs(buf, p + 12, s.endTime);
      w.pos = p + 20;
    }
    const attributes = s.incomplete ? incompleteAttributes(s) : s.attributes;
    this.#attributeWriter.write(w, 0x4a, attributes);
    const thread = s.thread;
    const flags = (s.traceFlags & 0xff) | HAS_IS_REMOTE | (s.parentSpanId !== undefined && s.parentIsRemote ? IS_REMOTE : 0);
    const droppedAttributes = s.droppedAttributesCount;
    const droppedEvents = s.droppedEventsCount;
    const droppedLinks = s.droppedLinksCount;
    const short = s.events.length === 0 && s.links.length === 0 && s.statusMessage === '' && droppedAttributes < 0x80 && droppedEvents < 0x80 && droppedLinks < 0x80 && s.statusCode < 0x80;
    if (short && thread !== undefined && droppedAttributes === 0 && droppedEvents === 0 && droppedLinks === 0 && !('thread.id' in attributes) && !('thread.name' in attributes)) {
      // Most spans of a thread end alike: its attributes, no drops, one status and flags, copied as one piece.
      w.raw(this.#threadTail(w, thread, s.statusCode, flags));
      return;
    }
    this.#threadAttributes.write(w, thread, attributes);
    if (short) {
      // The dropped counts, the status and the flags in one write.
      w.ensure(16);
      putShortTail(w.buf, w.pos, droppedAttributes, droppedEvents, droppedLinks, s.statusCode, flags);
      w.pos += 16;
      return;
    }
    w.byte(0x50);
    w.uint32(droppedAttributes);
    for (const e of s.events) {
      w.byte(0x5a);
      const at = w.start();
      w.byte(0x09);
      w.timeMs(e.time);
      w.byte(0x12);
      w.string(e.name);
      this.#attributeWriter.write(w, 0x1a, e.attributes);
      w.byte(0x20);
      w.uint32(e.droppedAttributesCount || 0);
      w.finish(at);
    }
    w.byte(0x60);
    w.uint32(droppedEvents);
    for (const l of s.links) {
      w.byte(0x6a);
      const at = w.start();
      w.byte(0x0a);
      w.hex(l.traceId);
      w.byte(0x12);
      w.hex(l.spanId);
      this.#attributeWriter.write(w, 0x22, l.attributes);
      w.byte(0x28);
      w.uint32(l.droppedAttributesCount || 0);
      w.byte(0x35);
      w.fixed32((l.traceFlags & 0xff) | HAS_IS_REMOTE);
      w.finish(at);
    }
    w.byte(0x70);
    w.uint32(droppedLinks);
    w.byte(0x7a);
    const status = w.start();
    if (s.statusMessage) {
      w.byte(0x12);
      w.string(s.statusMessage);
    }
    w.byte(0x18);
    w.uint32(s.statusCode);
    w.finish(status);
    w.byte(0x85);
    w.byte(0x01);
    w.fixed32(flags);
  }

  #encodeJson(spans: readonly AssembledSpan[]): Uint8Array {
    const groups = new Map<string, AssembledSpan[]>();
    for (const s of spans) {
      let group = groups.get(s.target);
      if (group === undefined) groups.set(s.target, (group = []));
      group.push(s);
    }
    const resourceSpans =
      spans.length === 0
        ? []
        : [
            {
              resource: jsonResource(this.#attributes),
              scopeSpans: [...groups].map(([name, group]) => ({ scope: { name }, spans: group.map((s) => this.#jsonSpan(s)) })),
            },
          ];
    return new TextEncoder().encode(JSON.stringify({ resourceSpans }));
  }

  #jsonSpan(s: AssembledSpan): Record<string, unknown> {
    return {
      traceId: s.traceId,
      spanId: s.spanId,
      parentSpanId: s.parentSpanId ? s.parentSpanId : undefined,
      traceState: s.traceState === '' ? undefined : this.#traceState(s.traceState),
      name: s.name,
      kind: s.spanKind + 1,
      startTimeUnixNano: jsonTime(s.startTime),
      endTimeUnixNano: jsonTime(s.endTime),
      attributes: jsonAttributesWithThread(s.incomplete ? incompleteAttributes(s) : s.attributes, s.thread),
      droppedAttributesCount: s.droppedAttributesCount,
      events: s.events.map((e) => ({
        attributes: jsonAttributes(e.attributes),
        name: e.name,
        timeUnixNano: jsonTime(e.time),
        droppedAttributesCount: e.droppedAttributesCount || 0,
      })),
      droppedEventsCount: s.droppedEventsCount,
      status: { code: s.statusCode, message: s.statusMessage === '' ? undefined : s.statusMessage },
      links: s.links.map((l) => ({
        attributes: jsonAttributes(l.attributes),
        spanId: l.spanId,
        traceId: l.traceId,
        droppedAttributesCount: l.droppedAttributesCount || 0,
        flags: (l.traceFlags & 0xff) | HAS_IS_REMOTE,
      })),
      droppedLinksCount: s.droppedLinksCount,
      flags: (s.traceFlags & 0xff) | HAS_IS_REMOTE | (s.parentSpanId !== undefined && s.parentIsRemote ? IS_REMOTE : 0),
    };
  }
}

/**
 * A span's last fields when it has no events, links or status message and
 * small counts: the dropped counts, the status and the flags, 16 bytes at `q`.
 */
function putShortTail(out: Uint8Array, q: number, droppedAttributes: number, droppedEvents: number, droppedLinks: number, statusCode: number, flags: number): void {
  out[q] = 0x50;
  out[q + 1] = droppedAttributes;
  out[q + 2] = 0x60;
  out[q + 3] = droppedEvents;
  out[q + 4] = 0x70;
  out[q + 5] = droppedLinks;
  out[q + 6] = 0x7a;
  out[q + 7] = 2;
  out[q + 8] = 0x18;
  out[q + 9] = statusCode;
  // Field 16 takes a two-byte tag.
  out[q + 10] = 0x85;
  out[q + 11] = 0x01;
  out[q + 12] = flags;
  out[q + 13] = flags >>> 8;
  out[q + 14] = 0;
  out[q + 15] = 0;
}

/** An incomplete span's attributes: the two markers replace same-named fields in place, else follow them (rare: a copy is fine). */
function incompleteAttributes(s: AssembledSpan): AttributesInput {
  const out: Record<string, AttributesInput[string]> = {};
  for (const key of Object.keys(s.attributes)) {
    Object.defineProperty(out, key, { value: s.attributes[key], enumerable: true, writable: true, configurable: true });
  }
  Object.defineProperty(out, INCOMPLETE_ATTRIBUTE, { value: true, enumerable: true, writable: true, configurable: true });
  Object.defineProperty(out, INCOMPLETE_REASON_ATTRIBUTE, { value: s.incompleteReason ?? 'closed', enumerable: true, writable: true, configurable: true });
  return out;
}
