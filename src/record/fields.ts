/**
 * The objects records carry their fields and attributes in (`Fields`).
 *
 * Nothing may be inherited: a key such as `__proto__`, `constructor` or
 * `toString` must be an ordinary own property, never a setter or a method
 * of Object.prototype. `Object.create(null)` gives that, but V8 makes such
 * an object a dictionary from the start, and the worker building one per
 * record drained 6.1 M records/s against 7.0–7.6 M with these (bench/drain.js,
 * three runs each). An instance of FieldsBag is an ordinary fast object
 * whose prototype chain is one empty, frozen, null-prototype object: the
 * same guarantee, at the cost of an object literal.
 */
import type { Fields } from './trace-record.js';

function FieldsBag(): void {}
FieldsBag.prototype = Object.freeze(Object.create(null) as object);

/** A new, empty fields object that inherits nothing. */
export function emptyFields(): Fields {
  return new (FieldsBag as unknown as new () => Fields)();
}
