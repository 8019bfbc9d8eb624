/**
 * Attribute values as OTLP `AnyValue`, in protobuf and in the OTLP/JSON tree,
 * with OpenTelemetry's mapping: an integral number in int64 range is an
 * `int_value`, any other number a `double_value`; a bigint is an int when
 * exact as a number, else its decimal string; null is an empty AnyValue.
 *
 * @internal
 */
import { varintSize, type ProtobufWriter } from './protobuf-writer.js';
import type { ThreadInfo } from '../../record/trace-record.js';

/** What AnyValue can be made of: field values, structured log bodies, resource attributes. */
export type AnyValueInput = string | number | boolean | bigint | null | undefined | Uint8Array | readonly AnyValueInput[] | { readonly [key: string]: AnyValueInput };

export type AttributesInput = { readonly [key: string]: AnyValueInput };

const MIN_INT64 = -(2 ** 63);
const MAX_INT64 = 2 ** 63;

/** The AnyValue message's fields (not its length prefix). */
export function writeAnyValue(w: ProtobufWriter, value: AnyValueInput): void {
  switch (typeof value) {
    case 'string':
      w.byte(0x0a);
      w.string(value);
      return;
    case 'boolean':
      w.byte(0x10);
      w.byte(value ? 1 : 0);
      return;
    case 'number':
      if (Number.isInteger(value) && value >= MIN_INT64 && value < MAX_INT64) {
        w.byte(0x18);
        w.int64(value);
      } else {
        w.byte(0x21);
        w.double(value);
      }
      return;
    case 'bigint': {
      const n = Number(value);
      if (Number.isSafeInteger(n)) {
        w.byte(0x18);
        w.int64(n);
      } else {
        w.byte(0x0a);
        w.string(value.toString());
      }
      return;
    }
    case 'object':
      if (value === null) return;
      if (value instanceof Uint8Array) {
        w.byte(0x3a);
        w.bytes(value);
      } else if (Array.isArray(value)) {
        w.byte(0x2a);
        const list = w.start();
        for (const item of value as readonly AnyValueInput[]) {
          w.byte(0x0a);
          const at = w.start();
          writeAnyValue(w, item);
          w.finish(at);
        }
        w.finish(list);
      } else {
        w.byte(0x32);
        const list = w.start();
        const obj = value as { readonly [key: string]: AnyValueInput };
        for (const key of Object.keys(obj)) {
          w.byte(0x0a);
          const at = w.start();
          writeKeyValue(w, key, obj[key]);
          w.finish(at);
        }
        w.finish(list);
      }
      return;
    default:
      return;
  }
}

/** A KeyValue message's fields. */
export function writeKeyValue(w: ProtobufWriter, key: string, value: AnyValueInput): void {
  w.byte(0x0a);
  w.string(key);
  w.byte(0x12);
  const at = w.start();
  writeAnyValue(w, value);
  w.finish(at);
}

/** `repeated KeyValue` under the field whose tag byte is `tag`. */
export function writeAttributes(w: ProtobufWriter, tag: number, attributes: AttributesInput): void {
  for (const key in attributes) {
    w.byte(tag);
    const at = w.start();
    writeKeyValue(w, key, attributes[key]);
    w.finish(at);
  }
}

/** Keys whose bytes are kept; past it the cache starts again (keys are the application's, and mostly few). */
const MAX_KEYS = 4096;
/** Longer keys are written as they come: a rare key that long is not worth keeping. */
const MAX_KEPT_KEY = 256;
/** A key's value is kept while it changed fewer times than this (a count, a duration: never kept for long). */
const MAX_VALUE_CHANGES = 16;
/** Longer string values are not kept. */
const MAX_KEPT_STRING = 64;
/** Positions of an attributes object whose last key is remembered. */
const SLOTS = 16;
/** No value kept yet: a value is never this object. */
const NO_VALUE: AnyValueInput = Object.freeze({});

/** What is kept of one key. */
class KeyBytes {
  /** The KeyValue's key field and the value field's tag: `0x0a` length key `0x12`. */
  readonly head: Uint8Array;
  /** The last scalar value written under this key, and that whole KeyValue: its length, then its fields. */
  value: AnyValueInput = NO_VALUE;
  field: Uint8Array = new Uint8Array(0);
  changes = 0;
  /** By the byte size of an int value's varint, the KeyValue up to that varint: its length, the key, the value's length and tag. */
  readonly countPrefixes: (Uint8Array | undefined)[] = [undefined, undefined, undefined, undefined, undefined, undefined];

  constructor(head: Uint8Array) {
    this.head = head;
  }
}

