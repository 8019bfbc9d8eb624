/**
 * The record schema: each record kind's fields, in order, declared once.
 * The encoder (its general and fast paths), the decoder and the tests read
 * these declarations; the byte offset of every field that sits at a fixed
 * place in a record is computed here, so no other module writes an offset
 * as a number. Adding a field to a kind is one line here, plus the code
 * that produces and the code that consumes its value.
 *
 * A field is fixed-size (`u8`, `u32`, `f64`, `traceId`, `spanId`) or
 * variable (`str`, `utf8`, `attributes`: see format.ts). A field with `when`
 * is present only if that flag is set in the record's header. Offsets are
 * from the start of the record (its 8-byte header included) and exist for
 * the fixed-size fields before the first variable one, through the first
 * run of optional fields that depend on one flag (whose offsets hold when
 * the flag is set): after such a run, positions depend on the flags, and
 * the code reading them adds FIELD_BYTES.
 */
import { RECORD_KIND_OFFSET, RECORD_SIZE_OFFSET } from '../ring/framing.js';

/**
 * The record header: the ring's framing (u32 size at RECORD_SIZE_OFFSET, u8
 * kind at RECORD_KIND_OFFSET), then what the record format adds.
 */
export { RECORD_KIND_OFFSET, RECORD_SIZE_OFFSET };
/** u8: LEVEL_* for records that carry one, else 0. */
export const RECORD_LEVEL_OFFSET = RECORD_KIND_OFFSET + 1;
/** u16: FLAG_* (kind-specific). */
export const RECORD_FLAGS_OFFSET = RECORD_LEVEL_OFFSET + 1;
/** The header's size: a record's fields start here. */
export const RECORD_HEADER_BYTES = RECORD_FLAGS_OFFSET + 2;

export type FieldType = 'u8' | 'u32' | 'f64' | 'traceId' | 'spanId' | 'str' | 'utf8' | 'attributes';

/** Bytes of each fixed-size field type. */
export const FIELD_BYTES = { u8: 1, u32: 4, f64: 8, traceId: 16, spanId: 8 } as const;

export interface FieldDecl {
  readonly name: string;
  readonly type: FieldType;
  /** A header flag the field depends on: present only when it is set. */
  readonly when?: number;
}

export interface KindSchema<Names extends string> {
  readonly kind: number;
  readonly name: string;
  readonly fields: readonly FieldDecl[];
  /** Byte offset of each field at a fixed place in the record (see the module comment). */
  readonly at: Readonly<Record<Names, number>>;
}

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
/** EVENT: a Logs API record (`logger.emit()`); its own fields follow the attributes. */
export const FLAG_LOG_RECORD = 2;

function declare<const F extends readonly FieldDecl[]>(kind: number, name: string, fields: F): KindSchema<FixedNames<F>> {
  const at: Record<string, number> = {};
  let offset = RECORD_HEADER_BYTES;
  let optionalRun: number | undefined;
  for (const field of fields) {
    if (field.type === 'str' || field.type === 'utf8' || field.type === 'attributes') break;
    if (optionalRun !== undefined && field.when !== optionalRun) break;
    at[field.name] = offset;
    offset += FIELD_BYTES[field.type];
    if (field.when !== undefined) optionalRun = field.when;
  }
  return { kind, name, fields, at: at as Record<FixedNames<F>, number> };
}

/** The names of a field list's leading fixed-size fields (as far as a type can tell: all names). */
type FixedNames<F extends readonly FieldDecl[]> = F[number]['name'];

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
/** The highest kind number in use. */
export const LAST_KIND = KIND_LOG_LINE;

export const STRING_DEF = declare(KIND_STRING_DEF, 'STRING_DEF', [
  { name: 'id', type: 'u32' },
  { name: 'text', type: 'utf8' },
] as const);

export const SPAN_START = declare(KIND_SPAN_START, 'SPAN_START', [
  { name: 'handle', type: 'u32' },
  { name: 'startTime', type: 'f64' },
  { name: 'traceId', type: 'traceId' },
  { name: 'spanId', type: 'spanId' },
  { name: 'parentSpanId', type: 'spanId', when: FLAG_HAS_PARENT },
  { name: 'traceFlags', type: 'u8' },
  { name: 'spanKind', type: 'u8' },
  { name: 'name', type: 'str' },
  { name: 'target', type: 'str' },
  { name: 'traceState', type: 'str', when: FLAG_HAS_TRACE_STATE },
  { name: 'attributes', type: 'attributes' },
] as const);

