/**
 * W3C Trace Context to the letter. `traceparent` is read and written by
 * @opentelemetry/core's W3CTraceContextPropagator; `tracestate` is checked
 * here against the recommendation's grammar (https://www.w3.org/TR/trace-context/#tracestate-header),
 * which that propagator applies member by member, keeping what it likes:
 *
 *   list        = list-member 0*31( OWS "," OWS list-member )   at most 32 members
 *   list-member = key "=" value                                  (empty members allowed, not counted)
 *   key         = lcalpha 0*255( lcalpha / DIGIT / "_" / "-" / "*" / "/" )
 *               / ( lcalpha / DIGIT ) 0*240( … ) "@" lcalpha 0*13( … )     tenant@system
 *   value       = 0*255( %x20-2B / %x2D-3C / %x3E-7E ) ( %x21-2B / %x2D-3C / %x3E-7E )
 *   keys are unique
 *
 * On any violation the whole `tracestate` is discarded, as the recommendation
 * asks of a header that does not parse, and a valid `traceparent` is kept.
 */
import { trace, type Context, type TextMapGetter, type TextMapPropagator, type TextMapSetter } from '@opentelemetry/api';
import { TraceState, W3CTraceContextPropagator } from '@opentelemetry/core';

/** The recommendation's limit on list-members. */
export const MAX_TRACESTATE_MEMBERS = 32;

const SIMPLE_KEY = /^[a-z][a-z0-9_\-*/]{0,255}$/;
const MULTI_TENANT_KEY = /^[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13}$/;
// 1 to 256 characters of printable ASCII but ',' and '=', the last one not a space.
const VALUE = /^[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]$/;

/** Why a tracestate header is invalid, or undefined when it is valid. */
export function traceStateViolation(header: string): string | undefined {
  const seen = new Set<string>();
  for (const raw of header.split(',')) {
    // OWS is spaces and horizontal tabs only.
    const member = raw.replace(/^[ \t]+|[ \t]+$/g, '');
    if (member === '') continue;
    const eq = member.indexOf('=');
    if (eq < 0) return `list-member ${JSON.stringify(member)} has no "="`;
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1);
    if (!(key.includes('@') ? MULTI_TENANT_KEY : SIMPLE_KEY).test(key)) return `key ${JSON.stringify(key)} is not a valid key`;
    if (!VALUE.test(value)) return `value of ${JSON.stringify(key)} is not a valid value`;
    if (seen.has(key)) return `key ${JSON.stringify(key)} appears twice`;
    seen.add(key);
    if (seen.size > MAX_TRACESTATE_MEMBERS) return `more than ${MAX_TRACESTATE_MEMBERS} list-members`;
  }
  return undefined;
}

/** The trace state of a valid header (members as given), or undefined for an invalid or empty one. */
export function parseTraceState(header: string): TraceState | undefined {
  if (traceStateViolation(header) !== undefined) return undefined;
  const state = new TraceState(header);
  return state.serialize() === '' ? undefined : state;
}

export class StrictTraceContextPropagator implements TextMapPropagator {
  readonly #inner = new W3CTraceContextPropagator();

  inject(context: Context, carrier: unknown, setter: TextMapSetter): void {
    this.#inner.inject(context, carrier, setter);
  }

  extract(context: Context, carrier: unknown, getter: TextMapGetter): Context {
    const extracted = this.#inner.extract(context, carrier, getter);
    const spanContext = extracted === context ? undefined : trace.getSpanContext(extracted);
    if (spanContext === undefined) return extracted;
    const raw = getter.get(carrier, 'tracestate');
    // Several tracestate headers are one list, joined with commas.
    const header = Array.isArray(raw) ? raw.join(',') : raw;
    const traceState = typeof header === 'string' ? parseTraceState(header) : undefined;
    const { traceState: _lenient, ...rest } = spanContext;
    return trace.setSpanContext(context, traceState === undefined ? rest : { ...rest, traceState });
  }

  fields(): string[] {
    return this.#inner.fields();
  }
}
