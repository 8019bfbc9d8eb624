/**
 * Span and trace ids on the producing thread: kept as 32-bit words (the form
 * records carry), turned into hex only when someone asks for a SpanContext.
 */
import { ROOT_CONTEXT, context, isSpanContextValid, trace, type SpanContext } from '@opentelemetry/api';
import type { IdWords } from '../encoder/record-encoder.js';

/** A span that already holds its ids as words (ringtrace's own spans). */
export interface HasIdWords {
  readonly idWords: IdWords;
}

function hasIdWords(value: object): value is HasIdWords {
  return (value as Partial<HasIdWords>).idWords !== undefined;
}

/** Ids of a SpanContext as (signed, see `randomWords`) words; hex digits are parsed 8 at a time. */
export function wordsFromContext(ctx: SpanContext): IdWords {
  const t = ctx.traceId;
  const s = ctx.spanId;
  return {
    t0: parseInt(t.slice(0, 8), 16) | 0,
    t1: parseInt(t.slice(8, 16), 16) | 0,
    t2: parseInt(t.slice(16, 24), 16) | 0,
    t3: parseInt(t.slice(24, 32), 16) | 0,
    s0: parseInt(s.slice(0, 8), 16) | 0,
    s1: parseInt(s.slice(8, 16), 16) | 0,
  };
}

function hex8(w: number): string {
  return (w >>> 0).toString(16).padStart(8, '0');
}

export function traceIdHex(ids: IdWords): string {
  return hex8(ids.t0) + hex8(ids.t1) + hex8(ids.t2) + hex8(ids.t3);
}

export function spanIdHex(ids: IdWords): string {
  return hex8(ids.s0) + hex8(ids.s1);
}

/** The active span's ids as words, or null outside any (valid) span. */
export function activeIdWords(): IdWords | null {
  const active = context.active();
  // Outside any span the context is usually the root one: nothing to look up.
  if (active === ROOT_CONTEXT) return null;
  const span = trace.getSpan(active);
  if (span === undefined) return null;
  if (hasIdWords(span)) return span.idWords;
  const ctx = span.spanContext();
  return isSpanContextValid(ctx) ? wordsFromContext(ctx) : null;
}