export const SPAN_ATTRS = declare(KIND_SPAN_ATTRS, 'SPAN_ATTRS', [
  { name: 'handle', type: 'u32' },
  { name: 'attributes', type: 'attributes' },
] as const);

export const SPAN_EVENT = declare(KIND_SPAN_EVENT, 'SPAN_EVENT', [
  { name: 'handle', type: 'u32' },
  { name: 'time', type: 'f64' },
  { name: 'name', type: 'str' },
  { name: 'attributes', type: 'attributes' },
] as const);

export const SPAN_LINK = declare(KIND_SPAN_LINK, 'SPAN_LINK', [
  { name: 'handle', type: 'u32' },
  { name: 'traceId', type: 'traceId' },
  { name: 'spanId', type: 'spanId' },
  { name: 'traceFlags', type: 'u8' },
  { name: 'attributes', type: 'attributes' },
] as const);

export const SPAN_STATUS = declare(KIND_SPAN_STATUS, 'SPAN_STATUS', [
  { name: 'handle', type: 'u32' },
  { name: 'code', type: 'u8' },
  { name: 'message', type: 'str' },
] as const);

export const SPAN_NAME = declare(KIND_SPAN_NAME, 'SPAN_NAME', [
  { name: 'handle', type: 'u32' },
  { name: 'name', type: 'str' },
] as const);

export const SPAN_END = declare(KIND_SPAN_END, 'SPAN_END', [
  { name: 'handle', type: 'u32' },
  { name: 'endTime', type: 'f64' },
  { name: 'droppedAttributes', type: 'u32', when: FLAG_HAS_DROPS },
  { name: 'droppedEvents', type: 'u32', when: FLAG_HAS_DROPS },
  { name: 'droppedLinks', type: 'u32', when: FLAG_HAS_DROPS },
] as const);

export const EVENT = declare(KIND_EVENT, 'EVENT', [
  { name: 'time', type: 'f64' },
  { name: 'traceId', type: 'traceId', when: FLAG_HAS_CONTEXT },
  { name: 'spanId', type: 'spanId', when: FLAG_HAS_CONTEXT },
  { name: 'target', type: 'str' },
  { name: 'message', type: 'str' },
  { name: 'attributes', type: 'attributes' },
  // A Logs API record's own fields.
  { name: 'severityNumber', type: 'u8', when: FLAG_LOG_RECORD },
  { name: 'traceFlags', type: 'u8', when: FLAG_LOG_RECORD },
  /** BODY_NONE, BODY_STRING (the body is the message) or BODY_STRUCTURED (see format.ts). */
  { name: 'bodyKind', type: 'u8', when: FLAG_LOG_RECORD },
  /** Present when bodyKind is BODY_STRUCTURED: the body as JSON. */
  { name: 'bodyJson', type: 'str', when: FLAG_LOG_RECORD },
  { name: 'observedTime', type: 'f64', when: FLAG_LOG_RECORD },
  { name: 'severityText', type: 'str', when: FLAG_LOG_RECORD },
  { name: 'eventName', type: 'str', when: FLAG_LOG_RECORD },
  { name: 'scopeVersion', type: 'str', when: FLAG_LOG_RECORD },
  { name: 'schemaUrl', type: 'str', when: FLAG_LOG_RECORD },
] as const);

export const LOG_LINE = declare(KIND_LOG_LINE, 'LOG_LINE', [
  { name: 'time', type: 'f64' },
  { name: 'traceId', type: 'traceId', when: FLAG_HAS_CONTEXT },
  { name: 'spanId', type: 'spanId', when: FLAG_HAS_CONTEXT },
  { name: 'line', type: 'str' },
] as const);

/** Every kind's schema, by kind number. */
export const SCHEMAS: readonly KindSchema<string>[] = [STRING_DEF, SPAN_START, SPAN_ATTRS, SPAN_EVENT, SPAN_LINK, SPAN_STATUS, SPAN_NAME, SPAN_END, EVENT, LOG_LINE];

/** Bytes a SPAN_END takes, padded: without its drop counts, and with them. */
export const SPAN_END_BYTES = align(SPAN_END.at.droppedAttributes);
export const SPAN_END_WITH_DROPS_BYTES = align(SPAN_END.at.droppedAttributes + 3 * FIELD_BYTES.u32);

/** `n` bytes rounded up to a whole record (8 bytes). */
export function align(n: number): number {
  return (n + 7) & ~7;
}
