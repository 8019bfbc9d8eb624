/**
 * Attribute values as the OpenTelemetry SDK accepts them, read the way
 * capture must: never throwing into the application, never walking what an
 * application hands over further than what is recorded. Used by RingSpan
 * for span, event and link attributes, exceptions and names.
 */
import { diag, type Attributes, type AttributeValue, type TimeInput } from '@opentelemetry/api';
import { types } from 'node:util';
import { safeString } from '../encoder/safe-string.js';

/** A null-prototype attribute object: `__proto__` is then an ordinary key, not a prototype change. */
export function bag(): Attributes {
  return Object.create(null) as Attributes;
}

/**
 * Visit `attributes`' own enumerable keys. Capture never throws into the
 * application: a proxy whose traps throw yields nothing (or the keys before
 * the throw), a getter that throws skips its key; both with a diagnostic.
 */
export function eachAttribute(attributes: object, visit: (key: string, value: unknown) => void): void {
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
export function validValue(value: unknown, max: number, maxItems: number): AttributeValue | undefined {
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
export function readException(exception: unknown, attributes: Attributes): void {
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

export function isTimeInput(value: unknown): value is TimeInput {
  try {
    return typeof value === 'number' || value instanceof Date || (Array.isArray(value) && value.length === 2 && typeof value[0] === 'number');
  } catch {
    return false;
  }
}