/**
 * {@link writeAttributes} for an encoder that writes the same keys, and often
 * the same values, over and over (every span of a kind has the same keys,
 * many with the same value: a method, a status): each key's bytes, with the
 * KeyValue fields' tags around them, made once and copied, and the whole
 * KeyValue of a key's last scalar value copied while the key keeps it;
 * writing a string afresh costs a couple of nanoseconds a character.
 */
export class AttributeWriter {
  readonly #keys = new Map<string, KeyBytes>();
  /**
   * The key last met at each of the first positions of an attributes object,
   * and its bytes: spans of a kind list the same keys in the same order, so
   * most keys are found by one comparison instead of a Map lookup.
   */
  readonly #slotKeys: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
  readonly #slotKept: (KeyBytes | undefined)[] = new Array<KeyBytes | undefined>(SLOTS).fill(undefined);

  write(w: ProtobufWriter, tag: number, attributes: AttributesInput): void {
    let i = 0;
    for (const key in attributes) {
      const value = attributes[key];
      let kept: KeyBytes | undefined;
      if (i < SLOTS && this.#slotKeys[i] === key) {
        kept = this.#slotKept[i];
      } else {
        kept = this.#keys.get(key) ?? this.#keep(w, key);
        if (i < SLOTS) {
          this.#slotKeys[i] = key;
          this.#slotKept[i] = kept;
        }
      }
      i++;
      if (kept === undefined) {
        w.byte(tag);
        const at = w.start();
        writeKeyValue(w, key, value);
        w.finish(at);
      } else if (value === kept.value) {
        w.tagged(tag, kept.field);
      } else if (kept.changes >= MAX_VALUE_CHANGES && typeof value === 'number' && value >= 0 && value < 0x10000000 && Number.isInteger(value)) {
        // A count or a size, different every time: its lengths are known, so all but the value is kept, by the value's size.
        const size = varintSize(value);
        w.taggedUint32(tag, kept.countPrefixes[size] ?? countPrefix(kept, size), value);
      } else {
        w.byte(tag);
        const from = w.pos;
        const at = w.start();
        w.raw(kept.head);
        const body = w.start();
        writeAnyValue(w, value);
        w.finish(body);
        w.finish(at);
        if (kept.changes < MAX_VALUE_CHANGES && keepable(value)) {
          kept.changes++;
          kept.value = value;
          kept.field = w.copy(from, w.pos);
        }
      }
    }
  }

  /** A key's bytes, written at the writer's free end and taken out of it; undefined for a key too long to keep. */
  #keep(w: ProtobufWriter, key: string): KeyBytes | undefined {
    if (key.length > MAX_KEPT_KEY) return undefined;
    const at = w.pos;
    w.byte(0x0a);
    w.string(key);
    w.byte(0x12);
    const kept = new KeyBytes(w.copy(at, w.pos));
    w.pos = at;
    if (this.#keys.size >= MAX_KEYS) this.#keys.clear();
    this.#keys.set(key, kept);
    return kept;
  }
}

/** {@link KeyBytes.countPrefixes} for a varint of `size` bytes, made and kept. */
function countPrefix(kept: KeyBytes, size: number): Uint8Array {
  const head = kept.head;
  const length = head.length + 2 + size;
  const lengthSize = varintSize(length);
  const out = new Uint8Array(lengthSize + head.length + 2);
  let p = 0;
  let v = length;
  while (v > 127) {
    out[p++] = (v & 127) | 128;
    v >>>= 7;
  }
  out[p++] = v;
  out.set(head, p);
  p += head.length;
  out[p++] = 1 + size;
  out[p] = 0x18;
  kept.countPrefixes[size] = out;
  return out;
}

/** A value whose KeyValue is worth keeping: compared with `===`, and small. */
function keepable(value: AnyValueInput): boolean {
  return typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && value.length <= MAX_KEPT_STRING);
}

/**
 * `thread.id` and `thread.name` (semantic conventions) of the thread that
 * made a span or log record, after its own attributes; an attribute of the
 * same key the application set wins.
 */
export function writeThreadAttributes(w: ProtobufWriter, tag: number, thread: ThreadInfo | undefined, attributes: AttributesInput): void {
  if (thread === undefined) return;
  if (!Object.hasOwn(attributes, 'thread.id')) {
    w.byte(tag);
    const at = w.start();
    writeKeyValue(w, 'thread.id', thread.id);
    w.finish(at);
  }
  if (!Object.hasOwn(attributes, 'thread.name')) {
    w.byte(tag);
    const at = w.start();
    writeKeyValue(w, 'thread.name', thread.name);
    w.finish(at);
  }
}

