/**
 * ValueWriter: field values and attribute lists, with the guards that keep
 * capture from ever throwing into the application for a value's shape:
 * unknown values become bounded strings, getters that throw become
 * `[Throws]`, a proxy's answers are read once, arrays are cut at
 * `maxArrayLength`, and a BigInt too long for `maxStringLength` travels as
 * a cut string (cut digits are no number). Only the control signals of the
 * framing (RETRY, OVERSIZE) pass through a guard.
 */
import { DEFAULT_MAX_ARRAY_LENGTH } from '../defaults.js';
import type { RingWriter } from '../ring/ring-writer.js';
import * as F from '../record/format.js';
import { RecordFraming, isControl, type RecordFramingOptions } from './record-framing.js';
import { safeString } from './safe-string.js';
import * as S from '../record/schema.js';

// Module-local copies of the format's constants (see record-framing.ts).
const { COUNT_BYTES, VALUE_ARRAY, VALUE_BIGINT, VALUE_FALSE, VALUE_FLOAT, VALUE_INT, VALUE_NULL, VALUE_OTHER, VALUE_STRING, VALUE_TAG_BYTES, VALUE_TRUE } = F;
const { FIELD_BYTES } = S;


/** Attributes as a flat list: key, value, key, value… A later pair overwrites an earlier one with the same key. */
export type AttributeList = unknown[];

export interface ValueWriterOptions extends RecordFramingOptions {
  maxArrayLength?: number;
}

export abstract class ValueWriter extends RecordFraming {
  readonly maxArrayLength: number;

  constructor(writer: RingWriter, options: ValueWriterOptions = {}) {
    super(writer, options);
    this.maxArrayLength = options.maxArrayLength ?? DEFAULT_MAX_ARRAY_LENGTH;
  }

  /** `count` then (key, value) pairs of `obj`'s own enumerable properties, at most `maxCount`. */
  protected attributes(obj: object | undefined, maxCount: number): void {
    this.ensure(COUNT_BYTES);
    const countAt = this.pos;
    this.pos += COUNT_BYTES;
    let count = 0;
    let dropped = 0;
    if (obj !== undefined && obj !== null && typeof obj === 'object') {
      try {
        // for…in also visits inherited enumerable keys; a plain object has none to visit.
        const proto: unknown = Object.getPrototypeOf(obj);
        const plain = proto === Object.prototype || proto === null;
        for (const key in obj) {
          if (!plain && !Object.prototype.hasOwnProperty.call(obj, key)) continue;
          if (count >= maxCount) {
            dropped++;
            continue;
          }
          const at = this.pos;
          try {
            const value = (obj as Record<string, unknown>)[key];
            this.str(key);
            this.value(value, true);
          } catch (e) {
            if (isControl(e)) throw e;
            this.pos = at;
            this.str(key);
            this.#otherText('[Throws]');
          }
          count++;
        }
      } catch (e) {
        // A proxy whose key enumeration throws: keep the pairs read so far.
        if (isControl(e)) throw e;
      }
    }
    this.view.setUint32(countAt, count, true);
    this.lastDroppedAttributes = dropped;
  }

  /** `count` then the (key, value) pairs of a flat `[key, value, …]` list. */
  protected attributeList(list: AttributeList): void {
    const n = list.length >> 1;
    this.u32(n);
    for (let i = 0; i < 2 * n; i += 2) {
      this.str(list[i] as string);
      const at = this.pos;
      try {
        this.value(list[i + 1], true);
      } catch (e) {
        // An array whose element getter throws (the span checked it once; it may throw now).
        if (isControl(e)) throw e;
        this.pos = at;
        this.#otherText('[Throws]');
      }
    }
  }

  protected value(v: unknown, allowArray: boolean): void {
    // Numbers, strings and booleans first and small (so this is inlined);
    // everything else in #otherValue.
    if (typeof v === 'number') {
      this.ensure(VALUE_TAG_BYTES + FIELD_BYTES.f64);
      this.buf[this.pos] = Number.isInteger(v) ? VALUE_INT : VALUE_FLOAT;
      this.view.setFloat64(this.pos + VALUE_TAG_BYTES, v, true);
      this.pos += VALUE_TAG_BYTES + FIELD_BYTES.f64;
    } else if (typeof v === 'string') {
      this.ensure(VALUE_TAG_BYTES);
      this.buf[this.pos++] = VALUE_STRING;
      this.utf8(v);
    } else if (typeof v === 'boolean') {
      this.ensure(VALUE_TAG_BYTES);
      this.buf[this.pos++] = v ? VALUE_TRUE : VALUE_FALSE;
    } else {
      this.#otherValue(v, allowArray);
    }
  }

  #otherValue(v: unknown, allowArray: boolean): void {
    this.ensure(VALUE_TAG_BYTES);
    const buf = this.buf;
    if (typeof v === 'bigint') {
      const digits = v.toString();
      // Cut digits are not a number: past the limit the value travels as a (cut) string.
      buf[this.pos++] = digits.length > this.maxStringLength ? VALUE_STRING : VALUE_BIGINT;
      this.utf8(digits);
      return;
    }
    if (v === undefined || v === null) {
      buf[this.pos++] = VALUE_NULL;
      return;
    }
    if (allowArray && Array.isArray(v)) {
      const at = this.pos;
      try {
        // A proxy can report any length (negative, fractional, NaN, a string):
        // the count written must be the whole number of values that follow.
        const length = Number(v.length);
        const n = length >= 1 ? Math.min(Math.floor(length), this.maxArrayLength) : 0;
        buf[this.pos++] = VALUE_ARRAY;
        this.u32(n);
        for (let i = 0; i < n; i++) this.value(v[i], false);
        return;
      } catch (e) {
        if (isControl(e)) throw e;
        this.pos = at;
      }
    }
    this.#otherText(safeString(v, Math.min(this.maxStringLength, 4096)));
  }

  #otherText(text: string): void {
    this.ensure(VALUE_TAG_BYTES);
    this.buf[this.pos++] = VALUE_OTHER;
    this.utf8(text);
  }
}
