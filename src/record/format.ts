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
 * Body by kind ("str" is a string slot, "value" a field value, both below;
 * "handle" is the producer's u32 number for an open span, unique while open):
 *
 *   STRING_DEF   u32 id, u32 byteLength, utf8 bytes
 *   SPAN_START   handle, f64 startTime, u32×4 traceId, u32×2 spanId,
 *                [u32×2 parentSpanId if FLAG_HAS_PARENT], u8 traceFlags, u8 spanKind,
 *                str name, str target, [str traceState if FLAG_HAS_TRACE_STATE], attributes
 *   SPAN_ATTRS   handle, attributes
 *   SPAN_EVENT   handle, f64 time, str name, attributes
 *   SPAN_LINK    handle, u32×4 traceId, u32×2 spanId, u8 traceFlags, attributes
 *   SPAN_STATUS  handle, u8 code, str message
 *   SPAN_NAME    handle, str name
 *   SPAN_END     handle, f64 endTime,
 *                [u32 droppedAttributes, u32 droppedEvents, u32 droppedLinks if FLAG_HAS_DROPS]
 *   EVENT        f64 time, [u32×4 traceId, u32×2 spanId if FLAG_HAS_CONTEXT], str target,
 *                str message, attributes,
 *                [if FLAG_LOG_RECORD (an OpenTelemetry Logs API record): u8 severityNumber,
 *                 u8 traceFlags, u8 bodyKind (BODY_*), [str bodyJson if BODY_STRUCTURED],
 *                 f64 observedTime, str severityText, str eventName, str scopeVersion,
 *                 str schemaUrl]
 *   LOG_LINE     f64 time, [u32×4 traceId, u32×2 spanId if FLAG_HAS_CONTEXT], str line
 *                (a pino JSON line, parsed on the worker)
 *   PAD          nothing: the rest of the data region up to its end is padding
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

export const RECORD_SIZE_OFFSET = 0;
export const RECORD_KIND_OFFSET = 4;
export const RECORD_LEVEL_OFFSET = 5;
export const RECORD_FLAGS_OFFSET = 6;
export const RECORD_HEADER_BYTES = 8;

export const KIND_PAD = 0;
export const KIND_STRING_DEF = 1;
export const KIND_SPAN_START = 2;
export const KIND_SPAN_ATTRS = 3;
export const KIND_SPAN_EVENT = 4;
export const KIND_SPAN_LINK = 5;
export const KIND_SPAN_STATUS = 6;
export const KIND_SPAN_NAME = 7;
export const KIND_SPAN_END = 8;
export const KIND_EVENT = 9;
export const KIND_LOG_LINE = 10;

/** SPAN_START: a parent span id follows the span id. */
export const FLAG_HAS_PARENT = 1;
/** SPAN_START: the parent came from another process (a propagated context). */
export const FLAG_PARENT_REMOTE = 2;
/** SPAN_START: a W3C trace state follows the target (most spans have none, and skip its bytes). */
export const FLAG_HAS_TRACE_STATE = 4;
/** SPAN_END: the span dropped attributes, events or links; the three counts follow the end time. */
export const FLAG_HAS_DROPS = 1;
/** EVENT, LOG_LINE: trace and span ids of the active span follow the time. */
export const FLAG_HAS_CONTEXT = 1;
/** EVENT: a Logs API record; its own fields follow the attributes. */
export const FLAG_LOG_RECORD = 2;

/** FLAG_LOG_RECORD bodyKind: no body; a string body (it is the message); any other value, as JSON. */
export const BODY_NONE = 0;
export const BODY_STRING = 1;
export const BODY_STRUCTURED = 2;

export const STR_REF = 1;
export const STR_INLINE = 2;

export const VALUE_NULL = 0;
export const VALUE_FALSE = 1;
export const VALUE_TRUE = 2;
export const VALUE_INT = 3;
export const VALUE_FLOAT = 4;
export const VALUE_BIGINT = 5;
export const VALUE_STRING = 6;
export const VALUE_ARRAY = 7;
/** Anything else (objects, symbols, functions, …) as a bounded, safe string. */
export const VALUE_OTHER = 8;