/**
 * {@link writeThreadAttributes} for one encoder's tag, with both attributes'
 * bytes made once per thread: every span and log record of a thread carries
 * the same two, and writing them was a tenth of encoding a span.
 */
export class ThreadAttributes {
  readonly #tag: number;
  readonly #bytes = new Map<ThreadInfo, Uint8Array>();
  #lastThread: ThreadInfo | undefined = undefined;
  #last: Uint8Array = new Uint8Array(0);

  constructor(tag: number) {
    this.#tag = tag;
  }

  write(w: ProtobufWriter, thread: ThreadInfo | undefined, attributes: AttributesInput): void {
    if (thread === undefined) return;
    // `in` (inlined by V8, where Object.hasOwn is a call) only picks the fast path; writeThreadAttributes decides by own keys.
    if ('thread.id' in attributes || 'thread.name' in attributes) {
      writeThreadAttributes(w, this.#tag, thread, attributes);
      return;
    }
    if (thread !== this.#lastThread) {
      let bytes = this.#bytes.get(thread);
      if (bytes === undefined) {
        // Written at the writer's free end, then taken out of it.
        const at = w.pos;
        writeThreadAttributes(w, this.#tag, thread, attributes);
        bytes = w.copy(at, w.pos);
        w.pos = at;
        // A thread's info is one object for the life of its ring: few of them, but bounded all the same.
        if (this.#bytes.size >= 1024) this.#bytes.clear();
        this.#bytes.set(thread, bytes);
      }
      this.#lastThread = thread;
      this.#last = bytes;
    }
    w.raw(this.#last);
  }
}

/** OTLP/JSON attributes with the thread's (see `writeThreadAttributes`). */
export function jsonAttributesWithThread(attributes: AttributesInput, thread: ThreadInfo | undefined): { key: string; value: Record<string, unknown> }[] {
  const out = jsonAttributes(attributes);
  if (thread === undefined) return out;
  if (!Object.hasOwn(attributes, 'thread.id')) out.push({ key: 'thread.id', value: jsonAnyValue(thread.id) });
  if (!Object.hasOwn(attributes, 'thread.name')) out.push({ key: 'thread.name', value: jsonAnyValue(thread.name) });
  return out;
}

/** OTLP/JSON AnyValue, as the SDK's JSON serializer builds it. */
export function jsonAnyValue(value: AnyValueInput): Record<string, unknown> {
  switch (typeof value) {
    case 'string':
      return { stringValue: value };
    case 'number':
      return Number.isInteger(value) ? { intValue: value } : { doubleValue: value };
    case 'boolean':
      return { boolValue: value };
    case 'bigint': {
      const n = Number(value);
      return Number.isSafeInteger(n) ? { intValue: n } : { stringValue: value.toString() };
    }
    case 'object':
      if (value === null) return {};
      if (value instanceof Uint8Array) return { bytesValue: Buffer.from(value).toString('base64') };
      if (Array.isArray(value)) return { arrayValue: { values: (value as readonly AnyValueInput[]).map(jsonAnyValue) } };
      {
        const obj = value as { readonly [key: string]: AnyValueInput };
        return { kvlistValue: { values: Object.keys(obj).map((key) => ({ key, value: jsonAnyValue(obj[key]) })) } };
      }
    default:
      return {};
  }
}

export function jsonAttributes(attributes: AttributesInput): { key: string; value: Record<string, unknown> }[] {
  return Object.keys(attributes).map((key) => ({ key, value: jsonAnyValue(attributes[key]) }));
}

/** Unix nanoseconds as a decimal string, from epoch ms with a fraction (the SDK's HrTime rounding). */
export function jsonTime(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const nanos = Math.min(999_999_999, Math.round((ms - seconds * 1000) * 1e6));
  return (BigInt(Math.trunc(seconds)) * 1_000_000_000n + BigInt(Math.trunc(nanos))).toString();
}

/** The Resource message (field 1 of ResourceSpans / ResourceLogs) with its tag, encoded once. */
export function resourceBytes(w: ProtobufWriter, attributes: AttributesInput): Uint8Array {
  w.reset();
  w.byte(0x0a);
  const at = w.start(2);
  writeAttributes(w, 0x0a, attributes);
  w.byte(0x10);
  w.byte(0);
  w.finish(at, 2);
  return w.copy(0, w.pos);
}

export function jsonResource(attributes: AttributesInput): Record<string, unknown> {
  return { attributes: jsonAttributes(attributes), droppedAttributesCount: 0 };
}
