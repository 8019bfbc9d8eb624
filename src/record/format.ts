/**
 * The binary record format: the one definition shared by RecordEncoder
 * (producer) and RecordDecoder (worker). All numbers are little-endian;
 * trace and span ids (u32×4, u32×2) are their bytes in order, as in their
 * hex form (big-endian words), so the worker makes the hex in one call.
 *
 * Every record starts with an 8-byte header and is padded to 8 bytes:
 *
 *   0  u32 size    whole record in bytes, header and padding included
 *   4  u8  kind    KIND_*
 *   5  u8  level   LEVEL_* for records that carry one, else 0
 *   6  u16 flags   FLAG_* (kind-specific)
 *
 * The body of each kind is declared in schema.ts: its fields in order, their
 * types, the flags that make some present, and the offsets that follow.
 * "handle" is the producer's u32 number for an open span, unique while
 * open. PAD (the ring's) has no body. The variable-size field types:
 *
 *   str          u8 STR_REF, u32 id  |  u8 STR_INLINE, u32 byteLength, utf8 bytes
 *   attributes   u32 count, then count × (str key, value)
 *   value        u8 tag, then by tag: NULL, FALSE, TRUE: nothing; INT, FLOAT: f64;
 *                BIGINT, STRING, OTHER: u32 byteLength, utf8 bytes;
 *                ARRAY: u32 count, then count values (never nested arrays)
 *
 * Times are Unix epoch milliseconds as float64 (the monotonic clock put on
 * performance.timeOrigin's epoch, see src/capture/clock.ts): resolution
 * about 0.25 µs at today's dates.
 */

// Size, kind offset and PAD are the ring's framing (src/ring/framing.ts); the
// header's other fields, the kinds, flags and every kind's fields are
// declared once in schema.ts.
export { KIND_PAD, RECORD_ALIGN } from '../ring/framing.js';
export {
  RECORD_SIZE_OFFSET,
  RECORD_KIND_OFFSET,
  RECORD_LEVEL_OFFSET,
  RECORD_FLAGS_OFFSET,
  RECORD_HEADER_BYTES,
  KIND_STRING_DEF,
  KIND_SPAN_START,
  KIND_SPAN_ATTRS,
  KIND_SPAN_EVENT,
  KIND_SPAN_LINK,
  KIND_SPAN_STATUS,
  KIND_SPAN_NAME,
  KIND_SPAN_END,
  KIND_EVENT,
  KIND_LOG_LINE,
  FLAG_HAS_PARENT,
  FLAG_PARENT_REMOTE,
  FLAG_HAS_TRACE_STATE,
  FLAG_HAS_DROPS,
  FLAG_HAS_CONTEXT,
  FLAG_LOG_RECORD,
} from './schema.js';

/** A Logs API record's bodyKind (see schema.ts EVENT): no body; a string body (it is the message); any other value, as JSON. */
export const BODY_NONE = 0;
export const BODY_STRING = 1;
export const BODY_STRUCTURED = 2;

export const STR_REF = 1;
export const STR_INLINE = 2;
/** A string slot: its tag, then a u32 (the id of an interned string, or the byte length of inline bytes). */
export const STR_TAG_BYTES = 1;
export const STR_REF_BYTES = STR_TAG_BYTES + 4;
/** A u32 count (attributes, array values) or byte length. */
export const COUNT_BYTES = 4;

export const VALUE_NULL = 0;
export const VALUE_FALSE = 1;
export const VALUE_TRUE = 2;
/** A number that is an integer (`Number.isInteger`), as f64: it decodes as a number all the same, and sinks that tell ints from doubles (OTLP) can. */
export const VALUE_INT = 3;
export const VALUE_FLOAT = 4;
export const VALUE_BIGINT = 5;
export const VALUE_STRING = 6;
export const VALUE_ARRAY = 7;
/** Anything else (objects, symbols, functions, …) as a bounded, safe string. */
export const VALUE_OTHER = 8;
/** A value's tag. */
export const VALUE_TAG_BYTES = 1;
